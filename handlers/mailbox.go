package handlers

import (
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store"
	"shelf/store/accounts"
)

// The check-your-mailbox page beyond waiting (the waiting itself is in
// accounts.go): the address the mail went to and "Wrong address? Change
// it", a button to open the reader's webmail, "Resend" counting down to
// the moment the server will accept it, and tips for finding the mail.

// renderCheckEmail renders the page for this browser, a signed-in account
// not yet confirmed or a pending sign-up, with v's notice, warning and
// change form; the rest comes from the server's state.
func (a *App) renderCheckEmail(c echo.Context, status int, v components.CheckEmailView) error {
	m, v, err := a.checkEmailView(c, v)
	if err != nil {
		return err
	}
	return render(c, status, components.CheckEmailPage(m, v))
}

// checkEmailView completes v from the server's state: see renderCheckEmail.
func (a *App) checkEmailView(c echo.Context, v components.CheckEmailView) (components.Meta, components.CheckEmailView, error) {
	ctx := c.Request().Context()
	now := a.now()
	var wait time.Duration
	if u, ok := a.currentUser(c); ok {
		v.Email, v.SignedIn = u.Email, true
		var err error
		if wait, err = a.Accounts.ResendWaitNow(ctx, u.ID, now); err != nil {
			return components.Meta{}, v, err
		}
		if v.Refused, err = a.userRefused(c, u); err != nil {
			return components.Meta{}, v, err
		}
	} else if p, ok := a.pendingSignUp(c); ok {
		v.Email = p.email
		v.Help.CanChange = true
		wait = pendingResendWait(p, now)
		var err error
		if v.Refused, err = a.pendingRefused(c, p); err != nil {
			return components.Meta{}, v, err
		}
		if v.Refused {
			// Offer to correct the address, starting from the one refused.
			v.Help.ChangeOpen = true
			if v.Help.Change.Value == "" {
				v.Help.Change.Value = p.email
			}
		}
	}
	m := a.formMeta(c, "Check your mailbox")
	if v.Refused {
		m.Title = "Your link could not be delivered"
	}
	v.CSRF = m.CSRFToken
	v.Help.Provider = mailProvider(v.Email, a.MailFrom)
	if wait > 0 {
		v.Help.ResendAt, v.Help.Now, v.Help.ResendWait = now.Add(wait), now, humanWait(wait)
		if wait > accounts.ResendInterval {
			v.Help.DailyCap = accounts.ResendPerDay
		}
	}
	v.Help.From = a.MailFrom
	v.Help.LinkValid = humanTTL(a.Accounts.ConfirmTTL())
	return m, v, nil
}

// pendingResendWait is how long a pending sign-up waits before "Resend"
// sends again: resendToPending decides by it, and the page counts down to
// it, so the two agree to the millisecond.
func pendingResendWait(p pendingSignUp, now time.Time) time.Duration {
	return accounts.ResendWaitAfter(p.lastSent, p.resends, now)
}

// Session keys a pending sign-up holds for changing its address.
const (
	// sessPendingHash is the password hash the sign-up computed (string).
	//
	// Changing the address does not ask for the password again: the form
	// is one field, and a reader who mistyped their address should not
	// have to type a password twice more. A pending sign-up whose address
	// had a confirmed account (user id 0) has no account of its own to
	// read a hash from, and the browser must not be able to tell that
	// case apart, so every pending sign-up keeps the hash its sign-up
	// computed, and a change signs the new address up with it. The hash is
	// what the users table stores anyway (argon2id, salted), it stays on
	// the server (the cookie names the session, it does not carry it),
	// and it goes with the pending sign-up: confirmed, signed in, ended
	// or expired. No change hashes anything, whichever address it names,
	// so its time does not tell either.
	sessPendingHash = "pending_hash"
	// sessPendingKey names the pending sign-up for the limit on changes
	// (string, random); the session token changes, it does not.
	sessPendingKey = "pending_key"
)

func newPendingKey() string { return rand.Text() }

// Messages of the change form.
const (
	msgSameAddress   = "That is the address we sent the link to. Type the right one, or ask for the email again below."
	msgChangeExpired = "This sign-up can no longer change its address. Create your account again with the right address."
)

// changeAddress moves the pending sign-up to another address: a new link
// goes there and the old one stops working. It answers the same whether
// the old or the new address had an account, and sends the mails sign-up
// would (see accounts.ChangeAddress). Each change counts against the
// network's sign-up limit and the sign-up's own daily limit, as a resend
// does; like a sign-up, it does not wait for the once-a-minute rule, since
// the new address has had no mail from this sign-up.
func (a *App) changeAddress(c echo.Context) error {
	ctx := c.Request().Context()
	p, ok := a.pendingSignUp(c)
	if !ok {
		if _, signedIn := a.currentUser(c); signedIn {
			return redirect(c, paths.CheckEmail)
		}
		return redirect(c, paths.LoginNext(paths.CheckEmail))
	}
	if a.pendingConfirmed(c, p) {
		return a.pendingNowConfirmed(c, p)
	}
	now := a.now()
	var f Form
	if s := c.FormValue(components.EmailSuggestionName); s != "" {
		// "Did you mean …?" without JavaScript: the form again, open, with
		// the suggestion in the field and checked; nothing changes yet.
		return a.renderCheckEmail(c, http.StatusOK, components.CheckEmailView{Help: components.MailboxHelp{
			ChangeOpen: true, Change: a.checkNewEmail(c, &f, fieldEmail, s, "")}})
	}
	raw := c.FormValue(fieldEmail)
	// Sign-up's address check, in place and on submit alike.
	verdict := a.checkNewEmail(c, &f, fieldEmail, raw, c.FormValue(components.EmailConfirmedName))
	email := verdict.Address
	refuse := func(status int, f Form) error {
		verdict.Error = f.Error(fieldEmail)
		return a.renderCheckEmail(c, status, components.CheckEmailView{Help: components.MailboxHelp{
			ChangeOpen: true, Change: verdict}})
	}
	f.CheckField(store.CaseFold(email) != store.CaseFold(p.email), fieldEmail, msgSameAddress)
	// A sign-up from before these were kept cannot change.
	f.CheckField(p.passwordHash != "" && p.key != "", fieldEmail, msgChangeExpired)
	if !f.Valid() {
		return refuse(http.StatusUnprocessableEntity, f)
	}
	if wait, err := a.changeWait(c, p, now); err != nil {
		return err
	} else if wait > 0 {
		f.CheckField(false, fieldEmail, tooManyAttempts(wait))
		return refuse(http.StatusTooManyRequests, f)
	}

	mark, err := a.outbox.Newest(ctx)
	if err != nil {
		return err
	}
	ch := accounts.AddressChange{From: p.userID, FromEmail: p.email, NewUser: accounts.NewUser{Email: email, PasswordHash: p.passwordHash,
		CreatedIP: c.RealIP(), CreatedBrowser: browserSummary(c.Request().UserAgent())}}
	var created, existing int64
	err = a.withSession(c, func(save accounts.SaveSession) error {
		var err error
		created, existing, err = a.Accounts.ChangeAddress(ctx, ch, save)
		return err
	}, func(u accounts.User) error {
		if u.ID != 0 {
			// A retaken unconfirmed account, as at sign-up.
			if _, err := a.SessionStore.DeleteUserSessions(c.Request().Context(), u.ID); err != nil {
				return err
			}
		}
		a.movePendingSignUp(c, email, u.ID, now, mark)
		return nil
	})
	switch {
	case errors.Is(err, accounts.ErrAccountConfirmed):
		return a.pendingNowConfirmed(c, p)
	case errors.Is(err, store.ErrNotFound):
		// The account was deleted ("I didn't create this account") or
		// retaken by a later sign-up, which ended this session too.
		a.endPendingSignUp(c)
		return redirect(c, paths.LoginNext(paths.CheckEmail))
	case err != nil:
		return err
	}
	if created != 0 {
		a.Logger.Info("sign-up moved to another address", "from_user_id", p.userID, "user_id", created)
	} else {
		a.Logger.Info("sign-up moved to an address with an account", "from_user_id", p.userID, "user_id", existing)
	}
	a.flash(c, "We sent a new link to "+email+". The link sent to "+p.email+" no longer works.")
	return redirect(c, paths.CheckEmail)
}

// pendingNowConfirmed ends a pending sign-up confirmed from another
// browser and asks this one to sign in (as checkEmailPage does).
func (a *App) pendingNowConfirmed(c echo.Context, p pendingSignUp) error {
	a.endPendingSignUp(c)
	a.flash(c, "Your address is confirmed. Sign in to use your account.")
	return redirect(c, paths.LoginNext(p.afterConfirmation()))
}

// changeWait counts an address change against the client network's
// sign-up limit, the address it leaves and the pending sign-up's own limit
// (accounts.ResendPerDay a day, as resends), and returns zero, or how long
// to wait, counting nothing.
//
// A change away from an address deletes its unconfirmed account, whose
// history limits the confirmation mails the address gets; its next sign-up
// starts afresh. So an address can be left once a day, by any sign-up:
// otherwise sign-up, resends and a change, over and over, would mail
// someone else's address without end. The limit counts every change away,
// whether or not the address had a confirmed account (and so no account
// of the sign-up's to delete), so that its answer does not tell.
func (a *App) changeWait(c echo.Context, p pendingSignUp, now time.Time) (time.Duration, error) {
	ctx := c.Request().Context()
	ip, wait, err := a.Limits.RegisterIP.Reserve(ctx, clientNetwork(c), now)
	if err != nil || wait > 0 {
		return wait, err
	}
	from, wait, err := a.Limits.ChangeFrom.Reserve(ctx, addressKey(p.email), now)
	if err != nil || wait > 0 {
		return wait, errors.Join(err, ip.Cancel(ctx))
	}
	if wait, err := a.Limits.ChangeEmail.Allow(ctx, p.key, now); err != nil || wait > 0 {
		both := ip.And(from)
		return wait, errors.Join(err, both.Cancel(ctx))
	}
	return 0, nil
}

// movePendingSignUp points this browser's pending sign-up at its new
// address and account (0 when the address had a confirmed one), keeping
// its password hash, key and resend history; the new link counts as the
// latest mail for the once-a-minute rule, and for refusals from mailAfter.
func (a *App) movePendingSignUp(c echo.Context, email string, userID int64, now time.Time, mailAfter int64) {
	ctx := c.Request().Context()
	a.Sessions.Put(ctx, sessPendingEmail, email)
	a.Sessions.Put(ctx, sessPendingUser, userID)
	a.Sessions.Put(ctx, sessPendingSent, now.UnixMilli())
	a.Sessions.Put(ctx, sessPendingMailAfter, mailAfter)
}

// mailProvider is the webmail of the address's domain, if it is a known
// one, opened on a search for mail from `from` where the service has a
// search link, else on the inbox.
func mailProvider(email, from string) components.MailProvider {
	_, domain, ok := strings.Cut(email, "@")
	if !ok {
		return components.MailProvider{}
	}
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	q := url.PathEscape("from:" + from)
	switch {
	case isDomain(domain, "gmail.com", "googlemail.com"):
		if from == "" {
			return components.MailProvider{Name: "Gmail", URL: "https://mail.google.com/mail/u/0/#inbox"}
		}
		// in:anywhere looks in spam too.
		return components.MailProvider{Name: "Gmail", URL: "https://mail.google.com/mail/u/0/#search/" +
			url.PathEscape("from:"+from+" in:anywhere")}
	case isDomain(domain, "outlook.com", "msn.com", "passport.com") || isBrand(domain, "hotmail", "live", "outlook", "windowslive"):
		return components.MailProvider{Name: "Outlook", URL: "https://outlook.live.com/mail/0/inbox"}
	case isDomain(domain, "ymail.com", "rocketmail.com") || isBrand(domain, "yahoo"):
		return components.MailProvider{Name: "Yahoo Mail", URL: "https://mail.yahoo.com/"}
	case isDomain(domain, "proton.me", "protonmail.com", "protonmail.ch", "pm.me"):
		return components.MailProvider{Name: "Proton Mail", URL: "https://mail.proton.me/u/0/inbox"}
	case isDomain(domain, "icloud.com", "me.com", "mac.com"):
		return components.MailProvider{Name: "iCloud Mail", URL: "https://www.icloud.com/mail/"}
	case isDomain(domain, "fastmail.com", "fastmail.fm", "fastmail.net", "fastmail.org", "fastmail.us", "fastmail.cn",
		"fastmail.de", "fastmail.es", "fastmail.im", "fastmail.in", "fastmail.jp", "fastmail.mx", "fastmail.nl", "fastmail.se",
		"fastmail.to", "fastmail.uk", "fastmail.co.uk", "messagingengine.com", "sent.com"):
		if from == "" {
			return components.MailProvider{Name: "Fastmail", URL: "https://app.fastmail.com/mail/Inbox/"}
		}
		return components.MailProvider{Name: "Fastmail", URL: "https://app.fastmail.com/mail/search:" + q + "/"}
	}
	return components.MailProvider{}
}

// isDomain reports whether domain is one of names.
func isDomain(domain string, names ...string) bool {
	for _, n := range names {
		if domain == n {
			return true
		}
	}
	return false
}

// isBrand reports whether domain is one of brands under a country or
// generic top-level domain: hotmail.com, hotmail.fr, yahoo.co.uk,
// yahoo.com.br; not hotmail.example.com or myhotmail.com.
func isBrand(domain string, brands ...string) bool {
	label, suffix, ok := strings.Cut(domain, ".")
	if !ok || !isDomain(label, brands...) {
		return false
	}
	parts := strings.Split(suffix, ".")
	switch len(parts) {
	case 1:
		return len(parts[0]) >= 2 && len(parts[0]) <= 3
	case 2:
		return isDomain(parts[0], "co", "com", "net", "org") && len(parts[1]) == 2
	}
	return false
}
