package catalog

import (
	"strings"
	"testing"
	"time"
)

func TestParseISBN(t *testing.T) {
	for _, c := range []struct {
		in, want string
		bad      string // part of the message, when invalid
	}{
		{in: "", want: ""},
		{in: "   ", want: ""},
		{in: "9780306406157", want: "9780306406157"},
		{in: "978-0-306-40615-7", want: "9780306406157"},
		{in: " 978 0 306 40615 7 ", want: "9780306406157"},
		{in: "9790000000001", want: "9790000000001"},
		{in: "9780306406158", bad: "check digit"},
		{in: "9770306406157", bad: "978 or 979"},
		{in: "0306406152", want: "9780306406157"},
		{in: "0-306-40615-2", want: "9780306406157"},
		{in: "0306406153", bad: "check digit"},
		{in: "080442957X", want: "9780804429573"},
		{in: "080442957x", want: "9780804429573"},
		{in: "0-8044-2957-X", want: "9780804429573"},
		{in: "0804429570", bad: "check digit"},
		{in: "X804429570", bad: "X can only"},
		{in: "978030640615X", bad: "X can only"},
		{in: "030640615", bad: "this has 9"},
		{in: "97803064061570", bad: "this has 14"},
		{in: "978–0306406157", bad: "only digits"}, // an en dash
		{in: "ISBN 9780306406157", bad: "only digits"},
		{in: "978\x000306406157", bad: "only digits"},
		{in: "\xff\xfe", bad: "only digits"},
		{in: strings.Repeat("9", 10000), bad: "too long"},
	} {
		got, msg := ParseISBN(c.in)
		if c.bad != "" {
			if !strings.Contains(msg, c.bad) || got != "" {
				t.Errorf("ParseISBN(%q) = %q, %q; want a message with %q", c.in, got, msg, c.bad)
			}
			continue
		}
		if got != c.want || msg != "" {
			t.Errorf("ParseISBN(%q) = %q, %q; want %q", c.in, got, msg, c.want)
		}
	}
}

func TestCheckBookField(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		field, in, want string
		bad             string
	}{
		{field: FieldTitle, in: "  Dune ", want: "Dune"},
		{field: FieldTitle, in: "", bad: "Enter a title"},
		{field: FieldTitle, in: " \u00a0 ", bad: "Enter a title"},
		{field: FieldTitle, in: "Cafe\u0301", want: "Café"}, // NFC
		{field: FieldTitle, in: "Du\x00ne", bad: "control character"},
		{field: FieldTitle, in: "Du\tne", bad: "control character"},
		{field: FieldTitle, in: "Du\nne", bad: "control character"},
		{field: FieldTitle, in: "Du\xffne", bad: "not text"},
		{field: FieldTitle, in: strings.Repeat("a", MaxTitleLen), want: strings.Repeat("a", MaxTitleLen)},
		{field: FieldTitle, in: strings.Repeat("a", MaxTitleLen+1), bad: "too long"},
		{field: FieldTitle, in: strings.Repeat("é", MaxTitleLen+1), bad: "too long"},
		{field: FieldTitle, in: strings.Repeat("a", 10<<20), bad: "too long"},
		{field: FieldAuthors, in: "Frank Herbert", want: "Frank Herbert"},
		{field: FieldAuthors, in: "", bad: "Enter an author"},
		{field: FieldAuthors, in: strings.Repeat("a", MaxAuthorsLen+1), bad: "too long"},
		{field: FieldYear, in: "", want: ""},
		{field: FieldYear, in: " 1965 ", want: "1965"},
		{field: FieldYear, in: "-3000", want: "-3000"},
		{field: FieldYear, in: "-3001", bad: "from -3000 to 2027"},
		{field: FieldYear, in: "2027", want: "2027"},
		{field: FieldYear, in: "2028", bad: "from -3000 to 2027"},
		{field: FieldYear, in: "0", bad: "no year 0"},
		{field: FieldYear, in: "1965.5", bad: "whole number"},
		{field: FieldYear, in: "nineteen", bad: "whole number"},
		{field: FieldYear, in: "99999999999999999999", bad: "from -3000"},
		{field: FieldYear, in: "1e3", bad: "whole number"},
		{field: FieldLanguage, in: "", want: ""},
		{field: FieldLanguage, in: "en", want: "en"},
		{field: FieldLanguage, in: "eng", want: "eng"},
		{field: FieldLanguage, in: "en-US", want: "en-US"},
		{field: FieldLanguage, in: "English", bad: "short language code"},
		{field: FieldLanguage, in: "e", bad: "short language code"},
		{field: FieldLanguage, in: "en\x00", bad: "short language code"},
		{field: FieldISBN, in: "0306406152", want: "9780306406157"},
		{field: "colour", in: "red", bad: "unknown field"},
	} {
		got, msg := checkField(c.field, c.in, now)
		if c.bad != "" {
			if !strings.Contains(msg, c.bad) {
				t.Errorf("%s %.40q: message %q, want one with %q", c.field, c.in, msg, c.bad)
			}
			continue
		}
		if got != c.want || msg != "" {
			t.Errorf("%s %.40q = %.40q, %q; want %.40q", c.field, c.in, got, msg, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	b, fe := BookInput{Title: " Dune ", Authors: "Frank Herbert", ISBN: "0-441-17271-7", Year: "1965", Language: "eng"}.Validate()
	want := Book{Title: "Dune", Authors: "Frank Herbert", ISBN13: "9780441172719", Year: 1965, Language: "eng"}
	if fe != nil || b != want {
		t.Fatalf("Validate = %+v, %v; want %+v", b, fe, want)
	}
	_, fe = BookInput{ISBN: "123", Year: "x", Language: "?"}.Validate()
	for _, f := range BookFields {
		if fe[f] == "" {
			t.Errorf("no message for %s in %v", f, fe)
		}
		if fe[f] != CheckBookField(f, map[string]string{FieldISBN: "123", FieldYear: "x", FieldLanguage: "?"}[f]) {
			t.Errorf("%s: Validate says %q, CheckBookField %q", f, fe[f], CheckBookField(f, ""))
		}
	}
}
