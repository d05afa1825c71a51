package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store"
	"shelf/store/cards"
	"shelf/store/shares"
	"shelf/store/shelves"
)

// Shared shelves: a confirmed reader shares one of their shelves from My
// books, which gives it a public, read-only page at an unguessable
// address (store/shares), and stops sharing it there, which kills the
// address at once. The public page shows the shelf's books and the
// reader's ratings, never their notes or address, to anyone, signed in or
// not; it and its share card are the only routes that read a share
// without its reader.
func (a *App) shareRoutes(e *echo.Echo) {
	e.POST(paths.ShelfShare, a.shareShelf, a.requireConfirmed)
	e.POST(paths.ShelfShareRevoke, a.stopSharing, a.requireConfirmed)
	serveGet(e, paths.SharedShelf, a.sharedShelf)
	serveGet(e, paths.BookCard, a.bookCardImage)
	serveGet(e, paths.SharedShelfCard, a.sharedShelfCardImage)
}

// shelfSharing is the sharing panel of the reader's shelf on My books.
func (a *App) shelfSharing(c echo.Context, userID int64, shelf shelves.Shelf) (components.ShelfSharing, error) {
	// Sharing and stopping come back here with what they did (flash).
	v := components.ShelfSharing{Shelf: shelf, CSRF: a.csrfToken(c), Notice: a.popFlash(c)}
	mine, err := a.shares.ForUser(c.Request().Context(), userID)
	if err != nil {
		return v, err
	}
	if sh, ok := mine[shelf]; ok {
		v.Key, v.URL = sh.Key, a.absURL(paths.SharedShelfLink(sh.Key))
	}
	return v, nil
}

func sharingPanelLink(shelf shelves.Shelf) string {
	return paths.MyBooksLink(string(shelf), "", "", 1) + "#share-shelf"
}

// shareShelf shares the shelf the form names and goes back to it.
func (a *App) shareShelf(c echo.Context) error {
	noStore(c)
	shelf, ok := shelves.ParseShelf(c.FormValue("shelf"))
	if !ok {
		return a.shelfProblem(c, http.StatusBadRequest, "Bad request", shelves.ErrBadShelf.Message)
	}
	u, _ := a.currentUser(c)
	if _, err := a.shares.Share(c.Request().Context(), u.ID, shelf); err != nil {
		return err
	}
	a.flash(c, shelf.Label()+" is shared. Anyone with the link below can see it.")
	return redirect(c, sharingPanelLink(shelf))
}

// stopSharing revokes the reader's share; another reader's key is a 404,
// as an unknown one is.
func (a *App) stopSharing(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	ctx := c.Request().Context()
	sh, err := a.shares.Revoke(ctx, u.ID, c.Param("key"))
	if errors.Is(err, store.ErrNotFound) {
		return a.shelfProblem(c, http.StatusNotFound, "No such shared shelf", "You are not sharing a shelf at that address (any more): see My books.")
	}
	if err != nil {
		return err
	}
	if err := a.cards.store.Delete(ctx, cards.Shelf, sh.Key); err != nil {
		a.Logger.Error("shared shelf's card not deleted", "err", err)
	}
	a.flash(c, "You stopped sharing "+sh.Shelf.Label()+". Its link no longer works.")
	return redirect(c, sharingPanelLink(sh.Shelf))
}

// sharedPerPage is the length of a shared shelf's pages.
const sharedPerPage = shelves.DefaultPerPage

// sharedShelf serves a shared shelf's public page.
func (a *App) sharedShelf(c echo.Context) error {
	// Private: the header shows who is signed in; and a revoked share
	// must disappear at once, not when a cache lets go.
	noStore(c)
	c.Response().Header().Set("X-Robots-Tag", "noindex")
	ctx := c.Request().Context()
	sh, ok, err := a.shares.Get(ctx, c.Param("key"))
	if err != nil {
		return err
	}
	if !ok {
		return echo.ErrNotFound
	}
	// A page past the last shows the last, and says so, as search does.
	page, adjusted := parseShelfPage(c.QueryParam("page"))
	p, err := a.Shelves.ListPage(ctx, sh.UserID, shelves.ListOptions{Shelf: sh.Shelf, Page: page, PerPage: sharedPerPage})
	if err != nil {
		return err
	}
	v := components.SharedShelfView{Key: sh.Key, Name: sh.Shelf.Label(), Total: p.Total, Page: p.Page, PerPage: sharedPerPage,
		PastEnd: p.PastEnd, PageAdjusted: adjusted}
	for _, it := range p.Items {
		// Only these fields: the entry's note stays with its reader.
		v.Books = append(v.Books, components.SharedBook{ID: it.Book.ID, Title: it.Book.Title, Authors: it.Book.Authors,
			Year: it.Book.Year, AverageRating: it.Book.AverageRating, Rating: it.Rating})
	}
	var first []shelves.Item
	if p.Page == 1 {
		first = p.Items
	}
	cd, err := a.shelfCard(ctx, sh, first, p.Total)
	if err != nil {
		return err
	}
	a.cards.prepare(ctx, cd)
	m := a.meta(c, sh.Shelf.Label()+", a shared shelf")
	m.Head = a.shelfSocial(sh, cd, v)
	return render(c, http.StatusOK, components.SharedShelfPage(m, v))
}

// shelfCard is the current card of shared shelf sh; first, when not nil,
// are its first books and total how many it holds (read already).
func (a *App) shelfCard(ctx context.Context, sh shares.Share, first []shelves.Item, total int) (card, error) {
	if first == nil {
		var err error
		first, total, err = a.Shelves.List(ctx, sh.UserID, shelves.ListOptions{Shelf: sh.Shelf, PerPage: components.CardTitles})
		if err != nil {
			return card{}, err
		}
	}
	v := components.ShelfCardView{Name: sh.Shelf.Label(), Count: total}
	for _, it := range first[:min(len(first), components.CardTitles)] {
		v.Titles = append(v.Titles, it.Book.Title)
	}
	return newCard(cards.Shelf, sh.Key, components.ShelfCard(v))
}

// shelfSocial is how other sites show a link to a shared shelf's page.
func (a *App) shelfSocial(sh shares.Share, cd card, v components.SharedShelfView) templ.Component {
	count := strconv.Itoa(v.Total) + " books"
	if v.Total == 1 {
		count = "1 book"
	}
	desc := "A shelf shared on Shelf: " + count
	if len(v.Books) > 0 && v.Page == 1 {
		titles := make([]string, 0, components.CardTitles)
		for _, b := range v.Books[:min(len(v.Books), components.CardTitles)] {
			titles = append(titles, b.Title)
		}
		desc += ", among them " + strings.Join(titles, ", ")
	}
	desc += "."
	return components.SocialMeta(components.Social{
		Kind: "website", Title: v.Name + ", a shared shelf", Description: desc, URL: a.absURL(paths.SharedShelfLink(sh.Key)),
		Image: a.absURL(paths.SharedShelfCardLink(sh.Key, cd.version)), ImageAlt: "The shelf " + v.Name + ": " + count,
	})
}

// sharedShelfCardImage serves a shared shelf's card
// (paths.SharedShelfCard); 404 once it is no longer shared.
func (a *App) sharedShelfCardImage(c echo.Context) error {
	key, ok := cardFile(c.Param("file"))
	if !ok {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	sh, ok, err := a.shares.Get(ctx, key)
	if err != nil {
		return err
	}
	if !ok {
		return echo.ErrNotFound
	}
	cd, err := a.shelfCard(ctx, sh, nil, 0)
	if err != nil {
		return err
	}
	return a.serveCard(c, cd)
}
