package handlers

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// signer signs values that the server hands to browsers in cookies and
// must recognise later (anonymous CSRF tokens, device cookies). The key is
// store.DB.Secret("cookies"), shared by every process on the database.
// Each purpose gets its own derived key, so a value signed for one use is
// never accepted for another.
type signer struct{ key []byte }

func newSigner(key []byte) *signer { return &signer{key: key} }

// loadSigner reads the shared key, or makes a process-local one if the
// database cannot give it (signed values then last until a restart).
func (a *App) loadSigner() *signer {
	key, err := a.DB.Secret(context.Background(), "cookies")
	if err != nil {
		a.Logger.Error("cookie key: using a temporary one", "err", err)
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return newSigner(key)
}

func (s *signer) mac(purpose string, value string) []byte {
	k := hmac.New(sha256.New, s.key)
	k.Write([]byte(purpose))
	h := hmac.New(sha256.New, k.Sum(nil))
	h.Write([]byte(value))
	return h.Sum(nil)
}

// Sign returns value with its signature for purpose: "value.signature".
// value must not contain '.'.
func (s *signer) Sign(purpose, value string) string {
	return value + "." + base64.RawURLEncoding.EncodeToString(s.mac(purpose, value))
}

// MAC returns the raw signature of value for purpose: a secret derived
// from value that only the holder of the key can compute (the anonymous
// CSRF secret is the MAC of the cookie's value; see csrf.go).
func (s *signer) MAC(purpose, value string) []byte { return s.mac(purpose, value) }

var errBadSignature = errors.New("bad signature")

// Verify returns the value of a string made by Sign for purpose.
func (s *signer) Verify(purpose, signed string) (string, error) {
	i := strings.LastIndexByte(signed, '.')
	if i < 0 || len(signed) > 4096 {
		return "", errBadSignature
	}
	sig, err := base64.RawURLEncoding.Strict().DecodeString(signed[i+1:])
	if err != nil || !hmac.Equal(sig, s.mac(purpose, signed[:i])) {
		return "", errBadSignature
	}
	return signed[:i], nil
}
