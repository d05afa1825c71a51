// Package sessions keeps the web sessions scs manages in the database, so
// that a sign-in survives a restart and a password reset can end every
// session of an account.
package sessions

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"shelf/store"
)

// Store keeps scs sessions in the sessions table. It implements scs.Store
// and scs.CtxStore (checked in sessions_test.go). Reads use the read pool;
// writes go through the single writer, or join the transaction the context
// carries (store.WithTx).
type Store struct {
	db *store.DB
	// Describe reads, out of encoded session data (the handlers know the
	// codec), what is stored alongside it: the account, so
	// DeleteUserSessions can end every session of an account, and what
	// UserSessions lists. Nil stores nothing beside the data.
	Describe func(data []byte) Info
	// Now is the clock used to decide expiry; time.Now when nil.
	Now func() time.Time
}

// Info is what a session's data says about it.
type Info struct {
	UserID  int64     // the account; 0 for nobody
	IP      string    // the client's address when last seen
	Browser string    // a summary of its browser
	SeenAt  time.Time // when it was last used (coarsely: see the handlers)
}

// New returns a store over db.
func New(db *store.DB, describe func([]byte) Info) *Store {
	return &Store{db: db, Describe: describe}
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// FindCtx returns the data of an unexpired session.
func (s *Store) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var data []byte
	err := s.db.Read.QueryRowContext(ctx, `SELECT data FROM sessions WHERE token = $1 AND expiry > $2`,
		token, s.now().UnixMilli()).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("find session: %w", err)
	}
	return data, true, nil
}

// CommitCtx inserts or replaces a session (in ctx's transaction, if any).
func (s *Store) CommitCtx(ctx context.Context, token string, data []byte, expiry time.Time) error {
	var info Info
	if s.Describe != nil {
		info = s.Describe(data)
	}
	var uid, seen any = nil, int64(0)
	if info.UserID != 0 {
		uid = info.UserID
	}
	if !info.SeenAt.IsZero() {
		seen = info.SeenAt.UnixMilli()
	}
	_, err := s.db.Writer(ctx).ExecContext(ctx, `INSERT INTO sessions (token, data, expiry, user_id, ip, browser, seen_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry, user_id = excluded.user_id,
			ip = excluded.ip, browser = excluded.browser, seen_at = excluded.seen_at`,
		token, data, expiry.UnixMilli(), uid, info.IP, info.Browser, seen)
	if err != nil {
		return fmt.Errorf("commit session: %w", err)
	}
	return nil
}

// DeleteCtx removes a session (in ctx's transaction, if any); removing an
// unknown one is not an error.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	if _, err := s.db.Writer(ctx).ExecContext(ctx, `DELETE FROM sessions WHERE token = $1`, token); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Find, Commit and Delete satisfy scs.Store; scs prefers the Ctx versions.
func (s *Store) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s *Store) Commit(token string, data []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, data, expiry)
}

func (s *Store) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// DeleteUserSessions ends every stored session of the account (after a
// password reset), in ctx's transaction if any. It returns how many were
// removed.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) (int64, error) {
	res, err := s.db.Writer(ctx).ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, fmt.Errorf("delete user sessions: %w", err)
	}
	return res.RowsAffected()
}

// Listed is one of an account's sessions, as UserSessions lists it.
type Listed struct {
	Token   string // as stored (the SHA-256 of the cookie's token)
	IP      string
	Browser string
	SeenAt  time.Time // zero if never recorded
	Expiry  time.Time
}

// UserSessions lists the account's unexpired sessions, the most recently
// used first.
func (s *Store) UserSessions(ctx context.Context, userID int64) ([]Listed, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT token, ip, browser, seen_at, expiry FROM sessions
		WHERE user_id = $1 AND expiry > $2 ORDER BY seen_at DESC, token`, userID, s.now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("list user sessions: %w", err)
	}
	defer rows.Close()
	var out []Listed
	for rows.Next() {
		var l Listed
		var seen, expiry int64
		if err := rows.Scan(&l.Token, &l.IP, &l.Browser, &seen, &expiry); err != nil {
			return nil, fmt.Errorf("list user sessions: %w", err)
		}
		if seen != 0 {
			l.SeenAt = time.UnixMilli(seen).UTC()
		}
		l.Expiry = time.UnixMilli(expiry).UTC()
		out = append(out, l)
	}
	return out, rows.Err()
}

// DeleteUserSession ends one session (by its stored token) if it is the
// account's, and reports whether it was.
func (s *Store) DeleteUserSession(ctx context.Context, userID int64, token string) (bool, error) {
	res, err := s.db.Writer(ctx).ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND token = $2`, userID, token)
	if err != nil {
		return false, fmt.Errorf("delete user session: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteUserSessionsExcept ends every session of the account but the one
// with stored token keep, and returns how many it ended.
func (s *Store) DeleteUserSessionsExcept(ctx context.Context, userID int64, keep string) (int64, error) {
	res, err := s.db.Writer(ctx).ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND token <> $2`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("delete other user sessions: %w", err)
	}
	return res.RowsAffected()
}

// DeleteExpired removes sessions whose expiry has passed and returns how
// many were removed.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	res, err := s.db.Write.ExecContext(ctx, `DELETE FROM sessions WHERE expiry <= $1`, s.now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return res.RowsAffected()
}

// CleanupLoop deletes expired sessions every interval until ctx ends.
func (s *Store) CleanupLoop(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.DeleteExpired(ctx)
			if err != nil && ctx.Err() == nil {
				log.Error("session cleanup", "err", err)
			} else if n > 0 {
				log.Info("session cleanup", "deleted", n)
			}
		}
	}
}
