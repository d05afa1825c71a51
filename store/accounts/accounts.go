// Package accounts keeps Shelf's accounts and runs their flows: users and
// their password hashes, the rules an address and a password follow, the
// single-use tokens mailed for confirmation and password reset, reset
// requests, and sign-up, sign-in, confirmation, reset and create-admin,
// each one transaction.
package accounts

import (
	"time"

	"shelf/store"
)

// Config is what the flows need besides the database.
type Config struct {
	// Mails renders the mails the flows send.
	Mails Mails
	// Notifier is told when mail has been enqueued; may be nil.
	Notifier interface{ Notify() }
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ConfirmTTL and ResetTTL are how long confirmation and reset links
	// work. Default 48 hours and 1 hour.
	ConfirmTTL, ResetTTL time.Duration
	// Hash are the argon2id costs; zero means DefaultHashParams.
	Hash HashParams
}

// Defaults of Config.
const (
	DefaultConfirmTTL = 48 * time.Hour
	DefaultResetTTL   = time.Hour
)

// Accounts reads and writes accounts in the database.
type Accounts struct {
	db  *store.DB
	cfg Config
	// Hasher hashes and checks passwords with Config.Hash.
	Hasher *Hasher
}

// New returns the accounts kept in db, with cfg's zero values defaulted.
func New(db *store.DB, cfg Config) *Accounts {
	if cfg.ConfirmTTL <= 0 {
		cfg.ConfirmTTL = DefaultConfirmTTL
	}
	if cfg.ResetTTL <= 0 {
		cfg.ResetTTL = DefaultResetTTL
	}
	if cfg.Hash == (HashParams{}) {
		cfg.Hash = DefaultHashParams
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Accounts{db: db, cfg: cfg, Hasher: NewHasher(cfg.Hash)}
}

// ConfirmTTL is how long a confirmation link works.
func (a *Accounts) ConfirmTTL() time.Duration { return a.cfg.ConfirmTTL }

// ResetTTL is how long a password-reset link works.
func (a *Accounts) ResetTTL() time.Duration { return a.cfg.ResetTTL }

func (a *Accounts) now() time.Time { return a.cfg.Now() }
