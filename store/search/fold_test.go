package search

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"unicode"
)

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"García Márquez", "garcia marquez"},
		{"  J.K. Rowling  ", "j k rowling"},
		{"HARRY-potter's", "harry potter s"},
		{"Ærø Øster", "ærø øster"},           // no decomposition: kept, as unicode61 does
		{"Straße", "straße"},                 // ß has no lower-case pair to fold into
		{"Łódź", "łodz"},                     // ł is a letter of its own, ó loses its accent
		{"e\u0301clair", "eclair"},           // a combining accent is dropped
		{"İstanbul ΣΟΦΊΑ", "istanbul σοφία"}, // other scripts keep their accents
		{"Ёлка", "ёлка"},
		{"naïve café", "naive cafe"},
		{"Việt Nam", "viet nam"},
		{"x² 1984", "x² 1984"},
		{"村上春樹", "村上春樹"},
		{"<script>alert(1)</script>", "script alert 1 script"},
		{"bad\xffbytes", "bad bytes"},
		{"", ""},
		{"!!!", ""},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokenizeOffsets(t *testing.T) {
	s := "Gabriel García-Márquez, Ñ"
	var got []string
	tokenize(s, func(start, end int, folded []byte) {
		got = append(got, s[start:end]+"="+string(folded))
	})
	want := []string{"Gabriel=gabriel", "García=garcia", "Márquez=marquez", "Ñ=n"}
	if !slices.Equal(got, want) {
		t.Errorf("tokens %q, want %q", got, want)
	}
}

// TestFoldMatchesFTS checks Fold against SQLite's own tokenizer, rune by
// rune, over Latin, Greek, Cyrillic, punctuation, kana, CJK, Hangul and
// full-width forms. (SQLite's tables are Unicode 6.1: characters added since,
// such as a few Indic signs, are token characters there and separators here,
// which only affects matching of those characters.)
func TestFoldMatchesFTS(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	ranges := [][2]rune{{0x20, 0x370}, {0x370, 0x37F}, {0x380, 0x528},
		{0x1E00, 0x2000}, {0x2000, 0x20BA}, {0x3040, 0x3100}, {0x4E00, 0x5000}, {0xAC00, 0xAD00}, {0xFF00, 0xFFEF}}
	var runes []rune
	for _, rg := range ranges {
		for r := rg[0]; r < rg[1]; r++ {
			if unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs) {
				runes = append(runes, r)
			}
		}
	}
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE VIRTUAL TABLE temp.foldcheck USING fts5(x, tokenize='unicode61 remove_diacritics 2');
			CREATE VIRTUAL TABLE temp.foldcheck_v USING fts5vocab(temp, foldcheck, 'instance')`); err != nil {
			return err
		}
		for _, r := range runes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO temp.foldcheck (rowid, x) VALUES ($1, $2)`, r, "q"+string(r)+"z"); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, `SELECT doc, group_concat(term, ' ') FROM (SELECT doc, term FROM temp.foldcheck_v ORDER BY doc, offset) GROUP BY doc`)
		if err != nil {
			return err
		}
		defer rows.Close()
		bad := 0
		for rows.Next() {
			var r rune
			var fts string
			if err := rows.Scan(&r, &fts); err != nil {
				return err
			}
			if got := Fold("q" + string(r) + "z"); got != fts {
				bad++
				if bad <= 20 {
					t.Errorf("%U %q: Fold gives %q, SQLite %q", r, string(r), got, fts)
				}
			}
		}
		if bad > 20 {
			t.Errorf("%d runes differ", bad)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzTokenSpans checks that nextSpan finds the tokens next does, where
// they start and end, on any text.
func FuzzTokenSpans(f *testing.F) {
	for _, s := range []string{
		"", "  García-Márquez!", "e\u0301t\u0301e\u0301", "\u0301\u0301 a", "a \u0301 b", "ß ς Σ ı İ",
		"ノルウェイの森 [Noruwei no Mori]", "\xff\xfeabc\xff", "x\u0300", "Ꭰ Ꮳ", "a\u200bb", "١٢٣ ٤",
		"Harry Potter and the Sorcerer's Stone (Harry Potter, #1)", "\U000F0000 \ue000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, b := tokenizer{s: s}, tokenizer{s: s}
		for {
			start, end, _, ok := a.next()
			gs, ge, gok := b.nextSpan()
			if gs != start || ge != end || gok != ok {
				t.Fatalf("%q: nextSpan gave %d-%d %v, next %d-%d %v", s, gs, ge, gok, start, end, ok)
			}
			if !ok {
				return
			}
		}
	})
}
