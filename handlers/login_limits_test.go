package handlers

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tests of the limits on password guessing (issue 7, items 3, 7, 10, 11):
// concurrent guesses, attacker-sized addresses, device cookies and IPv6.

// deviceCookieName is the device cookie's name on http:// test servers.
const deviceCookieName = "shelf_device"

// login posts the sign-in form from b.
func (b *browser) login(email, password string) page {
	b.env.t.Helper()
	if b.csrf == "" {
		b.get("/login")
	}
	return b.post("/login", url.Values{"email": {email}, "password": {password}})
}

// knownBrowser registers email, then signs in from a second browser
// through the login form and out again. That browser keeps its device
// cookie.
func (env *testEnv) knownBrowser(email string) *browser {
	env.t.Helper()
	env.register(email)
	b := env.browser()
	if p := b.login(email, goodPassword); p.status != http.StatusSeeOther {
		env.t.Fatalf("sign in: %d\n%s", p.status, p.body)
	}
	b.get("/account")
	b.post("/logout", nil).wantStatus(env.t, http.StatusSeeOther)
	b.get("/login")
	return b
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.env.srv.URL)
	for _, c := range b.http.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.env.srv.URL)
	b.http.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// concurrentPosts sends forms to /login at once from the browser's
// session (raw requests: browser.do is not safe for concurrent use) and
// returns each status in the order of forms. If then is not nil, it is
// sent once the first answer is in, and its status comes last.
func concurrentPosts(t *testing.T, b *browser, forms []url.Values, then url.Values) []int {
	t.Helper()
	post := func(form url.Values) int {
		req, _ := http.NewRequest(http.MethodPost, b.env.srv.URL+"/login", strings.NewReader(withCSRF(form, b.csrf).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.http.Do(req)
		if err != nil {
			t.Error(err)
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	statuses := make([]int, len(forms)+1) // the last for then
	var wg sync.WaitGroup
	start, first := make(chan struct{}), make(chan struct{})
	var once sync.Once
	for i, form := range forms {
		wg.Go(func() {
			<-start
			statuses[i] = post(form)
			once.Do(func() { close(first) })
		})
	}
	close(start)
	if then != nil {
		<-first
		statuses[len(forms)] = post(then)
	}
	wg.Wait()
	if then == nil {
		return statuses[:len(forms)]
	}
	return statuses
}

func count(statuses []int, want int) int {
	n := 0
	for _, s := range statuses {
		if s == want {
			n++
		}
	}
	return n
}

// Item 3: 40 simultaneous guesses at one account. The account allows 5
// failures before it slows down, so at most 5 passwords are checked, and the
// right password sent while the others are in flight does not sign in.
func TestConcurrentGuessesAtOneAccount(t *testing.T) {
	env := newTestEnvWith(t, productionHash) // a real ~40 ms check, as in production
	env.register("target@example.org")
	attacker := env.browser()
	attacker.get("/login")
	var wrong []url.Values
	for i := range 39 {
		wrong = append(wrong, url.Values{"email": {"target@example.org"}, "password": {"wrong guess " + string(rune('a'+i%26))}})
	}
	statuses := concurrentPosts(t, attacker, wrong, url.Values{"email": {"target@example.org"}, "password": {goodPassword}})
	checked := count(statuses, http.StatusUnprocessableEntity)
	t.Logf("statuses: %d checked and refused, %d limited, right password: %d", checked, count(statuses, http.StatusTooManyRequests), statuses[len(statuses)-1])
	if checked > 5 {
		t.Errorf("%d wrong passwords were checked; the limit is 5", checked)
	}
	if s := statuses[len(statuses)-1]; s != http.StatusTooManyRequests {
		t.Errorf("the right password after the limit was reached: %d, want 429", s)
	}
	if p := attacker.get("/check-email"); p.status != http.StatusSeeOther {
		t.Fatalf("the attacker is signed in: %d", p.status)
	}
}

// Item 3: 60 simultaneous failed logins from one IP, at different
// addresses: at most the per-IP 30 are checked.
func TestConcurrentGuessesFromOneIP(t *testing.T) {
	env := newTestEnvWith(t, productionHash) // a real ~40 ms check, as in production
	attacker := env.browser()
	attacker.get("/login")
	var forms []url.Values
	for i := range 60 {
		forms = append(forms, url.Values{"email": {"user" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "@example.org"}, "password": {"wrong guess"}})
	}
	statuses := concurrentPosts(t, attacker, forms, nil)
	checked := count(statuses, http.StatusUnprocessableEntity)
	t.Logf("%d checked, %d limited", checked, count(statuses, http.StatusTooManyRequests))
	if checked > 30 {
		t.Errorf("%d logins from one IP were checked; the limit is 30", checked)
	}
	if checked+count(statuses, http.StatusTooManyRequests) != 60 {
		t.Errorf("statuses: %v", statuses)
	}
}

// Item 7: failed logins with 8 MiB addresses must not keep their addresses
// (the limiter used to keep each for 15 minutes).
func TestLongAddressesAreNotKept(t *testing.T) {
	env := newTestEnv(t)
	b := env.browser()
	b.get("/login")
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	const logins, size = 8, 8 << 20
	before := heap()
	longest, failed := 0, 0
	for i := range logins {
		email := strings.Repeat(string(rune('a'+i)), size) + "@example.org"
		p := b.post("/login", url.Values{"email": {email}, "password": {"wrong guess"}})
		switch p.status {
		case http.StatusUnprocessableEntity:
			p.wantContains(t, html.EscapeString(msgInvalidLogin))
			failed++
		case http.StatusRequestEntityTooLarge: // refused whole by a body limit: fine too
		default:
			t.Fatalf("status %d", p.status)
		}
		longest = max(longest, len(p.body))
	}
	after := heap()
	grew := int64(after) - int64(before)
	t.Logf("heap %d MiB -> %d MiB after %d logins with %d MiB addresses", before>>20, after>>20, logins, size>>20)
	if grew > 16<<20 {
		t.Fatalf("heap grew by %d MiB", grew>>20)
	}
	if longest > size {
		t.Fatalf("the page echoes the %d MiB address", size>>20)
	}
	// Those answered count as failed logins of this IP all the same.
	for range 30 - failed {
		b.post("/login", url.Values{"email": {"x@"}, "password": {"wrong guess"}}).wantStatus(t, http.StatusUnprocessableEntity)
	}
	b.post("/login", url.Values{"email": {"x@"}, "password": {"wrong guess"}}).wantStatus(t, http.StatusTooManyRequests)
}

// Item 10: others' failures do not lock out a browser that has signed in
// to the account before.
func TestDeviceCookieSurvivesOthersFailures(t *testing.T) {
	env := newTestEnv(t)
	victim := env.knownBrowser("victim@example.org")
	if victim.cookie(deviceCookieName) == nil {
		t.Fatal("no device cookie after signing in")
	}
	for i := range 20 {
		attacker := env.browser() // a fresh client each time, as from many IPs
		if p := attacker.login("victim@example.org", "wrong guess"); p.status != http.StatusUnprocessableEntity && p.status != http.StatusTooManyRequests {
			t.Fatalf("attempt %d: %d", i, p.status)
		}
	}
	env.browser().login("victim@example.org", goodPassword).wantStatus(t, http.StatusTooManyRequests)
	// The victim's own mistake counts against the device alone.
	victim.login("victim@example.org", "typo typo typo").wantStatus(t, http.StatusUnprocessableEntity)
	if p := victim.login("victim@example.org", goodPassword); p.status != http.StatusSeeOther {
		t.Fatalf("victim with device cookie: %d\n%s", p.status, p.body)
	}
}

// Item 10: a device cookie also spares its browser the failures of others
// on the same network (a shared NAT, say).
func TestDeviceCookieSurvivesSharedNetwork(t *testing.T) {
	env := newTestEnv(t)
	victim := env.knownBrowser("shared@example.org")
	attacker := env.browser() // from the same 127.0.0.1
	for i := range 30 {
		attacker.login(fmt.Sprintf("guess%d@example.org", i), "wrong guess").wantStatus(t, http.StatusUnprocessableEntity)
	}
	attacker.login("shared@example.org", goodPassword).wantStatus(t, http.StatusTooManyRequests)
	for i := range 10 {
		attacker.get("/password/forgot")
		attacker.post("/password/forgot", url.Values{"email": {fmt.Sprintf("guess%d@example.org", i)}}).wantStatus(t, http.StatusOK)
	}
	attacker.post("/password/forgot", url.Values{"email": {"shared@example.org"}}).wantStatus(t, http.StatusTooManyRequests)

	victim.get("/password/forgot")
	victim.post("/password/forgot", url.Values{"email": {"shared@example.org"}}).wantStatus(t, http.StatusOK)
	victim.get("/login")
	victim.login("shared@example.org", goodPassword).wantStatus(t, http.StatusSeeOther)
}

// Item 10: clients without a device cookie share the account's limit, which
// spaces attempts by a growing delay instead of blocking for 15 minutes.
func TestUntrustedClientsAreSlowedDown(t *testing.T) {
	env := newTestEnv(t)
	env.register("slowed@example.org")
	attacker := env.browser()
	for range 5 {
		attacker.login("slowed@example.org", "wrong guess").wantStatus(t, http.StatusUnprocessableEntity)
	}
	delay := time.Second
	for range 12 {
		attacker.login("slowed@example.org", goodPassword).
			wantStatus(t, http.StatusTooManyRequests).wantContains(t, tooManyAttempts(delay))
		env.clock.Advance(delay - time.Millisecond)
		attacker.login("slowed@example.org", "wrong guess").wantStatus(t, http.StatusTooManyRequests)
		env.clock.Advance(time.Millisecond)
		attacker.login("slowed@example.org", "wrong guess").wantStatus(t, http.StatusUnprocessableEntity)
		delay = min(2*delay, 15*time.Minute)
	}
	if delay != 15*time.Minute {
		t.Fatalf("delay %v, want capped at 15 minutes", delay)
	}
	// The owner, on a new computer, waits out the current delay only.
	env.clock.Advance(delay)
	if p := env.browser().login("slowed@example.org", goodPassword); p.status != http.StatusSeeOther {
		t.Fatalf("after the delay: %d", p.status)
	}
	// An hour without attempts and the account starts afresh.
	env.clock.Advance(time.Hour)
	for range 5 {
		attacker.login("slowed@example.org", "wrong guess").wantStatus(t, http.StatusUnprocessableEntity)
	}
}

// Item 10: a device cookie changed in any way is ignored, and one for
// another account gives no exemption.
func TestDeviceCookieForgedOrForAnotherAccount(t *testing.T) {
	env := newTestEnv(t)
	victim := env.knownBrowser("victim@example.org")
	attacker := env.knownBrowser("attacker@example.org")
	own := attacker.cookie(deviceCookieName)
	if victim.cookie(deviceCookieName) == nil || own == nil {
		t.Fatal("no device cookie after signing in")
	}
	genuine := victim.cookie(deviceCookieName).Value
	for range 5 {
		env.browser().login("victim@example.org", "wrong guess").wantStatus(t, http.StatusUnprocessableEntity)
	}
	// The attacker's own device cookie, of another account.
	attacker.login("victim@example.org", goodPassword).wantStatus(t, http.StatusTooManyRequests)
	// The victim's, altered: each part and the signature.
	value, sig, _ := strings.Cut(genuine, ".")
	parts := strings.Split(value, "|")
	attackerID := strings.Split(own.Value, "|")[0]
	victimID := parts[0]
	forged := []string{
		attackerID + "|" + strings.Join(parts[1:], "|") + "." + sig, // the victim's cookie for the attacker's account
		strings.Replace(own.Value, attackerID+"|", victimID+"|", 1), // the attacker's cookie for the victim's account
		value + "." + flip(sig),
		victimID + "|" + flip(parts[1]) + "|" + parts[2] + "." + sig,
		strings.Join(parts[:2], "|") + "|" + flip(parts[2]) + "." + sig,
		value,
		"",
		strings.Repeat("A", 5000),
	}
	for i, v := range forged {
		b := env.browser()
		b.setCookie(deviceCookieName, v)
		if p := b.login("victim@example.org", goodPassword); p.status != http.StatusTooManyRequests {
			t.Fatalf("forged cookie %d (%.60q): %d, want 429", i, v, p.status)
		}
	}
	// The real one still works, and the attacker's works for its own account.
	victim.login("victim@example.org", goodPassword).wantStatus(t, http.StatusSeeOther)
	attacker.login("attacker@example.org", goodPassword).wantStatus(t, http.StatusSeeOther)
}

// flip changes the first character of s. (Not the last: the last
// character of unpadded base64 carries spare bits, some of which decoding
// ignores.)
func flip(s string) string {
	if s == "" {
		return "x"
	}
	c := "A"
	if s[0] == 'A' {
		c = "B"
	}
	return c + s[1:]
}

// Item 10: a device has its own budget of failures; past it, it is one more
// untrusted client until its failures age out.
func TestDeviceOwnBudget(t *testing.T) {
	env := newTestEnv(t)
	victim := env.knownBrowser("budget@example.org")
	for range 10 {
		victim.login("budget@example.org", "wrong guess").wantStatus(t, http.StatusUnprocessableEntity)
	}
	// The account-wide budget is untouched by the device's failures.
	other := env.browser()
	for range 5 {
		other.login("budget@example.org", "wrong guess").wantStatus(t, http.StatusUnprocessableEntity)
	}
	// The device, past its own budget, shares the (now spent) account limit.
	victim.login("budget@example.org", "wrong guess").wantStatus(t, http.StatusTooManyRequests)
	victim.login("budget@example.org", goodPassword).wantStatus(t, http.StatusTooManyRequests)
	env.clock.Advance(15*time.Minute + time.Second)
	victim.login("budget@example.org", goodPassword).wantStatus(t, http.StatusSeeOther)
}

// Item 10: others' reset requests do not block the owner's browser.
func TestResetRequestsWithDeviceCookie(t *testing.T) {
	env := newTestEnv(t)
	victim := env.knownBrowser("forgot@example.org")
	for range 3 {
		b := env.browser()
		b.get("/password/forgot")
		b.post("/password/forgot", url.Values{"email": {"forgot@example.org"}}).wantStatus(t, http.StatusOK)
	}
	other := env.browser()
	other.get("/password/forgot")
	other.post("/password/forgot", url.Values{"email": {"forgot@example.org"}}).wantStatus(t, http.StatusTooManyRequests)
	victim.get("/password/forgot")
	victim.post("/password/forgot", url.Values{"email": {"forgot@example.org"}}).wantStatus(t, http.StatusOK)
	// A device cookie of another account does not help.
	stranger := env.knownBrowser("stranger@example.org")
	stranger.get("/password/forgot")
	stranger.post("/password/forgot", url.Values{"email": {"forgot@example.org"}}).wantStatus(t, http.StatusTooManyRequests)
}

// Item 11: every address of an IPv6 /64 shares one budget; IPv4-mapped
// addresses count as their IPv4 address.
func TestPerIPLimitsGroupIPv6By64(t *testing.T) {
	env := newTestEnv(t)
	h := env.app.Handler()
	// A form and its cookies, fetched once; the posts come from other addresses.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	m := csrfRe.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatal("no CSRF token on /login")
	}
	token, cookies := html.UnescapeString(m[1]), rec.Result().Cookies()
	post := func(remote, path string, form url.Values) int {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(withCSRF(form, token).Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = remote
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	login := func(remote string, i int) int {
		return post(remote, "/login", url.Values{"email": {"n" + strings.Repeat("x", i) + "@example.org"}, "password": {"wrong guess"}})
	}
	for i := range 30 {
		if s := login(fmt.Sprintf("[2001:db8:1:2::%x]:4000", i+1), i); s != http.StatusUnprocessableEntity {
			t.Fatalf("login %d: %d", i, s)
		}
	}
	if s := login("[2001:db8:1:2:ffff:1:2:3]:4000", 31); s != http.StatusTooManyRequests {
		t.Fatalf("a 31st address of the same /64: %d, want 429", s)
	}
	if s := login("[2001:db8:1:3::1]:4000", 32); s != http.StatusUnprocessableEntity {
		t.Fatalf("the next /64: %d, want 422", s)
	}
	for i := range 30 {
		login("192.0.2.7:4000", i)
	}
	if s := login("[::ffff:192.0.2.7]:4000", 33); s != http.StatusTooManyRequests {
		t.Fatalf("IPv4-mapped address: %d, want 429 like its IPv4 address", s)
	}
	// Reset requests share the same grouping.
	for i := range 10 {
		if s := post(fmt.Sprintf("[2001:db8:9:9::%x]:1", i+1), "/password/forgot", url.Values{"email": {"r" + strings.Repeat("x", i) + "@example.org"}}); s != http.StatusOK {
			t.Fatalf("reset %d: %d", i, s)
		}
	}
	if s := post("[2001:db8:9:9::ff]:1", "/password/forgot", url.Values{"email": {"other@example.org"}}); s != http.StatusTooManyRequests {
		t.Fatalf("an 11th reset from the same /64: %d, want 429", s)
	}
}

// One account answers to every spelling of its address that folds alike
// ("jessica", "jeßica", "JEẞICA"), so every per-address limit must count
// them as one: otherwise each "ss" written "ß" is a fresh budget of
// guesses, and of reset mails to its owner.
func TestAddressLimitsCountEverySpellingOfAnAddress(t *testing.T) {
	env := newTestEnv(t)
	env.register("jessica@example.org")
	spellings := []string{"jessica@example.org", "jeßica@example.org", "JEẞICA@example.org", "JESSICA@example.org", "jeßica@EXAMPLE.org"}
	for i := range 5 {
		// A fresh browser each time: a limit per browser would not do.
		env.browser().login(spellings[i], "wrong guess").wantStatus(t, http.StatusUnprocessableEntity)
	}
	for _, s := range spellings {
		env.browser().login(s, "wrong guess").wantStatus(t, http.StatusTooManyRequests)
	}

	for _, s := range spellings[:3] {
		b := env.browser()
		b.get("/password/forgot")
		b.post("/password/forgot", url.Values{"email": {s}}).wantStatus(t, http.StatusOK)
	}
	for _, s := range spellings {
		b := env.browser()
		b.get("/password/forgot")
		b.post("/password/forgot", url.Values{"email": {s}}).wantStatus(t, http.StatusTooManyRequests)
	}
}

// An empty field is named, and is no attempt: nothing is checked, and no
// limit counts it. Before, an empty form was told "Invalid email or
// password", and counted as a failed sign-in of the network.
func TestSignInWithAnEmptyField(t *testing.T) {
	env := newTestEnv(t)
	env.app.Limits.LoginIP.Limit = 1
	b := env.browser()
	for _, c := range []struct{ email, password, want string }{
		{"", "", "Enter your email and password."},
		{"", goodPassword, "Enter your email."},
		{"reader@example.com", "", "Enter your password."},
		{"  ", "", "Enter your email and password."},
	} {
		p := b.login(c.email, c.password).wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, c.want)
		if strings.Contains(p.body, "Invalid email or password") {
			t.Errorf("%q, %q: told the credentials are wrong", c.email, c.password)
		}
	}
	// The network's one failed attempt is still there to make.
	b.login("nobody@example.com", "wrong password here").wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, "Invalid email or password")
	b.login("nobody@example.com", "wrong password here").wantStatus(t, http.StatusTooManyRequests)
}

// Every password checked counts against the client's network, the right
// one too: each costs a slow hash, so one account's own password sent
// again and again must not keep the CPUs busy for everyone else.
func TestRightPasswordsCountPerNetwork(t *testing.T) {
	env := newTestEnv(t)
	b := env.knownBrowser("ann@example.com") // one sign-in already
	for i := 2; i <= 60; i++ {
		if p := b.login("ann@example.com", goodPassword); p.status != http.StatusSeeOther {
			t.Fatalf("sign-in %d: %d, want 303", i, p.status)
		}
		b.get("/account") // the session, and its form token, are new
		b.post("/logout", nil).wantStatus(t, http.StatusSeeOther)
		b.get("/login")
	}
	p := b.login("ann@example.com", goodPassword)
	if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many") {
		t.Fatalf("sign-in 61 within a minute: %d, want 429 with a wait\n%.300s", p.status, p.body)
	}
	// A minute later the network may sign in again.
	env.clock.Advance(time.Minute + time.Second)
	if p := b.login("ann@example.com", goodPassword); p.status != http.StatusSeeOther {
		t.Errorf("a minute later: %d, want 303", p.status)
	}
}

var loginInputRe = regexp.MustCompile(`<input id="(email|password)"[^>]*>`)

// loginInputs returns the sign-in form's email and password inputs.
func loginInputs(t *testing.T, body string) map[string]string {
	t.Helper()
	inputs := map[string]string{}
	for _, m := range loginInputRe.FindAllStringSubmatch(body, -1) {
		inputs[m[1]] = m[0]
	}
	if len(inputs) != 2 {
		t.Fatalf("the sign-in form's inputs: %v", inputs)
	}
	return inputs
}

// After a refused sign-in, the field to fix takes focus (it stayed on the
// page, so a keyboard user started again from the top): the password
// after a wrong one or too many attempts, the first field left empty,
// each marked invalid and described by the error.
func TestSignInFailureFocusesTheFieldToFix(t *testing.T) {
	env := newTestEnv(t)
	env.register("ann@example.org")
	env.app.Limits.LoginIP.Limit = 2
	b := env.browser()
	p := b.get("/login").wantStatus(t, http.StatusOK)
	for _, in := range loginInputs(t, p.body) {
		if strings.Contains(in, "autofocus") || strings.Contains(in, "aria-invalid") {
			t.Errorf("before any attempt: %s", in)
		}
	}
	long := strings.Repeat("a", 300) + "@example.org"
	for _, tc := range []struct {
		name, email, password string
		status                int
		focus                 string // the field focused
		invalid               string // the fields marked invalid
	}{
		{"both empty", "", "", 422, "email", "email password"},
		{"email empty", "", goodPassword, 422, "email", "email"},
		{"password empty", "ann@example.org", "", 422, "password", "password"},
		{"wrong password", "ann@example.org", "not the password", 422, "password", "password"},
		{"an address too long to show", long, "not the password", 422, "email", "email password"},
		{"too many attempts", "ann@example.org", goodPassword, 429, "password", "password"},
	} {
		p := b.login(tc.email, tc.password).wantStatus(t, tc.status)
		p.wantContains(t, `role="alert" id="login-error"`)
		var focused, invalid []string
		for _, id := range []string{"email", "password"} {
			in := loginInputs(t, p.body)[id]
			if strings.Contains(in, " autofocus") {
				focused = append(focused, id)
			}
			marked := strings.Contains(in, `aria-invalid="true"`)
			described := strings.Contains(in, `aria-describedby="login-error"`)
			if marked != described {
				t.Errorf("%s: %s marked invalid %v, described by the error %v", tc.name, id, marked, described)
			}
			if marked {
				invalid = append(invalid, id)
			}
		}
		if strings.Join(focused, " ") != tc.focus || strings.Join(invalid, " ") != tc.invalid {
			t.Errorf("%s: focus on %v, invalid %v; want focus on %s, invalid %s", tc.name, focused, invalid, tc.focus, tc.invalid)
		}
	}
}
