package shares

import (
	"context"
	"errors"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/shelves"
	"shelf/store/storetest"
)

const ann, bob = 1, 2

func fixture(t *testing.T, db *store.DB) *Store {
	t.Helper()
	for _, email := range []string{"ann@example.org", "bob@example.org"} {
		if _, err := db.Write.Exec(`INSERT INTO users (email, email_key, password_hash, created_at) VALUES ($1, $1, 'x', '2026-01-01 00:00:00.000')`, email); err != nil {
			t.Fatal(err)
		}
	}
	return New(db, func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
}

func TestShares(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := fixture(t, db)
		ctx := context.Background()

		if _, err := s.Share(ctx, ann, "finished"); !errors.Is(err, shelves.ErrBadShelf) {
			t.Fatalf("share of an unknown shelf: %v", err)
		}
		sh, err := s.Share(ctx, ann, shelves.Read)
		if err != nil {
			t.Fatal(err)
		}
		if len(sh.Key) < 26 || sh.UserID != ann || sh.Shelf != shelves.Read || !sh.CreatedAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Fatalf("share = %+v", sh)
		}
		again, err := s.Share(ctx, ann, shelves.Read)
		if err != nil || again != sh {
			t.Fatalf("sharing again = %+v, %v; want the same share %+v", again, err, sh)
		}
		other, err := s.Share(ctx, ann, shelves.Reading)
		if err != nil || other.Key == sh.Key {
			t.Fatalf("second shelf: %+v, %v", other, err)
		}
		got, ok, err := s.Get(ctx, sh.Key)
		if err != nil || !ok || got != sh {
			t.Fatalf("Get = %+v, %v, %v", got, ok, err)
		}
		for _, bad := range []string{"", "nope", sh.Key + "x", sh.Key[:len(sh.Key)-1]} {
			if _, ok, err := s.Get(ctx, bad); ok || err != nil {
				t.Errorf("Get(%q) = %v, %v", bad, ok, err)
			}
		}
		mine, err := s.ForUser(ctx, ann)
		if err != nil || len(mine) != 2 || mine[shelves.Read] != sh || mine[shelves.Reading] != other {
			t.Fatalf("ForUser = %+v, %v", mine, err)
		}
		if theirs, err := s.ForUser(ctx, bob); err != nil || len(theirs) != 0 {
			t.Fatalf("ForUser(bob) = %+v, %v", theirs, err)
		}

		if _, err := s.Revoke(ctx, bob, sh.Key); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("bob revoking ann's share: %v", err)
		}
		if _, ok, _ := s.Get(ctx, sh.Key); !ok {
			t.Fatal("bob's attempt revoked ann's share")
		}
		if revoked, err := s.Revoke(ctx, ann, sh.Key); err != nil || revoked != sh {
			t.Fatalf("Revoke = %+v, %v; want %+v", revoked, err, sh)
		}
		if _, ok, _ := s.Get(ctx, sh.Key); ok {
			t.Fatal("revoked share still found")
		}
		if _, err := s.Revoke(ctx, ann, sh.Key); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoking twice: %v", err)
		}
		fresh, err := s.Share(ctx, ann, shelves.Read)
		if err != nil || fresh.Key == sh.Key {
			t.Fatalf("sharing after revoking: %+v, %v (old key %s)", fresh, err, sh.Key)
		}
	})
}
