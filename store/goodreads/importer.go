package goodreads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"shelf/store/shelves"
)

// What became of a row, in a Report.
const (
	StatusAdded      = "added"
	StatusUpdated    = "updated"
	StatusUnchanged  = "unchanged"
	StatusNotMatched = "not matched"
	StatusLeftOut    = "left out" // the row could not be read or used
)

// ReportItem is one row of the file in a Report.
type ReportItem struct {
	Line      int
	Title     string
	Author    string `json:",omitempty"`
	Status    string
	BookID    int64  `json:",omitempty"`
	BookTitle string `json:",omitempty"`
	By        string `json:",omitempty"` // how it was matched
	Reason    string `json:",omitempty"` // why not matched or left out
}

// Report says what an import did, row by row.
type Report struct {
	Rows       int // data rows in the file
	Matched    int
	NotMatched int
	LeftOut    int
	Added      int
	Updated    int
	Unchanged  int
	// Changed is how many shelf entries the import changed (Added +
	// Updated, as the shelves counted them).
	Changed int
	// Items lists the rows in file order; rows left out past MaxProblems
	// are counted in LeftOut only.
	Items []ReportItem
}

// Importer runs import jobs: it reads the file, matches its rows to the
// catalog and applies them to the reader's shelves through
// shelves.Store.Import. Applying is idempotent, so a job cut short is
// simply run again.
type Importer struct {
	Jobs    *Jobs
	Catalog Catalog
	Shelves *shelves.Store
	Logger  *slog.Logger
}

// applyBatch is how many entries one shelves.Import transaction applies,
// so a large library does not hold the database's writer for long.
const applyBatch = 500

// RunPending runs every job there is to run, one after another, until none
// is left or ctx ends.
func (im *Importer) RunPending(ctx context.Context) error {
	for ctx.Err() == nil {
		j, ok, err := im.Jobs.Claim(ctx)
		if err != nil || !ok {
			return err
		}
		if err := im.run(ctx, j); err != nil {
			switch {
			case errors.Is(err, errLost):
			case ctx.Err() != nil:
				// Shutting down: the job stays running, its heartbeat
				// stops, and a worker takes it up again.
				return ctx.Err()
			default:
				im.Logger.Error("goodreads import", "job", j.ID, "err", err)
				if ferr := im.Jobs.Fail(ctx, j, "The import stopped on an error on our side. Nothing is lost: try again in a moment."); ferr != nil && !errors.Is(ferr, errLost) {
					return ferr
				}
			}
		}
	}
	return ctx.Err()
}

func (im *Importer) run(ctx context.Context, j Job) error {
	lib, err := Parse(bytes.NewReader(j.data))
	if errors.Is(err, ErrNotExport) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrTooManyRows) {
		return im.Jobs.Fail(ctx, j, err.Error())
	}
	if err != nil {
		return err
	}
	total := len(lib.Rows)
	if err := im.Jobs.Progress(ctx, j, 0, total); err != nil {
		return err
	}
	var progressErr error
	matches, err := MatchRows(ctx, im.Catalog, lib.Rows, func(done int) {
		if progressErr == nil {
			progressErr = im.Jobs.Progress(ctx, j, done, total)
		}
	})
	if err == nil {
		err = progressErr
	}
	if err != nil {
		return err
	}
	rep, err := im.apply(ctx, j.UserID, matches)
	if err != nil {
		return err
	}
	rep.Rows = total + lib.Rejected
	rep.LeftOut = lib.Rejected
	rep.Items = mergeProblems(rep.Items, lib.Problems)
	return im.Jobs.Finish(ctx, j, rep)
}

// apply puts the matched rows on the reader's shelves. Where the file has
// no rating (0) or no note, the reader's own stay; a Date Added on the day
// an entry was added keeps its time of day.
func (im *Importer) apply(ctx context.Context, userID int64, matches []Match) (*Report, error) {
	rep := &Report{}
	var ids []int64
	for _, m := range matches {
		if m.Matched() {
			ids = append(ids, m.Book.ID)
		}
	}
	existing, err := im.Shelves.OnShelves(ctx, userID, ids)
	if err != nil {
		return nil, err
	}
	var entries []shelves.Entry
	for _, m := range matches {
		item := ReportItem{Line: m.Line, Title: m.Title, Author: m.Author, Reason: m.Reason}
		if !m.Matched() {
			item.Status = StatusNotMatched
			rep.NotMatched++
			rep.Items = append(rep.Items, item)
			continue
		}
		rep.Matched++
		item.BookID, item.BookTitle, item.By = m.Book.ID, m.Book.Title, m.By
		e := shelves.Entry{BookID: m.Book.ID, Shelf: m.Shelf, Rating: m.Rating, AddedAt: m.Added}
		if e.Note, err = shelves.CheckNote(m.Note); err != nil {
			return nil, fmt.Errorf("line %d: %w", m.Line, err) // Parse caps notes below the shelves' limit
		}
		old, ok := existing[m.Book.ID]
		switch {
		case !ok:
			item.Status = StatusAdded
			rep.Added++
		default:
			if e.Rating == 0 {
				e.Rating = old.Rating
			}
			if e.Note == "" {
				e.Note = old.Note
			}
			if e.AddedAt.IsZero() || sameDay(e.AddedAt, old.AddedAt) {
				e.AddedAt = old.AddedAt
			}
			if old.Shelf == e.Shelf && old.Rating == e.Rating && old.Note == e.Note && old.AddedAt.Equal(e.AddedAt) {
				item.Status = StatusUnchanged
				rep.Unchanged++
			} else {
				item.Status = StatusUpdated
				rep.Updated++
			}
		}
		entries = append(entries, e)
		rep.Items = append(rep.Items, item)
	}
	for len(entries) > 0 {
		batch := entries[:min(applyBatch, len(entries))]
		entries = entries[len(batch):]
		n, err := im.Shelves.Import(ctx, userID, batch)
		if err != nil {
			return nil, err
		}
		rep.Changed += n
	}
	return rep, nil
}

func sameDay(a, b time.Time) bool {
	a, b = a.UTC(), b.UTC()
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

// mergeProblems puts the rows left out among the others, by line.
func mergeProblems(items []ReportItem, problems []Problem) []ReportItem {
	out := make([]ReportItem, 0, len(items)+len(problems))
	i := 0
	for _, p := range problems {
		for i < len(items) && items[i].Line < p.Line {
			out = append(out, items[i])
			i++
		}
		out = append(out, ReportItem{Line: p.Line, Title: p.Title, Status: StatusLeftOut, Reason: p.Reason})
	}
	return append(out, items[i:]...)
}
