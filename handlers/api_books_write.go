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

// readBookInput reads a book's fields from the body into in: only the
// fields sent, each a string, but the year, a whole number or null.
func readBookInput(c echo.Context, in *catalog.BookInput) (sent int, err error) {
	members, err := readJSONObject(c)
	if err != nil {
		return 0, err
	}
	f := bodyFields{allowed: catalog.BookFields}
	for _, m := range members {
		if !f.known(m) {
			continue
		}
		if m.Name == catalog.FieldYear {
			if n, null, ok := f.integer(m, math.MinInt32, math.MaxInt32, true); ok {
				in.Year = ""
				if !null {
					in.Year = strconv.FormatInt(n, 10)
				}
			}
			continue
		}
		s, _, ok := f.str(m, false)
		if !ok {
			continue
		}
		switch m.Name {
		case catalog.FieldTitle:
			in.Title = s
		case catalog.FieldAuthors:
			in.Authors = s
		case catalog.FieldISBN:
			in.ISBN = s
		case catalog.FieldLanguage:
			in.Language = s
		}
	}
	return len(members), f.problem()
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
	var in catalog.BookInput
	if _, err := readBookInput(c, &in); err != nil {
		return err
	}
	ctx := c.Request().Context()
	b, fe, err := a.Catalog.CreateBook(ctx, apiCallerFrom(c).UserID, in)
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
// fields sent, and the others stay.
func (a *App) apiBookUpdate(c echo.Context) error {
	id, err := pathID(c, "id", catalog.MaxBookID, "book")
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	cur, err := a.Catalog.Get(ctx, id)
	if err != nil {
		return catalogWriteProblem(err)
	}
	in := cur.Input()
	sent, err := readBookInput(c, &in)
	if err != nil {
		return err
	}
	if sent == 0 {
		return invalidFields(http.StatusUnprocessableEntity, []fieldProblem{{Field: "body", Detail: "must name at least one field to change"}})
	}
	b, fe, err := a.Catalog.UpdateBook(ctx, apiCallerFrom(c).UserID, id, in)
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
