package handlers

import (
	"html"
	"net/http"
	"net/url"
	"testing"

	"shelf/store/accounts"
)

// Addresses that look like another one, or hide characters, are refused
// everywhere an address is entered: submit, in place, create-admin
// (ValidateEmail), and sign-in normalisation.
func TestLookalikeAddresses(t *testing.T) {
	cases := []struct {
		name, in string
		want     string           // the normalised address, or "" when refused
		msg      accounts.Problem // the problem when refused
	}{
		{"plain", "ann@example.org", "ann@example.org", ""},
		{"fullwidth letters fold to ASCII", "ａｎｎ@ｅｘａｍｐｌｅ.ｏｒｇ", "ann@example.org", ""},
		{"fullwidth at sign", "ann＠example.org", "ann@example.org", ""},
		{"all-Cyrillic address", "иван@пример.рф", "иван@пример.рф", ""},
		{"all-Japanese address (Han, Hiragana, Katakana)", "山田たろう@例え.テスト", "山田たろう@例え.テスト", ""},
		{"IDNA top-level label", "ann@example.xn--p1ai", "ann@example.xn--p1ai", ""},
		{"digits, dots, plus and hyphen in a Latin address", "ann.b-c+1@mail-2.example.org", "ann.b-c+1@mail-2.example.org", ""},
		// The whole address is in one script (issue 7 follow-up): a local
		// part wholly in another script than its domain looks like a Latin
		// name ("рое" is Cyrillic, "ΑΒΕ" Greek).
		{"Cyrillic local part, Latin domain", "рое@example.com", "", accounts.EmailLookalike},
		{"Greek local part, Latin domain", "ΑΒΕ@example.com", "", accounts.EmailLookalike},
		{"Cyrillic local part before (former rule)", "иван@example.org", "", accounts.EmailLookalike},
		{"Japanese local part, Latin domain", "山田たろう@example.jp", "", accounts.EmailLookalike},
		// Latin letters made to look like others.
		{"dotless i", "adm\u0131n@example.com", "", accounts.EmailLookalike},
		{"dotted capital I", "\u0130van@example.com", "", accounts.EmailLookalike},
		{"small capital A (Phonetic Extensions)", "\u1d00dmin@example.com", "", accounts.EmailLookalike},
		{"Latin alpha (IPA Extensions)", "\u0251dmin@example.com", "", accounts.EmailLookalike},
		{"Phonetic Extensions Supplement", "adm\u1d96n@example.com", "", accounts.EmailLookalike},
		// Found by the second outside attack: Latin Extended-B letters
		// shaped like others, a combining mark that changes nothing
		// visible, and dashes that are not the hyphen.
		{"Latin letter dental click (looks like l)", "a\u01c0ice@example.com", "", accounts.EmailLookalike},
		{"Latin capital iota (looks like l)", "a\u0196ice@example.com", "", accounts.EmailLookalike},
		{"dotless j", "\u0237ohn@example.com", "", accounts.EmailLookalike},
		{"i with a combining dot above", "ali\u0307ce@example.com", "", accounts.EmailLookalike},
		{"hyphen U+2010", "john\u2010doe@example.com", "", accounts.EmailLookalike},
		{"minus sign", "john\u2212doe@example.com", "", accounts.EmailLookalike},
		{"composed accents stay welcome", "ren\u00e9e@example.com", "ren\u00e9e@example.com", ""},
		{"decomposed accents compose and stay welcome", "rene\u0301e@example.com", "ren\u00e9e@example.com", ""},
		{"Devanagari vowel signs (marks) stay welcome", "\u0930\u093e\u092e@\u0909\u0926\u093e\u0939\u0930\u0923.\u092d\u093e\u0930\u0924", "\u0930\u093e\u092e@\u0909\u0926\u093e\u0939\u0930\u0923.\u092d\u093e\u0930\u0924", ""},
		// Domains that resolvers read as numbers (inet_aton: hex, octal).
		{"hexadecimal domain", "admin@0x7f.0x1", "", accounts.EmailIPDomain},
		{"octal-looking domain", "admin@0177.01", "", accounts.EmailIPDomain},
		{"top-level label with a digit", "admin@example.c0m", "", accounts.EmailIPDomain},
		{"top-level label with a hyphen", "admin@example.co-m", "", accounts.EmailIPDomain},
		{"zero-width space", "an\u200bn@example.org", "", accounts.EmailLookalike},
		{"zero-width joiner in domain", "ann@exa\u200dmple.org", "", accounts.EmailLookalike},
		{"soft hyphen", "an\u00adn@example.org", "", accounts.EmailLookalike},
		{"byte-order mark", "\ufeffann@example.org", "", accounts.EmailLookalike},
		{"right-to-left override", "ann\u202e@example.org", "", accounts.EmailLookalike},
		{"variation selector", "ann\ufe0f@example.org", "", accounts.EmailLookalike},
		{"Hangul filler", "ann\u3164@example.org", "", accounts.EmailLookalike},
		{"Cyrillic a in a Latin local part", "\u0430nn@example.org", "", accounts.EmailLookalike},
		{"Greek omicron in a Latin domain", "ann@examp\u03bfle.org", "", accounts.EmailLookalike},
		{"domain literal", "ann@[127.0.0.1]", "", accounts.EmailIPDomain},
		{"IPv6 domain literal", "ann@[IPv6:::1]", "", accounts.EmailIPDomain},
		{"bare IPv4 domain", "ann@10.0.0.1", "", accounts.EmailIPDomain},
		{"numeric top-level label", "ann@example.123", "", accounts.EmailIPDomain},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := accounts.ValidateEmail(c.in)
			if c.want != "" {
				if err != nil || got != c.want {
					t.Fatalf("ValidateEmail(%q) = %q, %v; want %q", c.in, got, err, c.want)
				}
				return
			}
			if err == nil || err != c.msg {
				t.Fatalf("ValidateEmail(%q) = %q, %v; want the error %q", c.in, got, err, c.msg)
			}
		})
	}

	// The same rules in place and on submit.
	env := newTestEnv(t)
	b := env.browser()
	b.get("/register")
	for _, c := range cases {
		if c.want != "" {
			continue
		}
		b.htmx("/register/validate/email", url.Values{"email": {c.in}}).wantStatus(t, http.StatusOK).
			wantContains(t, `aria-invalid="true"`, html.EscapeString(c.msg.Error()))
		b.post("/register", url.Values{"email": {c.in}, "password": {goodPassword}, "password_confirm": {goodPassword}}).
			wantStatus(t, http.StatusUnprocessableEntity).wantContains(t, html.EscapeString(c.msg.Error()))
	}
	var users int
	env.db.Read.QueryRow(`SELECT count(*) FROM users`).Scan(&users)
	if users != 0 {
		t.Fatalf("%d lookalike accounts created", users)
	}

	// Sign-in normalises the same way: the fullwidth spelling of an address
	// reaches its account.
	if got := accounts.NormalizeEmail(" ａｎｎ＠ＥＸＡＭＰＬＥ.org "); got != "ann@example.org" {
		t.Fatalf("NormalizeEmail = %q", got)
	}
}

// Item 19: the sign-up limit answers 429 like every other limit.
func TestRegisterRateLimitIs429(t *testing.T) {
	env := newTestEnv(t)
	env.app.Limits.RegisterIP.Limit = 1
	env.register("first@example.org")
	b := env.browser()
	b.get("/register")
	b.post("/register", url.Values{"email": {"second@example.org"}, "password": {goodPassword}, "password_confirm": {goodPassword}}).
		wantStatus(t, http.StatusTooManyRequests).wantContains(t, "Too many attempts")
	b.htmx("/register", url.Values{"email": {"second@example.org"}, "password": {goodPassword}, "password_confirm": {goodPassword}}).
		wantStatus(t, http.StatusTooManyRequests).wantContains(t, "Too many attempts")
}

func TestBrowserSummary(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0":                                                                  "Firefox on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0":                   "Edge on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1": "Safari on iPhone",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36":                                "Chrome on Android",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15":                      "Safari on macOS",
		"curl/8.5.0":                "curl",
		"":                          "an unknown browser",
		"<script>alert(1)</script>": "an unknown browser",
	} {
		if got := browserSummary(ua); got != want {
			t.Errorf("browserSummary(%q) = %q, want %q", ua, got, want)
		}
	}
}
