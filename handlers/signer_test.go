package handlers

import (
	"strings"
	"testing"
)

const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// flipSpareBit changes the lowest bit of a final base64 character, which
// encodes no data when the input's length leaves spare bits.
func flipSpareBit(last string) string {
	return string(base64URL[strings.IndexByte(base64URL, last[0])^1])
}

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
		// 32 bytes leave 2 spare bits in the last character; a lenient
		// decoder would accept a signature with them changed.
		"spare bits set": signed[:len(signed)-1] + flipSpareBit(signed[len(signed)-1:]),
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
