package addresscheck

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	local64 := strings.Repeat("a", 64)
	label63 := strings.Repeat("b", 63)
	domain253 := strings.Join([]string{label63, label63, label63, strings.Repeat("c", 57), "org"}, ".") // 253 octets
	cases := []struct {
		name, in   string
		want       string  // the normalised address
		kind       Kind    // the verdict
		problem    Problem // when not OK
		suggestion string
	}{
		// Valid addresses, and how they are spelt.
		{"plain", "ann@example.org", "ann@example.org", OK, "", ""},
		{"domain lower-cased, local part kept", "  Ann@EXAMPLE.org ", "Ann@example.org", OK, "", ""},
		{"plus, dots and hyphens", "ann.b-c+tag@mail-2.example.co.uk", "ann.b-c+tag@mail-2.example.co.uk", OK, "", ""},
		{"fullwidth forms fold", "ａｎｎ＠ｅｘａｍｐｌｅ.ｏｒｇ", "ann@example.org", OK, "", ""},
		{"Unicode domain kept Unicode", "ann@bücher.de", "ann@bücher.de", OK, "", ""},
		{"Unicode domain upper case folds", "ann@BÜCHER.de", "ann@bücher.de", OK, "", ""},
		{"ASCII domain of a Unicode one decodes", "ann@xn--bcher-kva.de", "ann@bücher.de", OK, "", ""},
		{"all-Cyrillic address", "иван@пример.рф", "иван@пример.рф", OK, "", ""},
		{"its ASCII spelling decodes to it", "иван@xn--e1afmkfd.xn--p1ai", "иван@пример.рф", OK, "", ""},
		{"Latin name, IDN top-level domain stays ASCII", "ann@example.xn--p1ai", "ann@example.xn--p1ai", OK, "", ""},
		{"all-Japanese address", "山田たろう@例え.テスト", "山田たろう@例え.テスト", OK, "", ""},
		{"local part of 64", local64 + "@example.org", local64 + "@example.org", OK, "", ""},
		{"whole address of 254", local64 + "@" + domain253[64:], local64 + "@" + domain253[64:], OK, "", ""},
		{"eszett stays (non-transitional)", "ann@straße.de", "ann@straße.de", OK, "", ""},

		// Syntax, one message each.
		{"empty", "  ", "", Refused, Empty, ""},
		{"no @", "ann.example.org", "", Refused, NoAt, ""},
		{"no local part", "@example.org", "", Refused, NoLocal, ""},
		{"no domain", "ann@", "", Refused, NoDomain, ""},
		{"two @", "ann@@example.org", "", Refused, TwoAts, ""},
		{"display name", "Ann <ann@example.org>", "", Refused, DisplayName, ""},
		{"angle brackets", "<ann@example.org>", "", Refused, DisplayName, ""},
		{"comment", "ann@example.org (Ann)", "", Refused, DisplayName, ""},
		{"quoted local part", `"ann"@example.org`, "", Refused, Quoted, ""},
		{"quoted local part with a space", `"ann b"@example.org`, "", Refused, Quoted, ""},
		{"IP literal", "ann@[192.0.2.1]", "", Refused, IPDomain, ""},
		{"IPv6 literal", "ann@[IPv6:2001:db8::1]", "", Refused, IPDomain, ""},
		{"bare IP", "ann@192.0.2.1", "", Refused, IPDomain, ""},
		{"whole address too long", strings.Repeat("a", 250) + "@example.org", "", Refused, TooLong, ""},
		{"whole too long once the domain is ASCII", local64 + "@" + strings.Repeat("ü", 60) + "." + label63 + "." + label63 + ".de", "", Refused, TooLong, ""},
		{"local part of 65", local64 + "a@example.org", "", Refused, LocalTooLong, ""},
		{"domain over 253 octets in ASCII, not in Unicode", "a@" + strings.Repeat("ü"+strings.Repeat("a", 55)+".", 4) + "de", "", Refused, DomainTooLong, ""},
		{"space in the local part", "ann b@example.org", "", Refused, LocalChars, ""},
		{"comma in the local part", "ann,b@example.org", "", Refused, LocalChars, ""},
		{"leading dot", ".ann@example.org", "", Refused, LocalDots, ""},
		{"two dots", "ann..b@example.org", "", Refused, LocalDots, ""},
		{"no dot in the domain", "ann@localhost", "", Refused, NoDot, ""},
		{"empty label", "ann@example..org", "", Refused, EmptyLabel, ""},
		{"trailing dot", "ann@example.org.", "", Refused, EmptyLabel, ""},
		{"underscore in the domain", "ann@my_host.example.org", "", Refused, LabelChars, ""},
		{"hyphen starting a label", "ann@-example.org", "", Refused, LabelChars, ""},
		{"hyphen ending a label", "ann@example-.org", "", Refused, LabelChars, ""},
		{"label of 64", "ann@" + label63 + "b.org", "", Refused, LabelTooLong, ""},
		{"invalid punycode", "ann@xn--a.org", "", Refused, LabelChars, ""},
		{"invalid IDN (leading combining mark)", "ann@\u0301bc.de", "", Refused, Lookalike, ""},
		{"look-alike letter", "\u0430nn@example.org", "", Refused, Lookalike, ""},
		{"zero-width space", "an\u200bn@example.org", "", Refused, Lookalike, ""},

		// Throwaway domains, their parents and the wildcard list.
		{"throwaway", "ann@mailinator.com", "ann@mailinator.com", Refused, Throwaway, ""},
		{"throwaway, upper case", "ann@YOPMAIL.com", "ann@yopmail.com", Refused, Throwaway, ""},
		{"subdomain of a throwaway", "ann@inbox.guerrillamail.com", "ann@inbox.guerrillamail.com", Refused, Throwaway, ""},
		{"deep subdomain of a throwaway", "ann@a.b.sharklasers.com", "ann@a.b.sharklasers.com", Refused, Throwaway, ""},
		{"wildcard-only domain", "ann@freeml.net", "ann@freeml.net", Refused, Throwaway, ""},
		{"subdomain of a wildcard", "ann@someone.freeml.net", "ann@someone.freeml.net", Refused, Throwaway, ""},
		{"a domain ending like a throwaway is not one", "ann@mailinator.com.example.org", "ann@mailinator.com.example.org", OK, "", ""},

		// Privacy relays stay allowed, even where the list names them.
		{"DuckDuckGo", "x7@duck.com", "x7@duck.com", OK, "", ""},
		{"SimpleLogin", "x7@simplelogin.com", "x7@simplelogin.com", OK, "", ""},
		{"SimpleLogin .fr", "x7@simplelogin.fr", "x7@simplelogin.fr", OK, "", ""},
		{"SimpleLogin aleeas", "x7@aleeas.com", "x7@aleeas.com", OK, "", ""},
		{"Firefox Relay", "x7@mozmail.com", "x7@mozmail.com", OK, "", ""},
		{"Apple's private relay", "x7@privaterelay.appleid.com", "x7@privaterelay.appleid.com", OK, "", ""},
		{"addy.io user subdomain (wildcard-listed)", "x7@ann.anonaddy.com", "x7@ann.anonaddy.com", OK, "", ""},

		// Suggestions: never blocking.
		{"substitution", "ann@gmaik.com", "ann@gmaik.com", OK, "", "ann@gmail.com"},
		{"top-level typo", "ann@hotmail.con", "ann@hotmail.con", OK, "", "ann@hotmail.com"},
		{"swap in the top-level domain", "ann@gmail.cmo", "ann@gmail.cmo", OK, "", "ann@gmail.com"},
		{"two edits in a long domain", "ann@hotmaill.con", "ann@hotmaill.con", OK, "", "ann@hotmail.com"},
		{"second-level and top-level corrected apart", "ann@yahooo.co.ukk", "ann@yahooo.co.ukk", OK, "", "ann@yahoo.co.uk"},
		{"long provider", "ann@protonmial.com", "ann@protonmial.com", OK, "", "ann@protonmail.com"},
		{"ISP", "ann@comcast.nte", "ann@comcast.nte", OK, "", "ann@comcast.net"},
		{"local part kept as typed", "Ann.B@gmaik.com", "Ann.B@gmaik.com", OK, "", "Ann.B@gmail.com"},
		{"short domain: two edits are too many", "ann@gnai.com", "ann@gnai.com", OK, "", ""},
		{"unknown domain left alone", "ann@example.com", "ann@example.com", OK, "", ""},

		// The false-positive guards: real providers, never "corrected".
		{"gmail.com itself", "ann@gmail.com", "ann@gmail.com", OK, "", ""},
		{"yahoo.com itself", "ann@yahoo.com", "ann@yahoo.com", OK, "", ""},
		{"mailo.com", "ann@mailo.com", "ann@mailo.com", OK, "", ""},
		{"mailw.com", "ann@mailw.com", "ann@mailw.com", OK, "", ""},
		{"gmx.de", "ann@gmx.de", "ann@gmx.de", OK, "", ""},
		{"web.de", "ann@web.de", "ann@web.de", OK, "", ""},
		{"proton.me", "ann@proton.me", "ann@proton.me", OK, "", ""},
		{"pm.me", "ann@pm.me", "ann@pm.me", OK, "", ""},
		{"hey.com", "ann@hey.com", "ann@hey.com", OK, "", ""},
		{"fastmail.com", "ann@fastmail.com", "ann@fastmail.com", OK, "", ""},
		{"icloud.com", "ann@icloud.com", "ann@icloud.com", OK, "", ""},
		{"yandex.ru", "ann@yandex.ru", "ann@yandex.ru", OK, "", ""},
		{"live.de", "ann@live.de", "ann@live.de", OK, "", ""},

		// Typo-squats that receive mail: confirm first.
		{"gmai.com", "ann@gmai.com", "ann@gmai.com", Confirm, TypoSquatProblem("gmai.com", "gmail.com"), "ann@gmail.com"},
		{"gmil.com", "ann@gmil.com", "ann@gmil.com", Confirm, TypoSquatProblem("gmil.com", "gmail.com"), "ann@gmail.com"},
		{"gmial.com", "ann@gmial.com", "ann@gmial.com", Confirm, TypoSquatProblem("gmial.com", "gmail.com"), "ann@gmail.com"},
		{"hotmial.com", "ann@hotmial.com", "ann@hotmial.com", Confirm, TypoSquatProblem("hotmial.com", "hotmail.com"), "ann@hotmail.com"},
		{"yaho.com", "ann@yaho.com", "ann@yaho.com", Confirm, TypoSquatProblem("yaho.com", "yahoo.com"), "ann@yahoo.com"},
		{"outlok.com", "ann@outlok.com", "ann@outlok.com", Confirm, TypoSquatProblem("outlok.com", "outlook.com"), "ann@outlook.com"},
		{"squat in upper case", "Ann@GMIAL.COM", "Ann@gmial.com", Confirm, TypoSquatProblem("gmial.com", "gmail.com"), "Ann@gmail.com"},
	}
	c := New(Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := c.Check(context.Background(), tc.in)
			if v.Kind != tc.kind || v.Problem != tc.problem || v.Suggestion != tc.suggestion {
				t.Fatalf("Check(%q) = kind %d, %q, suggestion %q; want kind %d, %q, suggestion %q",
					tc.in, v.Kind, v.Problem, v.Suggestion, tc.kind, tc.problem, tc.suggestion)
			}
			if tc.want != "" && v.Address != tc.want {
				t.Fatalf("Check(%q).Address = %q, want %q", tc.in, v.Address, tc.want)
			}
			if v.Suggestion != "" && v.Suggestion == v.Address {
				t.Fatalf("suggestion equals the input %q", v.Address)
			}
		})
	}
	if len(cases) < 60 {
		t.Fatalf("%d cases", len(cases))
	}
}

func TestAllowAndDenyLists(t *testing.T) {
	c := New(Options{
		Allow: []string{"mailinator.com", "ok.example.net", " Spaced.Example "},
		Deny:  []string{"example.net", "DUCK.com", "bücher.de", "gmial.com"},
	})
	for _, tc := range []struct {
		in   string
		kind Kind
	}{
		{"ann@mailinator.com", OK},            // allowed over the shipped list
		{"ann@inbox.mailinator.com", OK},      // and its subdomains
		{"ann@yopmail.com", Refused},          // the rest of the list holds
		{"ann@example.net", Refused},          // denied
		{"ann@deep.sub.example.net", Refused}, // with its subdomains
		{"ann@ok.example.net", OK},            // the more specific entry decides
		{"ann@spaced.example", OK},            // entries are trimmed and lower-cased
		{"ann@duck.com", Refused},             // a local deny wins over the relays
		{"ann@xn--bcher-kva.de", Refused},     // entries and addresses compare in one form
		{"ann@example.org", OK},
		{"ann@gmial.com", Refused}, // a local deny wins over the typo-domain question
		{"ann@gmil.com", Confirm},  // which the others still get
	} {
		if v := c.Check(context.Background(), tc.in); v.Kind != tc.kind || (v.Kind == Refused && v.Problem != Throwaway) {
			t.Errorf("Check(%q) = %d %q, want kind %d", tc.in, v.Kind, v.Problem, tc.kind)
		}
	}
	domains, bad := ParseDomains(" a.example, ,b.example,not a domain,c")
	if strings.Join(domains, "|") != "a.example|b.example" || strings.Join(bad, "|") != "not a domain|c" {
		t.Fatalf("ParseDomains = %q, %q", domains, bad)
	}
}

// A suggestion is never the address typed, for every one-edit typo of
// every candidate and for the real domains themselves.
func TestSuggestionNeverEqualsInput(t *testing.T) {
	c := New(Options{})
	var domains []string
	for d := range realDomains {
		domains = append(domains, d)
	}
	for d := range typoSquats {
		domains = append(domains, d)
	}
	seeds := append([]string(nil), domains...)
	for _, sld := range secondLevel {
		for _, tld := range topLevel {
			domains = append(domains, sld+"."+tld)
		}
	}
	const letters = "aeilmnotc.-" // the letters of the providers' names
	for _, d := range seeds {
		for i := 0; i <= len(d); i++ {
			if i < len(d) {
				domains = append(domains, d[:i]+d[i+1:]) // deletion
				if i+1 < len(d) {
					domains = append(domains, d[:i]+string(d[i+1])+string(d[i])+d[i+2:]) // swap
				}
			}
			for _, l := range letters {
				domains = append(domains, d[:i]+string(l)+d[i:]) // insertion
				if i < len(d) {
					domains = append(domains, d[:i]+string(l)+d[i+1:]) // substitution
				}
			}
		}
	}
	suggested := 0
	for _, d := range domains {
		v := c.Check(context.Background(), "ann@"+d)
		if v.Suggestion == "" {
			continue
		}
		suggested++
		if v.Suggestion == v.Address {
			t.Fatalf("suggested %q for itself", v.Address)
		}
		if v.Kind == Refused && v.Problem != Throwaway {
			t.Fatalf("suggestion %q with a syntax refusal %q", v.Suggestion, v.Problem)
		}
		if s := c.Check(context.Background(), v.Suggestion); s.Suggestion != "" || s.Kind != OK {
			t.Fatalf("the suggestion %q for %q is itself judged %d, suggesting %q", v.Suggestion, d, s.Kind, s.Suggestion)
		}
	}
	for d := range realDomains {
		if v := c.Check(context.Background(), "ann@"+d); v.Suggestion != "" {
			t.Errorf("real domain %s corrected to %s", d, v.Suggestion)
		}
	}
	if suggested < 1000 {
		t.Fatalf("only %d of %d typos got a suggestion", suggested, len(domains))
	}
}

// The shipped data: sorted (the look-up searches it in place), complete,
// and every line found.
func TestDisposableData(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(disposable, "\n"), "\n")
	if len(lines) < 100_000 || len(wildcard) < 300 {
		t.Fatalf("%d domains, %d wildcards", len(lines), len(wildcard))
	}
	for i, l := range lines {
		if i > 0 && lines[i-1] >= l {
			t.Fatalf("line %d: %q after %q: not sorted byte-wise (run refresh.sh)", i, l, lines[i-1])
		}
		if !inSortedLines(disposable, l) {
			t.Fatalf("line %d, %q, not found", i, l)
		}
		if !isASCII(l) || l != strings.ToLower(l) {
			t.Fatalf("line %d, %q, is not lower-case ASCII", i, l)
		}
	}
	for _, s := range []string{"", "0", "zzzzzzzz.zz", "gmail.com", lines[0] + "x", "a" + lines[len(lines)-1]} {
		if inSortedLines(disposable, s) {
			t.Errorf("%q found", s)
		}
	}
}

// Accepted addresses keep their spelling when checked again (one mailbox,
// one spelling), and syntax agrees with Check.
func TestNormalizeIsStable(t *testing.T) {
	c := New(Options{})
	for _, in := range []string{"Ann@EXAMPLE.org", "ann@XN--BCHER-KVA.de", "иван@XN--E1AFMKFD.xn--p1ai", "ann@example.XN--P1AI", "ａｎｎ＠ＧＭＡＩＬ.com"} {
		v := c.Check(context.Background(), in)
		if again := c.Check(context.Background(), v.Address); again.Address != v.Address || again.Kind != v.Kind {
			t.Errorf("%q: %q, then %q", in, v.Address, again.Address)
		}
	}
}

type fakeResolver struct {
	mx    map[string][]*net.MX
	hosts map[string][]string
	err   error // returned for every look-up when set
	block bool  // wait for the context instead
	calls int
}

func (r *fakeResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	r.calls++
	if r.block {
		<-ctx.Done()
		return nil, &net.DNSError{Err: ctx.Err().Error(), Name: name, IsTimeout: true}
	}
	if r.err != nil {
		return nil, r.err
	}
	if mx, ok := r.mx[name]; ok {
		return mx, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (r *fakeResolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	if r.err != nil {
		return nil, r.err
	}
	if h, ok := r.hosts[host]; ok {
		return h, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestMXCheck(t *testing.T) {
	r := &fakeResolver{
		mx:    map[string][]*net.MX{"mail.example": {{Host: "mx.mail.example.", Pref: 10}}, "null.example": {{Host: ".", Pref: 0}}, "xn--bcher-kva.example": {{Host: "mx."}}},
		hosts: map[string][]string{"a-only.example": {"192.0.2.1"}},
	}
	c := New(Options{Resolver: r})
	for _, tc := range []struct {
		in   string
		kind Kind
	}{
		{"ann@mail.example", OK},
		{"ann@a-only.example", OK}, // the implicit MX
		{"ann@nothing.example", Refused},
		{"ann@null.example", Refused},
		{"ann@bücher.example", OK}, // asked in ASCII
	} {
		if v := c.Check(context.Background(), tc.in); v.Kind != tc.kind || (tc.kind == Refused && v.Problem != NoMail) {
			t.Errorf("Check(%q) = %d %q, want %d", tc.in, v.Kind, v.Problem, tc.kind)
		}
	}
	// Throwaways and bad syntax are refused before any DNS.
	r.calls = 0
	c.Check(context.Background(), "ann@mailinator.com")
	c.Check(context.Background(), "ann@")
	if r.calls != 0 {
		t.Fatalf("%d look-ups for addresses refused offline", r.calls)
	}
	// DNS failing or slow never refuses.
	failing := New(Options{Resolver: &fakeResolver{err: &net.DNSError{Err: "server misbehaving", IsTemporary: true}}})
	if v := failing.Check(context.Background(), "ann@example.org"); v.Kind != OK {
		t.Fatalf("DNS failure refused: %q", v.Problem)
	}
	if v := failing.Check(context.Background(), "ann@example.org"); v.Kind != OK {
		t.Fatalf("DNS failure refused: %q", v.Problem)
	}
	slow := New(Options{Resolver: &fakeResolver{block: true}, MXTimeout: 20 * 1e6})
	if v := slow.Check(context.Background(), "ann@example.org"); v.Kind != OK {
		t.Fatalf("DNS timeout refused: %q", v.Problem)
	}
	other := New(Options{Resolver: &fakeResolver{err: errors.New("boom")}})
	if v := other.Check(context.Background(), "ann@example.org"); v.Kind != OK {
		t.Fatalf("DNS error refused: %q", v.Problem)
	}
	// Without a resolver there is no DNS at all (the default).
	if v := New(Options{}).Check(context.Background(), "ann@nothing.example"); v.Kind != OK {
		t.Fatalf("offline check refused: %q", v.Problem)
	}
}

// FuzzCheck: the parser never panics, and whatever it accepts is a sane
// address that keeps its verdict and spelling when checked again.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{"ann@example.org", "Ann <ann@example.org>", `"a"@b.c`, "ann@[1.2.3.4]", "ann@xn--bcher-kva.de",
		"иван@пример.рф", "ann@gmial.com", "a@b", "@", "ann@example..org", "ann@-a.org", "ａｎｎ＠ｅｘａｍｐｌｅ.ｏｒｇ", "ann@x.mailinator.com"} {
		f.Add(s)
	}
	c := New(Options{})
	f.Fuzz(func(t *testing.T, s string) {
		v := c.Check(context.Background(), s)
		if v.Kind == Refused && v.Problem == "" || v.Kind != Refused && v.Kind != Confirm && v.Kind != OK {
			t.Fatalf("%q: kind %d, problem %q", s, v.Kind, v.Problem)
		}
		if v.Suggestion != "" && v.Suggestion == v.Address {
			t.Fatalf("%q: suggestion equals the address", s)
		}
		if v.Kind == Refused && v.Problem != Throwaway {
			return
		}
		at := strings.LastIndexByte(v.Address, '@')
		ascii := DomainASCII(v.Address)
		if at <= 0 || at > MaxLocalLen || ascii == "" || len(ascii) > MaxDomainLen || at+1+len(ascii) > MaxLen || !Plausible(v.Address) {
			t.Fatalf("%q accepted as %q (ASCII domain %q)", s, v.Address, ascii)
		}
		if again := c.Check(context.Background(), v.Address); again.Address != v.Address || again.Kind != v.Kind {
			t.Fatalf("%q: %q (%d), then %q (%d)", s, v.Address, v.Kind, again.Address, again.Kind)
		}
	})
}

var benchAddresses = []string{"ann@example.org", "Ann.Smith+shelf@gmail.com", "ann@gmial.com", "ann@hotmail.con",
	"ann@inbox.mailinator.com", "иван@пример.рф", "ann@bücher.de", "not an address", "x7@duck.com", "ann@mail.example.co.uk"}

func BenchmarkCheck(b *testing.B) {
	c := New(Options{Allow: []string{"allowed.example"}, Deny: []string{"denied.example"}})
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.Check(ctx, benchAddresses[i%len(benchAddresses)])
	}
}

// BenchmarkLoad is what start-up pays for the lists.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		_ = sortedLines(disposableText)
		_ = lineSet(wildcardText)
	}
}
