// Package jwtkeys keeps the Ed25519 keys that sign the API's access tokens,
// in the database so that every instance signs and verifies with the same
// ones, their private halves sealed (package sealed). Keys rotate: each
// signs for a rotation period, is published a while before it starts (so
// verifiers that cache the key set meet no unknown key) and until the last
// token it signed has expired.
package jwtkeys

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"shelf/store"
	"shelf/store/sealed"
)

// ErrUnknownKey is returned by Lookup for a key id that is not published.
var ErrUnknownKey = errors.New("jwtkeys: no such key")

// Defaults of Config.
const (
	DefaultRotate       = 24 * time.Hour
	DefaultPublishAhead = 10 * time.Minute
	// reloadEvery bounds how stale this process's copy of the keys may be,
	// and how often an unknown key id may send it to the database.
	reloadEvery   = 30 * time.Second
	unknownReload = 5 * time.Second
)

// Config sets how keys rotate.
type Config struct {
	// Rotate is how long each key signs; DefaultRotate when zero.
	Rotate time.Duration
	// TokenTTL is the longest life of a token signed: a key stays
	// published that long after it stops signing (plus a minute of clock
	// skew). Required.
	TokenTTL time.Duration
	// PublishAhead is how long a key is published before it signs; at
	// least the time verifiers may cache the key set.
	PublishAhead time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Key is one signing key.
type Key struct {
	ID             string
	Private        ed25519.PrivateKey // nil for keys only published
	Public         ed25519.PublicKey
	CreatedAt      time.Time
	SignsFrom      time.Time
	SignsUntil     time.Time
	PublishedUntil time.Time
}

// Keyring is the keys in db, with a copy in memory.
type Keyring struct {
	db    *store.DB
	seal  *sealed.Keys
	cfg   Config
	mu    sync.Mutex
	keys  []Key // newest first
	at    time.Time
	tried time.Time // last reload for an unknown key id
}

// New returns the keyring kept in db, private keys sealed under seal.
func New(db *store.DB, seal *sealed.Keys, cfg Config) *Keyring {
	if cfg.Rotate <= 0 {
		cfg.Rotate = DefaultRotate
	}
	if cfg.PublishAhead <= 0 {
		cfg.PublishAhead = DefaultPublishAhead
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Keyring{db: db, seal: seal, cfg: cfg}
}

func parseTS(s string) time.Time {
	t, _ := store.ParseTime(s)
	return t
}

const purpose = "jwt-signing-key"

// binding ties each sealed key to its id, so that sealed keys cannot be
// swapped between rows. Keys belong to no account: user 0.
func bindingPurpose(kid string) string { return purpose + ":" + kid }

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (k *Keyring) load(ctx context.Context, q querier, now time.Time) ([]Key, error) {
	rows, err := q.QueryContext(ctx, `SELECT kid, private_key, public_key, created_at, signs_from, signs_until, published_until
		FROM jwt_keys WHERE published_until > $1 ORDER BY signs_from DESC, kid`, store.FormatTime(now))
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		var key Key
		var priv, pub []byte
		var created, from, until, published string
		if err := rows.Scan(&key.ID, &priv, &pub, &created, &from, &until, &published); err != nil {
			return nil, fmt.Errorf("load signing keys: %w", err)
		}
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("signing key %s: public key of %d bytes", key.ID, len(pub))
		}
		key.Public = ed25519.PublicKey(pub)
		key.CreatedAt, key.SignsFrom, key.SignsUntil, key.PublishedUntil = parseTS(created), parseTS(from), parseTS(until), parseTS(published)
		seed, err := k.seal.Open(priv, 0, bindingPurpose(key.ID))
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", key.ID, err)
		}
		if len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("signing key %s: seed of %d bytes", key.ID, len(seed))
		}
		key.Private = ed25519.NewKeyFromSeed(seed)
		out = append(out, key)
	}
	return out, rows.Err()
}

// current returns the cached keys, reloading them when stale.
func (k *Keyring) current(ctx context.Context, now time.Time) ([]Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys != nil && now.Sub(k.at) < reloadEvery && !now.Before(k.at) {
		return k.keys, nil
	}
	keys, err := k.load(ctx, k.db.Read, now)
	if err != nil {
		return nil, err
	}
	k.keys, k.at = keys, now
	return keys, nil
}

func signer(keys []Key, now time.Time) (Key, bool) {
	for _, key := range keys {
		if !now.Before(key.SignsFrom) && now.Before(key.SignsUntil) {
			return key, true
		}
	}
	return Key{}, false
}

// needsNext reports whether keys lack a signer for now, or the key after
// the current one is due to be published.
func (k *Keyring) needsNext(keys []Key, now time.Time) bool {
	cur, ok := signer(keys, now)
	if !ok {
		return true
	}
	if cur.SignsUntil.Sub(now) > k.cfg.PublishAhead {
		return false
	}
	for _, key := range keys {
		if !key.SignsFrom.Before(cur.SignsUntil) {
			return false
		}
	}
	return true
}

// Signing returns the key to sign with now, making the first key, and the
// next one when it is due, as needed. Instances that race to make one agree:
// the transaction makes it only if it is still missing.
func (k *Keyring) Signing(ctx context.Context) (Key, error) {
	now := k.cfg.Now()
	keys, err := k.current(ctx, now)
	if err != nil {
		return Key{}, err
	}
	if k.needsNext(keys, now) {
		if keys, err = k.rotate(ctx, now); err != nil {
			return Key{}, err
		}
	}
	key, ok := signer(keys, now)
	if !ok {
		return Key{}, errors.New("jwtkeys: no key signs now")
	}
	return key, nil
}

func (k *Keyring) rotate(ctx context.Context, now time.Time) ([]Key, error) {
	var keys []Key
	err := k.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if keys, err = k.load(ctx, tx, now); err != nil {
			return err
		}
		if !k.needsNext(keys, now) {
			return nil
		}
		from := now
		if cur, ok := signer(keys, now); ok {
			from = cur.SignsUntil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM jwt_keys WHERE published_until <= $1`, store.FormatTime(now)); err != nil {
			return err
		}
		key, err := k.insert(ctx, tx, now, from)
		if err != nil {
			return err
		}
		keys = append([]Key{key}, keys...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rotate signing keys: %w", err)
	}
	k.mu.Lock()
	k.keys, k.at = keys, now
	k.mu.Unlock()
	return keys, nil
}

func (k *Keyring) insert(ctx context.Context, tx *sql.Tx, now, from time.Time) (Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return Key{}, err
	}
	until := from.Add(k.cfg.Rotate)
	key := Key{ID: base64.RawURLEncoding.EncodeToString(id), Private: priv, Public: pub,
		CreatedAt: now.UTC().Truncate(time.Millisecond), SignsFrom: from.UTC().Truncate(time.Millisecond),
		SignsUntil: until.UTC().Truncate(time.Millisecond), PublishedUntil: until.Add(k.cfg.TokenTTL + time.Minute).UTC().Truncate(time.Millisecond)}
	_, err = tx.ExecContext(ctx, `INSERT INTO jwt_keys (kid, private_key, public_key, created_at, signs_from, signs_until, published_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		key.ID, k.seal.Seal(priv.Seed(), 0, bindingPurpose(key.ID)), []byte(pub),
		store.FormatTime(key.CreatedAt), store.FormatTime(key.SignsFrom), store.FormatTime(key.SignsUntil), store.FormatTime(key.PublishedUntil))
	return key, err
}

// Published returns the keys to publish now: every key not past its
// PublishedUntil, the next one included.
func (k *Keyring) Published(ctx context.Context) ([]Key, error) {
	now := k.cfg.Now()
	keys, err := k.current(ctx, now)
	if err != nil {
		return nil, err
	}
	out := make([]Key, 0, len(keys))
	for _, key := range keys {
		if now.Before(key.PublishedUntil) {
			key.Private = nil
			out = append(out, key)
		}
	}
	return out, nil
}

// Lookup returns the public key kid names if it is published now
// (ErrUnknownKey if not). An id this process does not know sends it to the
// database, at most once every few seconds, to find a key another instance
// made.
func (k *Keyring) Lookup(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	now := k.cfg.Now()
	keys, err := k.current(ctx, now)
	if err != nil {
		return nil, err
	}
	if key, ok := find(keys, kid, now); ok {
		return key.Public, nil
	}
	k.mu.Lock()
	if now.Sub(k.tried) < unknownReload && !now.Before(k.tried) {
		k.mu.Unlock()
		return nil, ErrUnknownKey
	}
	k.tried = now
	k.mu.Unlock()
	keys, err = k.load(ctx, k.db.Read, now)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	k.keys, k.at = keys, now
	k.mu.Unlock()
	if key, ok := find(keys, kid, now); ok {
		return key.Public, nil
	}
	return nil, ErrUnknownKey
}

func find(keys []Key, kid string, now time.Time) (Key, bool) {
	for _, key := range keys {
		if key.ID == kid && now.Before(key.PublishedUntil) {
			return key, true
		}
	}
	return Key{}, false
}
