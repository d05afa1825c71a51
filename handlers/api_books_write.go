package handlers

import (
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"shelf/store"
	"shelf/store/catalog"
)

// apiBookWritten is the answer to adding or editing a book: the book as
// saved, and the books with its title and authors, which the catalog's
// rules warn of without refusing.
type apiBookWritten struct {
	Book               apiBookJSON   `json:"book"`
	PossibleDuplicates []apiBookJSON `json:"possible_duplicates"`
}

// readBookPatch reads a book's fields from the body: only the fields
// sent, each a string, but the year, a whole number or null.
func readBookPatch(c echo.Context) (p catalog.BookPatch, sent int, err error) {
	members, err := readJSONObject(c)
	if err != nil {
		return p, 0, err
	}
	f := bodyFields{allowed: catalog.BookFields}
	for _, m := range members {
		if !f.known(m) {
			continue
		}
		if m.Name == catalog.FieldYear {
			if n, null, ok := f.integer(m, math.MinInt32, math.MaxInt32, true); ok {
				year := ""
				if !null {
					year = strconv.FormatInt(n, 10)
				}
				p.Year = &year
			}
			continue
		}
		s, _, ok := f.str(m, false)
		if !ok {
			continue
		}
		switch m.Name {
		case catalog.FieldTitle:
			p.Title = &s
		case catalog.FieldAuthors:
			p.Authors = &s
		case catalog.FieldISBN:
			p.ISBN = &s
		case catalog.FieldLanguage:
			p.Language = &s
		}
	}
	return p, len(members), f.problem()
}

// bookFieldProblems turns the catalog's field errors into a 422, in the
// form's order of fields.
func bookFieldProblems(fe catalog.FieldErrors) error {
	var errs []fieldProblem
	for _, f := range catalog.BookFields {
		if m, ok := fe[f]; ok {
			errs = append(errs, fieldProblem{Field: f, Detail: m})
		}
	}
	return invalidFields(http.StatusUnprocessableEntity, errs)
}

// catalogWriteProblem answers the errors of a book's creation or edit that
// are the catalog's state, not a fault.
func catalogWriteProblem(err error) error {
	switch {
	case errors.Is(err, catalog.ErrImportRunning), errors.Is(err, catalog.ErrCatalogFull):
		return &apiProblem{problem{Status: http.StatusConflict, Type: "catalog-busy", Detail: err.Error()}}
	case errors.Is(err, store.ErrNotFound):
		return notFoundProblem("There is no book with this id.")
	}
	return err
}

// apiBookCreate serves POST /api/v1/books: an admin adds a book.
func (a *App) apiBookCreate(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	p, _, err := readBookPatch(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	b, fe, err := a.Catalog.CreateBook(ctx, apiCallerFrom(c).UserID, p.Apply(catalog.BookInput{}))
	if err != nil {
		return catalogWriteProblem(err)
	}
	if fe != nil {
		return bookFieldProblems(fe)
	}
	out, err := a.bookWritten(c, b)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, apiBookLink(b.ID))
	return c.JSON(http.StatusCreated, out)
}

// apiBookUpdate serves PATCH /api/v1/books/{id}: an admin changes the
// fields sent, and the others stay as they are when it is written (an edit
// committed meanwhile is kept).
func (a *App) apiBookUpdate(c echo.Context) error {
	id, err := pathID(c, "id", catalog.MaxBookID, "book")
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	p, sent, err := readBookPatch(c)
	if err != nil {
		return err
	}
	if sent == 0 {
		return invalidFields(http.StatusUnprocessableEntity, []fieldProblem{{Field: "body", Detail: "must name at least one field to change"}})
	}
	ctx := c.Request().Context()
	b, fe, err := a.Catalog.PatchBook(ctx, apiCallerFrom(c).UserID, id, p)
	if err != nil {
		return catalogWriteProblem(err)
	}
	if fe != nil {
		return bookFieldProblems(fe)
	}
	out, err := a.bookWritten(c, b)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (a *App) bookWritten(c echo.Context, b catalog.Book) (apiBookWritten, error) {
	dups, err := a.Catalog.Duplicates(c.Request().Context(), b.Title, b.Authors, b.ID)
	if err != nil {
		return apiBookWritten{}, err
	}
	out := apiBookWritten{Book: newAPIBook(b), PossibleDuplicates: make([]apiBookJSON, 0, len(dups))}
	for _, d := range dups {
		out.PossibleDuplicates = append(out.PossibleDuplicates, newAPIBook(d))
	}
	return out, nil
}
