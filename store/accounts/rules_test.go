package accounts

import "testing"

func TestValidateHelpers(t *testing.T) {
	if e, err := ValidateEmail("  Ann@EXAMPLE.org "); err != nil || e != "Ann@example.org" {
		t.Fatalf("ValidateEmail = %q, %v", e, err)
	}
	for _, bad := range []string{"", "ann", "ann@", "@example.org", "ann@example", "ann@@example.org", "Ann <ann@example.org>", "ann@example.org (x)", "ann@.example.org"} {
		if _, err := ValidateEmail(bad); err == nil {
			t.Errorf("ValidateEmail(%q) accepted", bad)
		}
	}
	if err := CheckPassword("qwertyuiop"); err == nil {
		t.Error("common password accepted")
	}
	if len(commonPasswords) < 10000 {
		t.Errorf("only %d common passwords loaded", len(commonPasswords))
	}
}
