package handlers

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/limits"
	"shelf/store/passkeys"
)

// Passkeys (WebAuthn): registered on the account page, used to sign in
// without a password (user verification required: the passkey is both
// factors), or as the second factor after a password.

// Session keys of the passkey ceremonies.
const (
	// sessPasskeyChallenge holds the pending ceremony (passkeyChallenge as
	// JSON): one at a time, taken by the request that finishes it.
	sessPasskeyChallenge = "passkey_challenge"
)

// passkeyChallengeTTL is how long a ceremony may take.
const passkeyChallengeTTL = 5 * time.Minute

// Ceremony kinds, so a challenge issued for one is never accepted by another.
const (
	ceremonyRegister     = "register"
	ceremonySignIn       = "sign-in"
	ceremonySecondFactor = "second-factor"
)

// passkeyChallenge is a pending ceremony as kept in the session.
type passkeyChallenge struct {
	Kind    string               `json:"kind"`
	UserID  int64                `json:"user_id,omitempty"`
	Expires time.Time            `json:"expires"`
	Data    webauthn.SessionData `json:"data"`
}

// newRelyingParty is the WebAuthn relying party of base: its ID is the
// base URL's host, and only that origin may run ceremonies. A host that is
// an IP address cannot be one (browsers refuse it too): passkeys are then
// off, and the error says why.
func newRelyingParty(base *url.URL) (*webauthn.WebAuthn, error) {
	origin := (&url.URL{Scheme: base.Scheme, Host: base.Host}).String()
	return webauthn.New(&webauthn.Config{
		RPID:                  base.Hostname(),
		RPDisplayName:         "Shelf",
		RPOrigins:             []string{origin},
		AttestationPreference: protocol.PreferNoAttestation,
	})
}

// passkeysOn reports whether this site can run passkey ceremonies (see
// newRelyingParty).
func (a *App) passkeysOn() bool { return a.relyingParty != nil }

// passkeysOff is what a ceremony's request is told when passkeys are off.
const passkeysOff = "Passkeys are not available on this site."

// requirePasskeys answers a ceremony's request when passkeys are off.
func (a *App) requirePasskeys(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !a.passkeysOn() {
			return passkeyError(c, http.StatusNotFound, passkeysOff)
		}
		return next(c)
	}
}

func (a *App) passkeyStore() *passkeys.Store {
	s := passkeys.New(a.DB)
	s.Now = a.now
	return s
}

// passkeyUser is an account as the WebAuthn library sees it.
type passkeyUser struct {
	handle []byte
	email  string
	keys   []passkeys.Passkey
}

func (u passkeyUser) WebAuthnID() []byte          { return u.handle }
func (u passkeyUser) WebAuthnName() string        { return u.email }
func (u passkeyUser) WebAuthnDisplayName() string { return u.email }
func (u passkeyUser) WebAuthnCredentials() []webauthn.Credential {
	creds := make([]webauthn.Credential, len(u.keys))
	for i, k := range u.keys {
		transports := make([]protocol.AuthenticatorTransport, len(k.Transports))
		for j, t := range k.Transports {
			transports[j] = protocol.AuthenticatorTransport(t)
		}
		creds[i] = webauthn.Credential{ID: k.CredentialID, PublicKey: k.PublicKey, AttestationFormat: k.AttestationFormat,
			Transport: transports, Flags: webauthn.CredentialFlags{UserPresent: true, UserVerified: true,
				BackupEligible: k.BackupEligible, BackupState: k.BackupState},
			Authenticator: webauthn.Authenticator{AAGUID: k.AAGUID, SignCount: k.SignCount}}
	}
	return creds
}

func (u passkeyUser) key(credentialID []byte) (passkeys.Passkey, bool) {
	for _, k := range u.keys {
		if bytes.Equal(k.CredentialID, credentialID) {
			return k, true
		}
	}
	return passkeys.Passkey{}, false
}

// loadPasskeyUser reads the account's handle (made if create) and passkeys.
func (a *App) loadPasskeyUser(ctx context.Context, u accounts.User, create bool) (passkeyUser, error) {
	s := a.passkeyStore()
	var h []byte
	var err error
	if create {
		h, err = s.EnsureHandle(ctx, u.ID)
	} else {
		h, err = s.Handle(ctx, u.ID)
	}
	if err != nil {
		return passkeyUser{}, err
	}
	keys, err := s.List(ctx, u.ID)
	if err != nil {
		return passkeyUser{}, err
	}
	return passkeyUser{handle: h, email: u.Email, keys: keys}, nil
}

// passkeyRoutes: the account's passkeys (adding or removing one needs the
// password re-entered lately, see requireRecentAuth), signing in with one,
// and a security key at the second step of a sign-in.
func (a *App) passkeyRoutes(e *echo.Echo) {
	recent := a.recentAuthFor(paths.Account + "#passkeys")
	// Passkeys kept from when they were on can still be renamed and
	// removed; the ceremonies need them on.
	on := a.requirePasskeys
	e.POST(paths.PasskeyAddOptions, a.passkeyAddOptions, on, recent)
	e.POST(paths.PasskeyAdd, a.passkeyAdd, on, recent)
	e.POST(paths.PasskeyRename, a.passkeyRename, a.requireConfirmed)
	e.POST(paths.PasskeyNameValidate, a.validatePasskeyName, a.requireConfirmed)
	e.POST(paths.PasskeyRemove, a.passkeyRemove, recent)
	e.POST(paths.PasskeyLoginOptions, a.passkeyLoginOptions, on)
	e.POST(paths.PasskeyLogin, a.passkeyLogin, on)
	e.POST(paths.TwoFactorPasskeyOptions, a.secondStepPasskeyOptions, on)
	e.POST(paths.TwoFactorPasskey, a.secondStepPasskey, on)
}

// ---- Ceremony state ----

func (a *App) putChallenge(c echo.Context, kind string, userID int64, data *webauthn.SessionData) error {
	ch := passkeyChallenge{Kind: kind, UserID: userID, Expires: a.now().Add(passkeyChallengeTTL), Data: *data}
	ch.Data.Expires = time.Time{} // expiry is checked against the app's clock (takeChallenge)
	b, err := json.Marshal(ch)
	if err != nil {
		return err
	}
	a.Sessions.Put(c.Request().Context(), sessPasskeyChallenge, string(b))
	return nil
}

var errNoChallenge = errors.New("passkeys: no pending ceremony")

// takeChallenge removes the pending ceremony from the session, so it is
// used once whatever the outcome, and returns it if it is of kind, for
// userID, and not expired.
func (a *App) takeChallenge(c echo.Context, kind string, userID int64) (webauthn.SessionData, error) {
	ctx := c.Request().Context()
	if !a.sessionLoaded(c) || !a.Sessions.Exists(ctx, sessPasskeyChallenge) {
		return webauthn.SessionData{}, errNoChallenge
	}
	raw := a.Sessions.PopString(ctx, sessPasskeyChallenge)
	var ch passkeyChallenge
	if err := json.Unmarshal([]byte(raw), &ch); err != nil || ch.Kind != kind || ch.UserID != userID || !a.now().Before(ch.Expires) {
		return webauthn.SessionData{}, errNoChallenge
	}
	return ch.Data, nil
}

func wantsJSON(c echo.Context) bool {
	return strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON) ||
		strings.Contains(c.Request().Header.Get(echo.HeaderAccept), echo.MIMEApplicationJSON)
}

// ---- Registration ----

// passkeyAddOptions starts adding a passkey: resident key and user
// verification required, no attestation, the account's passkeys excluded.
func (a *App) passkeyAddOptions(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := a.currentUser(c)
	pu, err := a.loadPasskeyUser(ctx, u, true)
	if err != nil {
		return err
	}
	if len(pu.keys) >= passkeys.MaxPerUser {
		return passkeyError(c, http.StatusConflict, tooManyPasskeys)
	}
	wa := a.relyingParty
	exclude := webauthn.Credentials(pu.WebAuthnCredentials()).CredentialDescriptors()
	required := true
	creation, data, err := wa.BeginRegistration(pu,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			RequireResidentKey: &required,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return err
	}
	if err := a.putChallenge(c, ceremonyRegister, u.ID, data); err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, creation)
}

var tooManyPasskeys = "You already have " + strconv.Itoa(passkeys.MaxPerUser) + " passkeys. Remove one to add another."

func passkeyError(c echo.Context, status int, msg string) error {
	noStore(c)
	return c.JSON(status, map[string]string{"error": msg})
}

// passkeyAdd finishes adding a passkey and mails the owner, in one
// transaction.
func (a *App) passkeyAdd(c echo.Context) error {
	ctx := c.Request().Context()
	u, _ := a.currentUser(c)
	data, err := a.takeChallenge(c, ceremonyRegister, u.ID)
	if err != nil {
		return passkeyError(c, http.StatusBadRequest, "This request has expired. Try again.")
	}
	name := cleanPasskeyName(c.QueryParam("name"))
	if msg := checkPasskeyName(name); name != "" && msg != "" {
		return passkeyError(c, http.StatusBadRequest, msg)
	}
	pu, err := a.loadPasskeyUser(ctx, u, false)
	if err != nil {
		return err
	}
	wa := a.relyingParty
	parsed, err := protocol.ParseCredentialCreationResponseBody(c.Request().Body)
	if err != nil {
		return passkeyError(c, http.StatusBadRequest, "Your browser sent an answer we could not read. Try again.")
	}
	cred, err := wa.CreateCredential(pu, data, parsed)
	if err != nil || !parsed.Response.AttestationObject.AuthData.Flags.HasUserVerified() {
		a.Logger.Info("passkey registration refused", "user_id", u.ID, "err", err)
		return passkeyError(c, http.StatusBadRequest, "That passkey could not be added. Try again.")
	}
	if name == "" {
		name = defaultPasskeyName(cred.Flags.BackupEligible, len(pu.keys)+1)
	}
	transports := make([]string, len(cred.Transport))
	for i, t := range cred.Transport {
		transports[i] = string(t)
	}
	key := passkeys.Passkey{CredentialID: cred.ID, PublicKey: cred.PublicKey, Name: name,
		SignCount: cred.Authenticator.SignCount, BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		AAGUID: cred.Authenticator.AAGUID, Transports: transports, AttestationFormat: cred.AttestationFormat}
	var id int64
	err = a.DB.InTx(ctx, func(tx *sql.Tx) error {
		tctx := store.WithTx(ctx, tx)
		var err error
		if id, err = a.passkeyStore().AddTx(tctx, tx, u.ID, key); err != nil {
			return err
		}
		return inRequestTx(c, tctx, func() error {
			return a.securityEventOn(c, u, EventPasskeyAdded, passkeyRef(cred.ID), name)
		})
	})
	switch {
	case errors.Is(err, passkeys.ErrLimit):
		return passkeyError(c, http.StatusConflict, tooManyPasskeys)
	case errors.Is(err, passkeys.ErrDuplicate):
		return passkeyError(c, http.StatusConflict, "This passkey is already registered.")
	case err != nil:
		return err
	}
	a.Logger.Info("passkey added", "user_id", u.ID, "passkey_id", id)
	a.flash(c, "Passkey added: "+name+".")
	noStore(c)
	return c.JSON(http.StatusOK, map[string]string{"redirect": paths.Account + "#passkeys"})
}

func defaultPasskeyName(synced bool, n int) string {
	if synced {
		return "Passkey " + strconv.Itoa(n)
	}
	return "Security key " + strconv.Itoa(n)
}

// cleanPasskeyName trims a name and drops control characters.
func cleanPasskeyName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func checkPasskeyName(name string) string {
	switch {
	case name == "":
		return "Give the passkey a name."
	case utf8.RuneCountInString(name) > passkeys.MaxNameLen:
		return "Use at most " + strconv.Itoa(passkeys.MaxNameLen) + " characters."
	}
	return ""
}

// ---- Naming and removing ----

func passkeyID(c echo.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	return id, err == nil && id > 0
}

func (a *App) validatePasskeyName(c echo.Context) error {
	id, _ := strconv.ParseInt(c.QueryParam("id"), 10, 64)
	raw := c.FormValue("name")
	return render(c, http.StatusOK, components.FieldView(components.PasskeyNameField(id, raw, checkPasskeyName(cleanPasskeyName(raw)))))
}

func (a *App) passkeyRename(c echo.Context) error {
	id, ok := passkeyID(c)
	if !ok {
		return echo.ErrNotFound
	}
	u, _ := a.currentUser(c)
	name := cleanPasskeyName(c.FormValue("name"))
	if msg := checkPasskeyName(name); msg != "" {
		return a.renderAccountWith(c, http.StatusUnprocessableEntity, func(v *components.PasskeysView) {
			v.EditID, v.EditName, v.EditError = id, c.FormValue("name"), msg
		})
	}
	err := a.passkeyStore().Rename(c.Request().Context(), u.ID, id, name)
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	a.flash(c, "Passkey renamed: "+name+".")
	return redirect(c, paths.Account+"#passkeys")
}

// passkeyRemove removes a passkey, unless it is the account's last way to
// sign in, and mails the owner.
func (a *App) passkeyRemove(c echo.Context) error {
	id, ok := passkeyID(c)
	if !ok {
		return echo.ErrNotFound
	}
	ctx := c.Request().Context()
	u, _ := a.currentUser(c)
	n, err := a.passkeyStore().Count(ctx, u.ID)
	if err != nil {
		return err
	}
	// Every account has a password today; passwordless accounts, when
	// they exist, keep their last passkey.
	const hasPassword = true
	if !canRemovePasskey(hasPassword, n) {
		return a.renderAccountWith(c, http.StatusConflict, func(v *components.PasskeysView) {
			v.Error = "This passkey is the only way into your account, so it cannot be removed."
		})
	}
	var p passkeys.Passkey
	err = a.DB.InTx(ctx, func(tx *sql.Tx) error {
		tctx := store.WithTx(ctx, tx)
		var err error
		if p, err = a.passkeyStore().RemoveTx(tctx, tx, u.ID, id); err != nil {
			return err
		}
		return inRequestTx(c, tctx, func() error {
			return a.securityEventOn(c, u, EventPasskeyRemoved, passkeyRef(p.CredentialID), p.Name)
		})
	})
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	a.Logger.Info("passkey removed", "user_id", u.ID, "passkey_id", id)
	a.flash(c, "Passkey removed: "+p.Name+". It no longer signs in to Shelf.")
	return redirect(c, paths.Account+"#passkeys")
}

// canRemovePasskey reports whether one of an account's passkeys may be
// removed: not when it is the last way to sign in.
func canRemovePasskey(hasPassword bool, passkeyCount int) bool {
	return hasPassword || passkeyCount > 1
}

// ---- The account page's section ----

// passkeysView is the account page's passkeys section.
func (a *App) passkeysView(c echo.Context, u accounts.User) (components.PasskeysView, error) {
	list, err := a.passkeyStore().List(c.Request().Context(), u.ID)
	if err != nil {
		return components.PasskeysView{}, err
	}
	v := components.PasskeysView{CSRF: a.csrfToken(c), Max: passkeys.MaxPerUser, RecentAuth: a.recentlyReauthenticated(c), Off: !a.passkeysOn()}
	for _, p := range list {
		item := components.PasskeyItem{ID: p.ID, Name: p.Name, Created: p.CreatedAt.UTC().Format(displayTime),
			Synced: p.BackupEligible, Transports: strings.Join(p.Transports, ", "), AAGUID: hex.EncodeToString(p.AAGUID)}
		if !p.LastUsedAt.IsZero() {
			item.LastUsed = p.LastUsedAt.UTC().Format(displayTime)
		}
		v.Items = append(v.Items, item)
	}
	return v, nil
}

// renderAccountWith answers a passkey form's error with the account page,
// the section showing it.
func (a *App) renderAccountWith(c echo.Context, status int, edit func(*components.PasskeysView)) error {
	u, _ := a.currentUser(c)
	v := components.AccountView{Email: u.Email, Created: u.CreatedAt.UTC().Format(displayTime),
		Confirmed: u.ConfirmedAt.UTC().Format(displayTime), IsAdmin: u.IsAdmin}
	pv, err := a.passkeysView(c, u)
	if err != nil {
		return err
	}
	edit(&pv)
	v.Passkeys = pv
	return render(c, status, components.AccountPage(a.meta(c, "Your account"), v))
}

// ---- Signing in ----

// passkeyLoginOptions starts a passwordless sign-in: a discoverable
// credential, user verification required. The same options serve the
// email field's autofill (conditional mediation) and the button.
func (a *App) passkeyLoginOptions(c echo.Context) error {
	// Each answer stores a challenge in a session, which a visitor without
	// one gets now: a network may start only so many.
	limiter := limits.NewLimiter(a.DB, "passkey_options_ip", passkeyOptionsPerWindow, passkeyOptionsWindow)
	if wait, err := limiter.Allow(c.Request().Context(), clientNetwork(c), a.now()); err != nil {
		return err
	} else if wait > 0 {
		return passkeyError(c, http.StatusTooManyRequests, tooManyAttempts(wait))
	}
	wa := a.relyingParty
	assertion, data, err := wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return err
	}
	if err := a.putChallenge(c, ceremonySignIn, 0, data); err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, assertion)
}

// Sign-in ceremonies one network may start (every visit to the sign-in
// page with JavaScript starts one, for the email field's autofill).
const (
	passkeyOptionsPerWindow = 120
	passkeyOptionsWindow    = 10 * time.Minute
)

const msgPasskeyRefused = "That passkey did not sign you in. Try again, or sign in with your password."

// passkeyLogin finishes a passwordless sign-in. A verified passkey is a
// complete sign-in with two factors: something the person has (the
// authenticator) and something they are or know (its verification). So it
// signs in fully (completeSignIn), never to the second step, even for an
// account with an authenticator app.
func (a *App) passkeyLogin(c echo.Context) error {
	ctx := c.Request().Context()
	now := a.now()
	// Failed assertions count against the network like failed passwords.
	attempt, wait, err := a.Limits.LoginIP.Reserve(ctx, clientNetwork(c), now)
	if err != nil {
		return err
	} else if wait > 0 {
		return passkeyError(c, http.StatusTooManyRequests, tooManyAttempts(wait))
	}
	data, err := a.takeChallenge(c, ceremonySignIn, 0)
	if err != nil {
		return passkeyError(c, http.StatusBadRequest, "This sign-in has expired. Try again.")
	}
	parsed, err := protocol.ParseCredentialRequestResponseBody(c.Request().Body)
	if err != nil {
		return passkeyError(c, http.StatusBadRequest, msgPasskeyRefused)
	}
	wa := a.relyingParty
	var owner accounts.User
	var pu passkeyUser
	_, _, err = wa.ValidatePasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
		uid, err := a.passkeyStore().UserByHandle(ctx, userHandle)
		if err != nil {
			return nil, err
		}
		if owner, err = a.Accounts.UserByID(ctx, uid); err != nil {
			return nil, err
		}
		if pu, err = a.loadPasskeyUser(ctx, owner, false); err != nil {
			return nil, err
		}
		return pu, nil
	}, data, parsed)
	flags := parsed.Response.AuthenticatorData.Flags
	if err != nil || !flags.HasUserVerified() || !owner.Confirmed() {
		a.Logger.Info("passkey sign-in refused", "user_id", owner.ID, "uv", flags.HasUserVerified(), "err", err)
		return passkeyError(c, http.StatusUnauthorized, msgPasskeyRefused)
	}
	key, _ := pu.key(parsed.RawID)
	if err := a.recordPasskeyUse(c, owner, key, parsed.Response.AuthenticatorData.Counter, flags.HasBackupState()); err != nil {
		if errors.Is(err, passkeys.ErrCounter) {
			return passkeyError(c, http.StatusUnauthorized, msgPasskeyRefused)
		}
		return err
	}
	if err := attempt.Cancel(ctx); err != nil { // only failures count
		return err
	}
	remember := c.QueryParam("remember") != ""
	if err := a.completeSignIn(c, owner, remember); err != nil {
		return err
	}
	a.Logger.Info("signed in with a passkey", "user_id", owner.ID, "passkey_id", key.ID)
	return c.JSON(http.StatusOK, map[string]string{"redirect": a.afterSignIn(c, safeNext(c.QueryParam("next")))})
}

// recordPasskeyUse applies the signature counter rule: a counter that
// fails to rise refuses the sign-in and mails the owner, whose passkey
// may have been copied.
func (a *App) recordPasskeyUse(c echo.Context, owner accounts.User, key passkeys.Passkey, counter uint32, backupState bool) error {
	err := a.passkeyStore().RecordUse(c.Request().Context(), key.ID, key.SignCount, counter, backupState)
	if errors.Is(err, passkeys.ErrCounter) {
		a.Logger.Warn("passkey counter did not rise", "user_id", owner.ID, "passkey_id", key.ID, "stored", key.SignCount, "got", counter)
		if merr := a.securityEventOn(c, owner, EventPasskeyCounter, passkeyRef(key.CredentialID), key.Name); merr != nil {
			return merr
		}
	}
	return err
}

// beginPasskeySecondFactor starts the second step after a password with
// one of the account's passkeys or security keys (user verification not
// required: the password was the other factor). It answers the options.
func (a *App) beginPasskeySecondFactor(c echo.Context, userID int64) error {
	ctx := c.Request().Context()
	u, err := a.Accounts.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	pu, err := a.loadPasskeyUser(ctx, u, false)
	if err != nil {
		return err
	}
	if len(pu.keys) == 0 {
		return passkeyError(c, http.StatusConflict, "This account has no passkey.")
	}
	wa := a.relyingParty
	assertion, data, err := wa.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return err
	}
	if err := a.putChallenge(c, ceremonySecondFactor, userID, data); err != nil {
		return err
	}
	noStore(c)
	return c.JSON(http.StatusOK, assertion)
}

// errPasskeyRefused is a second-factor assertion that does not prove the
// account's passkey.
var errPasskeyRefused = errors.New("passkeys: assertion refused")

// verifyPasskeySecondFactor checks the request's assertion (its body) as
// the second factor for userID, against the challenge begun by
// beginPasskeySecondFactor, and applies the counter rule. nil means the
// second factor is proven.
func (a *App) verifyPasskeySecondFactor(c echo.Context, userID int64) error {
	ctx := c.Request().Context()
	data, err := a.takeChallenge(c, ceremonySecondFactor, userID)
	if err != nil {
		return errPasskeyRefused
	}
	u, err := a.Accounts.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	pu, err := a.loadPasskeyUser(ctx, u, false)
	if err != nil {
		return err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBody(c.Request().Body)
	if err != nil {
		return errPasskeyRefused
	}
	wa := a.relyingParty
	if _, err := wa.ValidateLogin(pu, data, parsed); err != nil {
		a.Logger.Info("passkey second factor refused", "user_id", userID, "err", err)
		return errPasskeyRefused
	}
	key, _ := pu.key(parsed.RawID)
	err = a.recordPasskeyUse(c, u, key, parsed.Response.AuthenticatorData.Counter, parsed.Response.AuthenticatorData.Flags.HasBackupState())
	if errors.Is(err, passkeys.ErrCounter) {
		return errPasskeyRefused
	}
	return err
}

// passkeyRef names a passkey in a security event (its undo hook finds it
// by it): its credential id, hex.
func passkeyRef(credentialID []byte) string { return hex.EncodeToString(credentialID) }

// ---- A security key at the second step ----

// secondStepPasskeyOptions starts proving a pending sign-in's second
// factor with one of the account's passkeys or security keys.
func (a *App) secondStepPasskeyOptions(c echo.Context) error {
	p, ok := a.pendingSecondStep(c)
	if !ok {
		return passkeyError(c, http.StatusUnauthorized, "This sign-in has expired. Sign in again.")
	}
	return a.beginPasskeySecondFactor(c, p.userID)
}

// secondStepPasskey finishes a pending sign-in with a security key: the
// key is checked first (its counter recorded), then the sign-in is
// completed in the transaction that stores the session, as secondStep
// does with a code.
func (a *App) secondStepPasskey(c echo.Context) error {
	p, ok := a.pendingSecondStep(c)
	if !ok {
		return passkeyError(c, http.StatusUnauthorized, "This sign-in has expired. Sign in again.")
	}
	noStore(c)
	ctx := c.Request().Context()
	err := a.verifyPasskeySecondFactor(c, p.userID)
	if errors.Is(err, errPasskeyRefused) {
		return passkeyError(c, http.StatusUnauthorized, "That security key did not sign you in. Try again, or enter a code.")
	}
	if err != nil {
		return err
	}
	err = a.withSession(c, func(save accounts.SaveSession) error {
		return a.DB.InTx(ctx, func(tx *sql.Tx) error {
			tctx := store.WithTx(ctx, tx)
			u, err := accounts.UserByIDTx(tctx, tx, p.userID)
			if err != nil {
				return err
			}
			return save(tctx, u)
		})
	}, func(u accounts.User) error {
		return a.completeSignIn(c, u, p.remember)
	})
	if err != nil {
		return err
	}
	a.Logger.Info("second step done with a security key", "user_id", p.userID)
	return c.JSON(http.StatusOK, map[string]string{"redirect": a.afterSignIn(c, p.next)})
}
