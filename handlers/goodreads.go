package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store"
	"shelf/store/goodreads"
	"shelf/store/shelves"
)

// Moving from Goodreads: a reader uploads their Goodreads library export
// and it is imported in the background (store/goodreads), while the page
// shows its progress and then its report; "My books" can be exported in
// the same format. The upload is the one request with a body larger than
// maxBodyBytes (see uploadLimit).

// importUploadBytes caps the import's request body: the file and the form
// around it.
const importUploadBytes = goodreads.MaxFileBytes + 64<<10

// goodreadsImports runs the import jobs of this instance.
type goodreadsImports struct {
	jobs     *goodreads.Jobs
	shelves  *shelves.Store
	importer *goodreads.Importer
	once     sync.Once
	wake     chan struct{}
}

func (a *App) goodreadsRoutes(e *echo.Echo) {
	g := &a.goodreads
	g.jobs = goodreads.NewJobs(a.DB, a.Now)
	g.shelves = shelves.New(a.DB, a.Now)
	g.importer = &goodreads.Importer{Jobs: g.jobs, Catalog: goodreads.CatalogLookup{DB: a.DB, Search: a.Search},
		Shelves: g.shelves, Logger: a.Logger}
	serveGet(e, paths.MyBooksImport, a.importPage, a.requireConfirmed)
	e.POST(paths.MyBooksImport, a.importUpload, a.requireConfirmed)
	serveGet(e, paths.MyBooksImportJob, a.importJobPage, a.requireConfirmed)
	serveGet(e, paths.MyBooksImportStatus, a.importJobStatus, a.requireConfirmed)
	serveGet(e, paths.MyBooksExport, a.exportMyBooks, a.requireConfirmed)
	a.wakeImports() // jobs a restart interrupted
}

// wakeImports starts the import worker on first use and has it look for
// jobs to run. An App without catalog search cannot match books: it leaves
// jobs to the instances that can.
func (a *App) wakeImports() {
	if a.Search == nil {
		return
	}
	g := &a.goodreads
	g.once.Do(func() {
		g.wake = make(chan struct{}, 1)
		go a.runImports()
	})
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// runImports runs jobs whenever woken. While jobs are left that another
// worker holds (or held, before a restart), it looks again once their
// heartbeat would have gone stale, so an interrupted job is taken up.
func (a *App) runImports() {
	g := &a.goodreads
	var retry <-chan time.Time
	for {
		select {
		case <-g.wake:
		case <-retry:
		}
		ctx := context.Background()
		if !a.Search.Ready() { // PostgreSQL, before the first index is built
			retry = time.After(time.Second)
			continue
		}
		if err := g.importer.RunPending(ctx); err != nil {
			a.Logger.Error("goodreads imports", "err", err)
		}
		retry = nil
		if active, err := g.jobs.AnyActive(ctx); err != nil || active {
			retry = time.After(goodreads.StaleAfter + time.Second)
		}
	}
}

func (a *App) importPage(c echo.Context) error {
	return a.renderImportPage(c, http.StatusOK, "")
}

func (a *App) renderImportPage(c echo.Context, status int, msg string) error {
	u, _ := a.currentUser(c)
	v := components.ImportView{CSRF: a.csrfToken(c), MaxSize: fmt.Sprintf("%d MB", goodreads.MaxFileBytes>>20), Error: msg}
	j, ok, err := a.goodreads.jobs.Latest(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	if ok {
		jv := importJobView(j)
		v.Latest = &jv
	}
	noStore(c)
	return render(c, status, components.ImportPage(a.formMeta(c, "Import from Goodreads"), v))
}

// importUpload checks the file at once (a file that is not an export, or
// too large, is refused here with the reason) and queues its import.
func (a *App) importUpload(c echo.Context) error {
	u, _ := a.currentUser(c)
	fh, err := c.FormFile("file")
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return a.renderImportPage(c, http.StatusRequestEntityTooLarge, tooLargeMessage())
		}
		return a.renderImportPage(c, http.StatusUnprocessableEntity, "Choose the CSV file of your Goodreads library export.")
	}
	if fh.Size > goodreads.MaxFileBytes {
		return a.renderImportPage(c, http.StatusRequestEntityTooLarge, tooLargeMessage())
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(f, goodreads.MaxFileBytes+1))
	f.Close()
	if err != nil {
		return err
	}
	if _, err := goodreads.Parse(bytes.NewReader(data)); err != nil {
		switch {
		case errors.Is(err, goodreads.ErrTooLarge):
			return a.renderImportPage(c, http.StatusRequestEntityTooLarge, tooLargeMessage())
		case errors.Is(err, goodreads.ErrTooManyRows):
			return a.renderImportPage(c, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("This file has more than %d rows, the most Shelf imports at once.", goodreads.MaxRows))
		case errors.Is(err, goodreads.ErrNotExport):
			return a.renderImportPage(c, http.StatusUnprocessableEntity,
				"This file is not a Goodreads library export: "+strings.TrimPrefix(err.Error(), goodreads.ErrNotExport.Error()+": ")+". Upload the CSV file that Goodreads' Export Library gives you.")
		}
		return err
	}
	j, err := a.goodreads.jobs.Create(c.Request().Context(), u.ID, uploadName(fh.Filename), data)
	if errors.Is(err, goodreads.ErrBusy) {
		return a.renderImportPage(c, http.StatusConflict, "An import is already running: wait for it to finish, then try again.")
	}
	if err != nil {
		return err
	}
	a.wakeImports()
	return redirect(c, paths.ImportJobLink(j.ID))
}

// uploadName is the name of an uploaded file as pages show it: valid
// UTF-8 without control characters, at most 100 characters.
func uploadName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	if n := []rune(strings.TrimSpace(name)); len(n) > 100 {
		name = string(n[:100]) + "…"
	}
	if name = strings.TrimSpace(name); name == "" {
		return "your file"
	}
	return name
}

func tooLargeMessage() string {
	return fmt.Sprintf("This file is larger than %d MB, the most Shelf imports at once.", goodreads.MaxFileBytes>>20)
}

// importJob reads the signed-in reader's job named in the path; any other
// reader's is a 404.
func (a *App) importJob(c echo.Context) (goodreads.Job, error) {
	u, _ := a.currentUser(c)
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return goodreads.Job{}, echo.NewHTTPError(http.StatusNotFound)
	}
	j, err := a.goodreads.jobs.Get(c.Request().Context(), u.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return goodreads.Job{}, echo.NewHTTPError(http.StatusNotFound)
	}
	return j, err
}

func (a *App) importJobPage(c echo.Context) error {
	j, err := a.importJob(c)
	if err != nil {
		return err
	}
	noStore(c)
	return render(c, http.StatusOK, components.ImportJobPage(a.meta(c, "Import from Goodreads"), importJobView(j)))
}

// importJobStatus is the fragment the job page polls; without htmx it is
// the whole page.
func (a *App) importJobStatus(c echo.Context) error {
	varyOnHTMX(c)
	if !isHTMX(c) {
		return a.importJobPage(c)
	}
	j, err := a.importJob(c)
	if err != nil {
		return err
	}
	noStore(c)
	return render(c, http.StatusOK, components.ImportJobStatus(importJobView(j)))
}

func importJobView(j goodreads.Job) components.ImportJobView {
	v := components.ImportJobView{ID: j.ID, FileName: j.FileName, State: j.State, Done: j.RowsDone, Total: j.RowsTotal, Error: j.Error}
	if r := j.Report; r != nil {
		rv := &components.ImportReportView{Rows: r.Rows, Matched: r.Matched, NotMatched: r.NotMatched, LeftOut: r.LeftOut,
			Added: r.Added, Updated: r.Updated, Unchanged: r.Unchanged, Changed: r.Changed}
		for _, it := range r.Items {
			rv.Items = append(rv.Items, components.ImportReportRow(it))
		}
		v.Report = rv
	}
	return v
}

// exportMyBooks sends the reader's shelves as a Goodreads library export.
func (a *App) exportMyBooks(c echo.Context) error {
	u, _ := a.currentUser(c)
	var buf bytes.Buffer
	if err := goodreads.Export(c.Request().Context(), a.goodreads.shelves, u.ID, &buf); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="shelf-my-books.csv"`)
	noStore(c)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}
