package components

import (
	"context"
	"io"
	"strconv"

	"github.com/a-h/templ"

	"shelf/components/paths"
	"shelf/store/shelves"
)

// Shelf controls: put a book on a shelf, move it, remove it, rate it and
// keep a private note, on every search result, book page and "My books"
// item. Written in Go, like hitItems, because every page of results renders
// one for each result.
//
// Each control is one element, <div class="shelf" id="shelf-N">, that
// htmx replaces with the server's answer (hx-target closest .shelf,
// outerHTML): only the control changes, so scroll stays and the rest of
// the page is left alone. Every button has a stable id, so htmx gives
// focus back to the pressed button in the new control. Without
// JavaScript each form posts and the server answers 303 to back#shelf-N.
//
// Visitors who are not signed in get the anonymous control: the same for
// everyone, so search fragments carrying it stay in the shared cache. It
// is a GET form to the sign-in step (paths.ShelfSignIn), which changes
// nothing. A signed-in reader's control shows their own entry and a CSRF
// token: it is rendered for each request (see ShelfReader) and never
// cached.

// ShelfReader is what a signed-in reader's controls need: the CSRF token
// for their forms and their entries for the books on the page (absent:
// not shelved). Handlers put it in the rendering context (WithShelfReader);
// without one, controls are anonymous.
type ShelfReader struct {
	CSRF    string
	Entries map[int64]shelves.Entry
	// NoteStatus is what a note form posted without JavaScript did to
	// book NoteBook, shown once by its control on the page it returned to.
	NoteBook   int64
	NoteStatus string
}

// view is the reader's control for book id on the page at back.
func (r *ShelfReader) view(id int64, back, labelledBy string) ShelfControlView {
	e, ok := r.Entries[id]
	v := ShelfControlView{BookID: id, Entry: e, Shelved: ok, CSRF: r.CSRF, Back: back, LabelledBy: labelledBy}
	if ok && id == r.NoteBook {
		v.Status, v.NoteOpen = r.NoteStatus, true
	}
	return v
}

type shelfReaderKey struct{}

// WithShelfReader returns ctx carrying the reader whose controls render.
func WithShelfReader(ctx context.Context, r *ShelfReader) context.Context {
	return context.WithValue(ctx, shelfReaderKey{}, r)
}

// ShelfReaderFrom returns the reader ctx carries, or nil when the controls
// rendered in ctx are anonymous (and may be shared by everyone).
func ShelfReaderFrom(ctx context.Context) *ShelfReader {
	r, _ := ctx.Value(shelfReaderKey{}).(*ShelfReader)
	return r
}

// ShelfControlView is one signed-in reader's control for one book.
type ShelfControlView struct {
	BookID  int64
	Entry   shelves.Entry
	Shelved bool
	CSRF    string
	// Back is the page the control is on (a local path), where forms
	// posted without JavaScript return.
	Back string
	// LabelledBy is the id of the element naming the book (its title).
	LabelledBy string
	Error      string // a refused change, shown in the control
	// Status is what the last change did, for screen readers; a note's
	// (with NoteOpen) is shown beside Save note too.
	Status   string
	NoteOpen bool // the note's <details> is open (after a note change)
	// Autofocus names the button that takes focus once swapped in, when
	// the pressed one is gone (Remove).
	Autofocus string
}

// ShelfControl renders a signed-in reader's control, as actions answer.
func ShelfControl(v ShelfControlView) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := w.Write(appendShelfControl(nil, &v))
		return err
	})
}

// AnonymousShelfControl renders the control of a visitor not signed in.
func AnonymousShelfControl(bookID int64, back, labelledBy string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		_, err := w.Write(appendAnonymousShelfControl(nil, bookID, templ.EscapeString(back), labelledBy))
		return err
	})
}

// BookShelfControl is the control for b on a page at back: the reader's
// from ctx, or the anonymous one.
func BookShelfControl(bookID int64, back, labelledBy string) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		r := ShelfReaderFrom(ctx)
		if r == nil {
			return AnonymousShelfControl(bookID, back, labelledBy).Render(ctx, w)
		}
		return ShelfControl(r.view(bookID, back, labelledBy)).Render(ctx, w)
	})
}

// ShelfReturnAnchor is the anchor a shelf form posted without JavaScript
// returns to: the book's title in a list of results or of My books, so
// the page opens on the book, its title on screen above the control (the
// control's own anchor left the title above the screen). A book's own
// page has no such anchor and opens at its top, at the title.
func ShelfReturnAnchor(id int64) string { return TitleID(id) }

// appendAnonymousShelfControl writes the anonymous control; back is
// already escaped; labelledBy "" is the result's title (TitleID).
func appendAnonymousShelfControl[S string | []byte](b []byte, id int64, escapedBack S, labelledBy string) []byte {
	// As short as it can be: one of these is in every result of every page.
	b = append(b, `<form class="shelf" id="shelf-`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `" action="`...)
	b = append(b, paths.ShelfSignIn...)
	b = append(b, `" role="group" aria-labelledby="`...)
	if labelledBy == "" {
		b = append(b, `title-`...)
		b = strconv.AppendInt(b, id, 10)
	} else {
		b = append(b, labelledBy...)
	}
	b = append(b, `"><input type="hidden" name="book" value="`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `"><input type="hidden" name="back" value="`...)
	b = append(b, escapedBack...)
	b = append(b, `"><button name="shelf" value="want-to-read">Want to read</button> <button name="shelf" value="reading">Reading</button> <button name="shelf" value="read">Read</button></form>`...)
	return b
}

// appendShelfForm opens a form posting to action that htmx sends in place.
func appendShelfForm(b []byte, v *ShelfControlView, action, class string) []byte {
	b = append(b, `<form class="`...)
	b = append(b, class...)
	b = append(b, `" method="post" action="`...)
	b = appendEscaped(b, action)
	b = append(b, `" hx-post="`...)
	b = appendEscaped(b, action)
	b = append(b, `" hx-target="closest .shelf" hx-swap="outerHTML"><input type="hidden" name="_csrf" value="`...)
	b = appendEscaped(b, v.CSRF)
	b = append(b, `"><input type="hidden" name="back" value="`...)
	b = appendEscaped(b, v.Back)
	return append(b, `">`...)
}

// appendButton writes a button with the given id (suffixed to the
// control's), name, value and label; pressed adds aria-pressed.
func appendButton(b []byte, v *ShelfControlView, idSuffix, class, name, value, ariaLabel, label string, pressed int) []byte {
	b = append(b, ` <button type="submit" class="`...)
	b = append(b, class...)
	b = append(b, `" id="shelf-`...)
	b = strconv.AppendInt(b, v.BookID, 10)
	b = append(b, '-')
	b = append(b, idSuffix...)
	b = append(b, `" name="`...)
	b = append(b, name...)
	b = append(b, `" value="`...)
	b = append(b, value...)
	b = append(b, '"')
	switch pressed {
	case 1:
		b = append(b, ` aria-pressed="true"`...)
	case 0:
		b = append(b, ` aria-pressed="false"`...)
	}
	if ariaLabel != "" {
		b = append(b, ` aria-label="`...)
		b = appendEscaped(b, ariaLabel)
		b = append(b, '"')
	}
	if v.Autofocus == idSuffix {
		b = append(b, ` autofocus`...)
	}
	b = append(b, '>')
	b = appendEscaped(b, label)
	return append(b, `</button>`...)
}

func appendShelfControl(b []byte, v *ShelfControlView) []byte {
	id := strconv.FormatInt(v.BookID, 10)
	noteStatus := v.Shelved && v.NoteOpen && v.Status != ""
	b = append(b, `<div class="shelf`...)
	if v.Shelved {
		b = append(b, ` shelved`...)
	}
	b = append(b, `" id="shelf-`...)
	b = append(b, id...)
	b = append(b, `" role="group" aria-labelledby="`...)
	b = appendEscaped(b, v.LabelledBy)
	b = append(b, `">`...)

	b = appendShelfForm(b, v, paths.ShelfSetLink(v.BookID), "shelf-choice")
	if v.Shelved {
		b = append(b, `<span class="shelf-label">On</span>`...)
	} else {
		b = append(b, `<span class="shelf-label">Add to</span>`...)
	}
	for _, s := range shelves.Shelves {
		pressed := -1 // not a toggle until the book is shelved
		if v.Shelved {
			pressed = 0
			if v.Entry.Shelf == s {
				pressed = 1
			}
		}
		b = appendButton(b, v, string(s), "shelf-button", "shelf", string(s), "", s.Label(), pressed)
	}
	b = append(b, `</form>`...)

	if v.Shelved {
		b = appendShelfForm(b, v, paths.ShelfRatingLink(v.BookID), "shelf-rating")
		b = append(b, `<span class="shelf-label">Your rating</span>`...)
		for n := 1; n <= shelves.MaxRating; n++ {
			value, label, pressed := strconv.Itoa(n), "Rate "+strconv.Itoa(n)+" out of 5", 0
			if n == v.Entry.Rating {
				// Pressing the current rating again clears it.
				value, label, pressed = "0", "Rated "+strconv.Itoa(n)+" out of 5; press to clear", 1
			}
			class := "star"
			if n <= v.Entry.Rating {
				class = "star on"
			}
			b = appendButton(b, v, "rate-"+strconv.Itoa(n), class, "rating", value, label, "★", pressed)
		}
		b = append(b, `</form>`...)

		b = appendShelfForm(b, v, paths.ShelfRemoveLink(v.BookID), "shelf-remove")
		b = appendButton(b, v, "remove", "link", "remove", "1", "", "Remove from my books", -1)
		b = append(b, `</form>`...)

		b = append(b, `<details class="shelf-note"`...)
		if v.NoteOpen {
			b = append(b, ` open`...)
		}
		b = append(b, `><summary>`...)
		if v.Entry.Note == "" {
			b = append(b, `Add a private note`...)
		} else {
			b = append(b, `Your private note`...)
		}
		b = append(b, `</summary>`...)
		b = appendShelfForm(b, v, paths.ShelfNoteLink(v.BookID), "shelf-note-form")
		b = append(b, `<label for="shelf-`...)
		b = append(b, id...)
		b = append(b, `-note">Private note (only you see it)</label><textarea id="shelf-`...)
		b = append(b, id...)
		b = append(b, `-note" name="note" rows="3" maxlength="`...)
		b = strconv.AppendInt(b, shelves.MaxNoteRunes, 10)
		b = append(b, `">`...)
		b = appendEscaped(b, v.Entry.Note)
		b = append(b, `</textarea><div class="shelf-note-actions">`...)
		b = appendButton(b, v, "save-note", "secondary", "save", "1", "", "Save note", -1)
		if noteStatus {
			// Beside the button, on its row: shown without moving anything.
			b = append(b, ` <span class="shelf-note-status" role="status">`...)
			b = appendEscaped(b, v.Status)
			b = append(b, `</span>`...)
		}
		b = append(b, `</div></form></details>`...)
	}
	if v.Status != "" && !noteStatus {
		b = append(b, `<p class="visually-hidden" role="status">`...)
		b = appendEscaped(b, v.Status)
		b = append(b, `</p>`...)
	}
	if v.Error != "" {
		b = append(b, `<p class="error" role="alert">`...)
		b = appendEscaped(b, v.Error)
		b = append(b, `</p>`...)
	}
	return append(b, `</div>`...)
}
