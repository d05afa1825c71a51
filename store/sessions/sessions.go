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
	// UserID extracts the signed-in account from encoded session data (the
	// handlers know the codec); 0 means nobody. It is stored alongside the
	// data so DeleteUserSessions can end every session of an account.
	UserID func(data []byte) int64
	// Now is the clock used to decide expiry; time.Now when nil.
	Now func() time.Time
}

// New returns a store over db.
func New(db *store.DB, userID func([]byte) int64) *Store {
	return &Store{db: db, UserID: userID}
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
	var uid any
	if s.UserID != nil {
		if id := s.UserID(data); id != 0 {
			uid = id
		}
	}
	_, err := s.db.Writer(ctx).ExecContext(ctx, `INSERT INTO sessions (token, data, expiry, user_id) VALUES ($1, $2, $3, $4)
		ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry, user_id = excluded.user_id`,
		token, data, expiry.UnixMilli(), uid)
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
