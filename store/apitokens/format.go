package apitokens

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"hash/crc32"
	"math/big"
	"strings"
)

// A token is Prefix, then its 32 random bytes in base62 (bodyLen
// characters, zero-padded), then a base62 CRC32 of everything before it
// (checksumLen characters). The fixed prefix lets secret scanners spot a
// leaked token, and the checksum lets a mistyped or made-up one be refused
// without a database read.
const (
	Prefix      = "shelf_pat_"
	secretBytes = 32
	bodyLen     = 43 // 62^43 > 2^256
	checksumLen = 6  // 62^6 > 2^32
	// Len is the length of every token.
	Len = len(Prefix) + bodyLen + checksumLen
	// displayLen is how much of a token the account page shows.
	displayLen = len(Prefix) + 4
)

// ErrMalformed is returned for a string that is not a well-formed token:
// wrong prefix, length, alphabet or checksum.
var ErrMalformed = errors.New("apitokens: not a well-formed personal access token")

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// encode62 writes n in base62, left-padded with zeros to width.
func encode62(n *big.Int, width int) string {
	out := make([]byte, width)
	for i := range out {
		out[i] = '0'
	}
	n = new(big.Int).Set(n)
	mod := new(big.Int)
	sixtyTwo := big.NewInt(62)
	for i := width - 1; i >= 0 && n.Sign() > 0; i-- {
		n.DivMod(n, sixtyTwo, mod)
		out[i] = base62[mod.Int64()]
	}
	return string(out)
}

func checksum(s string) string {
	return encode62(new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(s)))), checksumLen)
}

// Generate returns a new random token.
func Generate() string {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	s := Prefix + encode62(new(big.Int).SetBytes(b), bodyLen)
	return s + checksum(s)
}

// LooksLike reports whether s has the token prefix, so that a caller can
// tell a token sent where it should not be (a password, a query string).
func LooksLike(s string) bool { return strings.HasPrefix(s, Prefix) }

// Check reports ErrMalformed unless s is a well-formed token. It reads no
// database: the prefix, length, alphabet and checksum say it all.
func Check(s string) error {
	if len(s) != Len || !strings.HasPrefix(s, Prefix) {
		return ErrMalformed
	}
	for i := len(Prefix); i < len(s); i++ {
		if strings.IndexByte(base62, s[i]) < 0 {
			return ErrMalformed
		}
	}
	if checksum(s[:Len-checksumLen]) != s[Len-checksumLen:] {
		return ErrMalformed
	}
	return nil
}

// Hash is what the database keeps of a token.
func Hash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func displayPrefix(token string) string { return token[:displayLen] }
