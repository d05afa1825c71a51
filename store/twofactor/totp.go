// Package twofactor keeps accounts' second factors: an authenticator-app
// secret (TOTP, RFC 6238: SHA-1, 6 digits, 30 s steps) sealed under the
// secret key, the last time step used (so each code works once), recovery
// codes as keyed hashes, and the count of wrong codes that freezes the
// second step.
package twofactor

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

const (
	// Period is the length of a time step.
	Period = 30 * time.Second
	// SignInSkew and EnrolSkew are how many steps either side of now a code
	// may come from: a phone's clock may be off, and typing takes time.
	SignInSkew = 1
	EnrolSkew  = 2
	// SecretSize is the secret's length: 160 bits, as RFC 4226 recommends.
	SecretSize = 20
	// Issuer names Shelf in authenticator apps.
	Issuer = "Shelf"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

var codeOpts = totp.ValidateOpts{Period: uint(Period / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// NewSecret returns a fresh random secret in base32, as apps take it.
func NewSecret() (string, error) {
	b := make([]byte, SecretSize)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return b32.EncodeToString(b), nil
}

// KeyURL is the otpauth:// URL that apps read from the QR code.
func KeyURL(secret, account string) (string, error) {
	raw, err := b32.DecodeString(secret)
	if err != nil {
		return "", err
	}
	k, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: account, Secret: raw,
		Period: codeOpts.Period, Digits: codeOpts.Digits, Algorithm: codeOpts.Algorithm})
	if err != nil {
		return "", err
	}
	return k.URL(), nil
}

// Step is the time step t falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Code is the code for step.
func Code(secret string, step int64) (string, error) {
	return totp.GenerateCodeCustom(secret, time.Unix(step*int64(Period/time.Second), 0), codeOpts)
}

// MatchStep finds the step within skew steps of now, after the step
// `after`, whose code is code. Every candidate is compared, in constant
// time, so the answer's time does not tell which step matched.
func MatchStep(secret, code string, now time.Time, skew int, after int64) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	found := int64(-1)
	cur := Step(now)
	for s := cur - int64(skew); s <= cur+int64(skew); s++ {
		want, err := Code(secret, s)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > after && found < 0 {
			found = s
		}
	}
	return found, found >= 0
}
