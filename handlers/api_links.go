package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"shelf/components/paths"
	"shelf/store/links"
)

// The API's short links: the caller's links, one with its clicks per day,
// making one (by the form's rules, limits and messages), and disabling or
// deleting one. Another reader's link is a 404, as an unknown one is.

// apiLinkJSON is a short link as the API shows it.
type apiLinkJSON struct {
	ID        string `json:"id"`
	ShortURL  string `json:"short_url"`
	Target    string `json:"target"`
	External  bool   `json:"external"`
	Disabled  bool   `json:"disabled"`
	Clicks    int64  `json:"clicks"`
	CreatedAt string `json:"created_at"`
	Href      string `json:"href"`
}

func (a *App) newAPILink(l links.Link) apiLinkJSON {
	return apiLinkJSON{ID: l.ID, ShortURL: a.shortURL(l.ID), Target: l.Target, External: l.External, Disabled: l.Disabled,
		Clicks: l.Clicks, CreatedAt: apiTime(l.CreatedAt), Href: paths.APILinkLink(l.ID)}
}

// apiDayJSON is one day's clicks.
type apiDayJSON struct {
	Day    string `json:"day"`
	Clicks int64  `json:"clicks"`
}

// apiLinksList serves GET /api/v1/links: the caller's links, newest first.
func (a *App) apiLinksList(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	list, err := a.Links.List(c.Request().Context(), apiCallerFrom(c).UserID)
	if err != nil {
		return err
	}
	out := struct {
		Items []apiLinkJSON `json:"items"`
	}{Items: make([]apiLinkJSON, 0, len(list))}
	for _, l := range list {
		out.Items = append(out.Items, a.newAPILink(l))
	}
	return c.JSON(http.StatusOK, out)
}

// apiOwnLink is the caller's link the route names, or a 404 problem.
func (a *App) apiOwnLink(c echo.Context) (links.Link, error) {
	l, ok, err := a.Links.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return links.Link{}, err
	}
	if !ok || l.Deleted || l.OwnerID != apiCallerFrom(c).UserID {
		return links.Link{}, notFoundProblem("You have no link with this id.")
	}
	return l, nil
}

// apiLink serves GET /api/v1/links/{id}: the link and its clicks on each
// of the last 30 days, today (UTC) last.
func (a *App) apiLink(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	l, err := a.apiOwnLink(c)
	if err != nil {
		return err
	}
	today := a.now().UTC()
	days, err := a.Links.ClicksByDay(c.Request().Context(), l.ID, today.AddDate(0, 0, -(chartDays-1)), today)
	if err != nil {
		return err
	}
	out := struct {
		apiLinkJSON
		ClicksByDay []apiDayJSON `json:"clicks_by_day"`
	}{apiLinkJSON: a.newAPILink(l), ClicksByDay: make([]apiDayJSON, len(days))}
	for i, d := range days {
		out.ClicksByDay[i] = apiDayJSON{Day: d.Day.Format("2006-01-02"), Clicks: d.Clicks}
	}
	return c.JSON(http.StatusOK, out)
}

// apiLinkCreate serves POST /api/v1/links {"target", "id"}: makes a link
// as the form does, checked by the same rules, counted against the same
// daily limits, refused with the same messages.
func (a *App) apiLinkCreate(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	members, err := readJSONObject(c)
	if err != nil {
		return err
	}
	f := bodyFields{allowed: []string{fieldLinkTarget, fieldLinkID}}
	var target, id string
	for _, m := range members {
		if !f.known(m) {
			continue
		}
		s, _, ok := f.str(m, m.Name == fieldLinkID)
		if !ok {
			continue
		}
		if m.Name == fieldLinkTarget {
			target = s
		} else {
			id = s
		}
	}
	if !hasMember(members, fieldLinkTarget) {
		f.fail(fieldLinkTarget, "is required")
	}
	if err := f.problem(); err != nil {
		return err
	}
	l, lc, wait, err := a.makeLink(c, apiCallerFrom(c).UserID, target, id)
	switch {
	case err != nil:
		return err
	case wait > 0:
		return &apiProblem{problem{Status: http.StatusTooManyRequests, Type: "too-many-links", Detail: a.linkLimitMessage(wait)}}
	case !lc.form.Valid():
		return linkFieldsProblem(lc, id)
	}
	c.Response().Header().Set(echo.HeaderLocation, paths.APILinkLink(l.ID))
	return c.JSON(http.StatusCreated, a.newAPILink(l))
}

// linkFieldsProblem answers fields the form would refuse, with its
// messages: 409 when the id alone is wrong because another link has it,
// 422 otherwise. Free ids, when there are any to offer, are in
// alternatives.
func linkFieldsProblem(lc linkCheck, id string) error {
	p := problem{Status: http.StatusUnprocessableEntity, Type: "invalid-fields", Detail: "A field of the request is not valid.",
		Alternatives: lc.alternatives}
	for _, field := range []string{fieldLinkTarget, fieldLinkID} {
		if msg, ok := lc.form.FieldErrors[field]; ok {
			p.Errors = append(p.Errors, fieldProblem{Field: field, Detail: msg})
		}
	}
	if len(p.Errors) > 1 {
		p.Detail = "Fields of the request are not valid."
	}
	if len(p.Errors) == 1 && p.Errors[0].Field == fieldLinkID && p.Errors[0].Detail == takenMessage(id) {
		p.Status, p.Type, p.Detail = http.StatusConflict, "id-taken", takenMessage(id)
	}
	return &apiProblem{p}
}

// apiLinkUpdate serves PATCH /api/v1/links/{id} {"disabled": bool}.
func (a *App) apiLinkUpdate(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	l, err := a.apiOwnLink(c)
	if err != nil {
		return err
	}
	members, err := readJSONObject(c)
	if err != nil {
		return err
	}
	f := bodyFields{allowed: []string{"disabled"}}
	var disabled bool
	for _, m := range members {
		if !f.known(m) {
			continue
		}
		v, ok := m.Value.(bool)
		if !ok {
			f.fail(m.Name, "must be a boolean, not "+jsonTypeName(m.Value))
			continue
		}
		disabled = v
	}
	if !hasMember(members, "disabled") {
		f.fail("disabled", "is required")
	}
	if err := f.problem(); err != nil {
		return err
	}
	ctx, userID := c.Request().Context(), apiCallerFrom(c).UserID
	if err := a.Links.SetDisabled(ctx, userID, l.ID, disabled); errors.Is(err, links.ErrNotFound) {
		return notFoundProblem("You have no link with this id.")
	} else if err != nil {
		return err
	}
	l.Disabled = disabled
	return c.JSON(http.StatusOK, a.newAPILink(l))
}

// apiLinkDelete serves DELETE /api/v1/links/{id}: the link stops working
// for good, and its id is never given out again.
func (a *App) apiLinkDelete(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	l, err := a.apiOwnLink(c)
	if err != nil {
		return err
	}
	userID := apiCallerFrom(c).UserID
	if err := a.Links.Delete(c.Request().Context(), userID, l.ID); errors.Is(err, links.ErrNotFound) {
		return notFoundProblem("You have no link with this id.")
	} else if err != nil {
		return err
	}
	a.Logger.Info("short link deleted", "user_id", userID, "link", l.ID, "through", "api")
	return c.NoContent(http.StatusNoContent)
}
