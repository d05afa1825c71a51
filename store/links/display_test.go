package links

import "testing"

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
