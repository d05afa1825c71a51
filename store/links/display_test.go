package links

import (
	"strings"
	"testing"
	"unicode"

	"golang.org/x/net/idna"
)

// A host is shown in Unicode only when it reads as one word per label in
// one script; otherwise its punycode is all a visitor sees, so that no
// slash-like symbol or mixture of alphabets passes for another name.
func TestDisplayHost(t *testing.T) {
	tests := map[string]string{
		"example.com":                     "example.com",
		"xn--bcher-kva.de":                "bücher.de",
		"xn--pple-43d.com":                "xn--pple-43d.com",              // аpple: a Cyrillic а among Latin letters
		"xn--e1afmkfd.com":                "пример.com",                    // all Cyrillic: shown, with its punycode beside it
		"shelf.xn--testx-g33b.evil.com":   "shelf.xn--testx-g33b.evil.com", // shelf.test⁄x: a fraction slash
		"shelf.xn--testx-5d6b.evil.com":   "shelf.xn--testx-5d6b.evil.com", // a division slash
		"xn--exmple-4nf.com":              "xn--exmple-4nf.com",            // Latin with one Cyrillic letter
		"xn--wgv71a119e.jp":               "日本語.jp",
		"xn--eckwd4c7cu47r2wf.jp":         "ドメイン名例.jp", // Katakana and Han
		"xn--hxajbheg2az3al.xn--jxalpdlp": "παράδειγμα.δοκιμή",
		"93.184.215.14":                   "93.184.215.14",
		"xn--invalid-":                    "xn--invalid-",
	}
	for in, want := range tests {
		if got := DisplayHost(in); got != want {
			t.Errorf("DisplayHost(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkDisplayHost shows hosts as the interstitial does: mostly ASCII
// names, some international ones, some lookalikes.
//
//	go test -run '^$' -bench DisplayHost -count 5 ./store/links
func BenchmarkDisplayHost(b *testing.B) {
	for _, c := range []struct{ name, host string }{
		{"ascii", "www.example.com"},
		{"ascii long", "reviews.books.some-publisher.example.co.uk"},
		{"idn latin", "xn--bcher-kva.de"},
		{"idn cyrillic", "xn--e1afmkfd.com"},
		{"idn japanese", "xn--eckwd4c7cu47r2wf.jp"},
		{"idn mixed", "xn--pple-43d.com"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				DisplayHost(c.host)
			}
		})
	}
}

// DisplayHosts gives the host as IDNA decodes it, shown or not: the
// interstitial warns of a lookalike in its own letters.
func TestDisplayHosts(t *testing.T) {
	tests := []struct{ in, uni, shown string }{
		{"example.com", "example.com", "example.com"},
		{"xn--bcher-kva.de", "bücher.de", "bücher.de"},
		{"xn--pple-43d.com", "аpple.com", "xn--pple-43d.com"},
		{"shelf.xn--testx-g33b.evil.com", "shelf.test⁄x.evil.com", "shelf.xn--testx-g33b.evil.com"},
		{"xn--invalid-", "xn--invalid-", "xn--invalid-"},
		{"Example.COM", "example.com", "example.com"},
	}
	for _, c := range tests {
		if uni, shown := DisplayHosts(c.in); uni != c.uni || shown != c.shown {
			t.Errorf("DisplayHosts(%q) = %q, %q; want %q, %q", c.in, uni, shown, c.uni, c.shown)
		}
	}
}

// DisplayHosts decides as the plain way does, which decodes every host
// and looks each letter's script up in every table: the short cuts change
// the cost, not the answer.
func TestDisplayHostsAsThePlainWay(t *testing.T) {
	hosts := []string{"", ".", "a..b", "example.com.", "ex_ample.com", "-a.com", "a-.com", "ab--cd.com", "XN--BCHER-KVA.de",
		"xn--bcher-kva.de", "xn--e1afmkfd.com", "xn--wgv71a119e.jp", "xn--hxajbheg2az3al.xn--jxalpdlp", "93.184.215.14",
		"[::1]", "a b.com", "a\x7f.com", "ﬁle.com", "straße.de", "ΣΑΣ.gr", "例え.テスト", "xn--", "xn--a", "xn--zca.com"}
	for _, h := range hosts {
		checkAsThePlainWay(t, h)
	}
}

func FuzzDisplayHosts(f *testing.F) {
	for _, h := range []string{"example.com", "xn--bcher-kva.de", "Ab.c", "a_b", "xn--pple-43d.com"} {
		f.Add(h)
	}
	f.Fuzz(checkAsThePlainWay)
}

func checkAsThePlainWay(t *testing.T, host string) {
	uni, shown := DisplayHosts(host)
	wantUni, err := idna.Lookup.ToUnicode(host)
	if err != nil {
		wantUni = host
	}
	if want := plainDisplayHost(host); uni != wantUni || shown != want {
		t.Errorf("DisplayHosts(%q) = %q, %q; the plain way gives %q, %q", host, uni, shown, wantUni, want)
	}
}

// plainDisplayHost is DisplayHost done the plain way.
func plainDisplayHost(host string) string {
	uni, err := idna.Lookup.ToUnicode(host)
	if err != nil || uni == host {
		return host
	}
	for _, label := range strings.Split(uni, ".") {
		scripts := map[string]bool{}
		for _, r := range label {
			switch {
			case r == '-' || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
				continue
			case !unicode.IsLetter(r) && r != 'ー':
				return host
			}
			if s := plainScriptOf(r); s != "" && s != "Common" && s != "Inherited" {
				scripts[s] = true
			}
		}
		for s := range scripts {
			if len(scripts) > 1 && !cjk(s) {
				return host
			}
		}
	}
	return uni
}

func plainScriptOf(r rune) string {
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// Every code point's script is the one unicode.Scripts gives it.
func TestScriptOf(t *testing.T) {
	step := rune(1)
	if testing.Short() {
		step = 7
	}
	for r := rune(0); r <= unicode.MaxRune; r += step {
		if got, want := scriptOf(r), plainScriptOf(r); got != want {
			t.Fatalf("scriptOf(%U) = %q, want %q", r, got, want)
		}
	}
}
