package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"shelf/store/catalog"
)

const importUsage = "usage: shelf import [-db FILE] FILE.csv | shelf import [-db FILE] --synthetic N"

// importCommand imports books from a CSV file, or appends generated ones.
// Rejected rows are listed but do not fail the command; an unreadable file,
// an unknown header or an interrupted import does, and then nothing is
// imported.
func importCommand(ctx context.Context, args, environ []string, stdout, stderr io.Writer) (err error) {
	synthetic := -1
	cfg, fs, err := loadConfig("shelf import", args, environ, func(fs *flag.FlagSet) {
		fs.Func("synthetic", "append N generated books (a second run appends N more)", func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return errors.New("want a positive number of books")
			}
			synthetic = n
			return nil
		})
		fs.SetOutput(io.Discard) // errors come back as one line; -h prints importUsage
	})
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, importUsage)
		return err
	}
	if err != nil {
		return fmt.Errorf("import: %v (%s)", err, importUsage)
	}
	files := fs.Args()
	switch {
	case synthetic > 0 && len(files) > 0:
		return fmt.Errorf("import: give a CSV file or --synthetic N, not both (%s)", importUsage)
	case synthetic < 0 && len(files) != 1:
		return fmt.Errorf("import: want one CSV file, got %d (%s)", len(files), importUsage)
	}

	defer explainDiskFull(&err, cfg.DB, "import again (nothing was imported)")
	db, books, err := openCatalog(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	progress := newProgress(stderr)
	start := time.Now()

	if synthetic > 0 {
		n, err := books.ImportSynthetic(ctx, synthetic, progress)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added %s synthetic %s in %s\n", thousands(n), plural(n, "book", "books"), time.Since(start).Round(time.Millisecond))
		return nil
	}

	f, err := os.Open(files[0])
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	rep, err := books.Import(ctx, f, catalog.ImportOptions{Progress: progress})
	if err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	fmt.Fprintf(stdout, "added %s %s, skipped %s %s, rejected %s %s\n",
		thousands(rep.Added), plural(rep.Added, "book", "books"),
		thousands(rep.Duplicates), plural(rep.Duplicates, "duplicate", "duplicates"),
		thousands(rep.Rejected), plural(rep.Rejected, "row", "rows"))
	for _, e := range rep.Errors {
		fmt.Fprintln(stdout, e.Error())
	}
	if more := rep.Rejected - len(rep.Errors); more > 0 {
		fmt.Fprintf(stdout, "… and %s more rejected %s\n", thousands(more), plural(more, "row", "rows"))
	}
	return nil
}

// newProgress returns a progress callback printing "imported N books…" to
// w at most once a second.
func newProgress(w io.Writer) func(done int) {
	last := time.Now()
	return func(done int) {
		if now := time.Now(); now.Sub(last) >= time.Second {
			last = now
			fmt.Fprintf(w, "imported %s %s…\n", thousands(done), plural(done, "book", "books"))
		}
	}
}

// thousands formats n with commas: 250000 → "250,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// importBundledIfEmpty imports the bundled catalog into an empty database.
func importBundledIfEmpty(ctx context.Context, c *catalog.Catalog, log *slog.Logger) error {
	empty, err := c.IsEmpty(ctx)
	if err != nil || !empty {
		return err
	}
	start := time.Now()
	rep, err := c.ImportBundled(ctx)
	if err != nil {
		return fmt.Errorf("bundled catalog: %w", err)
	}
	log.Info("imported the bundled catalog (goodbooks-10k, CC BY-SA 4.0)", "books", rep.Added,
		"took", time.Since(start).Round(time.Millisecond))
	return nil
}
