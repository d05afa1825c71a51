// Package sealed keeps small secrets unreadable at rest: it seals them with
// AES-256-GCM under a key kept outside the database, binding each sealed
// value to the row and purpose it belongs to, and computes keyed hashes
// (HMAC-SHA256) of values that need only be recognised, never read back.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// KeySize is the length of the secret key: 32 bytes.
const KeySize = 32

// ErrOpen is returned for a sealed value that does not open: tampered,
// moved to another row or purpose, or sealed under another key.
var ErrOpen = errors.New("sealed: value does not open under this key, row and purpose")

// Keys derives, from one secret key, a key for sealing and a key for
// hashing, so neither use can stand in for the other.
type Keys struct {
	aead cipher.AEAD
	mac  []byte
}

// New derives the keys from a 32-byte secret key.
func New(secret []byte) (*Keys, error) {
	if len(secret) != KeySize {
		return nil, fmt.Errorf("sealed: the secret key must be %d bytes, not %d", KeySize, len(secret))
	}
	encKey, err := hkdf.Key(sha256.New, secret, nil, "shelf sealed/aes-256-gcm v1", 32)
	if err != nil {
		return nil, err
	}
	macKey, err := hkdf.Key(sha256.New, secret, nil, "shelf sealed/hmac-sha256 v1", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keys{aead: aead, mac: macKey}, nil
}

// binding is the associated data: a value sealed for one account and
// purpose does not open for another, so sealed values cannot be swapped
// between rows.
func binding(userID int64, purpose string) []byte {
	return []byte("shelf/v1\x00" + purpose + "\x00" + strconv.FormatInt(userID, 10))
}

// Seal encrypts plaintext for the account userID and purpose, under a
// fresh random nonce: nonce || ciphertext || tag.
func (k *Keys) Seal(plaintext []byte, userID int64, purpose string) []byte {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return k.aead.Seal(nonce, nonce, plaintext, binding(userID, purpose))
}

// Open decrypts what Seal sealed for the same account and purpose.
func (k *Keys) Open(sealed []byte, userID int64, purpose string) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, ErrOpen
	}
	out, err := k.aead.Open(nil, sealed[:n], sealed[n:], binding(userID, purpose))
	if err != nil {
		return nil, ErrOpen
	}
	return out, nil
}

// Hash is the keyed hash of value for the account and purpose: without
// the secret key, a stolen hash cannot be checked against guesses.
func (k *Keys) Hash(value []byte, userID int64, purpose string) []byte {
	m := hmac.New(sha256.New, k.mac)
	m.Write(binding(userID, purpose))
	m.Write([]byte{0})
	m.Write(value)
	return m.Sum(nil)
}

// ParseKey reads a secret key written as 64 hex digits or as base64
// (standard or URL alphabet, padded or not) of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("decodes to %d bytes, want %d", len(b), KeySize)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("want %d random bytes as 64 hex digits or base64 (e.g. from: openssl rand -base64 32)", KeySize)
}

// LoadOrCreateKeyFile reads the secret key kept in path, or, when there is
// no such file, creates it with a fresh random key, readable by its owner
// alone (0600). A key file that others may read is refused.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	fresh := make([]byte, KeySize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, werr := f.WriteString(hex.EncodeToString(fresh) + "\n")
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			_ = os.Remove(path)
			return nil, fmt.Errorf("secret key file %s: %w", path, err)
		}
		return fresh, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret key file %s can be read by others (mode %v): chmod 600 it", path, info.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return key, nil
}
