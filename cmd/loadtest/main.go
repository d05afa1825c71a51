// Command loadtest measures Shelf under load with wrk and writes the results
// as markdown tables for BENCHMARKS.md.
//
//	go run ./cmd/loadtest -books 10000,1000000 -out results.md
//
// For each catalog size it builds the shelf binary once, creates (or reuses)
// a database of that size in -dir, starts the server as a child process and
// measures: start-up time on the existing database, the weight of the first
// page, then -runs rounds of wrk against /healthz (the baseline) and against
// a fixed mix of typed search queries sent as HTMX fragments. It reports the
// median of the runs, each search figure as a ratio to /healthz in the same
// run, and the server's resident memory read from /proc.
//
// It exits 1 when a measurement failed (a query that does not answer 200,
// non-2xx responses or socket errors under load, a server that does not
// start); goals that are missed are reported but do not fail the run.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"shelf/store"
)

type options struct {
	sizes       []int
	duration    time.Duration
	warmup      time.Duration
	connections int
	threads     int
	runs        int
	starts      int
	dir         string
	out         string
	fresh       bool
	reuse       bool
	csv         string
	wrk         string
	perf        bool
	split       bool
	cold        int
	api         bool // also run the fixed mix as JSON API searches
	rate        int  // open-loop searches per second (0: no open-loop run)
	openConns   int
	coldOut     string // write the cold mix's queries here, one a line
	postgres    string // a PostgreSQL server URL; "" for SQLite
	instances   int
	links       int    // short links to make and GET /s/{id} over (0 to skip)
	root        string // module root, found at start
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 2
	}
	rep, err := measure(ctx, opts, stderr)
	if rep != nil {
		md := rep.markdown()
		fmt.Fprintln(stdout, md)
		if opts.out != "" {
			if werr := os.WriteFile(opts.out, []byte(md), 0o644); werr != nil {
				fmt.Fprintln(stderr, "loadtest:", werr)
				return 1
			}
			fmt.Fprintln(stderr, "loadtest: wrote", opts.out)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest:", err)
		return 1
	}
	if rep.failed() {
		fmt.Fprintln(stderr, "loadtest: some measurements failed (see the report)")
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	books := fs.String("books", "10000,1000000", "comma-separated catalog sizes to measure (10000, 10k, 1M)")
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "length of each wrk run")
	fs.DurationVar(&o.warmup, "warmup", 5*time.Second, "search load before the measured runs (0 to skip)")
	fs.IntVar(&o.connections, "connections", 16, "wrk connections")
	fs.IntVar(&o.threads, "threads", 2, "wrk threads")
	fs.IntVar(&o.runs, "runs", 3, "measured runs per size; the report shows the median")
	fs.IntVar(&o.starts, "starts", 3, "server starts to time per size; the report shows the median")
	fs.StringVar(&o.dir, "dir", filepath.Join(os.TempDir(), "shelf-loadtest"),
		"work directory for the binary, databases (shelf-N.db, reused when the size matches) and server logs")
	fs.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	fs.BoolVar(&o.fresh, "fresh", false, "recreate the databases even when one of the right size exists")
	fs.BoolVar(&o.reuse, "reuse", false, "reuse a database of the right size even if the store or import code changed since it was built")
	fs.StringVar(&o.csv, "csv", "", "CSV to import when the server does not import its bundled catalog on first start "+
		"(default: ../shared/data/goodbooks-10k-books.csv next to the module, if present)")
	fs.StringVar(&o.wrk, "wrk", "wrk", "wrk executable")
	fs.BoolVar(&o.api, "api", true, "also run the fixed mix as JSON API searches (GET /api/v1/books), right after the HTMX one, to compare the two")
	fs.IntVar(&o.cold, "cold", 20000, "also run a mix of this many distinct queries built from the catalog, more than the server's result cache holds (0 to skip)")
	fs.IntVar(&o.rate, "rate", 5000, "after each run's wrk runs, send the cold mix open-loop (a constant arrival rate, with vegeta) at this many searches/s for -duration (0 to skip; needs -cold)")
	fs.StringVar(&o.coldOut, "cold-out", "", "also write the cold mix's queries to this file, one a line (for go test -bench ColdMix with SHELF_BENCH_QUERIES)")
	fs.IntVar(&o.openConns, "open-connections", 256, "most connections (and requests in flight) of the open-loop run")
	fs.BoolVar(&o.split, "split", false, "give the server and wrk their own CPUs: the server on CPU 0 with GOMAXPROCS=1, wrk on the others "+
		"(taskset), so the load generator does not take CPU time from the server it measures, nor the server from it")
	fs.StringVar(&o.postgres, "postgres", "", "measure on PostgreSQL: the URL of a server (postgres://user:pass@127.0.0.1:5432/postgres); "+
		"each size gets a database shelf_loadtest_N there, created when missing")
	fs.IntVar(&o.links, "links", 1000, "also run GET /s/{id} over this many short links (half to Shelf's pages: a redirect; half to outside pages: the interstitial) against /healthz (0 to skip)")
	fs.IntVar(&o.instances, "instances", 1, "server processes on the one database, the load split evenly between them (2 needs -postgres)")
	fs.BoolVar(&o.perf, "perf", false, "after the measured runs, sample the server with perf (linux-perf) during one more search run and add the hottest functions to the report")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./cmd/loadtest [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.split && runtime.NumCPU() < 2 {
		return nil, errors.New("-split needs at least 2 CPUs")
	}
	sizes, err := parseSizes(*books)
	if err != nil {
		return nil, fmt.Errorf("-books: %w", err)
	}
	o.sizes = sizes
	switch {
	case o.duration < time.Second:
		return nil, errors.New("-duration must be at least 1s")
	case o.connections < 1 || o.threads < 1 || o.threads > o.connections:
		return nil, errors.New("-connections and -threads must be positive, with threads <= connections")
	case o.runs < 1 || o.starts < 1:
		return nil, errors.New("-runs and -starts must be at least 1")
	case o.instances < 1 || (o.instances > 1 && o.postgres == ""):
		return nil, errors.New("-instances must be 1, or more with -postgres (SQLite serves from one process)")
	case o.links < 0 || o.links == 1:
		return nil, errors.New("-links must be 0 or at least 2 (one link of each kind)")
	case o.rate < 0 || o.openConns < 1:
		return nil, errors.New("-rate must not be negative and -open-connections must be positive")
	case o.instances > o.connections:
		return nil, errors.New("-instances may not exceed -connections")
	case o.postgres != "" && !store.IsPostgresURL(o.postgres):
		return nil, errors.New("-postgres wants a postgres:// URL")
	}
	return o, nil
}

// parseSizes reads "10000,1000000" or "10k,1M".
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.ReplaceAll(f, "_", ""))
		if f == "" {
			continue
		}
		mult := 1
		switch {
		case strings.HasSuffix(f, "k") || strings.HasSuffix(f, "K"):
			mult, f = 1_000, f[:len(f)-1]
		case strings.HasSuffix(f, "m") || strings.HasSuffix(f, "M"):
			mult, f = 1_000_000, f[:len(f)-1]
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		out = append(out, n*mult)
	}
	if len(out) == 0 {
		return nil, errors.New("no sizes")
	}
	return out, nil
}

// measure runs every size and returns the report, partial when an error
// stopped it.
func measure(ctx context.Context, o *options, logw io.Writer) (*report, error) {
	if _, err := exec.LookPath(o.wrk); err != nil {
		return nil, fmt.Errorf("wrk not found (apt-get install wrk): %w", err)
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	if o.csv == "" {
		if p := filepath.Join(root, "..", "shared", "data", "goodbooks-10k-books.csv"); fileExists(p) {
			o.csv = p
		}
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return nil, err
	}
	o.root = root
	rep := &report{opts: o, machine: machineInfo(ctx, root, o.wrk), started: time.Now()}
	bin := filepath.Join(o.dir, "shelf")
	logf(logw, "building %s", bin)
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/shelf")
	build.Dir, build.Stdout, build.Stderr = root, logw, logw
	if err := build.Run(); err != nil {
		return rep, fmt.Errorf("go build ./cmd/shelf: %w", err)
	}
	for _, n := range o.sizes {
		res, err := measureSize(ctx, o, bin, n, logw)
		if res != nil {
			rep.sizes = append(rep.sizes, res)
		}
		if err != nil {
			return rep, fmt.Errorf("%d books: %w", n, err)
		}
	}
	rep.finished = time.Now()
	return rep, nil
}

func measureSize(ctx context.Context, o *options, bin string, n int, logw io.Writer) (*sizeResult, error) {
	res := &sizeResult{want: n}
	db, err := databaseFor(o, n)
	if err != nil {
		return res, err
	}
	logPath := filepath.Join(o.dir, fmt.Sprintf("server-%d.log", n))
	if err := ensureDB(ctx, o, bin, db, logPath, n, res, logw); err != nil {
		return res, err
	}

	var sl shortLinks
	if o.links > 0 {
		if sl, err = seedLinks(ctx, db, o.links); err != nil {
			return res, fmt.Errorf("short links: %w", err)
		}
		res.shortLinks = len(sl.internal) + len(sl.external)
	}

	// Start-up on the existing database; the last start stays up for the load.
	var srv *server
	for i := range o.starts {
		s, err := startServer(ctx, bin, db, logPath, o.split)
		if err != nil {
			return res, err
		}
		res.starts = append(res.starts, s.ready)
		res.indexReady = append(res.indexReady, s.indexReady)
		if s.startupLog > 0 {
			res.startupLogs = append(res.startupLogs, s.startupLog)
		}
		logf(logw, "%d books: start %d answered /healthz after %v (server says startup=%v), search index ready after %v",
			n, i+1, s.ready.Round(time.Millisecond), s.startupLog, s.indexReady.Round(time.Millisecond))
		if i < o.starts-1 {
			if err := s.stop(); err != nil {
				return res, err
			}
			continue
		}
		srv = s
	}
	defer srv.stop()
	res.idle, _ = readMemory(srv.pid())
	srvs := []*server{srv}
	for i := 2; i <= o.instances; i++ {
		s, err := startServer(ctx, bin, db, fmt.Sprintf("%s.%d", logPath, i), o.split)
		if err != nil {
			return res, err
		}
		defer s.stop()
		srvs = append(srvs, s)
	}

	if err := preflight(ctx, srv.base, res); err != nil {
		return res, err
	}
	if o.links > 0 {
		if err := checkLinks(ctx, srv.base, sl); err != nil {
			return res, fmt.Errorf("short links: %w", err)
		}
	}
	fp, err := firstPage(ctx, srv.addr)
	if err != nil {
		return res, fmt.Errorf("first page: %w", err)
	}
	res.firstPage = fp

	dir, err := os.MkdirTemp(o.dir, "lua-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	healthLua, searchLua := filepath.Join(dir, "healthz.lua"), filepath.Join(dir, "search.lua")
	coldLua, apiLua := filepath.Join(dir, "cold.lua"), filepath.Join(dir, "api.lua")
	if err := os.WriteFile(apiLua, []byte(apiScript(apiQueryPaths())), 0o644); err != nil {
		return res, err
	}
	var cold []string
	if o.cold > 0 {
		cold, err = coldQueries(ctx, db, o.cold)
		if err != nil {
			return res, fmt.Errorf("cold mix: %w", err)
		}
		res.coldQueries = len(cold)
		if o.coldOut != "" {
			if err := writeQueries(o.coldOut, cold); err != nil {
				return res, fmt.Errorf("-cold-out: %w", err)
			}
		}
		if err := os.WriteFile(coldLua, []byte(searchScript(cold)), 0o644); err != nil {
			return res, err
		}
	}
	redirectLua, leaveLua := filepath.Join(dir, "redirect.lua"), filepath.Join(dir, "interstitial.lua")
	if err := os.WriteFile(redirectLua, []byte(apiScript(linkPaths(sl.internal))), 0o644); err != nil {
		return res, err
	}
	if err := os.WriteFile(leaveLua, []byte(apiScript(linkPaths(sl.external))), 0o644); err != nil {
		return res, err
	}
	if err := os.WriteFile(healthLua, []byte(doneLua), 0o644); err != nil {
		return res, err
	}
	if err := os.WriteFile(searchLua, []byte(searchScript(queryPaths())), 0o644); err != nil {
		return res, err
	}
	w := wrkRunner{exe: o.wrk, threads: o.threads, connections: o.connections, log: logw}
	if o.split {
		w.cpus = fmt.Sprintf("1-%d", runtime.NumCPU()-1)
	}
	if o.warmup > 0 {
		logf(logw, "%d books: warming up for %v", n, o.warmup)
		if _, err := runOn(ctx, w, srvs, "/", searchLua, o.warmup); err != nil {
			return res, fmt.Errorf("warm-up: %w", err)
		}
	}
	for i := range o.runs {
		h, err := runOn(ctx, w, srvs, "/healthz", healthLua, o.duration)
		if err != nil {
			return res, fmt.Errorf("run %d /healthz: %w", i+1, err)
		}
		s, err := runOn(ctx, w, srvs, "/", searchLua, o.duration)
		if err != nil {
			return res, fmt.Errorf("run %d search: %w", i+1, err)
		}
		if o.api {
			a, err := runOn(ctx, w, srvs, "/", apiLua, o.duration)
			if err != nil {
				return res, fmt.Errorf("run %d API search: %w", i+1, err)
			}
			logf(logw, "%d books: run %d: API search mix %.0f req/s p50 %s p99 %s (%.2f of the HTMX mix), server CPU per search %s, errors %d %s",
				n, i+1, a.rps(), ms(a.P50), ms(a.P99), a.rps()/s.rps(), usPerReq(a), a.errors(), a.errorDetail())
			res.api = append(res.api, a)
		}
		if o.links > 0 {
			r, err := runOn(ctx, w, srvs, "/", redirectLua, o.duration)
			if err != nil {
				return res, fmt.Errorf("run %d short-link redirects: %w", i+1, err)
			}
			l, err := runOn(ctx, w, srvs, "/", leaveLua, o.duration)
			if err != nil {
				return res, fmt.Errorf("run %d short-link interstitials: %w", i+1, err)
			}
			logf(logw, "%d books: run %d: /s/{id} redirects %.0f req/s p99 %s (%.2f of /healthz), interstitials %.0f req/s p99 %s (%.2f), errors %d/%d",
				n, i+1, r.rps(), ms(r.P99), r.rps()/h.rps(), l.rps(), ms(l.P99), l.rps()/h.rps(), r.errors(), l.errors())
			res.redirects = append(res.redirects, r)
			res.interstitials = append(res.interstitials, l)
		}
		if o.cold > 0 {
			c, err := runOn(ctx, w, srvs, "/", coldLua, o.duration)
			if err != nil {
				return res, fmt.Errorf("run %d cold search: %w", i+1, err)
			}
			logf(logw, "%d books: run %d: cold search mix %.0f req/s p50 %s p99 %s, server CPU per search %s using %.2f cores, errors %d %s",
				n, i+1, c.rps(), ms(c.P50), ms(c.P99), usPerReq(c), c.cores(), c.errors(), c.errorDetail())
			res.cold = append(res.cold, c)
		}
		if o.cold > 0 && o.rate > 0 {
			var bases []string
			for _, s := range srvs {
				bases = append(bases, s.base)
			}
			ol, err := openLoop(ctx, bases, cold, o.rate, o.duration, o.openConns)
			if err != nil {
				return res, fmt.Errorf("run %d open loop: %w", i+1, err)
			}
			logf(logw, "%d books: run %d: open loop at %d searches/s (sent %.0f/s): p50 %s p90 %s p99 %s max %s, errors %d %s",
				n, i+1, ol.rate, ol.achieved, msd3(ol.p50), msd3(ol.p90), msd3(ol.p99), msd3(ol.max), ol.errors, ol.errorDetail())
			res.open = append(res.open, ol)
		}
		logf(logw, "%d books: run %d: /healthz %.0f req/s p99 %s; search %.0f req/s p50 %s p99 %s (ratio %.2f), server CPU per search %s using %.2f cores, errors %d/%d %s %s",
			n, i+1, h.rps(), ms(h.P99), s.rps(), ms(s.P50), ms(s.P99), s.rps()/h.rps(), usPerReq(s), s.cores(), h.errors(), s.errors(), h.errorDetail(), s.errorDetail())
		res.health = append(res.health, h)
		res.search = append(res.search, s)
	}
	res.loaded, err = readMemory(srv.pid())
	if err != nil {
		logf(logw, "read memory: %v", err)
	}
	if o.perf {
		// An extra, unmeasured run under perf: where the server's CPU goes.
		// Profile the cold mix when there is one: the fixed mix is mostly
		// cache hits, so it shows little of the search itself.
		profLua := searchLua
		if o.cold > 0 {
			profLua = coldLua
		}
		prof, err := profile(ctx, o, w, srv, profLua, n)
		if err != nil {
			logf(logw, "%d books: perf profile: %v", n, err)
		}
		res.profile = prof
	}
	return res, srv.stop()
}

// profile samples the server with perf during one search run and returns
// the hottest symbols (self time).
func profile(ctx context.Context, o *options, w wrkRunner, srv *server, searchLua string, n int) (string, error) {
	data := filepath.Join(o.dir, fmt.Sprintf("perf-%d.data", n))
	secs := strconv.Itoa(int(o.duration / time.Second))
	rec := exec.CommandContext(ctx, "perf", "record", "-F", "499", "-g", "-p", strconv.Itoa(srv.pid()), "-o", data, "--", "sleep", secs)
	var recOut strings.Builder
	rec.Stdout, rec.Stderr = &recOut, &recOut
	if err := rec.Start(); err != nil {
		return "", err
	}
	_, werr := w.run(ctx, srv.base+"/", searchLua, o.duration)
	if err := rec.Wait(); err != nil {
		return "", fmt.Errorf("perf record: %w\n%s", err, recOut.String())
	}
	if werr != nil {
		return "", werr
	}
	out, err := exec.CommandContext(ctx, "perf", "report", "-i", data, "--stdio", "--no-children",
		"--sort", "symbol", "-g", "none", "--percent-limit", "1").Output()
	if err != nil {
		return "", fmt.Errorf("perf report: %w", err)
	}
	full := filepath.Join(o.dir, fmt.Sprintf("perf-%d.txt", n))
	os.WriteFile(full, out, 0o644)
	var top []string
	for line := range strings.Lines(string(out)) {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		top = append(top, strings.TrimRight(line, "\n"))
		if len(top) == 25 {
			break
		}
	}
	logf(w.log, "%d books: perf profile in %s (full report %s)", n, data, full)
	return strings.Join(top, "\n"), nil
}

// ensureDB makes db hold about n books, reusing it when it already does.
func ensureDB(ctx context.Context, o *options, bin, db, logPath string, n int, res *sizeResult, logw io.Writer) error {
	stampPath := stampFor(o, db)
	stamp, err := schemaStamp(o.root)
	if err != nil {
		return err
	}
	if o.fresh {
		if err := removeDatabase(ctx, db); err != nil {
			return err
		}
	}
	if databaseExists(ctx, db) {
		c, err := countBooks(ctx, db)
		old, _ := os.ReadFile(stampPath)
		switch {
		case err == nil && closeEnough(c, n) && (string(old) == stamp || o.reuse):
			res.books = c
			logf(logw, "%d books: reusing %s (%d books)", n, redactURL(db), c)
			return nil
		case string(old) != stamp:
			logf(logw, "%d books: %s was built by other store/import code; recreating it", n, redactURL(db))
		default:
			logf(logw, "%d books: %s has %d books (%v); recreating it", n, redactURL(db), c, err)
		}
		if err := removeDatabase(ctx, db); err != nil {
			return err
		}
	}
	if err := createDatabase(ctx, db); err != nil {
		return fmt.Errorf("create %s: %w", redactURL(db), err)
	}
	// The first start imports the bundled catalog into the empty database.
	logf(logw, "%d books: creating %s (first start imports the bundled catalog)", n, redactURL(db))
	t0 := time.Now()
	s, err := startServer(ctx, bin, db, logPath, false)
	if err != nil {
		return err
	}
	if err := s.stop(); err != nil {
		return err
	}
	c, err := countBooks(ctx, db)
	if err != nil {
		return err
	}
	res.bundled = c
	res.bundledTime = time.Since(t0)
	if c == 0 {
		if o.csv == "" {
			return errors.New("the server did not import a bundled catalog and no -csv was given")
		}
		logf(logw, "%d books: no bundled import; importing %s", n, o.csv)
		if err := shelfCmd(ctx, bin, db, logw, "import", "-db", db, o.csv); err != nil {
			return err
		}
		if c, err = countBooks(ctx, db); err != nil {
			return err
		}
	}
	if missing := n - c; missing > 0 && !closeEnough(c, n) {
		logf(logw, "%d books: importing %d synthetic books", n, missing)
		t1 := time.Now()
		if err := shelfCmd(ctx, bin, db, logw, "import", "-db", db, "--synthetic", strconv.Itoa(missing)); err != nil {
			return err
		}
		res.synthetic, res.syntheticTime = missing, time.Since(t1)
		logf(logw, "%d books: synthetic import took %v", n, res.syntheticTime.Round(time.Millisecond))
		if c, err = countBooks(ctx, db); err != nil {
			return err
		}
	}
	res.books = c
	if !closeEnough(c, n) {
		return fmt.Errorf("%s holds %d books, want about %d", redactURL(db), c, n)
	}
	return os.WriteFile(stampPath, []byte(stamp), 0o644)
}

// schemaStamp hashes the code that decides what a database holds (the store
// package, its migrations on both backends, the catalog and the import
// command), so a database built by older code is not reused.
func schemaStamp(root string) (string, error) {
	h := sha256.New()
	var files []string
	for _, pattern := range []string{"store/*.go", "store/migrations/*/*.sql", "store/catalog/*.go", "cmd/shelf/import.go"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			return "", err
		}
		files = append(files, m...)
	}
	slices.Sort(files)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// closeEnough allows the bundled catalog to be a little off a round size.
func closeEnough(have, want int) bool {
	d := have - want
	if d < 0 {
		d = -d
	}
	return have > 0 && d <= want/50
}

func shelfCmd(ctx context.Context, bin, db string, logw io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = serverEnv(db, "")
	cmd.Stdout, cmd.Stderr = logw, logw
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("shelf %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run loadtest inside the shelf module (go run ./cmd/loadtest)")
	}
	return filepath.Dir(gomod), nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// writeQueries writes the query of each search path to file, one a line.
func writeQueries(file string, paths []string) error {
	var b strings.Builder
	for _, p := range paths {
		u, err := url.Parse(p)
		if err != nil {
			return err
		}
		b.WriteString(u.Query().Get("q"))
		b.WriteByte('\n')
	}
	return os.WriteFile(file, []byte(b.String()), 0o644)
}
