package twofactor

import (
	"crypto/rand"
	"strings"
)

// Recovery codes: RecoveryCodes codes of 16 Crockford base32 characters
// (80 bits), shown as XXXX-XXXX-XXXX-XXXX.
const (
	RecoveryCodes   = 10
	recoveryLen     = 16
	crockford       = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	recoveryPurpose = "recovery-code"
)

// NewRecoveryCode returns a fresh code, grouped by four.
func NewRecoveryCode() (string, error) {
	var b [recoveryLen]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	var sb strings.Builder
	for i, v := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(crockford[v%32]) // 256 is a multiple of 32: no bias
	}
	return sb.String(), nil
}

// NormalizeRecoveryCode reads a code as typed: any case, with or without
// spaces and dashes, and Crockford's readings of I, L (1) and O (0). It
// reports false when the result cannot be a code.
func NormalizeRecoveryCode(s string) (string, bool) {
	var sb strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r == 'I' || r == 'L':
			r = '1'
		case r == 'O':
			r = '0'
		}
		if r > 127 || !strings.ContainsRune(crockford, r) {
			return "", false
		}
		sb.WriteRune(r)
	}
	if sb.Len() != recoveryLen {
		return "", false
	}
	return sb.String(), true
}

// LooksLikeRecoveryCode tells a recovery code from an app code as typed.
func LooksLikeRecoveryCode(s string) bool {
	_, ok := NormalizeRecoveryCode(s)
	return ok
}
