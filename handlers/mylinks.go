package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/components/qrcode"
	"shelf/store/catalog"
	"shelf/store/links"
	"shelf/store/previews"
)

// "My links": a reader's short links, each with its state, clicks and
// actions, and one link's page with its clicks per day, its QR code and
// the preview of its target. Only the owner sees a link's page or changes
// it: another reader's link is a 404, as an unknown one is, so ids cannot
// be probed.
//
// Disable, enable and delete answer htmx with the changed part of the page
// and the change announced in the page's live region (see
// components.LinkStateAnswer); a plain form post with 303 back to the page
// it came from, the change told there.

// chartDays is how many days a link's page charts, today included.
const chartDays = 30

func (a *App) myLinkRoutes(e *echo.Echo) {
	serveGet(e, paths.MyLinks, a.myLinks, a.requireConfirmed)
	serveGet(e, paths.MyLink, a.myLink, a.requireConfirmed)
	e.POST(paths.MyLinkDisable, a.setLinkDisabled(true), a.requireConfirmed)
	e.POST(paths.MyLinkEnable, a.setLinkDisabled(false), a.requireConfirmed)
	e.POST(paths.MyLinkDelete, a.deleteLink, a.requireConfirmed)
}

// shortURL is the absolute address of the link id, on the configured base
// URL.
func (a *App) shortURL(id string) string {
	return a.absURL(paths.ShortLinkLink(id))
}

func (a *App) myLinkItem(l links.Link) components.MyLinkItem {
	it := components.MyLinkItem{ID: l.ID, ShortURL: a.shortURL(l.ID), Target: l.Target, External: l.External,
		Created: l.CreatedAt.UTC().Format("2 Jan 2006"), Clicks: l.Clicks, Disabled: l.Disabled}
	if u, err := url.Parse(l.Target); err == nil {
		it.Host = u.Host
	}
	return it
}

// myLinkItems are the reader's links as their pages show them, a link to
// a book's page named by the book as the catalog has it now: one query for
// all of them, and a book readers cannot see leaves the address.
func (a *App) myLinkItems(ctx context.Context, list []links.Link) ([]components.MyLinkItem, error) {
	books := make([]int64, len(list))
	var ids []int64
	for i, l := range list {
		if id, ok := a.linkedBook(l); ok {
			books[i] = id
			ids = append(ids, id)
		}
	}
	var found map[int64]catalog.Book
	if len(ids) > 0 {
		var err error
		if found, err = a.Catalog.GetMany(ctx, ids); err != nil {
			return nil, err
		}
	}
	items := make([]components.MyLinkItem, len(list))
	for i, l := range list {
		items[i] = a.myLinkItem(l)
		if b, ok := found[books[i]]; ok {
			items[i].BookTitle, items[i].BookAuthors = b.Title, b.Authors
		}
	}
	return items, nil
}

// linkedBook is the id of the book whose page on Shelf l goes to, if it
// goes to one.
func (a *App) linkedBook(l links.Link) (int64, bool) {
	if l.External {
		return 0, false
	}
	p, ok := a.Links.ShelfPath(l.Target)
	if !ok {
		return 0, false
	}
	raw, ok := strings.CutPrefix(p, strings.TrimSuffix(paths.Book, ":id"))
	if !ok {
		return 0, false
	}
	return parseBookID(raw)
}

// ownLink is the signed-in reader's link named by the route, or a 404
// when it is someone else's, deleted, or unknown.
func (a *App) ownLink(c echo.Context) (links.Link, error) {
	u, _ := a.currentUser(c)
	l, ok, err := a.Links.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return links.Link{}, err
	}
	if !ok || l.OwnerID != u.ID || l.Deleted {
		return links.Link{}, echo.ErrNotFound
	}
	return l, nil
}

// myLinks serves "My links", newest first.
func (a *App) myLinks(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	list, err := a.Links.List(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	items, err := a.myLinkItems(c.Request().Context(), list)
	if err != nil {
		return err
	}
	m := a.formMeta(c, "My links")
	v := components.MyLinksView{CSRF: m.CSRFToken, Items: items, Notice: a.popFlash(c)}
	return render(c, http.StatusOK, components.MyLinksPage(m, v))
}

// myLink serves one link's page.
func (a *App) myLink(c echo.Context) error {
	noStore(c)
	l, err := a.ownLink(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	today := a.now().UTC()
	days, err := a.Links.ClicksByDay(ctx, l.ID, today.AddDate(0, 0, -(chartDays-1)), today)
	if err != nil {
		return err
	}
	items, err := a.myLinkItems(ctx, []links.Link{l})
	if err != nil {
		return err
	}
	it := items[0]
	svg, err := qrcode.SVG(it.ShortURL, "link-qr-title", "QR code of "+it.ShortURL, 240)
	if err != nil {
		return err
	}
	m := a.formMeta(c, it.ShortURL)
	v := components.MyLinkView{CSRF: m.CSRFToken, Link: it, QR: templ.Raw(svg), Notice: a.popFlash(c),
		Days: make([]components.ChartDay, len(days))}
	for i, d := range days {
		v.Days[i] = components.ChartDay{Day: d.Day, Clicks: d.Clicks}
	}
	if l.External && a.Previews != nil {
		v.Preview = a.linkPreview(c, l)
	}
	return render(c, http.StatusOK, components.MyLinkPage(m, v))
}

// linkPreview is the preview block of l's target. A link made while
// previews were off has none yet: asking for it here is harmless (one
// per URL), and the block then says it is coming. A preview that cannot be
// read leaves the block out rather than the page.
func (a *App) linkPreview(c echo.Context, l links.Link) templ.Component {
	ctx := c.Request().Context()
	p, ok, err := a.Previews.Get(ctx, previews.KeyOf(l.Target))
	if err == nil && !ok {
		p, err = a.Previews.Enqueue(ctx, l.Target)
		ok = err == nil
	}
	if err != nil {
		a.Logger.Warn("link preview not shown", "link", l.ID, "err", err)
		return nil
	}
	return components.LinkPreview(p, ok)
}

// setLinkDisabled disables or enables the reader's link.
func (a *App) setLinkDisabled(disabled bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		noStore(c)
		u, _ := a.currentUser(c)
		ctx := c.Request().Context()
		err := a.Links.SetDisabled(ctx, u.ID, c.Param("id"), disabled)
		if errors.Is(err, links.ErrNotFound) {
			return echo.ErrNotFound
		}
		if err != nil {
			return err
		}
		l, err := a.ownLink(c)
		if err != nil {
			return err
		}
		it := a.myLinkItem(l)
		status := "Enabled " + it.ShortURL + " again: it takes visitors to its page."
		if disabled {
			status = "Disabled " + it.ShortURL + ": visitors are told it is gone until you enable it."
		}
		back := safeNext(c.FormValue("back"))
		if !isHTMX(c) {
			a.flash(c, status)
			return redirect(c, back+"#link-state-"+l.ID)
		}
		return render(c, http.StatusOK, components.LinkStateAnswer(it, a.csrfToken(c), back, status))
	}
}

// deleteLink deletes the reader's link for good, once confirmed on the
// page (components.linkDelete).
func (a *App) deleteLink(c echo.Context) error {
	noStore(c)
	l, err := a.ownLink(c)
	if err != nil {
		return err
	}
	u, _ := a.currentUser(c)
	err = a.Links.Delete(c.Request().Context(), u.ID, l.ID)
	if errors.Is(err, links.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	a.Logger.Info("short link deleted", "user_id", u.ID, "link", l.ID)
	it := a.myLinkItem(l)
	status := "Deleted " + it.ShortURL + "."
	if !isHTMX(c) {
		a.flash(c, status)
		return redirect(c, paths.MyLinks)
	}
	return render(c, http.StatusOK, components.LinkDeletedAnswer(it, status))
}
