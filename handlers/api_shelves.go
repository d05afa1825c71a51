package handlers

import (
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"shelf/components/paths"
	"shelf/store"
	"shelf/store/catalog"
	"shelf/store/search"
	"shelf/store/shelves"
)

// apiMaxShelfPage bounds the page parameter of a shelves listing: a reader
// has thousands of books at most.
const apiMaxShelfPage = 100_000

// apiShelfEntry is a book on the caller's shelves, as the API shows it.
type apiShelfEntry struct {
	Book      apiBookJSON `json:"book"`
	Shelf     string      `json:"shelf"`
	Rating    *int        `json:"rating"`
	Note      string      `json:"note"`
	AddedAt   string      `json:"added_at"`
	UpdatedAt string      `json:"updated_at"`
}

func newAPIShelfEntry(e shelves.Entry, b catalog.Book) apiShelfEntry {
	out := apiShelfEntry{Book: newAPIBook(b), Shelf: string(e.Shelf), Note: e.Note,
		AddedAt: apiTime(e.AddedAt), UpdatedAt: apiTime(e.UpdatedAt)}
	if e.Rating != 0 {
		out.Rating = &e.Rating
	}
	return out
}

// apiTime writes times as RFC 3339 UTC with milliseconds, as they are
// stored.
func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// apiShelvesList serves GET /api/v1/shelves?shelf=&q=&sort=&page=&per_page=:
// the counts of the caller's three shelves and a page of their books.
func (a *App) apiShelvesList(c echo.Context) error {
	qp, err := readQuery(c, "shelf", "q", "sort", "page", "per_page")
	if err != nil {
		return err
	}
	var o shelves.ListOptions
	if s, ok := qp.str("shelf"); ok {
		sh, valid := shelves.ParseShelf(s)
		if !valid {
			qp.fail("shelf", "must be one of want-to-read, reading, read")
		}
		o.Shelf = sh
	}
	o.Query, _ = qp.str("q")
	if utf8.RuneCountInString(o.Query) > search.MaxQueryRunes {
		qp.fail("q", "must be at most "+strconv.Itoa(search.MaxQueryRunes)+" characters")
	}
	sortName, _ := qp.str("sort")
	if o.Sort, _ = shelves.ParseSort(sortName); o.Sort == "" {
		qp.fail("sort", "must be one of added, title, author, rating")
	}
	o.PerPage = qp.integer("per_page", shelves.DefaultPerPage, 1, shelves.MaxPerPage)
	o.Page = qp.integer("page", 1, 1, apiMaxShelfPage)
	if err := qp.problem(); err != nil {
		return err
	}
	ctx, userID := c.Request().Context(), apiCallerFrom(c).UserID
	st := a.Shelves
	counts, err := st.Counts(ctx, userID)
	if err != nil {
		return err
	}
	items, total, err := st.List(ctx, userID, o)
	if err != nil {
		return err
	}
	out := struct {
		Counts  map[string]int  `json:"counts"`
		Shelf   *string         `json:"shelf"`
		Q       string          `json:"q"`
		Sort    string          `json:"sort"`
		Page    int             `json:"page"`
		PerPage int             `json:"per_page"`
		Total   int             `json:"total"`
		Items   []apiShelfEntry `json:"items"`
		Next    *string         `json:"next"`
	}{Counts: map[string]int{}, Q: o.Query, Sort: string(o.Sort), Page: o.Page, PerPage: o.PerPage, Total: total,
		Items: make([]apiShelfEntry, 0, len(items))}
	for _, s := range shelves.Shelves {
		out.Counts[string(s)] = counts[s]
	}
	if o.Shelf != "" {
		s := string(o.Shelf)
		out.Shelf = &s
	}
	for _, it := range items {
		out.Items = append(out.Items, newAPIShelfEntry(it.Entry, it.Book))
	}
	if o.Page*o.PerPage < total && o.Page < apiMaxShelfPage {
		next := apiShelvesLink(o, o.Page+1)
		out.Next = &next
	}
	return c.JSON(http.StatusOK, out)
}

// apiShelvesLink is the listing o at page.
func apiShelvesLink(o shelves.ListOptions, page int) string {
	v := url.Values{}
	if o.Shelf != "" {
		v.Set("shelf", string(o.Shelf))
	}
	if o.Query != "" {
		v.Set("q", o.Query)
	}
	if o.Sort != shelves.ByAdded {
		v.Set("sort", string(o.Sort))
	}
	v.Set("page", strconv.Itoa(page))
	if o.PerPage != shelves.DefaultPerPage {
		v.Set("per_page", strconv.Itoa(o.PerPage))
	}
	return paths.APIShelves + "?" + v.Encode()
}

// apiShelfPut serves PUT /api/v1/shelves/{book_id} {"shelf", "rating",
// "note"}: puts the book on a shelf (adding or moving it). A rating or note
// left out is kept; null clears it. Every field is checked before anything
// is written, and all of it is written in one transaction: a request is
// applied whole or not at all.
func (a *App) apiShelfPut(c echo.Context) error {
	bookID, err := pathID(c, "book_id", catalog.MaxBookID, "book")
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	members, err := readJSONObject(c)
	if err != nil {
		return err
	}
	f := bodyFields{allowed: []string{"shelf", "rating", "note"}}
	var (
		shelf              shelves.Shelf
		rating             int
		note               string
		setRating, setNote bool
	)
	for _, m := range members {
		if !f.known(m) {
			continue
		}
		switch m.Name {
		case "shelf":
			if s, _, ok := f.str(m, false); ok {
				if shelf, ok = shelves.ParseShelf(s); !ok {
					f.fail("shelf", "must be one of want-to-read, reading, read")
				}
			}
		case "rating":
			if n, _, ok := f.integer(m, 1, shelves.MaxRating, true); ok {
				rating, setRating = int(n), true // null: 0, no rating
			}
		case "note":
			if s, _, ok := f.str(m, true); ok {
				if note, err = shelves.CheckNote(s); err != nil {
					f.fail("note", "must be at most "+strconv.Itoa(shelves.MaxNoteRunes)+" characters")
				}
				setNote = true
			}
		}
	}
	if !hasMember(members, "shelf") {
		f.fail("shelf", "is required")
	}
	if err := f.problem(); err != nil {
		return err
	}
	ctx, userID := c.Request().Context(), apiCallerFrom(c).UserID
	st := a.Shelves
	var entry shelves.Entry
	_, existed, err := st.Get(ctx, userID, bookID)
	if err != nil {
		return err
	}
	err = a.DB.InTx(ctx, func(tx *sql.Tx) error {
		tctx := store.WithTx(ctx, tx)
		var err error
		if entry, err = st.Put(tctx, userID, bookID, shelf); err != nil {
			return err
		}
		if setRating {
			if entry, err = st.SetRating(tctx, userID, bookID, rating); err != nil {
				return err
			}
		}
		if setNote {
			if entry, err = st.SetNote(tctx, userID, bookID, note); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, shelves.ErrNoSuchBook) {
		return notFoundProblem("There is no book with this id.")
	}
	if err != nil {
		return err
	}
	b, err := a.Catalog.Get(ctx, bookID)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if !existed {
		status = http.StatusCreated
		c.Response().Header().Set(echo.HeaderLocation, apiShelfLink(bookID))
	}
	return c.JSON(status, newAPIShelfEntry(entry, b))
}

// apiShelfDelete serves DELETE /api/v1/shelves/{book_id}: takes the book
// off the caller's shelves (404 when it is not on them).
func (a *App) apiShelfDelete(c echo.Context) error {
	bookID, err := pathID(c, "book_id", catalog.MaxBookID, "book")
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	removed, err := a.Shelves.Remove(c.Request().Context(), apiCallerFrom(c).UserID, bookID)
	if err != nil {
		return err
	}
	if !removed {
		return notFoundProblem("This book is not on your shelves.")
	}
	return c.NoContent(http.StatusNoContent)
}

func apiShelfLink(bookID int64) string { return paths.APIShelves + "/" + strconv.FormatInt(bookID, 10) }

func hasMember(members []jsonMember, name string) bool {
	for _, m := range members {
		if m.Name == name {
			return true
		}
	}
	return false
}
