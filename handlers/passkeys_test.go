package handlers

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/labstack/echo/v4"

	"shelf/components/paths"
	"shelf/store/passkeys"
	"shelf/store/twofactor"
)

// softKey is a passkey held in the test: an ECDSA P-256 key and a signature
// counter, answering ceremonies as an authenticator would.
type softKey struct {
	id      []byte
	key     *ecdsa.PrivateKey
	handle  []byte
	counter uint32
	counts  bool // a counter that rises; else 0 always, as synced passkeys report
	noUV    bool // answers without user verification
}

func newSoftKey(t *testing.T, counts bool) *softKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &softKey{id: id, key: k, counts: counts}
}

var b64 = base64.RawURLEncoding

const rpOrigin, rpID = "http://shelf.test", "shelf.test"

func (k *softKey) authData(attested bool) []byte {
	rp := sha256.Sum256([]byte(rpID))
	flags := byte(0x01) // UP
	if !k.noUV {
		flags |= 0x04
	}
	if !k.counts {
		flags |= 0x08 | 0x10 // BE, BS: a synced passkey
	}
	if k.counts {
		k.counter++
	}
	var out bytes.Buffer
	out.Write(rp[:])
	if attested {
		flags |= 0x40
	}
	out.WriteByte(flags)
	binary.Write(&out, binary.BigEndian, k.counter)
	if attested {
		out.Write(make([]byte, 16)) // AAGUID
		binary.Write(&out, binary.BigEndian, uint16(len(k.id)))
		out.Write(k.id)
		cose, _ := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1,
			-2: k.key.PublicKey.X.FillBytes(make([]byte, 32)), -3: k.key.PublicKey.Y.FillBytes(make([]byte, 32))})
		out.Write(cose)
	}
	return out.Bytes()
}

func clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": rpOrigin, "crossOrigin": false})
	return b
}

// create answers registration options.
func (k *softKey) create(t *testing.T, options []byte) []byte {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			User      struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	k.handle, _ = b64.DecodeString(o.PublicKey.User.ID)
	att, _ := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(true)})
	body, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att), "transports": []string{"internal", "hybrid"}}})
	return body
}

// get answers sign-in options.
func (k *softKey) get(t *testing.T, options []byte) []byte {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatal(err)
	}
	ad := k.authData(false)
	cd := clientData("webauthn.get", o.PublicKey.Challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(k.handle)}})
	return body
}

// postJSON posts like static/passkeys.js: JSON, the token in X-CSRF-Token.
func (b *browser) postJSON(path string, body []byte) page {
	b.env.t.Helper()
	if body == nil {
		body = []byte("{}")
	}
	req, _ := http.NewRequest(http.MethodPost, b.env.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", b.csrf)
	return b.do(req)
}

func (b *browser) confirmPassword(t *testing.T) {
	t.Helper()
	b.reauth("/account")
}

// addPasskey registers k for b's account, the password re-entered first.
func (b *browser) addPasskey(t *testing.T, k *softKey, name string) page {
	t.Helper()
	opts := b.postJSON("/account/passkeys/options", nil)
	if opts.status == http.StatusForbidden {
		b.confirmPassword(t)
		opts = b.postJSON("/account/passkeys/options", nil)
	}
	if opts.status != http.StatusOK {
		return opts
	}
	return b.postJSON("/account/passkeys?name="+url.QueryEscape(name), k.create(t, []byte(opts.body)))
}

// passkeySignIn signs b in with k; it returns the finishing answer.
func (b *browser) passkeySignIn(t *testing.T, k *softKey) page {
	t.Helper()
	b.get("/login").wantStatus(t, http.StatusOK)
	opts := b.postJSON("/login/passkey/options", nil).wantStatus(t, http.StatusOK)
	return b.postJSON("/login/passkey?next=%2Faccount", k.get(t, []byte(opts.body)))
}

func TestPasskeyRegistrationOptions(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("reader@example.com")
	u := env.user("reader@example.com")

	p := b.postJSON("/account/passkeys/options", nil).wantStatus(t, http.StatusForbidden)
	if !strings.Contains(p.body, `"reauth":"/account/reauth?next=%2Faccount%23passkeys"`) {
		t.Fatalf("without a fresh password: %s; want where to confirm it", p.body)
	}
	if p := b.post("/account/reauth", url.Values{"password": {"wrong password here"}, "next": {"/account"}}); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("a wrong password: %d, want 422", p.status)
	}
	b.confirmPassword(t)
	p = b.postJSON("/account/passkeys/options", nil).wantStatus(t, http.StatusOK)
	var o struct {
		PublicKey struct {
			User struct {
				ID, Name string
			}
			AuthenticatorSelection struct {
				ResidentKey        string `json:"residentKey"`
				RequireResidentKey bool   `json:"requireResidentKey"`
				UserVerification   string `json:"userVerification"`
			} `json:"authenticatorSelection"`
			Attestation        string `json:"attestation"`
			ExcludeCredentials []struct {
				ID string `json:"id"`
			} `json:"excludeCredentials"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(p.body), &o); err != nil {
		t.Fatal(err)
	}
	sel := o.PublicKey.AuthenticatorSelection
	if sel.ResidentKey != "required" || !sel.RequireResidentKey || sel.UserVerification != "required" {
		t.Errorf("authenticator selection %+v, want resident key and user verification required", sel)
	}
	if a := o.PublicKey.Attestation; a != "none" && a != "" {
		t.Errorf("attestation %q, want none", a)
	}
	handle, _ := b64.DecodeString(o.PublicKey.User.ID)
	if len(handle) != 32 || bytes.Contains(handle, []byte(u.Email)) || string(handle) == "1" {
		t.Errorf("user handle %x, want 32 random bytes", handle)
	}

	// With a passkey, the next options exclude it.
	k := newSoftKey(t, true)
	b.postJSON("/account/passkeys", k.create(t, []byte(p.body))).wantStatus(t, http.StatusOK)
	p = b.postJSON("/account/passkeys/options", nil).wantStatus(t, http.StatusOK)
	if err := json.Unmarshal([]byte(p.body), &o); err != nil {
		t.Fatal(err)
	}
	if len(o.PublicKey.ExcludeCredentials) != 1 || o.PublicKey.ExcludeCredentials[0].ID != b64.EncodeToString(k.id) {
		t.Errorf("excluded %+v, want the registered passkey", o.PublicKey.ExcludeCredentials)
	}

	// Five minutes later the password must be entered again.
	env.clock.Advance(recentAuthWindow + time.Second)
	b.postJSON("/account/passkeys/options", nil).wantStatus(t, http.StatusForbidden)
}

func TestPasskeyChallengeSingleUseAndExpiring(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("reader@example.com")
	b.confirmPassword(t)
	k := newSoftKey(t, true)
	opts := b.postJSON("/account/passkeys/options", nil).wantStatus(t, http.StatusOK)
	answer := k.create(t, []byte(opts.body))
	b.postJSON("/account/passkeys", answer).wantStatus(t, http.StatusOK)
	// The same answer again: its challenge is used up.
	if p := b.postJSON("/account/passkeys", answer); p.status != http.StatusBadRequest {
		t.Fatalf("a replayed registration: %d %s, want 400", p.status, p.body)
	}

	// A sign-in challenge expires after 5 minutes.
	out := env.browser()
	out.get("/login")
	sopts := out.postJSON("/login/passkey/options", nil).wantStatus(t, http.StatusOK)
	env.clock.Advance(passkeyChallengeTTL + time.Second)
	if p := out.postJSON("/login/passkey", k.get(t, []byte(sopts.body))); p.status != http.StatusBadRequest {
		t.Fatalf("an expired challenge: %d %s, want 400", p.status, p.body)
	}
	// And a sign-in answer works once.
	sopts = out.postJSON("/login/passkey/options", nil).wantStatus(t, http.StatusOK)
	signIn := k.get(t, []byte(sopts.body))
	out.postJSON("/login/passkey", signIn).wantStatus(t, http.StatusOK)
	other := env.browser()
	other.get("/login")
	other.postJSON("/login/passkey/options", nil).wantStatus(t, http.StatusOK)
	if p := other.postJSON("/login/passkey", signIn); p.status == http.StatusOK {
		t.Fatal("a sign-in answer replayed in another browser signed in")
	}
}

func TestPasskeySignInIsComplete(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("reader@example.com")
	k := newSoftKey(t, false) // synced: the counter stays 0
	b.addPasskey(t, k, "Phone").wantStatus(t, http.StatusOK)
	if ms := env.securityMails("reader@example.com"); !strings.Contains(ms[len(ms)-1].Subject, "passkey was added") ||
		!strings.Contains(ms[len(ms)-1].Text, "Phone") || !strings.Contains(ms[len(ms)-1].Text, "IP address: 127.0.0.1") ||
		!strings.Contains(ms[len(ms)-1].HTML, "127.0.0.1") {
		t.Fatalf("no mail about the added passkey, with where it came from: %+v", ms[len(ms)-1])
	} else {
		notMeLink(t, ms[len(ms)-1])
	}
	uid := env.user("reader@example.com").ID

	for i := range 2 { // synced passkeys reporting 0 pass, every time
		other := env.browser()
		p := other.passkeySignIn(t, k).wantStatus(t, http.StatusOK)
		if !strings.Contains(p.body, `"redirect":"/account"`) {
			t.Fatalf("sign-in %d: %s", i+1, p.body)
		}
		other.get("/account").wantStatus(t, http.StatusOK).wantContains(t, `data-signed-in-as="reader@example.com"`)
		if id, _ := sessionValue(t, env, other, sessUserID); id != uid {
			t.Fatalf("a passkey sign-in left session user %v, want %d", id, uid)
		}
	}

	// Without user verification it is refused.
	k.noUV = true
	other := env.browser()
	if p := other.passkeySignIn(t, k); p.status != http.StatusUnauthorized {
		t.Fatalf("no user verification: %d %s, want 401", p.status, p.body)
	}
	other.get("/account").wantStatus(t, http.StatusSeeOther)
}

func TestPasskeyCounterMustRise(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("reader@example.com")
	k := newSoftKey(t, true)
	b.addPasskey(t, k, "Key").wantStatus(t, http.StatusOK)
	env.browser().passkeySignIn(t, k).wantStatus(t, http.StatusOK)
	before := len(env.securityMails("reader@example.com"))

	k.counter -= 2 // a copy, behind the original
	if p := env.browser().passkeySignIn(t, k); p.status != http.StatusUnauthorized {
		t.Fatalf("a counter that did not rise: %d %s, want 401", p.status, p.body)
	}
	ms := env.securityMails("reader@example.com")
	if len(ms) != before+1 || !strings.Contains(ms[len(ms)-1].Subject, "may have been copied") {
		t.Fatalf("mails after the refusal: %d (was %d), last %+v", len(ms), before, ms[len(ms)-1])
	}
}

func TestPasskeyLimitRenameRemove(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("reader@example.com")
	keys := make([]*softKey, passkeys.MaxPerUser)
	for i := range keys {
		keys[i] = newSoftKey(t, true)
		b.addPasskey(t, keys[i], "").wantStatus(t, http.StatusOK)
	}
	b.addPasskey(t, newSoftKey(t, true), "one too many").wantStatus(t, http.StatusConflict)
	b.get("/account").wantStatus(t, http.StatusOK).wantContains(t, `id="passkeys-full"`)

	list, err := env.app.passkeyStore().List(t.Context(), env.user("reader@example.com").ID)
	if err != nil || len(list) != passkeys.MaxPerUser {
		t.Fatalf("stored %d passkeys (%v)", len(list), err)
	}
	first := list[0]
	if first.Name == "" || len(first.Transports) != 2 || first.CreatedAt.IsZero() || first.BackupEligible {
		t.Fatalf("stored passkey %+v", first)
	}

	// Naming validates in place and on submit.
	b.htmx("/account/passkeys/validate/name?id=1", url.Values{"name": {strings.Repeat("x", 65)}}).wantStatus(t, http.StatusOK).
		wantContains(t, "at most 64 characters")
	b.post("/account/passkeys/1/name", url.Values{"name": {"  "}}).wantStatus(t, http.StatusUnprocessableEntity).
		wantContains(t, "Give the passkey a name.")
	if p := b.post("/account/passkeys/1/name", url.Values{"name": {"Work laptop"}}); p.status != http.StatusSeeOther {
		t.Fatalf("rename: %d", p.status)
	}
	b.get("/account").wantContains(t, "Work laptop")

	// Removing needs the password again, and mails the owner.
	env.clock.Advance(recentAuthWindow + time.Second)
	if p := b.post("/account/passkeys/1/remove", nil); p.status != http.StatusSeeOther || p.location() != "/account/reauth?next=%2Faccount%23passkeys" {
		t.Fatalf("remove without a fresh password: %d %q", p.status, p.location())
	}
	b.confirmPassword(t)
	b.post("/account/passkeys/1/remove", nil).wantStatus(t, http.StatusSeeOther)
	ms := env.securityMails("reader@example.com")
	if !strings.Contains(ms[len(ms)-1].Subject, "passkey was removed") || !strings.Contains(ms[len(ms)-1].Text, "Work laptop") {
		t.Fatalf("last mail %+v, want the removal", ms[len(ms)-1])
	}
	notMeLink(t, ms[len(ms)-1])
	// The removed passkey signs in no more; another account cannot remove one.
	keys[0].counter += 5
	if p := env.browser().passkeySignIn(t, keys[0]); p.status != http.StatusUnauthorized {
		t.Fatalf("a removed passkey: %d, want 401", p.status)
	}
	mallory := env.register("mallory@example.com")
	mallory.confirmPassword(t)
	if p := mallory.post("/account/passkeys/2/remove", nil); p.status != http.StatusNotFound {
		t.Fatalf("removing another's passkey: %d, want 404", p.status)
	}
}

// A security key after a password: verifyPasskeySecondFactor accepts the
// account's key without user verification, once per challenge, and only
// for the account it was begun for. The routes stand for the second step's.
func TestPasskeySecondFactor(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("reader@example.com")
	key := newSoftKey(t, true)
	b.addPasskey(t, key, "Security key").wantStatus(t, http.StatusOK)
	uid := env.user("reader@example.com").ID
	env.app.echo.POST("/test/second-factor/options", func(c echo.Context) error { return env.app.beginPasskeySecondFactor(c, uid) })
	env.app.echo.POST("/test/second-factor", func(c echo.Context) error {
		uid, _ := strconv.ParseInt(c.QueryParam("uid"), 10, 64)
		if err := env.app.verifyPasskeySecondFactor(c, uid); err != nil {
			return c.String(http.StatusUnauthorized, err.Error())
		}
		return c.String(http.StatusOK, "proven")
	})
	self := "/test/second-factor?uid=" + strconv.FormatInt(uid, 10)

	key.noUV = true // a security key without a PIN: the password was the other factor
	opts := b.postJSON("/test/second-factor/options", nil).wantStatus(t, http.StatusOK)
	if !strings.Contains(opts.body, b64.EncodeToString(key.id)) {
		t.Fatalf("options do not allow the account's key: %s", opts.body)
	}
	answer := key.get(t, []byte(opts.body))
	b.postJSON(self, answer).wantStatus(t, http.StatusOK)
	b.postJSON(self, answer).wantStatus(t, http.StatusUnauthorized) // used up

	opts = b.postJSON("/test/second-factor/options", nil).wantStatus(t, http.StatusOK)
	b.postJSON("/test/second-factor?uid=999", key.get(t, []byte(opts.body))).wantStatus(t, http.StatusUnauthorized)

	opts = b.postJSON("/test/second-factor/options", nil).wantStatus(t, http.StatusOK)
	key.counter -= 3
	b.postJSON(self, key.get(t, []byte(opts.body))).wantStatus(t, http.StatusUnauthorized)
}

func TestLastWayToSignInStays(t *testing.T) {
	for _, tc := range []struct {
		password bool
		passkeys int
		ok       bool
	}{{true, 1, true}, {true, 3, true}, {false, 1, false}, {false, 2, true}} {
		if got := canRemovePasskey(tc.password, tc.passkeys); got != tc.ok {
			t.Errorf("password %v, %d passkeys: removable %v, want %v", tc.password, tc.passkeys, got, tc.ok)
		}
	}
}

func TestPasskeyOptionsLimitedPerNetwork(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	b.get("/login").wantStatus(t, http.StatusOK)
	for i := range passkeyOptionsPerWindow {
		if p := b.postJSON("/login/passkey/options", nil); p.status != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, p.status)
		}
	}
	b.postJSON("/login/passkey/options", nil).wantStatus(t, http.StatusTooManyRequests)
	env.clock.Advance(passkeyOptionsWindow)
	b.postJSON("/login/passkey/options", nil).wantStatus(t, http.StatusOK)
}

// Re-entering the password proves it for the account signed in then: a
// browser that signs in to another account on top of it (no sign-out in
// between, and by a mailed link, which proves no password) must not carry
// that proof over, for passkeys or for the authenticator app.
func TestReauthDoesNotCarryOverToAnotherAccount(t *testing.T) {
	env := newTestEnv(t)
	env.register("other@example.com")
	b := env.register("reader@example.com")
	b.confirmPassword(t)
	b.reauth(paths.TwoFactorSetup)

	before := len(env.mails("other@example.com"))
	b.get("/login/email")
	if p := b.post("/login/email", url.Values{"email": {"other@example.com"}}); p.status != http.StatusSeeOther {
		t.Fatalf("ask for a sign-in link to another account: %d\n%s", p.status, p.body)
	}
	env.waitMails("other@example.com", before+1)
	link := env.lastLink("other@example.com")
	b.get(link).wantStatus(t, http.StatusOK)
	if p := b.post(link, nil); p.status != http.StatusSeeOther && p.status != http.StatusOK {
		t.Fatalf("sign in as another account by its link: %d\n%s", p.status, p.body)
	}
	b.get("/account").wantStatus(t, http.StatusOK).wantContains(t, `data-signed-in-as="other@example.com"`)
	if p := b.postJSON("/account/passkeys/options", nil); p.status != http.StatusForbidden {
		t.Fatalf("passkey options on the other account without its password: %d %s, want 403", p.status, p.body)
	}
	if p := b.get(paths.TwoFactorSetup); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), paths.Reauth) {
		t.Fatalf("authenticator setup on the other account without its password: %d %q", p.status, p.location())
	}
}

// The name given when adding a passkey obeys the rule renaming does: it is
// shown on the account page and in the owner's security mail.
func TestPasskeyNameLimitWhenAdding(t *testing.T) {
	env := newTestEnv(t)
	b := env.register("reader@example.com")
	long := strings.Repeat("x", passkeys.MaxNameLen+1)
	if p := b.addPasskey(t, newSoftKey(t, true), long); p.status != http.StatusBadRequest {
		t.Fatalf("adding a passkey named with %d characters: %d %s, want 400", len(long), p.status, p.body)
	}
	list, err := env.app.passkeyStore().List(t.Context(), env.user("reader@example.com").ID)
	if err != nil || len(list) != 0 {
		t.Fatalf("stored %d passkeys (%v), want none", len(list), err)
	}
	b.addPasskey(t, newSoftKey(t, true), strings.Repeat("x", passkeys.MaxNameLen)).wantStatus(t, http.StatusOK)
}

// Served at an IP address, Shelf cannot be a WebAuthn relying party
// (neither the library nor browsers take an IP as its ID). Passkeys are
// then off: no page offers them, and every ceremony is refused with a
// message instead of failing with a 500. Passkeys kept from when the site
// had a domain name can still be removed.
func TestPasskeysOffAtAnIPAddress(t *testing.T) {
	atDomain := newTestEnv(t)
	const email = "lan@example.org"
	owner := atDomain.register(email)
	owner.enrolTOTP()
	owner.confirmPassword(t)
	owner.addPasskey(t, newSoftKey(t, true), "Old key").wantStatus(t, http.StatusOK)
	atDomain.clock.Advance(twofactor.Period)

	for _, base := range []string{"http://127.0.0.1:8080", "http://[::1]:8080", "http://192.168.1.20"} {
		t.Run(base, func(t *testing.T) {
			env := newTestEnvOn(t, atDomain.db, atDomain.clock, func(_ *Deps, s *Settings) { s.BaseURL, _ = url.Parse(base) })
			if env.app.passkeysOn() {
				t.Fatal("passkeys on at an IP address")
			}
			wantRefused := func(p page, route string) {
				t.Helper()
				if p.status != http.StatusNotFound || !strings.Contains(p.body, `"error":"`+passkeysOff+`"`) {
					t.Errorf("POST %s: %d %s, want 404 and %q", route, p.status, p.body, passkeysOff)
				}
			}

			b := env.browser()
			login := b.get("/login").wantStatus(t, http.StatusOK)
			if strings.Contains(login.body, `id="passkey-sign-in"`) || strings.Contains(login.body, "webauthn") {
				t.Error("the sign-in page offers passkeys")
			}
			for _, route := range []string{paths.PasskeyLoginOptions, paths.PasskeyLogin} {
				wantRefused(b.postJSON(route, nil), route)
			}

			b = env.startSignIn(email)
			if p := b.get(paths.TwoFactorLogin).wantStatus(t, http.StatusOK); strings.Contains(p.body, "Use a security key") {
				t.Error("the second step offers a security key")
			}
			for _, route := range []string{paths.TwoFactorPasskeyOptions, paths.TwoFactorPasskey} {
				wantRefused(b.postJSON(route, nil), route)
			}

			// Signed in another way, the owner sees why none can be added,
			// and can still remove the old one.
			owner := owner.at(env)
			owner.confirmPassword(t)
			acct := owner.get("/account").wantStatus(t, http.StatusOK).wantContains(t, `id="passkeys-off"`, "Old key")
			if strings.Contains(acct.body, `id="passkey-add"`) {
				t.Error("the account page offers to add a passkey")
			}
			for _, route := range []string{paths.PasskeyAddOptions, paths.PasskeyAdd} {
				wantRefused(owner.postJSON(route, nil), route)
			}
		})
	}
	keys, err := passkeys.New(atDomain.db).List(context.Background(), atDomain.user(email).ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("passkeys after: %d, %v; want the old one kept", len(keys), err)
	}
}

// Signing in with the password proves it: the changes that ask for it
// again do not, for recentAuthWindow. Before, the setup of the
// authenticator app asked for the password seconds after it was typed.
func TestPasswordSignInCountsAsReentered(t *testing.T) {
	env := newTestEnv(t)
	const email = "fresh@example.com"
	env.register(email)
	b := env.browser()
	b.login(email, goodPassword).wantStatus(t, http.StatusSeeOther)
	b.get(paths.TwoFactorSetup).wantStatus(t, http.StatusOK)
	b.postJSON("/account/passkeys/options", nil).wantStatus(t, http.StatusOK)

	env.clock.Advance(recentAuthWindow + time.Second)
	if p := b.get(paths.TwoFactorSetup); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), paths.Reauth) {
		t.Fatalf("setup %v after signing in: %d %q, want the password asked again", recentAuthWindow, p.status, p.location())
	}
}
