package handlers

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store/sessions"
)

// "Where you're signed in": the account's sessions, each with the browser,
// address and time it was last seen, which the session's own data carries
// and the store copies beside it on each commit (sessionInfo). Ending one
// deletes its row, which every instance reads on the next request.

// Session keys for the list.
const (
	sessIP      = "ip"      // string, the client's address when last seen
	sessBrowser = "browser" // string, browserSummary of its User-Agent
	sessSeen    = "seen"    // int64 Unix milliseconds, when last seen
)

// seenInterval is how stale "last seen" may get: a signed-in session is
// written for it at most this often, not on every request.
const seenInterval = time.Minute

// sessionInfo reads what the session store keeps beside a session's data.
func sessionInfo(data []byte) sessions.Info {
	_, values, err := scs.GobCodec{}.Decode(data)
	if err != nil {
		return sessions.Info{}
	}
	info := sessions.Info{UserID: sessionUserID(values)}
	info.IP, _ = values[sessIP].(string)
	info.Browser, _ = values[sessBrowser].(string)
	if ms, _ := values[sessSeen].(int64); ms != 0 {
		info.SeenAt = time.UnixMilli(ms)
	}
	return info
}

// noteSeen records in the session the request's address and browser, now.
func (a *App) noteSeen(c echo.Context) {
	ctx := c.Request().Context()
	a.Sessions.Put(ctx, sessIP, c.RealIP())
	a.Sessions.Put(ctx, sessBrowser, browserSummary(c.Request().UserAgent()))
	a.Sessions.Put(ctx, sessSeen, a.now().UnixMilli())
}

// touchSeen refreshes a signed-in session's "last seen", address and
// browser when they are older than seenInterval, and reports whether it
// did. A new address waits for it too: a client alternating between two
// (IPv4 and IPv6) must not cost a write per request.
func (a *App) touchSeen(c echo.Context) bool {
	ctx := c.Request().Context()
	if a.Sessions.GetInt64(ctx, sessUserID) == 0 {
		return false
	}
	if a.now().Sub(time.UnixMilli(a.Sessions.GetInt64(ctx, sessSeen))) < seenInterval {
		return false
	}
	a.noteSeen(c)
	return true
}

// sessionsRoutes: where you're signed in, and "This wasn't me".
func (a *App) sessionsRoutes(e *echo.Echo) {
	serveGet(e, paths.AccountSessions, a.sessionsPage, a.requireConfirmed)
	e.POST(paths.AccountSessionEnd, a.endSession, a.requireConfirmed)
	e.POST(paths.AccountSessionsEnd, a.endOtherSessions, a.requireConfirmed)
	serveGet(e, paths.NotMe, a.securityNotMePage)
	e.POST(paths.NotMe, a.securityNotMe)
}

// sessionID names a stored session on the page and in its sign-out form:
// derived from, but not, the stored token.
func sessionID(stored string) string {
	sum := sha256.Sum256([]byte("session-id:" + stored))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func (a *App) currentStoredToken(c echo.Context) string {
	return storedToken(a.Sessions.Token(c.Request().Context()))
}

func (a *App) sessionsPage(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	list, err := a.SessionStore.UserSessions(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	current := a.currentStoredToken(c)
	m := a.formMeta(c, "Where you're signed in")
	v := components.SessionsView{CSRF: m.CSRFToken, Notice: a.popFlash(c)}
	for _, s := range list {
		row := components.SessionRow{ID: sessionID(s.Token), Browser: s.Browser, IP: s.IP, Current: s.Token == current}
		if row.Browser == "" {
			row.Browser = "an unknown browser"
		}
		if row.IP == "" {
			row.IP = "not recorded"
		}
		switch {
		case row.Current:
			row.LastSeen = "now"
		case s.SeenAt.IsZero():
			row.LastSeen = "not recorded"
		default:
			row.LastSeen = s.SeenAt.UTC().Format(displayTime)
		}
		if row.Current { // this device first
			v.Sessions = append([]components.SessionRow{row}, v.Sessions...)
		} else {
			v.Sessions = append(v.Sessions, row)
		}
	}
	return render(c, http.StatusOK, components.SessionsPage(m, v))
}

// endSession signs out one of the account's other sessions.
func (a *App) endSession(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := a.currentUser(c)
	list, err := a.SessionStore.UserSessions(ctx, u.ID)
	if err != nil {
		return err
	}
	current := a.currentStoredToken(c)
	for _, s := range list {
		if sessionID(s.Token) != c.Param("id") || s.Token == current {
			continue
		}
		if _, err := a.SessionStore.DeleteUserSession(ctx, u.ID, s.Token); err != nil {
			return err
		}
		a.flash(c, "That session is signed out.")
		return redirect(c, paths.AccountSessions)
	}
	a.flash(c, "That session had already ended.")
	return redirect(c, paths.AccountSessions)
}

// endOtherSessions signs out every session of the account but this one.
func (a *App) endOtherSessions(c echo.Context) error {
	u, _ := a.currentUser(c)
	n, err := a.SessionStore.DeleteUserSessionsExcept(c.Request().Context(), u.ID, a.currentStoredToken(c))
	if err != nil {
		return err
	}
	a.Logger.Info("signed out everywhere else", "user_id", u.ID, "sessions_ended", n)
	a.flash(c, "You are signed out everywhere else.")
	return redirect(c, paths.AccountSessions)
}
