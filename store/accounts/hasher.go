package accounts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Passwords are hashed with argon2id (RFC 9106), OWASP's first choice, at
// OWASP's minimum of 19 MiB memory, 2 passes, 1 lane. Why not bcrypt cost 12:
// bcrypt reads only the first 72 bytes of a password and we accept up to 128
// characters (up to 512 bytes), and at cost 12 it takes ~250 ms of CPU per
// hash against ~30-50 ms here. argon2id's cost is memory, so on a 2-core
// server 100 concurrent sign-ups could ask for 100 × 19 MiB = 1.9 GB at once;
// the Hasher therefore lets only GOMAXPROCS hashes run at a time (the rest
// queue), bounding memory to 2 × 19 MiB while keeping both cores busy.
// Parameters are stored in each PHC string, so they can be raised later
// without invalidating existing hashes.

// HashParams are argon2id's cost parameters.
type HashParams struct {
	Time    uint32 // passes over memory
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultHashParams is what production uses (see the comment above).
var DefaultHashParams = HashParams{Time: 2, Memory: 19 * 1024, Threads: 1}

// Hasher hashes and verifies passwords, running at most a fixed number of
// hashes at once.
type Hasher struct {
	params HashParams
	slots  chan struct{}
	dummy  string // a real hash of a random password, for unknown accounts
}

// NewHasher returns a Hasher using p, running up to GOMAXPROCS hashes at once.
func NewHasher(p HashParams) *Hasher {
	h := &Hasher{params: p, slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
	var pw [16]byte
	_, _ = rand.Read(pw[:])
	h.dummy, _ = h.Hash(context.Background(), base64.RawStdEncoding.EncodeToString(pw[:]))
	return h
}

const saltLen, keyLen = 16, 32

// Hash returns a PHC string: $argon2id$v=19$m=19456,t=2,p=1$SALT$KEY.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, keyLen)
	h.release()
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.params.Memory, h.params.Time, h.params.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether password matches the PHC string hash.
func (h *Hasher) Verify(ctx context.Context, hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("password hash: not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, fmt.Errorf("password hash: unsupported version %q", parts[2])
	}
	var p HashParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false, fmt.Errorf("password hash: bad parameters %q", parts[3])
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, errors.New("password hash: bad salt")
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errors.New("password hash: bad key")
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	h.release()
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// VerifyDummy spends the time of one verification, so an unknown address
// answers as slowly as a wrong password.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) {
	_, _ = h.Verify(ctx, h.dummy, password)
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }
