package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store"
	"shelf/store/catalog"
)

// catalogEditRoutes: admins add and edit books (the form checks each field
// as it is typed, as sign-up does) and see each book's history. Everyone
// else gets 403; anonymous visitors are sent to sign in on GET.
func (a *App) catalogEditRoutes(e *echo.Echo) {
	serveGet(e, paths.AdminBookNew, a.bookNewPage, a.requireCatalogAdmin)
	e.POST(paths.AdminBooks, a.createBook, a.requireCatalogAdmin)
	e.POST(paths.AdminBookValidate, a.validateBookField, a.requireCatalogAdmin)
	serveGet(e, paths.AdminBook, a.bookAdminPage, a.requireCatalogAdmin)
	e.POST(paths.AdminBook, a.updateBook, a.requireCatalogAdmin)
}

// requireCatalogAdmin is requireAdmin, except that a POST from someone not
// signed in gets 403 too, never a redirect to sign in.
func (a *App) requireCatalogAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	admin := a.requireAdmin(next)
	return func(c echo.Context) error {
		if c.Request().Method == http.MethodPost {
			if u, _ := a.currentUser(c); !u.IsAdmin || !u.Confirmed() {
				return echo.NewHTTPError(http.StatusForbidden)
			}
		}
		return admin(c)
	}
}

// bookInput reads the form's fields, as typed.
func bookInput(c echo.Context) catalog.BookInput {
	return catalog.BookInput{
		Title:    c.FormValue(catalog.FieldTitle),
		Authors:  c.FormValue(catalog.FieldAuthors),
		ISBN:     c.FormValue(catalog.FieldISBN),
		Year:     c.FormValue(catalog.FieldYear),
		Language: c.FormValue(catalog.FieldLanguage),
	}
}

// wasInput reads the book as the edit form showed it when opened (the
// was_ fields), and whether the form sent them.
func wasInput(c echo.Context) (catalog.BookInput, bool) {
	form, err := c.FormParams()
	if err != nil {
		return catalog.BookInput{}, false
	}
	for _, f := range catalog.BookFields {
		if _, ok := form["was_"+f]; !ok {
			return catalog.BookInput{}, false
		}
	}
	return catalog.BookInput{Title: form.Get("was_title"), Authors: form.Get("was_authors"), ISBN: form.Get("was_isbn"),
		Year: form.Get("was_year"), Language: form.Get("was_language")}, true
}

// shownInput is in as the form shows it back: valid UTF-8, its control
// characters (a NUL, say) shown as U+FFFD, where the field's error points.
func shownInput(in catalog.BookInput) catalog.BookInput {
	fix := func(s string) string {
		return strings.Map(func(r rune) rune {
			if unicode.IsControl(r) && r != '\t' {
				return '\uFFFD'
			}
			return r
		}, strings.ToValidUTF8(s, "\uFFFD"))
	}
	return catalog.BookInput{Title: fix(in.Title), Authors: fix(in.Authors), ISBN: fix(in.ISBN), Year: fix(in.Year), Language: fix(in.Language)}
}

// bookIDParam reads the :id of the path, as the book page does.
func bookIDParam(c echo.Context) (int64, bool) {
	raw := c.Param("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 || id > catalog.MaxBookID || strconv.FormatInt(id, 10) != raw {
		return 0, false
	}
	return id, true
}

func (a *App) bookNewPage(c echo.Context) error {
	noStore(c)
	m := a.formMeta(c, "Add a book")
	return render(c, http.StatusOK, components.BookNewPage(m, components.BookFormView{CSRF: m.CSRFToken}))
}

// validateBookField answers the in-place check of one field with that
// field's component, by the rule the save applies; the title's and
// authors' answers also carry the duplicate warning.
func (a *App) validateBookField(c echo.Context) error {
	noStore(c)
	field := c.Param("field")
	if !slices.Contains(catalog.BookFields, field) {
		return echo.ErrNotFound
	}
	value := c.FormValue(field)
	msg := catalog.CheckBookField(field, value)
	ctx := c.Request().Context()
	exceptID, _ := strconv.ParseInt(c.FormValue("id"), 10, 64)
	v := components.BookFormView{Values: shownInput(bookInput(c)), Errors: map[string]string{field: msg}}
	if field == catalog.FieldISBN && msg == "" {
		isbn, _ := catalog.ParseISBN(value)
		other, err := a.Catalog.ISBNOwner(ctx, isbn, exceptID)
		if err != nil {
			return err
		}
		if other != 0 {
			v.Errors[field] = catalog.ISBNTakenMessage(other)
		}
	}
	var f templ.Component = templ.NopComponent
	for _, bf := range v.Fields() {
		if bf.Name == field {
			f = components.BookFieldView(bf)
		}
	}
	if field != catalog.FieldTitle && field != catalog.FieldAuthors {
		return render(c, http.StatusOK, f)
	}
	dups, err := a.Catalog.Duplicates(ctx, c.FormValue(catalog.FieldTitle), c.FormValue(catalog.FieldAuthors), exceptID)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, templ.Join(f, components.BookDuplicates(dups, true)))
}

// createBook saves a new book and goes to its admin view.
func (a *App) createBook(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	in := bookInput(c)
	b, fe, err := a.Catalog.CreateBook(c.Request().Context(), u.ID, in)
	if fe != nil || errors.Is(err, catalog.ErrImportRunning) {
		return a.renderBookForm(c, components.BookFormView{ID: 0, Values: in, Errors: fe}, err)
	}
	if err != nil {
		return err
	}
	a.Logger.Info("book added", "book_id", b.ID, "user_id", u.ID)
	a.flash(c, "Book added. Readers find it in search now.")
	return redirect(c, paths.AdminBookLink(b.ID))
}

// updateBook saves an edit and goes back to the book's admin view.
func (a *App) updateBook(c echo.Context) error {
	noStore(c)
	id, ok := bookIDParam(c)
	if !ok {
		return echo.ErrNotFound
	}
	u, _ := a.currentUser(c)
	ctx := c.Request().Context()
	in := bookInput(c)
	var fe catalog.FieldErrors
	var err error
	was, ok := wasInput(c)
	if ok {
		_, fe, err = a.Catalog.EditBook(ctx, u.ID, id, was, in)
	} else { // a form from before the was_ fields, or a script: every field as sent
		_, fe, err = a.Catalog.UpdateBook(ctx, u.ID, id, in)
	}
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if fe != nil {
		// The form shown again counts from the book as it is now where it
		// has no was_ fields, and where a field changed here was changed
		// meanwhile by someone else: saving again keeps this one.
		if now, gerr := a.Catalog.Get(ctx, id); gerr == nil {
			cur := now.Input()
			if !ok {
				was = cur
			}
			for _, f := range []struct{ was, in, cur *string }{
				{&was.Title, &in.Title, &cur.Title}, {&was.Authors, &in.Authors, &cur.Authors}, {&was.ISBN, &in.ISBN, &cur.ISBN},
				{&was.Year, &in.Year, &cur.Year}, {&was.Language, &in.Language, &cur.Language},
			} {
				if *f.in != *f.was && *f.cur != *f.was {
					*f.was = *f.cur
				}
			}
		}
		return a.renderBookForm(c, components.BookFormView{ID: id, Values: in, Errors: fe, Was: was}, nil)
	}
	if err != nil {
		return err
	}
	a.Logger.Info("book edited", "book_id", id, "user_id", u.ID)
	a.flash(c, "Changes saved. Readers find them in search now.")
	return redirect(c, paths.AdminBookLink(id))
}

// renderBookForm answers a save that failed: the form alone for HTMX (422
// is swapped), else the whole page.
func (a *App) renderBookForm(c echo.Context, v components.BookFormView, err error) error {
	ctx := c.Request().Context()
	v.CSRF = a.csrfToken(c)
	v.Values, v.Was = shownInput(v.Values), shownInput(v.Was)
	switch {
	case errors.Is(err, catalog.ErrImportClearing):
		v.Error = "An import that was stopped left books half-added; Shelf is clearing them away now. Try again in a minute."
	case err != nil:
		v.Error = "An import is adding books to the catalog right now; try again when it has finished."
	}
	dups, derr := a.Catalog.Duplicates(ctx, v.Values.Title, v.Values.Authors, v.ID)
	if derr != nil {
		return derr
	}
	v.Duplicates = dups
	varyOnHTMX(c)
	if isHTMX(c) {
		return render(c, http.StatusUnprocessableEntity, components.BookForm(v))
	}
	if v.ID == 0 {
		return render(c, http.StatusUnprocessableEntity, components.BookNewPage(a.formMeta(c, "Add a book"), v))
	}
	b, gerr := a.Catalog.Get(ctx, v.ID)
	if gerr != nil {
		return gerr
	}
	return a.renderBookAdmin(c, http.StatusUnprocessableEntity, b, v)
}

// bookAdminPage shows a book's edit form and history.
func (a *App) bookAdminPage(c echo.Context) error {
	noStore(c)
	id, ok := bookIDParam(c)
	if !ok {
		return echo.ErrNotFound
	}
	b, err := a.Catalog.Get(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	return a.renderBookAdmin(c, http.StatusOK, b, components.BookFormView{ID: id, Values: b.Input(), Was: b.Input()})
}

func (a *App) renderBookAdmin(c echo.Context, status int, b catalog.Book, form components.BookFormView) error {
	h, err := a.Catalog.History(c.Request().Context(), b.ID)
	if err != nil {
		return err
	}
	m := a.formMeta(c, "Edit “"+b.Title+"”")
	form.CSRF = m.CSRFToken
	return render(c, status, components.BookAdminPage(m, components.BookAdminView{Book: b, Form: form, History: h, Notice: a.popFlash(c)}))
}
