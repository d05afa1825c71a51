// Command shelf runs the Shelf web app and its maintenance subcommands.
//
//	shelf [serve] [flags]              serve the app (the default)
//	shelf import [flags] FILE.csv      import books from a CSV file
//	shelf import --synthetic N         append N generated books
//	shelf create-admin --email ADDRESS create a confirmed admin account
//	shelf healthcheck                  exit 0 if the server answers /healthz
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"shelf/handlers"
	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/search"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serveCommand(ctx, args, environ, stderr, nil)
	case "import":
		err = importCommand(ctx, args, environ, stdout, stderr)
	case "create-admin":
		err = createAdminCommand(ctx, args, environ, stdin, stdout, stderr)
	case "healthcheck":
		err = healthcheckCommand(ctx, args, environ, stdout)
	case "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "shelf:", err)
		return 1
	}
	return 0
}

const usage = `usage:
  shelf [serve] [-addr HOST:PORT] [-db FILE] [-base-url URL]
  shelf import [-db FILE] FILE.csv
  shelf import [-db FILE] --synthetic N
  shelf create-admin [-db FILE] --email ADDRESS [--password-stdin]
  shelf healthcheck [-addr HOST:PORT] [-timeout 5s]`

// openCatalog opens (creating and migrating) the database at path and its
// catalog. The caller closes the database.
func openCatalog(ctx context.Context, path string) (*store.DB, *catalog.Catalog, error) {
	db, err := store.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	return db, catalog.New(db), nil
}

// gcHeadroom is how far the heap may grow past its live size before a
// collection, once the search index is built. Searches leave about 20 KB
// of garbage each: at 6,000 a second that is several collections a second,
// each cheap because the live heap is mostly pointer-free. At a million
// books 32 MB peaked at 256 MB resident under the cold mix, 24 MB at 249
// MB, with no change in throughput or latency beyond the runs' noise.
const gcHeadroom = 24 << 20

// setGCHeadroom collects the garbage of building the search index, then
// sets GOGC so the heap grows by about headroom between collections: by
// less than the default doubling when the live heap is large, and not by
// less than a tenth. Most of a large heap is the search index, which
// lives as long as the process and holds no pointers, so collections stay
// cheap however large it is; doubling it would only cost memory. It
// returns the percentage set and the live heap.
func setGCHeadroom(headroom uint64) (percent int, live uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	percent = int(min(max(100*headroom/max(m.HeapAlloc, 1), 10), 100))
	debug.SetGCPercent(percent)
	debug.FreeOSMemory()
	return percent, m.HeapAlloc
}

// buildSearchIndex builds the first search index. On SQLite one failure
// leaves searches on SQLite's own index; on PostgreSQL, where nothing else
// answers, it tries again every few seconds until ctx ends.
func buildSearchIndex(ctx context.Context, s *search.Searcher, backend store.Backend, log *slog.Logger) (search.IndexStats, error) {
	for {
		stats, err := s.BuildIndex(ctx)
		if err == nil || ctx.Err() != nil {
			return stats, err
		}
		if backend == store.SQLite {
			log.Error("search index not built; searching SQLite's index instead", "err", err)
			return stats, err
		}
		log.Error("search index not built; searches answer 503 until it is, trying again shortly", "err", err)
		select {
		case <-ctx.Done():
			return stats, ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// explainDiskFull replaces *err, when it means the disk holding the
// database at db is full, with a sentence saying so and what to do (again:
// "start again"): SQLite's own words for it are "database or disk is full"
// at best and "disk I/O error (4874)" at worst.
func explainDiskFull(err *error, db, again string) {
	if *err != nil && store.DiskFull(*err, db) {
		*err = fmt.Errorf("the disk holding %s is full: free some space and %s", db, again)
	}
}

// serveCommand runs the web app until ctx ends, then shuts down gracefully.
// ready, when set, receives the listening address (tests use it).
func serveCommand(ctx context.Context, args, environ []string, stderr io.Writer, ready func(addr string)) (err error) {
	cfg, _, err := loadConfig("shelf serve", args, environ)
	if err != nil {
		return err
	}
	defer explainDiskFull(&err, cfg.DB, "start again")
	if err := cfg.checkServe(); err != nil {
		return err
	}
	secretKey, err := cfg.secretKey()
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	start := time.Now()
	tuneGC := os.Getenv("GOGC") == ""
	if tuneGC {
		debug.SetGCPercent(25) // while the search index is built; see setGCHeadroom
	}

	db, books, err := openCatalog(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := importBundledIfEmpty(ctx, books, log); err != nil {
		return err
	}
	searcher, err := search.New(ctx, db)
	if err != nil {
		return err
	}
	searcher.SetResultCache(cfg.SearchCache)
	// On SQLite, search answers from SQLite's index until the in-memory one
	// is built: a few seconds for a million books, too long to hold up the
	// start. On PostgreSQL nothing else can answer: /healthz says 503 until
	// it is built, so a load balancer sends searches to other instances.
	go func() {
		stats, err := buildSearchIndex(ctx, searcher, db.Backend, log)
		if err != nil {
			return
		}
		if stats.Unindexed > 0 {
			log.Warn("search index: words missing from the vocabulary", "count", stats.Unindexed)
		}
		attrs := []any{"books", stats.Books, "terms", stats.Terms, "index_mb", stats.Bytes >> 20,
			"huge_pages_mb", stats.HugePageBytes >> 20, "took", stats.Took.Round(time.Millisecond)}
		if tuneGC {
			percent, live := setGCHeadroom(gcHeadroom)
			attrs = append(attrs, "heap_mb", live>>20, "gc_percent", percent)
		}
		log.Info("search index ready", attrs...)
	}()
	// Rebuild it whenever the catalog changes, whichever process or
	// instance changed it (shelf import, another server). On SQLite the new
	// books are searchable within a poll interval, on SQLite's index until
	// the in-memory one is rebuilt.
	go searcher.Follow(ctx, log, func(stats search.IndexStats, err error) {
		if err == nil {
			log.Info("search index rebuilt after a catalog change", "books", stats.Books, "terms", stats.Terms,
				"took", stats.Took.Round(time.Millisecond))
		}
	})

	mailer, err := startMail(cfg.Mail, cfg.BaseURL, db, log)
	if err != nil {
		return err
	}
	defer mailer.Stop(log) // runs before db.Close: deferred calls run in reverse

	previewer := startPreviews(cfg.Previews, db, log)
	defer previewer.Stop() // runs before db.Close

	app, err := handlers.New(handlers.Deps{DB: db, Catalog: books, Search: searcher, Logger: log, Mailer: mailer.Sender, DevInbox: mailer.DevInbox,
		Previews: previewer.Queue, CardRenderer: previewer.CardRenderer()},
		handlers.Settings{BaseURL: cfg.BaseURL, TrustedProxies: cfg.TrustedProxies, SecretKey: secretKey, AddressCheck: cfg.AddressCheck, MailFrom: cfg.Mail.fromAddress(),
			JWTKeyRotation: cfg.JWTKeyRotation,
			APICORSOrigins: cfg.APICORSOrigins,
			LinksPerDay:    cfg.LinksPerDay, LinksPerIPPerDay: cfg.LinksPerIPPerDay,
			Accounts: handlers.AccountSettings{SessionIdle: cfg.SessionIdle, SessionLifetime: cfg.SessionLifetime, ConfirmTTL: cfg.ConfirmTTL}})
	if err != nil {
		return err
	}
	go app.SessionStore.CleanupLoop(ctx, 10*time.Minute, log)
	go app.Links.RunFlusher(ctx, 0, func(err error) { log.Error("short link clicks not saved yet", "err", err) })
	srv := &http.Server{
		Handler:           app,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if mailer.DevInbox != nil && !listensOnLoopback(ln.Addr()) {
		// loadConfig allowed the address, but a name resolved elsewhere.
		ln.Close()
		return devInboxListenError(cfg.Addr + " (bound to " + ln.Addr().String() + ")")
	}
	log.Info("shelf listening", "addr", "http://"+ln.Addr().String(), "base_url", cfg.BaseURL.String(),
		"db", db.Where(), "startup", time.Since(start).Round(time.Millisecond))
	if ready != nil {
		ready(ln.Addr().String())
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	// Requests in flight and the mail being sent finish side by side,
	// within one grace period shorter than the 10 s container runtimes
	// wait before SIGKILL.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	mailStopped := make(chan struct{})
	go func() { mailer.StopBy(shutdownCtx, log); close(mailStopped) }()
	err = srv.Shutdown(shutdownCtx)
	<-mailStopped
	// The clicks counted by the last requests (RunFlusher may have
	// flushed before they ended).
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), 2*time.Second)
	if ferr := app.Links.Flush(flushCtx); ferr != nil {
		log.Error("short link clicks lost", "err", ferr)
	}
	cancelFlush()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// shutdownGrace is how long a stopping server gives requests in flight and
// the mail being sent to finish.
const shutdownGrace = 8 * time.Second
