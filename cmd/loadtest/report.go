package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// sizeResult is everything measured for one catalog size.
type sizeResult struct {
	want, books   int
	bundled       int           // books after the first start, when this run created the database
	bundledTime   time.Duration // first start including the bundled import
	synthetic     int
	syntheticTime time.Duration

	starts        []time.Duration // process start to /healthz 200
	startupLogs   []time.Duration // the server's own startup=
	indexReady    []time.Duration // process start to the in-memory search index in use
	idle, loaded  memory          // after start-up; after the runs
	fragmentBytes int64           // mean size of a search fragment (preflight, gzip)
	alone         []timedQuery    // each query timed alone (preflight)
	firstPage     pageWeight

	health, search []wrkResult
	cold           []wrkResult  // the cold mix (-cold), when run
	api            []wrkResult  // the fixed mix as JSON API searches (-api), when run
	open           []openResult // the cold mix sent open-loop (-rate), when run
	redirects      []wrkResult  // GET /s/{id} of links to Shelf's pages (-links)
	interstitials  []wrkResult  // GET /s/{id} of links to outside pages, from outside Shelf (-links)
	shortLinks     int
	coldQueries    int
	profile        string // perf report, hottest symbols first (-perf)
}

type machine struct {
	cpus             int
	cpuModel, memory string
	kernel, goVer    string
	wrkVer, commit   string
}

type report struct {
	opts              *options
	machine           machine
	started, finished time.Time
	sizes             []*sizeResult
}

// Goals from the issue.
const (
	goal1MRPS        = 5000
	goal1MP99        = 25 * time.Millisecond
	goal1MMemKB      = 250 * 1024
	goal1MOpenRate   = 5000
	goal10kRPS       = 15000
	goalStart        = time.Second
	goalFirstPageKiB = 40
)

func (r *report) failed() bool {
	for _, s := range r.sizes {
		if len(s.search) < r.opts.runs {
			return true
		}
		for _, w := range slices.Concat(s.health, s.search, s.cold, s.redirects, s.interstitials) {
			if w.errors() > 0 {
				return true
			}
		}
		if sumOpenErrors(s.open) > 0 {
			return true
		}
	}
	return false
}

func (r *report) markdown() string {
	var b strings.Builder
	o, m := r.opts, r.machine
	fmt.Fprintf(&b, "## Load test results (%s)\n\n", r.started.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- Machine: %d CPUs (%s), %s RAM, Linux %s; %s; %s; commit %s\n",
		m.cpus, m.cpuModel, m.memory, m.kernel, m.goVer, m.wrkVer, m.commit)
	fmt.Fprintf(&b, "- wrk on the same machine: %d threads, %d connections, %v per run, median of %d runs "+
		"(after a %v warm-up); each run measures /healthz, then the search mixes, back to back, and each ratio is taken within a run\n",
		o.threads, o.connections, o.duration, o.runs, o.warmup)
	if o.postgres != "" {
		fmt.Fprintf(&b, "- Database: **PostgreSQL** (%s, one database per size); %d server %s on it, the connections split evenly between them; "+
			"with several, requests/s and CPU are their sums and each latency percentile the larger of theirs; memory is the first server's\n",
			redactURL(o.postgres), o.instances, map[bool]string{true: "process", false: "processes"}[o.instances == 1])
	} else {
		fmt.Fprintf(&b, "- Database: SQLite (a file in %s); one server process\n", o.dir)
	}
	if o.split {
		fmt.Fprintf(&b, "- **CPUs split**: the server pinned to CPU 0 with `GOMAXPROCS=1`, wrk to the other CPUs (`taskset`); "+
			"the server has one core to itself\n")
	} else {
		fmt.Fprintf(&b, "- CPUs shared: the server (GOMAXPROCS = all CPUs) and wrk compete for every core\n")
	}
	fmt.Fprintf(&b, "- Search mix: %d queries cycled per connection (one letter, prefixes, words, two words, typos, accents, misses, page 2), "+
		"sent with `HX-Request: true` and `Accept-Encoding: gzip` like htmx in a browser\n", len(queries))
	if o.cold > 0 {
		fmt.Fprintf(&b, "- Cold mix: up to %d distinct queries built from the catalog's most-rated books (prefixes, words, word + author, typos), "+
			"more than the server's result cache holds, so nearly every search is computed\n", o.cold)
	}
	splitFlag := ""
	if o.split {
		splitFlag = " -split"
	}
	fmt.Fprintf(&b, "- Reproduce: `go run ./cmd/loadtest -books %s -duration %v -runs %d%s`\n", sizesFlag(r.sizes), o.duration, o.runs, splitFlag)
	for _, s := range r.sizes {
		r.writeSize(&b, s)
	}
	return b.String()
}

func sizesFlag(ss []*sizeResult) string {
	var f []string
	for _, s := range ss {
		f = append(f, fmt.Sprint(s.want))
	}
	return strings.Join(f, ",")
}

func (r *report) writeSize(b *strings.Builder, s *sizeResult) {
	if s.books == 0 {
		fmt.Fprintf(b, "\n### %s books (not measured: the database could not be prepared)\n", commas(int64(s.want)))
		return
	}
	fmt.Fprintf(b, "\n### %s books\n\n", commas(int64(s.books)))
	if len(s.search) > 0 {
		h, q := medianRun(s.health), medianRun(s.search)
		hr := median(mapf(s.health, wrkResult.rps))
		qr := median(mapf(s.search, wrkResult.rps))
		ratio := median(ratios(s.search, s.health))
		fmt.Fprintf(b, "| Route | Requests/s | p50 | p90 | p99 | Ratio to /healthz | Server CPU per request (cores used) | Non-2xx + socket errors |\n")
		fmt.Fprintf(b, "|---|---:|---:|---:|---:|---:|---:|---:|\n")
		fmt.Fprintf(b, "| `/healthz` (baseline) | %s | %s | %s | %s | 1.00 | %s | %d |\n",
			commas(int64(hr)), ms(h.P50), ms(h.P90), ms(h.P99), cpuCell(s.health), sumErrors(s.health))
		fmt.Fprintf(b, "| `/search` fixed mix (HTMX fragment, %s B gzip mean) | %s | %s | %s | %s | %.2f | %s | %d |\n",
			commas(s.fragmentBytes), commas(int64(qr)), ms(q.P50), ms(q.P90), ms(q.P99), ratio, cpuCell(s.search), sumErrors(s.search))
		if len(s.api) > 0 {
			a := medianRun(s.api)
			fmt.Fprintf(b, "| `/api/v1/books` fixed mix (JSON API, same queries) | %s | %s | %s | %s | %.2f | %s | %d |\n",
				commas(int64(median(mapf(s.api, wrkResult.rps)))), ms(a.P50), ms(a.P90), ms(a.P99),
				median(ratios(s.api, s.health)), cpuCell(s.api), sumErrors(s.api))
		}
		if len(s.redirects) > 0 {
			for _, row := range []struct {
				name string
				runs []wrkResult
			}{
				{"`/s/{id}` short links to Shelf's pages (302)", s.redirects},
				{"`/s/{id}` short links to outside pages (interstitial page)", s.interstitials},
			} {
				x := medianRun(row.runs)
				fmt.Fprintf(b, "| %s, %s links | %s | %s | %s | %s | %.2f | %s | %d |\n",
					row.name, commas(int64(s.shortLinks)), commas(int64(median(mapf(row.runs, wrkResult.rps)))), ms(x.P50), ms(x.P90), ms(x.P99),
					median(ratios(row.runs, s.health)), cpuCell(row.runs), sumErrors(row.runs))
			}
		}
		if len(s.cold) > 0 {
			c := medianRun(s.cold)
			fmt.Fprintf(b, "| `/search` cold mix (%s distinct queries, HTMX) | %s | %s | %s | %s | %.2f | %s | %d |\n",
				commas(int64(s.coldQueries)), commas(int64(median(mapf(s.cold, wrkResult.rps)))), ms(c.P50), ms(c.P90), ms(c.P99),
				median(ratios(s.cold, s.health)), cpuCell(s.cold), sumErrors(s.cold))
		}
		if len(s.open) > 0 {
			o := medianOpen(s.open)
			fmt.Fprintf(b, "\nOpen loop (vegeta, a constant arrival rate, up to %d connections): the cold mix at %s searches/s for %s, median of %d runs by p99: "+
				"p50 %s, p90 %s, **p99 %s**, max %s; sent %s/s; errors %d.",
				r.opts.openConns, commas(int64(o.rate)), r.opts.duration, len(s.open), msd3(o.p50), msd3(o.p90), msd3(o.p99), msd3(o.max),
				commas(int64(o.achieved)), sumOpenErrors(s.open))
			fmt.Fprintf(b, " Each run's p99:")
			for _, x := range s.open {
				fmt.Fprintf(b, " %s", msd3(x.p99))
				if d := x.errorDetail(); d != "" {
					fmt.Fprintf(b, " (errors: %s)", d)
				}
			}
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "\nRuns (search / healthz req/s, search p99):")
		for i := range s.search {
			fmt.Fprintf(b, " %s / %s, %s", commas(int64(s.search[i].rps())), commas(int64(s.health[i].rps())), ms(s.search[i].P99))
			if d := s.search[i].errorDetail(); d != "" {
				fmt.Fprintf(b, " (search errors: %s)", d)
			}
			if d := s.health[i].errorDetail(); d != "" {
				fmt.Fprintf(b, " (/healthz errors: %s)", d)
			}
			b.WriteString(";")
		}
		b.WriteString("\n\n")
	} else {
		b.WriteString("No load runs completed.\n\n")
	}
	if len(s.alone) > 0 {
		q := slices.Clone(s.alone)
		slices.SortFunc(q, func(a, b timedQuery) int { return int(b.took - a.took) })
		var parts []string
		for _, t := range q[:min(5, len(q))] {
			parts = append(parts, fmt.Sprintf("`%s` %s", t.path, msd3(t.took)))
		}
		fmt.Fprintf(b, "- Slowest queries timed alone (best of 3, one connection, idle server): %s; median query %s\n",
			strings.Join(parts, ", "), msd3(q[len(q)/2].took))
	}
	fmt.Fprintf(b, "- Server memory: VmRSS %s, peak VmHWM %s after the runs (VmRSS %s right after start-up)\n",
		mb(s.loaded.RSS), mb(s.loaded.HWM), mb(s.idle.RSS))
	if len(s.starts) > 0 {
		fmt.Fprintf(b, "- Start-up on the existing database: %s from process start to /healthz answering (median of %d: %s); server-logged startup= %s\n",
			msd(medianDur(s.starts)), len(s.starts), joinDur(s.starts), msd(medianDur(s.startupLogs)))
		fmt.Fprintf(b, "- In-memory search index in use %s after process start (median; SQLite's FTS index answers until then)\n",
			msd(medianDur(s.indexReady)))
	}
	if s.bundled > 0 {
		fmt.Fprintf(b, "- This run created the database: first start with the bundled import (%s books) %s", commas(int64(s.bundled)), s.bundledTime.Round(10*time.Millisecond))
		if s.synthetic > 0 {
			fmt.Fprintf(b, "; `shelf import --synthetic %d` %s", s.synthetic, s.syntheticTime.Round(10*time.Millisecond))
		}
		b.WriteString("\n")
	}
	if len(s.firstPage.items) > 0 {
		var parts []string
		for _, it := range s.firstPage.items {
			enc := "identity"
			if it.gzip {
				enc = "gzip"
			}
			parts = append(parts, fmt.Sprintf("`%s` %s (%s, %s uncompressed)", shortAsset(it.path), commas(it.wire), enc, commas(it.plain)))
		}
		fmt.Fprintf(b, "- First page over the wire (headers + body, `Accept-Encoding: gzip`): %s bytes = %s\n",
			commas(s.firstPage.total()), strings.Join(parts, " + "))
	}
	r.writeGoals(b, s)
	if s.profile != "" {
		fmt.Fprintf(b, "\nWhere the server's CPU goes under the cold search mix, or the fixed one with -cold 0 (perf, self time, an extra unmeasured run):\n\n```\n%s\n```\n", s.profile)
	}
}

func (r *report) writeGoals(b *strings.Builder, s *sizeResult) {
	type goal struct {
		name, target, got string
		ok                bool
	}
	var gs []goal
	var qr, p99 float64
	if len(s.search) > 0 {
		qr, p99 = median(mapf(s.search, wrkResult.rps)), medianRun(s.search).P99
	}
	switch {
	case s.want >= 1_000_000:
		gs = append(gs,
			goal{"search throughput, fixed mix", fmt.Sprintf(">= %s req/s", commas(goal1MRPS)), commas(int64(qr)) + " req/s", qr >= goal1MRPS},
			goal{"search p99 latency, fixed mix", "<= " + msd(goal1MP99), ms(p99), p99 > 0 && time.Duration(p99)*time.Microsecond <= goal1MP99},
			goal{"server memory (peak VmHWM)", "<= 250 MB", mb(s.loaded.HWM), s.loaded.HWM > 0 && s.loaded.HWM <= goal1MMemKB},
		)
	case s.want >= 10_000:
		gs = append(gs, goal{"search throughput, fixed mix", fmt.Sprintf(">= %s req/s", commas(goal10kRPS)), commas(int64(qr)) + " req/s", qr >= goal10kRPS})
	}
	if len(s.starts) > 0 {
		st := medianDur(s.starts)
		gs = append(gs, goal{"start-up to /healthz", "< 1 s", msd(st), st < goalStart})
	}
	if t := s.firstPage.total(); t > 0 {
		gs = append(gs, goal{"first page weight", fmt.Sprintf("<= %d KiB", goalFirstPageKiB), fmt.Sprintf("%.1f KiB", float64(t)/1024), t <= goalFirstPageKiB*1024})
	}
	if len(s.cold) > 0 {
		cr := median(mapf(s.cold, wrkResult.rps))
		switch {
		case s.want >= 1_000_000:
			gs = append(gs,
				goal{"search throughput, cold mix", fmt.Sprintf(">= %s req/s", commas(goal1MRPS)), commas(int64(cr)) + " req/s", cr >= goal1MRPS})
		case s.want >= 10_000:
			gs = append(gs, goal{"search throughput, cold mix", fmt.Sprintf(">= %s req/s", commas(goal10kRPS)), commas(int64(cr)) + " req/s", cr >= goal10kRPS})
		}
		if s.want >= 1_000_000 && len(s.health) > 0 {
			ratio := median(ratios(s.cold, s.health))
			gs = append(gs, goal{"cold mix against /healthz, same run", ">= 0.50", fmt.Sprintf("%.2f", ratio), ratio >= 0.5})
		}
	}
	if len(s.api) > 0 && len(s.search) > 0 {
		ratio := median(ratios(s.api, s.search))
		gs = append(gs, goal{"JSON API search against the HTMX fragment, fixed mix, same run", ">= 0.80", fmt.Sprintf("%.2f", ratio), ratio >= 0.8})
	}
	if len(s.open) > 0 && s.want >= 1_000_000 {
		o := medianOpen(s.open)
		errs := sumOpenErrors(s.open)
		gs = append(gs, goal{fmt.Sprintf("open loop at %s searches/s, cold mix: p99, errors", commas(int64(o.rate))), "<= " + msd(goal1MP99) + ", 0",
			fmt.Sprintf("%s, %d", msd3(o.p99), errs), o.p99 <= goal1MP99 && errs == 0 && o.rate >= goal1MOpenRate})
	}
	if errs := sumErrors(s.search) + sumErrors(s.health) + sumErrors(s.cold) + sumErrors(s.api); len(s.search) > 0 {
		gs = append(gs, goal{"errors under load", "0", fmt.Sprint(errs), errs == 0})
	}
	b.WriteString("\n| Goal | Target | Measured | |\n|---|---|---|---|\n")
	for _, g := range gs {
		verdict := "met"
		if !g.ok {
			verdict = "**MISSED**"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", g.name, g.target, g.got, verdict)
	}
}

func shortAsset(p string) string {
	if p == "/" {
		return "GET /"
	}
	// /static/htmx.min.1a2b3c4d5e.js -> htmx.min.js
	parts := strings.Split(strings.TrimPrefix(p, "/static/"), ".")
	if n := len(parts); n >= 3 && isHash(parts[n-2]) {
		parts = append(parts[:n-2], parts[n-1])
	}
	return strings.Join(parts, ".")
}

func isHash(s string) bool {
	if len(s) != 10 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// medianRun is the run with the median search throughput, so its latency
// percentiles belong together.
func medianRun(rs []wrkResult) wrkResult {
	if len(rs) == 0 {
		return wrkResult{}
	}
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b wrkResult) int {
		switch {
		case a.rps() < b.rps():
			return -1
		case a.rps() > b.rps():
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}

// cpuCell is the median server CPU per request and cores used.
func cpuCell(rs []wrkResult) string {
	per := median(mapf(rs, func(r wrkResult) float64 { return float64(r.cpuPerRequest()) }))
	if per == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%s (%.2f)", usPerReq(wrkResult{ServerCPU: time.Duration(per), Requests: 1}), median(mapf(rs, wrkResult.cores)))
}

// usPerReq formats the server CPU per request in microseconds.
func usPerReq(r wrkResult) string {
	return fmt.Sprintf("%.0f µs", float64(r.cpuPerRequest())/float64(time.Microsecond))
}

func ratios(search, health []wrkResult) []float64 {
	var out []float64
	for i := range search {
		if i < len(health) && health[i].rps() > 0 {
			out = append(out, search[i].rps()/health[i].rps())
		}
	}
	return out
}

func mapf[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianDur(ds []time.Duration) time.Duration {
	return time.Duration(median(mapf(ds, func(d time.Duration) float64 { return float64(d) })))
}

func sumOpenErrors(rs []openResult) uint64 {
	var n uint64
	for _, r := range rs {
		n += r.errors
	}
	return n
}

func sumErrors(rs []wrkResult) int64 {
	var n int64
	for _, r := range rs {
		n += r.errors()
	}
	return n
}

// ms formats microseconds as milliseconds.
func ms(us float64) string { return fmt.Sprintf("%.2f ms", us/1000) }

func msd(d time.Duration) string {
	if d == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}

func msd3(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func joinDur(ds []time.Duration) string {
	return strings.Join(mapf(ds, msd), ", ")
}

func mb(kb int64) string {
	if kb == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MB", float64(kb)/1024)
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + commas(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func machineInfo(ctx context.Context, root, wrk string) machine {
	m := machine{cpus: runtime.NumCPU(), goVer: runtime.Version(), cpuModel: "unknown CPU", memory: "?"}
	if out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output(); err == nil {
		m.goVer = strings.TrimSpace(string(out))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpuModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSpace(v), &kb)
				m.memory = fmt.Sprintf("%.0f GB", float64(kb)/1024/1024)
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	out, _ := exec.CommandContext(ctx, wrk, "-v").CombinedOutput()
	m.wrkVer, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	if i := strings.Index(m.wrkVer, " Copyright"); i > 0 {
		m.wrkVer = m.wrkVer[:i]
	}
	cmd := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		m.commit = strings.TrimSpace(string(out))
	} else {
		m.commit = "unknown"
	}
	return m
}
