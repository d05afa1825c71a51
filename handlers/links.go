package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store/limits"
	"shelf/store/links"
	"shelf/store/previews"
)

// Short links: the form that makes one (checked in place as it is typed,
// and again on submit by the same function), and GET /s/:id, which
// redirects to a page on Shelf at once, and to another site through a page
// that says where it goes, unless the visitor comes from a page on Shelf.

// LinkPreviews is what short links need of page previews
// (store/previews.Queue): one asked for each new external link, and shown
// on the page before leaving Shelf.
type LinkPreviews interface {
	Enqueue(ctx context.Context, url string) (previews.Preview, error)
	Get(ctx context.Context, key string) (previews.Preview, bool, error)
}

// The default limits on making links, per reader and per client network,
// per day.
const (
	DefaultLinksPerDay      = 50
	DefaultLinksPerIPPerDay = 200
)

// linkLimits bound the links made per reader and per client network.
type linkLimits struct {
	perReader, perIP *limits.Limiter
}

func newLinkLimits(a *App, perReader, perIP int) linkLimits {
	if perReader <= 0 {
		perReader = DefaultLinksPerDay
	}
	if perIP <= 0 {
		perIP = DefaultLinksPerIPPerDay
	}
	return linkLimits{
		perReader: limits.NewLimiter(a.DB, "links_reader", perReader, 24*time.Hour),
		perIP:     limits.NewLimiter(a.DB, "links_ip", perIP, 24*time.Hour),
	}
}

// Field names of the link form.
const (
	fieldLinkTarget = "target"
	fieldLinkID     = "id"
)

func (a *App) linkRoutes(e *echo.Echo) {
	serveGet(e, paths.ShortLink, a.shortLink)
	serveGet(e, paths.LinkNew, a.linkForm, a.requireConfirmed)
	e.POST(paths.LinkNew, a.createLink, a.requireConfirmed)
	e.POST(paths.LinkValidate, a.validateLinkField, a.requireConfirmed)
}

// tellLinksTheRoutes gives the links store what it needs of e's routes,
// so a route added later needs no list updated: every route's first path
// segment, reserved as a link id, and which paths are pages a link may
// go to.
func (a *App) tellLinksTheRoutes(e *echo.Echo) {
	a.Links.Reserve(routeSegments(e.Routes())...)
	a.Links.SetPages(pageRoutes(e))
}

// pageRoutes reports whether a path is one of e's pages: the router finds
// a GET route for it. A short link to Shelf must go to a page it has. A
// route's parameters, such as a book's id, are not looked up: the book may
// be added, or come back, later.
func pageRoutes(e *echo.Echo) func(path string) bool {
	get := map[string]bool{}
	for _, r := range e.Routes() {
		if r.Method == http.MethodGet {
			get[r.Path] = true
		}
	}
	return func(p string) bool {
		// For a path no route answers, the router names no route, or a
		// route for other methods only (a 405).
		c := e.NewContext(nil, nil)
		e.Router().Find(http.MethodGet, p, c)
		return get[c.Path()]
	}
}

// routeSegments are the literal first segments of routes' paths.
func routeSegments(routes []*echo.Route) []string {
	var out []string
	for _, r := range routes {
		seg, _, _ := strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
		if seg != "" && !strings.ContainsAny(seg, ":*") {
			out = append(out, seg)
		}
	}
	return out
}

// linkCheck is the verdict on the form's values: one message per invalid
// field, free ids when the id is taken.
type linkCheck struct {
	form         Form
	alternatives []string
}

// checkTarget checks the target as typed.
func (a *App) checkLinkTarget(f *Form, raw string) {
	_, _, msg := a.Links.CheckTarget(raw)
	f.CheckField(msg == "", fieldLinkTarget, msg)
}

// checkLinkID checks a custom id as typed: its form, reserved words, and
// whether it is free, with two free alternatives when it is taken or
// reserved.
func (a *App) checkLinkID(ctx context.Context, f *Form, id string) ([]string, error) {
	if id == "" {
		return nil, nil
	}
	msg := a.Links.CheckID(id)
	f.CheckField(msg == "", fieldLinkID, msg)
	free, alts, err := a.Links.Available(ctx, id)
	if err != nil {
		return nil, err
	}
	f.CheckField(free, fieldLinkID, takenMessage(id))
	return alts, nil
}

func takenMessage(id string) string {
	return "“" + id + "” is taken. Choose another id, or leave it empty for a random one."
}

func (a *App) checkLinkForm(ctx context.Context, target, id string) (linkCheck, error) {
	var lc linkCheck
	a.checkLinkTarget(&lc.form, target)
	alts, err := a.checkLinkID(ctx, &lc.form, id)
	lc.alternatives = alts
	return lc, err
}

func (a *App) linkFormView(c echo.Context, target, id string, lc linkCheck) components.LinkFormView {
	return components.LinkFormView{CSRF: a.csrfToken(c), Target: target, ID: id, Errors: lc.form.FieldErrors, Alternatives: lc.alternatives}
}

func (a *App) linkForm(c echo.Context) error {
	noStore(c)
	target, id := c.QueryParam("target"), c.QueryParam("id")
	if len(target) > 2*links.MaxTargetLen || len(id) > 4*links.MaxIDLen {
		return echo.ErrBadRequest
	}
	var lc linkCheck
	if id != "" { // an alternative picked without JavaScript: say at once if it went meanwhile
		var err error
		if lc.alternatives, err = a.checkLinkID(c.Request().Context(), &lc.form, id); err != nil {
			return err
		}
	}
	return render(c, http.StatusOK, components.LinkNewPage(a.formMeta(c, "New short link"), a.linkFormView(c, target, id, lc)))
}

// validateLinkField answers the in-place check of one field with the
// field, through the same checks as the submit.
func (a *App) validateLinkField(c echo.Context) error {
	noStore(c)
	ctx := c.Request().Context()
	switch c.Param("field") {
	case fieldLinkTarget:
		raw := c.FormValue(fieldLinkTarget)
		var f Form
		a.checkLinkTarget(&f, raw)
		return render(c, http.StatusOK, components.FieldView(components.LinkTargetField(raw, f.Error(fieldLinkTarget))))
	case fieldLinkID:
		id := c.FormValue(fieldLinkID)
		var f Form
		alts, err := a.checkLinkID(ctx, &f, id)
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, components.LinkIDField(components.LinkIDView{Value: id, Error: f.Error(fieldLinkID),
			Alternatives: alts, Target: c.FormValue(fieldLinkTarget)}))
	}
	return echo.ErrNotFound
}

// renderLinkForm answers a submit that made no link: the form alone for
// htmx, the page otherwise.
func (a *App) renderLinkForm(c echo.Context, status int, v components.LinkFormView) error {
	if isHTMX(c) {
		return render(c, status, components.LinkForm(v))
	}
	return render(c, status, components.LinkNewPage(a.formMeta(c, "New short link"), v))
}

// createLink makes a link: the fields checked as in place, then the
// limits counted, then the insert, whose unique key settles a race for an
// id (the loser sees "taken" with alternatives, as if typed).
func (a *App) createLink(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	target, id := c.FormValue(fieldLinkTarget), c.FormValue(fieldLinkID)
	l, lc, wait, err := a.makeLink(c, u.ID, target, id)
	switch {
	case err != nil:
		return err
	case wait > 0:
		v := a.linkFormView(c, target, id, lc)
		v.Flash = a.linkLimitMessage(wait)
		return a.renderLinkForm(c, http.StatusTooManyRequests, v)
	case !lc.form.Valid():
		return a.renderLinkForm(c, formStatus(c, lc.form, id), a.linkFormView(c, target, id, lc))
	}
	return redirect(c, paths.MyLinkLink(l.ID))
}

// makeLink makes userID's link to target with id ("" for a generated one)
// for the form and the API alike: the fields checked, then the limits,
// then the insert. A refused field comes back in lc (also when the id was
// taken by a racing request since the check), the limits' wait in wait,
// with Retry-After set; a link made is logged and its preview asked for.
func (a *App) makeLink(c echo.Context, userID int64, target, id string) (l links.Link, lc linkCheck, wait time.Duration, err error) {
	ctx := c.Request().Context()
	if lc, err = a.checkLinkForm(ctx, target, id); err != nil || !lc.form.Valid() {
		return l, lc, 0, err
	}
	res, wait, err := a.reserveLink(ctx, c, userID)
	if err != nil {
		return l, lc, 0, err
	}
	if wait > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)))
		return l, lc, wait, nil
	}
	l, err = a.Links.Create(ctx, userID, target, id)
	if err != nil {
		_ = res.Cancel(context.WithoutCancel(ctx))
		var ve *links.ValidationError
		if !errors.As(err, &ve) {
			return l, lc, 0, err
		}
		lc = linkCheck{}
		lc.form.CheckField(false, ve.Field, ve.Message)
		if errors.Is(err, links.ErrTaken) { // lost a race for the id since the check
			lc.form.FieldErrors[fieldLinkID] = takenMessage(id)
			if _, lc.alternatives, err = a.Links.Available(ctx, id); err != nil {
				return l, lc, 0, err
			}
		}
		return l, lc, 0, nil
	}
	a.linkCreated(ctx, l)
	return l, lc, 0, nil
}

// linkLimitMessage tells a reader who has made as many links as a day
// allows when to try again (the form and the API say the same).
func (a *App) linkLimitMessage(wait time.Duration) string {
	return fmt.Sprintf("You have made as many links as Shelf allows in a day (%d per reader, %d per network). Try again in %s.",
		a.linkLimits.perReader.Limit, a.linkLimits.perIP.Limit, humanWait(wait))
}

// linkCreated logs a new link and asks for its target's preview.
func (a *App) linkCreated(ctx context.Context, l links.Link) {
	a.Logger.Info("short link created", "user_id", l.OwnerID, "link", l.ID, "external", l.External)
	if l.External && a.Previews != nil {
		if _, err := a.Previews.Enqueue(ctx, l.Target); err != nil {
			a.Logger.Warn("preview not queued", "link", l.ID, "err", err)
		}
	}
}

// formStatus is the status of a link form with errors: 409 Conflict when
// the only one is a taken id, 422 otherwise, and always for htmx (whose
// configuration swaps 422 and 429 answers into the page, not 409s).
func formStatus(c echo.Context, f Form, id string) int {
	if len(f.FieldErrors) == 1 && f.Error(fieldLinkID) == takenMessage(id) && !isHTMX(c) {
		return http.StatusConflict
	}
	return http.StatusUnprocessableEntity
}

// reserveLink counts a link against the reader's and the network's daily
// limits, or returns how long to wait.
func (a *App) reserveLink(ctx context.Context, c echo.Context, userID int64) (limits.Reservation, time.Duration, error) {
	now := a.now()
	byReader, wait, err := a.linkLimits.perReader.Reserve(ctx, "u"+strconv.FormatInt(userID, 10), now)
	if err != nil || wait > 0 {
		return limits.Reservation{}, wait, err
	}
	byIP, wait, err := a.linkLimits.perIP.Reserve(ctx, clientNetwork(c), now)
	if err != nil || wait > 0 {
		_ = byReader.Cancel(context.WithoutCancel(ctx))
		return limits.Reservation{}, wait, err
	}
	return byReader.And(byIP), 0, nil
}

// shortLink serves GET /s/:id. It loads no session and writes nothing:
// the link comes from the store's cache, the click is counted in memory.
//
// It answers 302, not 308: a browser keeps a 308 (permanent) for good and
// goes straight to the target next time without asking Shelf, so a link
// disabled or deleted would go on working for everyone who followed it
// once, and their clicks would no longer be counted.
func (a *App) shortLink(c echo.Context) error {
	h := c.Response().Header()
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Robots-Tag", "noindex")
	l, ok, err := a.Links.Resolve(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	m := components.Meta{Title: "Short link"}
	switch {
	case !ok:
		m.Title = "No such link"
		return render(c, http.StatusNotFound, components.ShortLinkMissingPage(m, "There is no such link",
			"No short link has this address. Check that it was copied whole."))
	case l.Deleted || l.Disabled:
		m.Title = "Link gone"
		msg := "The reader who made this short link has turned it off."
		if l.Deleted {
			msg = "The reader who made this short link has deleted it."
		}
		return render(c, http.StatusGone, components.ShortLinkMissingPage(m, "This link no longer works", msg))
	}
	if c.Request().Method == http.MethodGet && !prefetch(c.Request()) {
		a.Links.CountClick(l.ID)
	}
	if !l.External || a.fromShelf(c.Request()) {
		return c.Redirect(http.StatusFound, l.Target)
	}
	return a.interstitial(c, m, l)
}

// prefetch reports whether r is a browser fetching a link ahead in case it
// is followed. A prerender is counted: the page it renders is shown
// without another request.
func prefetch(r *http.Request) bool {
	if sp := r.Header.Get("Sec-Purpose"); sp != "" {
		return strings.Contains(sp, "prefetch") && !strings.Contains(sp, "prerender")
	}
	return strings.EqualFold(r.Header.Get("Purpose"), "prefetch") || strings.EqualFold(r.Header.Get("X-Moz"), "prefetch")
}

// fromShelf reports whether the request comes from a page on Shelf: its
// Referer is on the base URL's origin. Shelf sends Referrer-Policy:
// same-origin, so other sites' pages send no Referer to it; a forged one
// only skips the page for the one who forges it.
func (a *App) fromShelf(r *http.Request) bool {
	ref := r.Referer()
	if ref == "" {
		return false
	}
	u, err := url.Parse(ref)
	if err != nil {
		return false
	}
	if !strings.EqualFold(u.Scheme, a.BaseURL.Scheme) || !strings.EqualFold(u.Host, a.BaseURL.Host) {
		return false
	}
	// Under a base URL with a path, the rest of the origin is another
	// application, whose pages are not Shelf's.
	return links.PathWithin(a.BaseURL.Path, u.Path)
}

// interstitial says where an external link goes before going there.
func (a *App) interstitial(c echo.Context, m components.Meta, l links.Link) error {
	u, err := url.Parse(l.Target)
	if err != nil {
		return err
	}
	host := u.Hostname()
	uni, shown := links.DisplayHosts(host)
	v := components.LinkInterstitialView{Target: l.Target, HostASCII: host, HostUnicode: uni, HostShown: shown}
	if a.Previews != nil {
		p, ok, err := a.Previews.Get(c.Request().Context(), previews.KeyOf(l.Target))
		if err != nil {
			a.Logger.Warn("preview not read", "link", l.ID, "err", err)
		} else if ok && p.Status != previews.Failed {
			// Why a capture failed is for the owner: a refusal names the
			// private address the host resolved to on Shelf's network.
			v.Preview = components.LinkPreview(p, ok)
		}
	}
	m.Title = "Leaving Shelf"
	return render(c, http.StatusOK, components.LinkInterstitialPage(m, v))
}
