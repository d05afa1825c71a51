// Package passkeys keeps the WebAuthn credentials of accounts: each
// account's user handle and its registered passkeys, with what the
// sign-in checks need (public key, signature counter, backup flags).
package passkeys

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"shelf/store"
)

// MaxPerUser is how many passkeys one account may hold.
const MaxPerUser = 10

// MaxNameLen bounds a passkey's name, in characters.
const MaxNameLen = 64

// HandleLen is the length of a user handle, in bytes.
const HandleLen = 32

var (
	// ErrLimit means the account already holds MaxPerUser passkeys.
	ErrLimit = errors.New("passkeys: too many passkeys")
	// ErrDuplicate means the credential is already registered.
	ErrDuplicate = errors.New("passkeys: credential already registered")
	// ErrCounter means the signature counter did not rise: the
	// authenticator may have been cloned, or the assertion replayed.
	ErrCounter = errors.New("passkeys: signature counter did not rise")
)

// Passkey is one registered credential.
type Passkey struct {
	ID                int64
	UserID            int64
	CredentialID      []byte
	PublicKey         []byte
	Name              string
	SignCount         uint32
	BackupEligible    bool // BE: the credential may be synced to other devices
	BackupState       bool // BS: it is synced now
	AAGUID            []byte
	Transports        []string
	AttestationFormat string
	CreatedAt         time.Time
	LastUsedAt        time.Time // zero until first used to sign in
}

// CounterRises is the signature counter rule: an authenticator that counts
// must report more than last time; one that never counts (synced passkeys
// report 0) passes while both are 0.
func CounterRises(stored, got uint32) bool {
	return got > stored || (got == 0 && stored == 0)
}

// Store reads and writes passkeys.
type Store struct {
	db *store.DB
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// New returns a Store over db.
func New(db *store.DB) *Store { return &Store{db: db} }

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

const timeLayout = "2006-01-02 15:04:05.000"

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTS(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	t, err := time.Parse(timeLayout, s.String)
	if err != nil {
		return time.Time{}
	}
	return t
}

// Handle returns the account's user handle, or nil if it has none yet.
func (s *Store) Handle(ctx context.Context, userID int64) ([]byte, error) {
	var h []byte
	err := s.db.Read.QueryRowContext(ctx, `SELECT handle FROM webauthn_handles WHERE user_id = $1`, userID).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("passkey handle: %w", err)
	}
	return h, nil
}

// EnsureHandle returns the account's user handle, first giving it one
// (HandleLen random bytes) if it has none.
func (s *Store) EnsureHandle(ctx context.Context, userID int64) ([]byte, error) {
	if h, err := s.Handle(ctx, userID); err != nil || h != nil {
		return h, err
	}
	h := make([]byte, HandleLen)
	if _, err := rand.Read(h); err != nil {
		return nil, err
	}
	var stored []byte
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webauthn_handles (user_id, handle) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`,
			userID, h); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT handle FROM webauthn_handles WHERE user_id = $1`, userID).Scan(&stored)
	})
	if err != nil {
		return nil, fmt.Errorf("passkey handle: %w", err)
	}
	return stored, nil
}

// UserByHandle returns the account a user handle belongs to
// (store.ErrNotFound if none).
func (s *Store) UserByHandle(ctx context.Context, handle []byte) (int64, error) {
	var id int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT user_id FROM webauthn_handles WHERE handle = $1`, handle).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, store.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("passkey user: %w", err)
	}
	return id, nil
}

const columns = `id, user_id, credential_id, public_key, name, sign_count, backup_eligible, backup_state, aaguid, transports,
	attestation_fmt, created_at, last_used_at`

type scanner interface{ Scan(...any) error }

func scan(r scanner) (Passkey, error) {
	var p Passkey
	var transports string
	var count int64
	var created, used sql.NullString
	err := r.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.PublicKey, &p.Name, &count, &p.BackupEligible, &p.BackupState,
		&p.AAGUID, &transports, &p.AttestationFormat, &created, &used)
	if err != nil {
		return Passkey{}, err
	}
	p.SignCount = uint32(count)
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	p.CreatedAt, p.LastUsedAt = parseTS(created), parseTS(used)
	return p, nil
}

// List returns the account's passkeys, oldest first.
func (s *Store) List(ctx context.Context, userID int64) ([]Passkey, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+columns+` FROM passkeys WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list passkeys: %w", err)
	}
	defer rows.Close()
	var list []Passkey
	for rows.Next() {
		p, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list passkeys: %w", err)
		}
		list = append(list, p)
	}
	return list, rows.Err()
}

// Count returns how many passkeys the account holds.
func (s *Store) Count(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx, `SELECT count(*) FROM passkeys WHERE user_id = $1`, userID).Scan(&n)
	return n, err
}

// ByCredentialID returns a passkey by its credential id (store.ErrNotFound
// if none).
func (s *Store) ByCredentialID(ctx context.Context, credentialID []byte) (Passkey, error) {
	p, err := scan(s.db.Read.QueryRowContext(ctx, `SELECT `+columns+` FROM passkeys WHERE credential_id = $1`, credentialID))
	if errors.Is(err, sql.ErrNoRows) {
		return Passkey{}, store.ErrNotFound
	}
	if err != nil {
		return Passkey{}, fmt.Errorf("passkey: %w", err)
	}
	return p, nil
}

// Add registers a passkey for the account and returns its id: ErrLimit if
// the account already holds MaxPerUser, ErrDuplicate if the credential is
// registered already (to any account).
func (s *Store) Add(ctx context.Context, userID int64, p Passkey) (int64, error) {
	var id int64
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = s.AddTx(ctx, tx, userID, p)
		return err
	})
	return id, err
}

// AddTx is Add in tx.
func (s *Store) AddTx(ctx context.Context, tx *sql.Tx, userID int64, p Passkey) (int64, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM passkeys WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("add passkey: %w", err)
	}
	if n >= MaxPerUser {
		return 0, ErrLimit
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO passkeys (user_id, credential_id, public_key, name, sign_count, backup_eligible,
		backup_state, aaguid, transports, attestation_fmt, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (credential_id) DO NOTHING RETURNING id`,
		userID, p.CredentialID, p.PublicKey, p.Name, int64(p.SignCount), p.BackupEligible, p.BackupState, p.AAGUID,
		strings.Join(p.Transports, ","), p.AttestationFormat, ts(s.now())).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrDuplicate
	}
	if err != nil {
		return 0, fmt.Errorf("add passkey: %w", err)
	}
	return id, nil
}

// RemoveAddedSince deletes, in tx, the account's passkeys added after
// since, and reports how many: its owner said the sign-in or change at
// since was not them, so nothing added after it is theirs for certain. A
// passkey added by that change itself is removed by its own undo.
func RemoveAddedSince(ctx context.Context, tx *sql.Tx, userID int64, since time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM passkeys WHERE user_id = $1 AND created_at > $2`, userID, ts(since))
	if err != nil {
		return 0, fmt.Errorf("remove passkeys added since: %w", err)
	}
	return res.RowsAffected()
}

// Rename names one of the account's passkeys (store.ErrNotFound if the
// account has no such passkey).
func (s *Store) Rename(ctx context.Context, userID, id int64, name string) error {
	res, err := s.db.Write.ExecContext(ctx, `UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3`, name, id, userID)
	if err != nil {
		return fmt.Errorf("rename passkey: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// Remove deletes one of the account's passkeys and returns it
// (store.ErrNotFound if the account has no such passkey).
func (s *Store) Remove(ctx context.Context, userID, id int64) (Passkey, error) {
	return s.remove(ctx, s.db.Write, `id = $1`, userID, id)
}

// RemoveTx is Remove in tx.
func (s *Store) RemoveTx(ctx context.Context, tx *sql.Tx, userID, id int64) (Passkey, error) {
	return s.remove(ctx, tx, `id = $1`, userID, id)
}

// RemoveCredential deletes, in tx, the account's passkey of that
// credential id (store.ErrNotFound if it has none).
func (s *Store) RemoveCredential(ctx context.Context, tx *sql.Tx, userID int64, credentialID []byte) (Passkey, error) {
	return s.remove(ctx, tx, `credential_id = $1`, userID, credentialID)
}

func (s *Store) remove(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, which string, userID int64, key any) (Passkey, error) {
	p, err := scan(q.QueryRowContext(ctx, `DELETE FROM passkeys WHERE `+which+` AND user_id = $2 RETURNING `+columns, key, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return Passkey{}, store.ErrNotFound
	}
	if err != nil {
		return Passkey{}, fmt.Errorf("remove passkey: %w", err)
	}
	return p, nil
}

// RecordUse records a sign-in with a passkey whose stored counter was
// stored: the counter the authenticator reported (got), its backup state
// and the time. It is ErrCounter when got does not pass CounterRises, and
// also when the stored counter changed since it was read (a concurrent use
// of the same counter value), so each counter value signs in once.
func (s *Store) RecordUse(ctx context.Context, id int64, stored, got uint32, backupState bool) error {
	if !CounterRises(stored, got) {
		return ErrCounter
	}
	res, err := s.db.Write.ExecContext(ctx, `UPDATE passkeys SET sign_count = $1, backup_state = $2, last_used_at = $3
		WHERE id = $4 AND sign_count = $5`, int64(got), backupState, ts(s.now()), id, int64(stored))
	if err != nil {
		return fmt.Errorf("record passkey use: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrCounter
	}
	return nil
}
