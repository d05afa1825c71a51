package handlers

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/limits"
	"shelf/store/magic"
	"shelf/store/outbox"
)

// Sign-in by email. The request records the address and the asking
// browser's binding (a secret in a signed cookie, of which the database
// keeps the hash), the same single insert for every address, and wakes a
// worker that issues the sign-in and mails it, off the request path: the
// answer and its timing do not tell whether the address has an account.
// The mail carries a link, which signs in whichever browser opens it and
// clicks, and a code, which works only in the browser that asked. Either
// confirms the address and is one factor: it signs in through signIn, as
// a password does.

// magicLinks is the state of sign-in by email.
type magicLinks struct {
	store  *magic.Store
	limits magicLimits
	once   sync.Once
	wake   chan struct{}
	manual bool // tests: requests wait for HandleMagicRequests
}

// magicLimits: per address, one request a minute, 5 an hour and 20 a day;
// per client network, 20 a minute and 60 an hour. Each request to a new
// address sends a mail, so without the hourly cap one network could have
// Shelf mail 1,200 addresses an hour (sign-up and reset allow 10). An
// address without an account is limited alike, so a refusal tells nothing
// either.
type magicLimits struct {
	ip, ipHour, minute, hour, day *limits.Limiter
}

func newMagicLimits(db *store.DB) magicLimits {
	return magicLimits{
		ip:     limits.NewLimiter(db, "magic_ip", 20, time.Minute),
		ipHour: limits.NewLimiter(db, "magic_ip_hour", magicPerNetworkHour, time.Hour),
		minute: limits.NewLimiter(db, "magic_email_minute", 1, time.Minute),
		hour:   limits.NewLimiter(db, "magic_email_hour", 5, time.Hour),
		day:    limits.NewLimiter(db, "magic_email_day", 20, 24*time.Hour),
	}
}

// magicPerNetworkHour is how many sign-in mails one client network may ask
// for in an hour, to any addresses.
const magicPerNetworkHour = 60

// magicRoutes: the request form, the code form, the page behind the link.
func (a *App) magicRoutes(e *echo.Echo) {
	a.magic.store = magic.New(a.DB, accountMails{baseURL: a.BaseURL}, a.Mailer)
	a.magic.limits = newMagicLimits(a.DB)
	a.magic.manual = a.resets.manual
	serveGet(e, paths.MagicRequest, a.magicRequestPage)
	e.POST(paths.MagicRequest, a.magicRequest)
	serveGet(e, paths.MagicCode, a.magicCodePage)
	e.POST(paths.MagicCode, a.magicCode)
	e.POST(paths.MagicValidate, a.magicValidate)
	serveGet(e, paths.MagicLink, a.magicLinkPage)
	e.POST(paths.MagicLink, a.magicLinkSignIn)
	a.wakeMagicWorker() // requests recorded before a restart
}

// ---- The worker ----

func (a *App) wakeMagicWorker() {
	if a.magic.manual {
		return
	}
	a.magic.once.Do(func() {
		a.magic.wake = make(chan struct{}, 1)
		go a.runMagicWorker()
	})
	select {
	case a.magic.wake <- struct{}{}:
	default:
	}
}

func (a *App) runMagicWorker() {
	for range a.magic.wake {
		time.Sleep(resetBatchDelay) // as for resets: after the answer has gone
		if err := a.HandleMagicRequests(context.Background()); err != nil {
			a.Logger.Error("sign-in by email requests", "err", err)
		}
	}
}

// HandleMagicRequests handles every recorded sign-in request.
func (a *App) HandleMagicRequests(ctx context.Context) error {
	return a.magic.store.HandleRequests(ctx, a.now)
}

// ---- The mails ----

func (m accountMails) SignIn(ctx context.Context, to, token, code string, ttl time.Duration) (outbox.Mail, error) {
	link, err := m.link(paths.MagicLinkFor(token))
	if err != nil {
		return outbox.Mail{}, err
	}
	l := components.MagicMail{To: to, URL: link, Code: code, Valid: humanTTL(ttl)}
	return renderMail(ctx, to, "Sign in to Shelf: "+code, components.MagicEmailHTML(l), components.MagicEmailText(l))
}

func (m accountMails) NoAccount(ctx context.Context, to string) (outbox.Mail, error) {
	signUp, err := m.link(paths.Register)
	if err != nil {
		return outbox.Mail{}, err
	}
	l := components.MagicNoAccountMail{To: to, SignUpURL: signUp}
	return renderMail(ctx, to, "No Shelf account for this address", components.MagicNoAccountEmailHTML(l), components.MagicNoAccountEmailText(l))
}

// ---- The browser that asked ----

// The cookie of the browser that asked: the binding secret, the address,
// when it asked and where it was going (a local path, or ""), signed.
const (
	magicCookie  = "shelf_magic"
	magicPurpose = "magic"
)

type magicAsked struct {
	secret string
	email  string
	at     time.Time
	next   string // see safeNext
}

func (a *App) setMagicCookie(c echo.Context, m magicAsked) {
	value := m.secret + "~" + base64.RawURLEncoding.EncodeToString([]byte(m.email)) + "~" + strconv.FormatInt(m.at.Unix(), 10) +
		"~" + base64.RawURLEncoding.EncodeToString([]byte(m.next))
	maxAge := int((magic.TTL + time.Minute) / time.Second)
	http.SetCookie(c.Response(), a.cookie(magicCookie, a.signer.Sign(magicPurpose, value), maxAge))
}

func (a *App) magicCookie(c echo.Context) (magicAsked, bool) {
	ck, err := c.Request().Cookie(a.cookieName(magicCookie))
	if err != nil {
		return magicAsked{}, false
	}
	value, err := a.signer.Verify(magicPurpose, ck.Value)
	if err != nil {
		return magicAsked{}, false
	}
	parts := strings.Split(value, "~")
	if len(parts) != 4 {
		return magicAsked{}, false
	}
	email, err := base64.RawURLEncoding.DecodeString(parts[1])
	at, err2 := strconv.ParseInt(parts[2], 10, 64)
	next, err3 := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil || err2 != nil || err3 != nil {
		return magicAsked{}, false
	}
	return magicAsked{secret: parts[0], email: string(email), at: time.Unix(at, 0), next: safeNext(string(next))}, true
}

// seconds is d in whole seconds, rounded up, as Retry-After says it.
func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// ---- Asking ----

func (a *App) magicRequestPage(c echo.Context) error {
	if _, ok := a.currentUser(c); ok {
		return redirect(c, paths.Home)
	}
	m := a.formMeta(c, "Sign in by email")
	return render(c, http.StatusOK, components.MagicRequestPage(m, components.MagicRequestView{CSRF: m.CSRFToken, Next: safeNext(c.QueryParam("next"))}))
}

// magicWait counts a request for email against every limit and returns
// zero, or returns the wait of the first limit it is over and counts
// nothing.
func (a *App) magicWait(c echo.Context, email string) (time.Duration, error) {
	l, ctx, now := a.magic.limits, c.Request().Context(), a.now()
	var held limits.Reservation
	for _, step := range []struct {
		lim *limits.Limiter
		key string
	}{{l.ip, clientNetwork(c)}, {l.ipHour, clientNetwork(c)}, {l.minute, addressKey(email)}, {l.hour, addressKey(email)}, {l.day, addressKey(email)}} {
		r, wait, err := step.lim.Reserve(ctx, step.key, now)
		if err != nil || wait > 0 {
			return wait, errors.Join(err, held.Cancel(ctx))
		}
		held = held.And(r)
	}
	return 0, nil
}

// magicRequest answers every acceptable address alike: it records the
// request and sends the browser to the code form.
func (a *App) magicRequest(c echo.Context) error {
	ctx, now := c.Request().Context(), a.now()
	raw := c.FormValue(fieldEmail)
	next := safeNext(c.FormValue("next"))
	email := accounts.NormalizeEmail(raw)
	var f Form
	checkEmail(&f, fieldEmail, email)
	if !f.Valid() {
		m := a.formMeta(c, "Sign in by email")
		return render(c, http.StatusUnprocessableEntity, components.MagicRequestPage(m,
			components.MagicRequestView{CSRF: m.CSRFToken, Email: raw, Error: f.Error(fieldEmail), Next: next}))
	}
	wait, err := a.magicWait(c, email)
	if err != nil {
		return err
	}
	if wait > 0 {
		s := seconds(wait)
		c.Response().Header().Set("Retry-After", strconv.Itoa(s))
		msg := tooManyAttempts(wait)
		if wait <= time.Minute {
			msg = "An email for this address was asked for less than a minute ago. You can ask again in " + humanWait(wait) + "."
		}
		m := a.formMeta(c, "Sign in by email")
		return render(c, http.StatusTooManyRequests, components.MagicRequestPage(m,
			components.MagicRequestView{CSRF: m.CSRFToken, Email: raw, Error: msg, RetryAfter: s, Next: next}))
	}
	secret, binding, err := magic.NewBinding()
	if err != nil {
		return err
	}
	if err := a.magic.store.Record(ctx, email, binding, now); err != nil {
		return err
	}
	a.setMagicCookie(c, magicAsked{secret: secret, email: email, at: now, next: next})
	a.wakeMagicWorker()
	return redirect(c, paths.MagicCode)
}

// ---- The code ----

func (a *App) magicCodePage(c echo.Context) error {
	asked, ok := a.magicCookie(c)
	if !ok {
		return redirect(c, paths.MagicRequest)
	}
	if _, ok := a.currentUser(c); ok {
		return redirect(c, paths.Home)
	}
	return a.renderMagicCode(c, http.StatusOK, asked, components.MagicCodeView{})
}

func (a *App) renderMagicCode(c echo.Context, status int, asked magicAsked, v components.MagicCodeView) error {
	noStore(c)
	m := a.formMeta(c, "Check your mailbox")
	v.CSRF, v.Email, v.Next = m.CSRFToken, asked.email, asked.next
	if wait := asked.at.Add(time.Minute).Sub(a.now()); wait > 0 {
		v.RetryAfter = seconds(wait)
	}
	return render(c, status, components.MagicCodePage(m, v))
}

// checkMagicCode checks a typed code's shape.
func checkMagicCode(f *Form, code string) {
	n := magic.NormalizeCode(code)
	f.CheckField(len(n) == 9 && n[4] == '-', "code", "Type the 8 letters and digits of the code in the email, like ABCD-EFGH.")
}

func (a *App) magicValidate(c echo.Context) error {
	var f Form
	raw := c.FormValue("code")
	checkMagicCode(&f, raw)
	return render(c, http.StatusOK, components.FieldView(components.MagicCodeField(raw, f.Error("code"))))
}

// magicCode signs in with the code, in the browser that asked for it.
func (a *App) magicCode(c echo.Context) error {
	asked, ok := a.magicCookie(c)
	if !ok {
		return redirect(c, paths.MagicRequest)
	}
	raw := c.FormValue("code")
	var f Form
	checkMagicCode(&f, raw)
	if !f.Valid() {
		return a.renderMagicCode(c, http.StatusUnprocessableEntity, asked, components.MagicCodeView{Code: raw, Error: f.Error("code")})
	}
	var left int
	err := a.withSession(c, func(save accounts.SaveSession) error {
		var err error
		_, left, err = a.magic.store.UseCode(c.Request().Context(), magic.BindingHash(asked.secret), raw, a.now(), save, a.signedUpHere(c))
		return err
	}, func(u accounts.User) error { return a.magicSignIn(c, u) })
	var msg string
	switch {
	case err == nil:
		return a.continueSignIn(c, asked.next)
	case errors.Is(err, magic.ErrWrongCode), errors.Is(err, magic.ErrUnknown):
		msg = "That code is not right. " + triesLeft(left)
	case errors.Is(err, magic.ErrTooMany):
		msg = "Too many wrong codes: the code and the link of that email no longer work. Ask for a new email below."
	case errors.Is(err, magic.ErrExpired):
		msg = "That code has expired. Ask for a new email below."
	case errors.Is(err, magic.ErrVoided):
		msg = "That code no longer works: a newer email was asked for, or everyone was signed out of the account since. Use the newest email, or ask for a new one below."
	case errors.Is(err, magic.ErrUsed):
		msg = "That code has already been used. Ask for a new email below."
	default:
		return err
	}
	return a.renderMagicCode(c, http.StatusUnprocessableEntity, asked, components.MagicCodeView{Code: raw, Error: msg})
}

func triesLeft(n int) string {
	switch {
	case n == 1:
		return "You can try once more."
	case n > 1:
		return "You can try " + strconv.Itoa(n) + " more times."
	}
	return ""
}

// magicSignIn signs in u, remembered if asked (one factor: signIn asks for a second one where
// the account has it) and forgets the request.
func (a *App) magicSignIn(c echo.Context, u accounts.User) error {
	c.Set(ctxUser, nil)
	if err := a.signIn(c, u, c.FormValue("remember") != ""); err != nil {
		return err
	}
	http.SetCookie(c.Response(), a.cookie(magicCookie, "", -1))
	return nil
}

// signedUpHere is the account this browser signed up for and has not yet
// confirmed, or 0: confirming it by email keeps the password chosen here.
func (a *App) signedUpHere(c echo.Context) int64 {
	if p, ok := a.pendingSignUp(c); ok {
		return p.userID
	}
	return 0
}

// ---- The link ----

// magicLinkPage asks "Sign in on this device?" and uses nothing itself.
func (a *App) magicLinkPage(c echo.Context) error {
	noStore(c)
	token := c.Param("token")
	uid, err := a.magic.store.CheckLink(c.Request().Context(), token, a.now())
	if err != nil {
		return a.magicLinkProblem(c, err)
	}
	u, err := a.Accounts.UserByID(c.Request().Context(), uid)
	if err != nil {
		return err
	}
	m := a.formMeta(c, "Sign in on this device?")
	return render(c, http.StatusOK, components.MagicLinkPage(m, components.MagicLinkView{CSRF: m.CSRFToken, Token: token, Email: u.Email}))
}

// magicLinkSignIn uses the link and signs in the browser it is posted from.
// The link opened in the browser that asked goes on where that browser
// was going; in any other browser, home.
func (a *App) magicLinkSignIn(c echo.Context) error {
	noStore(c)
	asked, _ := a.magicCookie(c) // read before magicSignIn clears it
	next := paths.Home
	err := a.withSession(c, func(save accounts.SaveSession) error {
		_, err := a.magic.store.UseLink(c.Request().Context(), c.Param("token"), a.now(), save, a.signedUpHere(c))
		return err
	}, func(u accounts.User) error {
		if asked.email != "" && store.CaseFold(asked.email) == store.CaseFold(u.Email) {
			next = asked.next
		}
		return a.magicSignIn(c, u)
	})
	if err != nil {
		return a.magicLinkProblem(c, err)
	}
	return a.continueSignIn(c, next)
}

func (a *App) magicLinkProblem(c echo.Context, err error) error {
	var o components.Outcome
	status := http.StatusGone
	switch {
	case errors.Is(err, magic.ErrExpired):
		o = components.Outcome{Kind: "expired", Heading: "This link has expired", Message: "Sign-in links work for 15 minutes. Ask for a new one."}
	case errors.Is(err, magic.ErrUsed):
		o = components.Outcome{Kind: "used", Heading: "This link has already been used", Message: "Each sign-in link works once. Ask for a new one."}
	case errors.Is(err, magic.ErrVoided):
		o = components.Outcome{Kind: "superseded", Heading: "This link no longer works",
			Message: "A newer sign-in email was sent after this one, or everyone was signed out of the account since (a password change or reset does that). " +
				"Only the link in the most recent email works. Use that one, or ask for a new one."}
	case errors.Is(err, magic.ErrTooMany):
		o = components.Outcome{Kind: "too-many", Heading: "This link no longer works", Message: "The code of its email was typed wrong too many times. Ask for a new email."}
	case errors.Is(err, magic.ErrUnknown):
		status = http.StatusNotFound
		o = components.Outcome{Kind: "unknown", Heading: "We do not recognise this link", Message: "Check that you copied the whole link from the email, or ask for a new one."}
	default:
		return err
	}
	o.ActionLabel, o.ActionURL = "Email me a new sign-in link", paths.MagicRequest
	return render(c, status, components.OutcomePage(a.meta(c, o.Heading), o))
}
