package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/static"
	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/links"
	"shelf/store/sessions"
)

// AccountSettings are the configurable lifetimes. Zero values get defaults.
type AccountSettings struct {
	// SessionIdle ends a session not used for this long (sessions without
	// "Remember me"). Default 12h.
	SessionIdle time.Duration
	// SessionLifetime ends every session this long after sign-in, however
	// active; "Remember me" sessions last exactly this long. Default 30 days.
	SessionLifetime time.Duration
	// ConfirmTTL is how long a confirmation link works. Default 48h
	// (accounts.DefaultConfirmTTL).
	ConfirmTTL time.Duration
	// ResetTTL is how long a password-reset link works. Default 1h
	// (accounts.DefaultResetTTL).
	ResetTTL time.Duration
	// Hash are the argon2id costs; zero means accounts.DefaultHashParams.
	Hash accounts.HashParams
}

// Session keys.
const (
	sessUserID   = "user_id"      // int64, the signed-in account
	sessCSRF     = "csrf"         // string, this session's CSRF token
	sessCreated  = "created"      // int64 Unix seconds, start of the absolute lifetime
	sessFlash    = "flash"        // string, a one-time notice for the next page
	sessRemember = "__rememberMe" // bool, scs's own key for RememberMe
	// sessNoteStatus is "<book id> <status>": what a note form posted
	// without JavaScript did, for the page it returns to (takeNoteStatus).
	sessNoteStatus = "note_status"
)

// echo.Context keys.
const (
	ctxSessionLoaded = "shelf.session"
	ctxFlowSession   = "shelf.session.flow" // *flowSession, see withSession
	ctxUser          = "shelf.user"
)

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// setupAccounts defaults the account settings and builds the accounts,
// the session manager and the cookie signer.
func (a *App) setupAccounts() {
	s := &a.AccountSettings
	if s.SessionIdle <= 0 {
		s.SessionIdle = 12 * time.Hour
	}
	if s.SessionLifetime <= 0 {
		s.SessionLifetime = 30 * 24 * time.Hour
	}
	a.Accounts = accounts.New(a.DB, accounts.Config{Mails: accountMails{baseURL: a.BaseURL}, Notifier: a.Mailer,
		Now: a.now, ConfirmTTL: s.ConfirmTTL, ResetTTL: s.ResetTTL, Hash: s.Hash})
	a.Limits = DefaultLimits(a.DB)
	a.signer = a.loadSigner()
	a.SessionStore = sessions.New(a.DB, sessionInfo)
	a.SessionStore.Now = a.now
	sm := scs.New()
	sm.Store = a.SessionStore
	sm.HashTokenInStore = true // the table holds SHA-256 of cookie values
	sm.Lifetime = s.SessionLifetime
	sm.IdleTimeout = 0 // idle expiry is ours: see touchSession
	// The attributes every cookie gets (cookies.go); scs writes this one.
	ck := a.cookie("shelf_session", "", 0)
	sm.Cookie.Name, sm.Cookie.Path = ck.Name, ck.Path
	sm.Cookie.HttpOnly, sm.Cookie.Secure, sm.Cookie.SameSite = ck.HttpOnly, ck.Secure, ck.SameSite
	sm.Cookie.Persist = false // a browser-session cookie unless "Remember me"
	a.Sessions = sm
	a.crossOrigin = http.NewCrossOriginProtection()
	_ = a.crossOrigin.AddTrustedOrigin((&url.URL{Scheme: a.BaseURL.Scheme, Host: a.BaseURL.Host}).String())
}

// sessionUserID reads the signed-in account (or the account of a pending
// sign-up) out of a session's values, so the store can index sessions by
// account (see sessionInfo).
func sessionUserID(values map[string]any) int64 {
	id, _ := values[sessUserID].(int64)
	if id == 0 {
		id, _ = values[sessPendingUser].(int64) // so deleting the account ends its pending sign-up too
	}
	if id == 0 {
		id, _ = values[sessSecondUser].(int64) // and its pending sign-ins
	}
	return id
}

// loadSession loads the session named by the cookie (a read, only when the
// request has one) and saves it just before the response is written, only
// when it changed. Requests without a cookie therefore touch no table; a
// session is created only at sign-in (anonymous forms use a CSRF cookie
// instead, see csrf.go). Static files, the health check, the API and short
// links (which must be fast, and are the same for everyone) never load one.
func (a *App) loadSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		path := c.Request().URL.Path
		if strings.HasPrefix(path, static.Prefix) || path == paths.Health || isAPIPath(path) || strings.HasPrefix(path, paths.ShortLinks) {
			return next(c)
		}
		r := c.Request()
		var token string
		if ck, err := r.Cookie(a.Sessions.Cookie.Name); err == nil {
			token = ck.Value
		}
		ctx, err := a.Sessions.Load(r.Context(), token)
		if err != nil {
			return err
		}
		c.SetRequest(r.WithContext(ctx))
		c.Set(ctxSessionLoaded, true)
		c.Response().Header().Add("Vary", "Cookie")
		var touched map[string]any // the values, when only the expiry or last seen moved
		if token != "" {
			slid := a.touchSession(ctx)
			if seen := a.touchSeen(c); slid || seen {
				touched = a.sessionValues(ctx)
			}
		}
		c.Response().Before(func() { a.saveSession(c, touched) })
		return next(c)
	}
}

func (a *App) sessionLoaded(c echo.Context) bool {
	ok, _ := c.Get(ctxSessionLoaded).(bool)
	return ok
}

// wantDeadline is when the session should expire: the end of its absolute
// lifetime for "Remember me", else SessionIdle from now, capped by it.
func (a *App) wantDeadline(ctx context.Context) time.Time {
	created := time.Unix(a.Sessions.GetInt64(ctx, sessCreated), 0)
	end := created.Add(a.AccountSettings.SessionLifetime)
	if a.Sessions.GetBool(ctx, sessRemember) {
		return end
	}
	idle := a.now().Add(a.AccountSettings.SessionIdle)
	if idle.Before(end) {
		return idle
	}
	return end
}

// touchSession slides an existing session's idle expiry. It writes at most
// once a minute per session (or per SessionIdle/10 if shorter), so reading
// pages, searching included, does not cost a write per request. It reports
// whether it moved the expiry.
func (a *App) touchSession(ctx context.Context) bool {
	if !a.Sessions.Exists(ctx, sessCreated) {
		return false
	}
	refresh := min(time.Minute, a.AccountSettings.SessionIdle/10)
	if a.wantDeadline(ctx).Sub(a.Sessions.Deadline(ctx)) > refresh {
		a.Sessions.SetDeadline(ctx, a.wantDeadline(ctx))
		return true
	}
	return false
}

func (a *App) sessionValues(ctx context.Context) map[string]any {
	values := map[string]any{}
	for _, k := range a.Sessions.Keys(ctx) {
		values[k] = a.Sessions.Get(ctx, k)
	}
	return values
}

// saveSession commits a changed session and writes its cookie. It runs as
// the response's Before hook, just before the status is sent, so it covers
// error pages and redirects too, and a failed save can still change the
// answer: it becomes the 503 page (refuseUnsaved), never a page that acts
// on a session, or shows a token, that was not stored. Only a failure to
// slide the idle expiry or refresh "last seen" (touched holds the values
// then) is let pass: the session stays valid until its stored expiry, and a
// later request slides it.
func (a *App) saveSession(c echo.Context, touched map[string]any) {
	ctx := c.Request().Context()
	if a.Sessions.GetInt64(ctx, sessUserID) != 0 {
		noStore(c) // the page is for this reader only
	}
	switch a.Sessions.Status(ctx) {
	case scs.Modified:
		if flow, ok := c.Get(ctxFlowSession).(*flowSession); ok {
			if flow.failed {
				return // its transaction failed: nothing of it may be saved now
			}
			if flow.stored && flow.token == a.Sessions.Token(ctx) && reflect.DeepEqual(flow.values, a.sessionValues(ctx)) {
				a.Sessions.WriteSessionCookie(ctx, c.Response(), flow.token, flow.expiry)
				return
			}
		}
		token, expiry, err := a.commitSession(ctx)
		if err != nil {
			if touched != nil && reflect.DeepEqual(touched, a.sessionValues(ctx)) {
				a.Logger.Warn("session expiry not extended", "route", route(c), "err", err)
				return
			}
			a.refuseUnsaved(c, err)
			return
		}
		a.Sessions.WriteSessionCookie(ctx, c.Response(), token, expiry)
	case scs.Destroyed:
		a.Sessions.WriteSessionCookie(ctx, c.Response(), "", time.Time{})
	}
}

// commitSession stores the session, first giving it its start time and
// deadline. ctx may carry a transaction (store.WithTx) for it to join.
func (a *App) commitSession(ctx context.Context) (string, time.Time, error) {
	if !a.Sessions.Exists(ctx, sessCreated) {
		a.Sessions.Put(ctx, sessCreated, a.now().Unix())
	}
	a.Sessions.SetDeadline(ctx, a.wantDeadline(ctx))
	return a.Sessions.Commit(ctx)
}

// flowSession is how withSession went: whether its transaction failed,
// and whether it stored the session, with the cookie to send and the values
// stored, to tell whether the session changed since.
type flowSession struct {
	failed bool
	stored bool
	token  string
	expiry time.Time
	values map[string]any
}

// withSession runs an account flow that changes the session, giving it the
// hook (accounts.SaveSession) it runs last inside its transaction: change
// updates the session for the account the flow acted on, and the session is
// then committed in that same transaction, when change altered it. An
// account change and the session that carries it (a pending sign-up, a
// sign-in) are thus stored together or not at all: a browser answered with
// the 503 page finds nothing done, and one answered with success holds a
// stored session. While change runs, the request's context carries the
// transaction, so the session's own writes (RenewToken deleting the old
// session row) join it. saveSession then only sends the cookie, unless the
// session changed again after the commit.
//
// The hook may run more than once (a transaction that lost a conflict on
// PostgreSQL runs again, see store.DB.InTx): each run after the first starts
// from the session and cookies as they were before the flow (see
// flowStart.restore).
func (a *App) withSession(c echo.Context, flow func(accounts.SaveSession) error, change func(accounts.User) error) error {
	r := c.Request()
	defer c.SetRequest(r)
	saved := &flowSession{}
	c.Set(ctxFlowSession, saved)
	before := a.sessionBefore(c)
	runs := 0
	err := flow(func(ctx context.Context, u accounts.User) error {
		c.SetRequest(r.WithContext(ctx))
		if runs++; runs > 1 {
			if err := before.restore(ctx); err != nil {
				return err
			}
		}
		*saved = flowSession{}
		if err := change(u); err != nil {
			return err
		}
		if a.Sessions.Status(ctx) != scs.Modified {
			return nil
		}
		var err error
		saved.token, saved.expiry, err = a.commitSession(ctx)
		saved.values = a.sessionValues(ctx)
		saved.stored = err == nil
		return err
	})
	if err != nil {
		saved.failed = true
		if a.Sessions.Token(r.Context()) != before.token {
			// change started a session that was not stored: the error page
			// must not show its account.
			_ = a.Sessions.Clear(r.Context())
			c.Set(ctxUser, nil)
		}
	}
	return err
}

// flowStart is the session and response cookies as they were before an
// account flow, for a run of its session hook after the first.
type flowStart struct {
	a        *App
	c        echo.Context
	token    string
	values   map[string]any
	deadline time.Time
	cookies  []string
	user     any
}

func (a *App) sessionBefore(c echo.Context) flowStart {
	ctx := c.Request().Context()
	return flowStart{a: a, c: c, token: a.Sessions.Token(ctx), values: a.sessionValues(ctx), deadline: a.Sessions.Deadline(ctx),
		cookies: slices.Clone(c.Response().Header().Values("Set-Cookie")), user: c.Get(ctxUser)}
}

// restore puts the session back as it was before the flow, in ctx's
// transaction. scs cannot take back a token it renewed, so a session whose
// token an earlier run renewed keeps the new token, and the row of the old
// one, which that run deleted in its rolled-back transaction, is deleted in
// this one: as if this run renewed it too, which is always safe.
func (s flowStart) restore(ctx context.Context) error {
	sm := s.a.Sessions
	if s.token != "" && sm.Token(ctx) != s.token {
		if err := s.a.SessionStore.DeleteCtx(ctx, storedToken(s.token)); err != nil {
			return err
		}
	}
	if err := sm.Clear(ctx); err != nil {
		return err
	}
	for k, v := range s.values {
		sm.Put(ctx, k, v)
	}
	sm.SetDeadline(ctx, s.deadline)
	h := s.c.Response().Header()
	h.Del("Set-Cookie")
	for _, v := range s.cookies {
		h.Add("Set-Cookie", v)
	}
	s.c.Set(ctxUser, s.user)
	return nil
}

// storedToken is what the session table holds for a cookie's token: its
// SHA-256, as scs stores it with HashTokenInStore.
func storedToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// refuseUnsaved turns the response about to be written into the 503 page:
// it drops the handler's cookies, redirect and body, and answers "try again
// shortly" with Retry-After.
func (a *App) refuseUnsaved(c echo.Context, err error) {
	a.Logger.Error("save session", "route", route(c), "err", err)
	res := c.Response()
	h := res.Header()
	for _, k := range []string{"Set-Cookie", "Location", hxRedirect, "Content-Length", "Content-Encoding"} {
		h.Del(k)
	}
	h.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	h.Set("Retry-After", retryAfter)
	noStore(c)
	var page bytes.Buffer
	// The browser keeps the session its cookie named (this one's is
	// dropped): the header shows it, not the one that was not stored.
	if rerr := components.ErrorPage(a.unavailableMeta(c, unavailableHeading, false), http.StatusServiceUnavailable,
		unavailableHeading, unavailableMessage).Render(context.Background(), &page); rerr != nil {
		a.Logger.Error("render error page", "err", rerr)
	}
	res.Status = http.StatusServiceUnavailable
	res.Writer = &replacedBody{ResponseWriter: res.Writer, body: page.Bytes()}
}

// replacedBody sends body right after the status line and drops whatever
// the handler writes after it.
type replacedBody struct {
	http.ResponseWriter
	body []byte
}

func (w *replacedBody) WriteHeader(code int) {
	w.ResponseWriter.WriteHeader(code)
	_, _ = w.ResponseWriter.Write(w.body)
}

func (w *replacedBody) Write(p []byte) (int, error) { return len(p), nil }

func (w *replacedBody) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// currentUser returns the signed-in account, read once per request.
func (a *App) currentUser(c echo.Context) (accounts.User, bool) {
	if u, ok := c.Get(ctxUser).(*accounts.User); ok {
		return *u, u.ID != 0
	}
	var u accounts.User
	if a.sessionLoaded(c) {
		ctx := c.Request().Context()
		if id := a.Sessions.GetInt64(ctx, sessUserID); id != 0 {
			var err error
			u, err = a.Accounts.UserByID(ctx, id)
			if err != nil {
				if !errors.Is(err, store.ErrNotFound) {
					a.Logger.Error("load current user", "err", err)
				}
				u = accounts.User{}
			}
		}
	}
	c.Set(ctxUser, &u)
	return u, u.ID != 0
}

// signIn is where every first factor ends. For an account with a second
// factor it records only a pending sign-in (see totp.go), which the caller
// sends to the second step (holdSecondStep does in any case); otherwise it
// signs in: completeSignIn.
func (a *App) signIn(c echo.Context, u accounts.User, remember bool) error {
	on, err := a.TwoFactor.Enabled(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	if on {
		return a.startSecondStep(c, u, remember)
	}
	return a.completeSignIn(c, u, remember)
}

// completeSignIn is where every sign-in ends, once all its factors are
// proven (a password without a second factor, a verified passkey, a
// mailed link, the second step): it mails the owner when the browser is
// new to the account (noteSignIn, which reads the device cookie before
// startSession gives it one), then starts the session. In an account
// flow (withSession) the mail joins the flow's transaction.
func (a *App) completeSignIn(c echo.Context, u accounts.User, remember bool) error {
	if err := a.noteSignIn(c, u); err != nil {
		return err
	}
	return a.startSession(c, u, remember)
}

// startSession starts a fresh session for u: a new session token (against
// fixation), a new CSRF token, the chosen persistence and a device cookie.
func (a *App) startSession(c echo.Context, u accounts.User, remember bool) error {
	ctx := c.Request().Context()
	if err := a.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	a.endPendingSignUp(c) // a signed-in browser waits for no sign-up
	a.endSecondStep(c)
	a.forgetAccountProofs(c)
	a.Sessions.Put(ctx, sessUserID, u.ID)
	a.Sessions.Put(ctx, sessCreated, a.now().Unix())
	a.Sessions.Put(ctx, sessCSRF, newCSRFToken())
	a.Sessions.RememberMe(ctx, remember)
	a.noteSeen(c)
	c.Set(ctxUser, &u)
	// Every way in (a sign-in, confirming in the browser that signed up)
	// proves the account is this browser's: it gets a device cookie, which
	// lockouts caused by others do not block.
	a.issueDevice(c, u.ID)
	return nil
}

// accountProofs are session values that belong to the account signed in
// when they were put: a password re-entered (for the authenticator app and
// passkeys), a secret being enrolled, new recovery codes not yet saved, a
// passkey ceremony's challenge. None may outlive a change of account.
var accountProofs = []string{sessReauthAt, sessEnrolSecret, sessFreshCodes, sessFreshCodesAt, sessPasskeyChallenge}

// forgetAccountProofs drops accountProofs, at every sign-in.
func (a *App) forgetAccountProofs(c echo.Context) {
	ctx := c.Request().Context()
	for _, k := range accountProofs {
		a.Sessions.Remove(ctx, k)
	}
}

// flash leaves a one-time notice for the next page: in the session of a
// signed-in reader, else in a short-lived signed cookie, so a notice for an
// anonymous visitor never starts a session. The signature keeps other
// sites from planting text that Shelf would show as its own.
func (a *App) flash(c echo.Context, msg string) {
	ctx := c.Request().Context()
	if a.sessionLoaded(c) && a.Sessions.GetInt64(ctx, sessUserID) != 0 {
		a.Sessions.Put(ctx, sessFlash, msg)
		return
	}
	if a.signer != nil {
		value := a.signer.Sign(flashPurpose, base64.RawURLEncoding.EncodeToString([]byte(msg)))
		http.SetCookie(c.Response(), a.cookie(flashCookie, value, flashMaxAge))
	}
}

// popFlash takes the notice, if any (only sessions that have one change).
func (a *App) popFlash(c echo.Context) string {
	ctx := c.Request().Context()
	if a.sessionLoaded(c) && a.Sessions.Exists(ctx, sessFlash) {
		return a.Sessions.PopString(ctx, sessFlash)
	}
	ck, err := c.Request().Cookie(a.cookieName(flashCookie))
	if err != nil || a.signer == nil {
		return ""
	}
	http.SetCookie(c.Response(), a.cookie(flashCookie, "", -1))
	value, err := a.signer.Verify(flashPurpose, ck.Value)
	if err != nil {
		return ""
	}
	msg, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return ""
	}
	return string(msg)
}

const (
	flashPurpose = "flash"
	flashMaxAge  = 300 // seconds: the notice is for the very next page
)

// flashCookie is the anonymous notice's cookie name (see cookies.go).
const flashCookie = "shelf_flash"

// requireUser sends anonymous visitors to the login page, coming back here.
func (a *App) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if _, ok := a.currentUser(c); !ok {
			return redirect(c, paths.LoginNext(c.Request().URL.RequestURI()))
		}
		return next(c)
	}
}

// requireConfirmed also sends people whose address is unconfirmed to the
// "check your mailbox" page.
func (a *App) requireConfirmed(next echo.HandlerFunc) echo.HandlerFunc {
	return a.requireUser(func(c echo.Context) error {
		if u, _ := a.currentUser(c); !u.Confirmed() {
			return redirect(c, paths.CheckEmail)
		}
		return next(c)
	})
}

// requireAdmin lets only confirmed admins through; others get 403.
func (a *App) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return a.requireConfirmed(func(c echo.Context) error {
		if u, _ := a.currentUser(c); !u.IsAdmin {
			return echo.NewHTTPError(http.StatusForbidden)
		}
		return next(c)
	})
}

// safeNext returns next if it is a path on this site, else "/". It refuses
// scheme-relative ("//evil"), backslash ("/\evil") and absolute URLs, and
// control characters, which browsers treat in surprising ways.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return paths.Home
	}
	if strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\") {
		return paths.Home
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f {
			return paths.Home
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return paths.Home
	}
	if isShortLinkPath(u.Path) {
		return paths.Home
	}
	return next
}

// isShortLinkPath reports whether a browser sent to p would ask for a
// short link: p with its dot segments removed ("/./s/x", "/a/../s/x"), as
// browsers do, in any case. A short link to another site skips its
// interstitial for visitors whose Referer is on Shelf, and a browser keeps
// the Referer of the page it left through every redirect after it, so a
// next or back parameter naming one would send a reader from Shelf's own
// sign-in form straight to that site.
func isShortLinkPath(p string) bool {
	return links.PathWithin(strings.TrimSuffix(paths.ShortLink, "/:id"), strings.ToLower(path.Clean(p)))
}

// signOutEverywhere ends every session of account uid and voids its open
// sign-ins by email, each of which would start a new session when used:
// after a password reset or change, or "This wasn't me", nobody stays
// signed in, or signs in, by anything issued before. ctx carries the
// change's transaction, so both are stored with it or not at all. It
// returns how many sessions ended.
func (a *App) signOutEverywhere(ctx context.Context, uid int64) (ended int64, err error) {
	if ended, err = a.SessionStore.DeleteUserSessions(ctx, uid); err != nil {
		return 0, err
	}
	if _, err := a.magic.store.VoidUser(ctx, uid, a.now()); err != nil {
		return 0, err
	}
	return ended, nil
}
