package sealed

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testKeys(t *testing.T, b byte) *Keys {
	t.Helper()
	k, err := New(bytes.Repeat([]byte{b}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpensOnlyForItsRowAndPurpose(t *testing.T) {
	k := testKeys(t, 1)
	secret := []byte("twenty bytes secret!")
	s := k.Seal(secret, 7, "totp")
	if bytes.Contains(s, secret) {
		t.Fatal("the sealed value contains the plaintext")
	}
	if again := k.Seal(secret, 7, "totp"); bytes.Equal(again, s) {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	got, err := k.Open(s, 7, "totp")
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	for name, open := range map[string]func() ([]byte, error){
		"another row":     func() ([]byte, error) { return k.Open(s, 8, "totp") },
		"another purpose": func() ([]byte, error) { return k.Open(s, 7, "enrol") },
		"another key":     func() ([]byte, error) { return testKeys(t, 2).Open(s, 7, "totp") },
		"tampered":        func() ([]byte, error) { c := bytes.Clone(s); c[len(c)-1] ^= 1; return k.Open(c, 7, "totp") },
		"truncated":       func() ([]byte, error) { return k.Open(s[:10], 7, "totp") },
	} {
		if _, err := open(); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err %v, want ErrOpen", name, err)
		}
	}
}

func TestHashIsKeyedAndBound(t *testing.T) {
	k := testKeys(t, 1)
	h := k.Hash([]byte("ABCD"), 1, "recovery")
	if !bytes.Equal(h, k.Hash([]byte("ABCD"), 1, "recovery")) {
		t.Fatal("hash not deterministic")
	}
	for name, other := range map[string][]byte{
		"value":   k.Hash([]byte("ABCE"), 1, "recovery"),
		"row":     k.Hash([]byte("ABCD"), 2, "recovery"),
		"purpose": k.Hash([]byte("ABCD"), 1, "other"),
		"key":     testKeys(t, 2).Hash([]byte("ABCD"), 1, "recovery"),
	} {
		if bytes.Equal(h, other) {
			t.Errorf("another %s gives the same hash", name)
		}
	}
}

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, KeySize)
	for _, s := range []string{hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw), " " + hex.EncodeToString(raw) + "\n"} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "short", hex.EncodeToString(raw[:16]), base64.StdEncoding.EncodeToString(raw[:31]), strings.Repeat("z", 64)} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}

func TestKeyFileCreatedOnceAndPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shelf.db.key")
	first, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	again, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("second start read %x, %v; want the first key %x", again, err, first)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeyFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable key file: err %v", err)
	}
}
