package handlers

import "testing"

func TestSigner(t *testing.T) {
	s := newSigner([]byte("0123456789abcdef0123456789abcdef"))
	signed := s.Sign("csrf", "abc")
	if v, err := s.Verify("csrf", signed); err != nil || v != "abc" {
		t.Fatalf("Verify(Sign) = %q, %v", v, err)
	}
	for name, bad := range map[string]string{
		"other purpose":  "",
		"altered value":  "abd" + signed[3:],
		"no signature":   "abc",
		"cut signature":  signed[:len(signed)-2],
		"other key":      newSigner([]byte("fedcba9876543210fedcba9876543210")).Sign("csrf", "abc"),
		"empty":          ".",
		"bad base64 sig": "abc.!!!",
	} {
		purpose := "csrf"
		if name == "other purpose" {
			purpose, bad = "device", signed
		}
		if _, err := s.Verify(purpose, bad); err == nil {
			t.Errorf("%s: %q verified", name, bad)
		}
	}
}
