package apitokens

import (
	"strings"
	"testing"
)

func TestGeneratedTokensCheck(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		tok := Generate()
		if len(tok) != Len || !strings.HasPrefix(tok, "shelf_pat_") {
			t.Fatalf("token %q: want %d characters starting shelf_pat_", tok, Len)
		}
		if err := Check(tok); err != nil {
			t.Fatalf("Check(%q) = %v", tok, err)
		}
		if seen[tok] {
			t.Fatalf("token %q generated twice", tok)
		}
		seen[tok] = true
	}
}

func TestChecksumCatchesEveryOneCharacterChange(t *testing.T) {
	tok := Generate()
	for i := len(Prefix); i < len(tok); i++ {
		for j := 0; j < len(base62); j++ {
			if base62[j] == tok[i] {
				continue
			}
			changed := tok[:i] + string(base62[j]) + tok[i+1:]
			if err := Check(changed); err != ErrMalformed {
				t.Fatalf("position %d changed to %c: Check = %v, want ErrMalformed", i, base62[j], err)
			}
		}
	}
}

func TestCheckRefusesMalformed(t *testing.T) {
	tok := Generate()
	body := tok[len(Prefix):]
	for _, s := range []string{
		"",
		"shelf_pat_",
		"ghp_" + body,                   // another prefix, same length class
		"shelf_pak_" + body,             // one letter off in the prefix
		"SHELF_PAT_" + body,             // case matters
		tok[:Len-1],                     // short
		tok + "0",                       // long
		tok[:Len-7] + "-" + tok[Len-6:], // outside the alphabet
		" " + tok[1:],
		"correct horse battery staple",
	} {
		if err := Check(s); err != ErrMalformed {
			t.Errorf("Check(%q) = %v, want ErrMalformed", s, err)
		}
	}
}

func TestZeroBodyChecks(t *testing.T) {
	zero := Prefix + strings.Repeat("0", bodyLen)
	if got := checksum(zero); len(got) != checksumLen {
		t.Fatalf("checksum %q: want %d characters", got, checksumLen)
	}
	if err := Check(zero + checksum(zero)); err != nil {
		t.Fatalf("an all-zero body with its checksum: %v", err)
	}
}
