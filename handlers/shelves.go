package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/catalog"
	"shelf/store/search"
	"shelf/store/shelves"
)

// Readers' shelves: the actions on one book's entry (POST, from the shelf
// controls on results, book pages and "My books"), the sign-in step of a
// visitor who pressed a shelf button, and "My books".
//
// Every action answers htmx with the book's control (the form's target),
// alone but for a change of shelf made on "My books", whose counts come
// with it out of band (myBooksCounts); and a plain form post with 303
// back to the page it came from, at the book's title (ShelfReturnAnchor),
// where a note's status shows once (takeNoteStatus). A refused value
// answers 422 with the control and the reason in it (htmx swaps 422s); an
// id that is not a book's, 404.
func (a *App) shelfRoutes(e *echo.Echo) {
	serveGet(e, paths.MyBooks, a.myBooks, a.requireConfirmed)
	e.POST(paths.ShelfSet, a.shelfAction(a.putOnShelf), a.requireShelfReader)
	e.POST(paths.ShelfRating, a.shelfAction(a.rateBook), a.requireShelfReader)
	e.POST(paths.ShelfNote, a.shelfAction(a.noteBook), a.requireShelfReader)
	e.POST(paths.ShelfRemove, a.shelfAction(a.removeBook), a.requireShelfReader)
	serveGet(e, paths.ShelfSignIn, a.shelfSignIn)
	serveGet(e, paths.ShelfPending, a.shelfPending, a.requireConfirmed)
}

// requireShelfReader lets confirmed readers act on their shelves. A visitor
// not signed in (whose session ended, say) is sent to sign in and then to
// the page offering the same change (paths.ShelfPending); an unconfirmed
// reader to confirm their address.
func (a *App) requireShelfReader(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, ok := a.currentUser(c)
		if !ok {
			back := safeNext(c.FormValue("back"))
			if id, ok := parseBookID(c.Param("id")); ok {
				if s, ok := shelves.ParseShelf(c.FormValue("shelf")); ok {
					return redirect(c, paths.LoginNext(paths.ShelfPendingLink(id, string(s), back)))
				}
			}
			return redirect(c, paths.LoginNext(back))
		}
		if !u.Confirmed() {
			return redirect(c, paths.CheckEmail)
		}
		return next(c)
	}
}

// parseBookID reads a book id as the routes spell it: canonical decimal,
// within the catalog's range.
func parseBookID(raw string) (int64, bool) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 || id > catalog.MaxBookID || strconv.FormatInt(id, 10) != raw {
		return 0, false
	}
	return id, true
}

// noSuchBook answers an id that is not a book's.
func (a *App) noSuchBook(c echo.Context) error {
	return a.shelfProblem(c, http.StatusNotFound, "No such book", shelves.ErrNoSuchBook.Message+" It may have been removed: search the catalog again.")
}

// badShelfButton answers a sign-in step whose parameters are not a shelf
// button's.
func (a *App) badShelfButton(c echo.Context) error {
	return a.shelfProblem(c, http.StatusBadRequest, "Bad request", "That shelf button was not understood: choose Want to read, Reading or Read on a book.")
}

// shelfProblem answers with the error page and a message of its own (the
// error handler's pages say only what the status means).
func (a *App) shelfProblem(c echo.Context, status int, heading, message string) error {
	return render(c, status, components.ErrorPage(a.meta(c, heading), status, heading, message))
}

// shelfChange is one action's change to a reader's entry for a book: it
// returns the entry afterwards (shelved false once removed) and what it did,
// for screen readers.
type shelfChange func(c echo.Context, u accounts.User, bookID int64) (e shelves.Entry, shelved bool, status string, err error)

// shelfAction runs change and answers as the package comment says.
func (a *App) shelfAction(change shelfChange) echo.HandlerFunc {
	return func(c echo.Context) error {
		noStore(c)
		id, ok := parseBookID(c.Param("id"))
		if !ok {
			return a.noSuchBook(c)
		}
		u, _ := a.currentUser(c)
		back := safeNext(c.FormValue("back"))
		view := components.ShelfControlView{BookID: id, CSRF: a.csrfToken(c), Back: back, LabelledBy: labelFor(back, id)}
		e, shelved, status, err := change(c, u, id)
		var invalid *shelves.ValidationError
		switch {
		case errors.Is(err, shelves.ErrNoSuchBook):
			return a.noSuchBook(c)
		case errors.Is(err, shelves.ErrNotShelved):
			invalid = &shelves.ValidationError{Field: "book", Message: "Put the book on a shelf first."}
		case errors.As(err, &invalid):
		case err != nil:
			return err
		}
		if invalid != nil {
			// The entry as it stands, with the reason it did not change.
			e, shelved, err = a.Shelves.Get(c.Request().Context(), u.ID, id)
			if err != nil {
				return err
			}
			if !shelved {
				if _, err := a.Catalog.Get(c.Request().Context(), id); errors.Is(err, store.ErrNotFound) {
					return a.noSuchBook(c)
				} else if err != nil {
					return err
				}
			}
			view.Entry, view.Shelved, view.Error = e, shelved, invalid.Message
			view.NoteOpen = invalid.Field == "note"
			if !isHTMX(c) {
				return render(c, http.StatusUnprocessableEntity, components.ShelfErrorPage(a.meta(c, "Your books"), view))
			}
			return render(c, http.StatusUnprocessableEntity, components.ShelfControl(view))
		}
		if !isHTMX(c) {
			if c.Path() == paths.ShelfNote {
				a.Sessions.Put(c.Request().Context(), sessNoteStatus, strconv.FormatInt(id, 10)+" "+status)
			}
			return redirect(c, back+"#"+components.ShelfReturnAnchor(id))
		}
		view.Entry, view.Shelved, view.Status = e, shelved, status
		view.NoteOpen = c.Path() == paths.ShelfNote
		if !shelved {
			view.Autofocus = string(shelves.WantToRead) // the pressed Remove is gone
		}
		if c.Path() == paths.ShelfSet || c.Path() == paths.ShelfRemove {
			counts, err := a.myBooksCounts(c, u, back)
			if err != nil {
				return err
			}
			if counts != nil {
				return render(c, http.StatusOK, templ.Join(components.ShelfControl(view), counts))
			}
		}
		return render(c, http.StatusOK, components.ShelfControl(view))
	}
}

// labelFor is the id of the element naming book id on the page at back:
// the book page's heading, or the book's title in a list.
func labelFor(back string, id int64) string {
	if u, err := url.Parse(back); err == nil && u.Path == paths.BookLink(id) {
		return "book-title"
	}
	return "title-" + strconv.FormatInt(id, 10)
}

func (a *App) putOnShelf(c echo.Context, u accounts.User, id int64) (shelves.Entry, bool, string, error) {
	s, ok := shelves.ParseShelf(c.FormValue("shelf"))
	if !ok {
		return shelves.Entry{}, false, "", shelves.ErrBadShelf
	}
	e, err := a.Shelves.Put(c.Request().Context(), u.ID, id, s)
	return e, true, "On " + s.Label() + ".", err
}

func (a *App) rateBook(c echo.Context, u accounts.User, id int64) (shelves.Entry, bool, string, error) {
	raw := c.FormValue("rating")
	n, err := strconv.Atoi(raw)
	if err != nil || strconv.Itoa(n) != raw {
		return shelves.Entry{}, false, "", shelves.ErrBadRating
	}
	e, err := a.Shelves.SetRating(c.Request().Context(), u.ID, id, n)
	status := "Rated " + raw + " out of 5."
	if n == 0 {
		status = "Rating cleared."
	}
	return e, true, status, err
}

func (a *App) noteBook(c echo.Context, u accounts.User, id int64) (shelves.Entry, bool, string, error) {
	e, err := a.Shelves.SetNote(c.Request().Context(), u.ID, id, c.FormValue("note"))
	status := "Note saved."
	if e.Note == "" {
		status = "Note cleared."
	}
	return e, true, status, err
}

func (a *App) removeBook(c echo.Context, u accounts.User, id int64) (shelves.Entry, bool, string, error) {
	removed, err := a.Shelves.Remove(c.Request().Context(), u.ID, id)
	if err == nil && !removed {
		err = shelves.ErrNotShelved
	}
	return shelves.Entry{}, false, "Removed from your books.", err
}

// pendingShelf is a shelf button pressed by a visitor not signed in: the
// book, the shelf, and the page to return to.
type pendingShelf struct {
	book  int64
	shelf shelves.Shelf
	back  string
}

// parsePendingShelf reads a pending change from a query (paths.ShelfPendingLink).
func parsePendingShelf(q url.Values) (pendingShelf, bool) {
	id, ok := parseBookID(q.Get("book"))
	if !ok {
		return pendingShelf{}, false
	}
	s, ok := shelves.ParseShelf(q.Get("shelf"))
	if !ok {
		return pendingShelf{}, false
	}
	return pendingShelf{book: id, shelf: s, back: safeNext(q.Get("back"))}, true
}

func (p pendingShelf) link() string { return paths.ShelfPendingLink(p.book, string(p.shelf), p.back) }

// shelfSignIn is where a visitor's shelf button leads (a GET form: the
// anonymous control is the same for everyone and carries no CSRF token).
// It changes nothing: it sends the visitor to sign in, coming back to the
// pending change (shelfPending), which signing in applies (afterSignIn).
func (a *App) shelfSignIn(c echo.Context) error {
	p, ok := parsePendingShelf(c.QueryParams())
	if !ok {
		return a.badShelfButton(c)
	}
	if _, signedIn := a.currentUser(c); signedIn {
		return redirect(c, p.link())
	}
	return redirect(c, paths.LoginNext(p.link()))
}

// shelfPending offers a signed-in reader the change they asked for before
// signing in, when signing in did not apply it (a sign-up confirmed in
// another browser, say): one button, focused, then back where they were.
func (a *App) shelfPending(c echo.Context) error {
	p, ok := parsePendingShelf(c.QueryParams())
	if !ok {
		return a.badShelfButton(c)
	}
	b, err := a.Catalog.Get(c.Request().Context(), p.book)
	if errors.Is(err, store.ErrNotFound) {
		return a.noSuchBook(c)
	}
	if err != nil {
		return err
	}
	u, _ := a.currentUser(c)
	e, shelved, err := a.Shelves.Get(c.Request().Context(), u.ID, p.book)
	if err != nil {
		return err
	}
	if shelved && e.Shelf == p.shelf {
		return redirect(c, p.back+"#"+components.ShelfReturnAnchor(p.book))
	}
	m := a.formMeta(c, "Add to your books")
	return render(c, http.StatusOK, components.ShelfPendingPage(m, b, p.shelf, p.back))
}

// afterSignIn is where a sign-in that just completed goes: next, unless
// next is a pending shelf change (shelfSignIn), which it applies, for the
// reader now signed in, in the request that signed them in (a POST with
// its CSRF token), and then returns to where the button was pressed. The
// sign-in page says what signing in will do (loginNotice).
func (a *App) afterSignIn(c echo.Context, next string) string {
	u, ok := a.currentUser(c)
	target, err := url.Parse(next)
	if !ok || !u.Confirmed() || err != nil || target.Path != paths.ShelfPending {
		return next
	}
	p, ok := parsePendingShelf(target.Query())
	if !ok {
		return next
	}
	if _, err := a.Shelves.Put(c.Request().Context(), u.ID, p.book, p.shelf); err != nil {
		a.Logger.Info("pending shelf change not applied at sign-in", "book", p.book, "err", err)
		return next // the pending page explains, or offers it again
	}
	return p.back + "#" + components.ShelfReturnAnchor(p.book)
}

// loginNotice tells a visitor signing in to finish a shelf change what
// signing in will do; "" for any other next.
func (a *App) loginNotice(c echo.Context, next string) string {
	if change := a.pendingChange(c, next); change != "" {
		return "Sign in to " + change + ". You will come back to where you were."
	}
	return ""
}

// signUpNotice is loginNotice for the sign-up page.
func (a *App) signUpNotice(c echo.Context, next string) string {
	if change := a.pendingChange(c, next); change != "" {
		return "Create an account to " + change + ". Once your address is confirmed, you will come back to where you were."
	}
	return ""
}

// pendingChange is the shelf change a next finishes, in words (put “Dune”
// on Reading); "" for any other next.
func (a *App) pendingChange(c echo.Context, next string) string {
	target, err := url.Parse(next)
	if err != nil || target.Path != paths.ShelfPending {
		return ""
	}
	p, ok := parsePendingShelf(target.Query())
	if !ok {
		return ""
	}
	b, err := a.Catalog.Get(c.Request().Context(), p.book)
	if err != nil {
		return ""
	}
	return "put “" + b.Title + "” on " + p.shelf.Label()
}

// Search results and book pages mark the signed-in reader's books on the
// server: their shelf controls show the reader's entries, read for the
// page's books with one indexed query and rendered for this request only
// (see components.ShelfReader and writeFragment). Without a reader the
// controls are anonymous, the same for everyone, and search fragments
// holding them are shared through the fragment cache as before, at no
// extra cost. Marking on the server works without JavaScript, which
// marking in the browser from a per-reader request would not.

// shelfReader returns the reader whose shelves the page shows: a
// confirmed account, signed in. A request without a session cookie, as
// most searches are, is answered without reading the (empty) session,
// which would allocate.
func (a *App) shelfReader(c echo.Context) (accounts.User, bool) {
	r := c.Request()
	if r.Header.Get("Cookie") == "" {
		return accounts.User{}, false
	}
	if _, err := r.Cookie(a.Sessions.Cookie.Name); err != nil {
		return accounts.User{}, false
	}
	u, ok := a.currentUser(c)
	return u, ok && u.Confirmed()
}

// markHits gives the shelf controls of hits the signed-in reader's entries.
func (a *App) markHits(c echo.Context, hits []search.Hit) error {
	u, ok := a.shelfReader(c)
	if !ok {
		return nil
	}
	ids := make([]int64, len(hits))
	for i := range hits {
		ids[i] = hits[i].ID
	}
	return a.markBooks(c, u, ids)
}

// markBooks puts the reader's entries for ids into the request's context,
// where the shelf controls rendered for it find them.
func (a *App) markBooks(c echo.Context, u accounts.User, ids []int64) error {
	entries, err := a.Shelves.OnShelves(c.Request().Context(), u.ID, ids)
	if err != nil {
		return err
	}
	reader := &components.ShelfReader{CSRF: a.existingCSRFToken(c), Entries: entries}
	a.takeNoteStatus(c, reader)
	c.SetRequest(c.Request().WithContext(components.WithShelfReader(c.Request().Context(), reader)))
	return nil
}

// takeNoteStatus gives reader the status a note form posted without
// JavaScript left for this page, the one it returned to: its control
// shows it once, as an htmx answer would have.
func (a *App) takeNoteStatus(c echo.Context, reader *components.ShelfReader) {
	ctx := c.Request().Context()
	if !a.sessionLoaded(c) || !a.Sessions.Exists(ctx, sessNoteStatus) {
		return
	}
	id, status, _ := strings.Cut(a.Sessions.PopString(ctx, sessNoteStatus), " ")
	reader.NoteBook, _ = strconv.ParseInt(id, 10, 64)
	reader.NoteStatus = status
}

// ---- My books ----

// myBooks serves "My books": the reader's shelves with their counts, one
// shelf or all, sorted, paged, and searched as the catalog is (the search
// box asks as you type, like the catalog's, and htmx swaps the list in
// place, keeping the address in step). Unknown parameters fall back to the
// defaults rather than fail: they come from links and the form.
func (a *App) myBooks(c echo.Context) error {
	varyOnHTMX(c)
	varyOnHistoryRestore(c)
	noStore(c)
	u, _ := a.currentUser(c)
	v := parseMyBooks(c.QueryParams())
	page, adjusted := parseShelfPage(c.QueryParam("page"))
	ctx := c.Request().Context()
	var err error
	if v.Counts, err = a.Shelves.Counts(ctx, u.ID); err != nil {
		return err
	}
	// A page past the last shows the last, and says so, as search does.
	// The list's own requests (htmx) replace it whole: the same holds.
	p, err := a.Shelves.ListPage(ctx, u.ID, shelves.ListOptions{Shelf: v.Shelf, Query: v.Query, Sort: v.Sort, Page: page, PerPage: shelves.DefaultPerPage})
	if err != nil {
		return err
	}
	v.Items, v.Total, v.Page, v.PastEnd, v.PageAdjusted = p.Items, p.Total, p.Page, p.PastEnd, adjusted
	v.PerPage = shelves.DefaultPerPage
	v.Link = paths.MyBooksLink(string(v.Shelf), v.Query, sortParam(v.Sort), v.Page)
	m := a.meta(c, "My books")
	entries := make(map[int64]shelves.Entry, len(v.Items))
	for _, it := range v.Items {
		entries[it.BookID] = it.Entry
	}
	reader := &components.ShelfReader{CSRF: m.CSRFToken, Entries: entries}
	a.takeNoteStatus(c, reader)
	c.SetRequest(c.Request().WithContext(components.WithShelfReader(ctx, reader)))
	if isHTMX(c) {
		pushURL(c, v.Link)
		return render(c, http.StatusOK, components.MyBooksResults(v))
	}
	if v.Shelf != "" {
		if v.Sharing, err = a.shelfSharing(c, u.ID, v.Shelf); err != nil {
			return err
		}
	}
	return render(c, http.StatusOK, components.MyBooksPage(m, v))
}

// parseMyBooks reads which of a reader's books a page of "My books"
// lists: shelf, query and order, the defaults for anything not understood.
func parseMyBooks(q url.Values) components.MyBooksView {
	v := components.MyBooksView{Sort: shelves.ByAdded}
	if s, ok := shelves.ParseShelf(q.Get("shelf")); ok {
		v.Shelf = s
	}
	if o, ok := shelves.ParseSort(q.Get("sort")); ok {
		v.Sort = o
	}
	v.Query, _ = search.NormalizeQuery(q.Get("q"))
	return v
}

// myBooksCounts answers a shelf change made on "My books" (back is its
// address) with the page's counts as they are now, out of band: the
// books its list holds and each shelf's tab. The changed book's row
// stays, as the control the change answers (its "Add to" buttons undo a
// removal). Nil when back is another page.
func (a *App) myBooksCounts(c echo.Context, u accounts.User, back string) (templ.Component, error) {
	target, err := url.Parse(back)
	if err != nil || target.Path != paths.MyBooks {
		return nil, nil
	}
	v := parseMyBooks(target.Query())
	ctx := c.Request().Context()
	if v.Counts, err = a.Shelves.Counts(ctx, u.ID); err != nil {
		return nil, err
	}
	if _, v.Total, err = a.Shelves.List(ctx, u.ID, shelves.ListOptions{Shelf: v.Shelf, Query: v.Query, Sort: v.Sort, PerPage: 1}); err != nil {
		return nil, err
	}
	return components.MyBooksCounts(v), nil
}

// maxShelfPage bounds the page of a reader's books asked for, well past
// any shelf's end.
const maxShelfPage = 1_000_000

// parseShelfPage reads the page parameter of a page of a reader's books:
// within [1, maxShelfPage], and whether the one asked for was not.
func parseShelfPage(raw string) (page int, adjusted bool) {
	n := parsePage(raw)
	page = min(max(n, 1), maxShelfPage)
	return page, page != n
}

// sortParam is o as links spell it: the default is left out.
func sortParam(o shelves.Sort) string {
	if o == shelves.ByAdded {
		return ""
	}
	return string(o)
}
