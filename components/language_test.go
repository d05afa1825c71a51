package components

import "testing"

func TestLanguageName(t *testing.T) {
	for code, want := range map[string]string{
		"eng": "English", "en": "English", "en-US": "American English", "en-GB": "British English",
		"fre": "French", "ger": "German", "spa": "Spanish", "jpn": "Japanese", "mul": "Multiple languages",
		"scr": "scr", "xx-zz": "xx-zz", "not a code": "not a code", "<b>": "<b>",
	} {
		if got := languageName(code); got != want {
			t.Errorf("languageName(%q) = %q, want %q", code, got, want)
		}
	}
}
