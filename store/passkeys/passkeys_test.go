package passkeys

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/storetest"
)

var ctx = context.Background()

func TestCounterRises(t *testing.T) {
	cases := []struct {
		stored, got uint32
		ok          bool
	}{
		{0, 0, true},   // a synced passkey that does not count
		{0, 1, true},   // the first counted use
		{5, 6, true},   // rising
		{5, 100, true}, // rising by more than one (used elsewhere)
		{5, 5, false},  // a replay or a clone
		{5, 4, false},  // going back
		{5, 0, false},  // a counting authenticator that stopped counting
		{1, 0, false},
	}
	for _, c := range cases {
		if got := CounterRises(c.stored, c.got); got != c.ok {
			t.Errorf("CounterRises(%d, %d) = %v, want %v", c.stored, c.got, got, c.ok)
		}
	}
}

func newUser(t *testing.T, db *store.DB, email string) int64 {
	t.Helper()
	var id int64
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = accounts.InsertUser(ctx, tx, accounts.NewUser{Email: email, PasswordHash: "x", Confirmed: true}, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func key(id byte) Passkey {
	return Passkey{CredentialID: []byte{id, id, id}, PublicKey: []byte{1, 2, 3}, Name: "Key", SignCount: 0,
		BackupEligible: true, BackupState: true, AAGUID: make([]byte, 16), Transports: []string{"internal", "hybrid"}, AttestationFormat: "none"}
}

func TestStore(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		s := New(db)
		s.Now = func() time.Time { return now }
		alice, bob := newUser(t, db, "alice@example.com"), newUser(t, db, "bob@example.com")

		t.Run("handles", func(t *testing.T) {
			h, err := s.Handle(ctx, alice)
			if err != nil || h != nil {
				t.Fatalf("Handle before any: %x, %v; want none", h, err)
			}
			h1, err := s.EnsureHandle(ctx, alice)
			if err != nil || len(h1) != 32 {
				t.Fatalf("EnsureHandle: %x, %v; want 32 bytes", h1, err)
			}
			h2, _ := s.EnsureHandle(ctx, alice)
			if !bytes.Equal(h1, h2) {
				t.Fatalf("EnsureHandle twice gave two handles")
			}
			hb, _ := s.EnsureHandle(ctx, bob)
			if bytes.Equal(h1, hb) {
				t.Fatal("two accounts share a handle")
			}
			if uid, err := s.UserByHandle(ctx, h1); err != nil || uid != alice {
				t.Fatalf("UserByHandle = %d, %v; want %d", uid, err, alice)
			}
			if _, err := s.UserByHandle(ctx, []byte("nobody")); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("UserByHandle(unknown) = %v, want ErrNotFound", err)
			}
		})

		t.Run("add, list, rename, use, remove", func(t *testing.T) {
			id, err := s.Add(ctx, alice, key(1))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Add(ctx, bob, key(1)); !errors.Is(err, ErrDuplicate) {
				t.Fatalf("the same credential twice: %v, want ErrDuplicate", err)
			}
			list, err := s.List(ctx, alice)
			if err != nil || len(list) != 1 {
				t.Fatalf("List = %v, %v", list, err)
			}
			p := list[0]
			if p.ID != id || !p.BackupEligible || !p.BackupState || len(p.AAGUID) != 16 || len(p.Transports) != 2 ||
				!p.CreatedAt.Equal(now) || !p.LastUsedAt.IsZero() || p.AttestationFormat != "none" {
				t.Fatalf("stored passkey = %+v", p)
			}
			if err := s.Rename(ctx, bob, id, "Mine"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("renaming another's passkey: %v, want ErrNotFound", err)
			}
			if err := s.Rename(ctx, alice, id, "Phone"); err != nil {
				t.Fatal(err)
			}
			got, err := s.ByCredentialID(ctx, []byte{1, 1, 1})
			if err != nil || got.Name != "Phone" || got.UserID != alice {
				t.Fatalf("ByCredentialID = %+v, %v", got, err)
			}

			now = now.Add(time.Hour)
			if err := s.RecordUse(ctx, id, 0, 0, false); err != nil {
				t.Fatalf("a synced passkey at 0: %v", err)
			}
			if err := s.RecordUse(ctx, id, 0, 3, false); err != nil {
				t.Fatalf("rising to 3: %v", err)
			}
			if err := s.RecordUse(ctx, id, 3, 3, false); !errors.Is(err, ErrCounter) {
				t.Fatalf("3 again: %v, want ErrCounter", err)
			}
			// The stored count moved on since it was read: the update refuses.
			if err := s.RecordUse(ctx, id, 0, 2, false); !errors.Is(err, ErrCounter) {
				t.Fatalf("a stale read: %v, want ErrCounter", err)
			}
			got, _ = s.ByCredentialID(ctx, []byte{1, 1, 1})
			if got.SignCount != 3 || got.BackupState || !got.LastUsedAt.Equal(now) {
				t.Fatalf("after use: %+v", got)
			}

			if _, err := s.Remove(ctx, bob, id); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("removing another's passkey: %v, want ErrNotFound", err)
			}
			removed, err := s.Remove(ctx, alice, id)
			if err != nil || removed.Name != "Phone" {
				t.Fatalf("Remove = %+v, %v", removed, err)
			}
			if _, err := s.ByCredentialID(ctx, []byte{1, 1, 1}); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a removed passkey is still found: %v", err)
			}
		})

		t.Run("at most ten, also when added at once", func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make([]error, 14)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = s.Add(ctx, bob, key(byte(100+i)))
				}()
			}
			wg.Wait()
			added := 0
			for _, err := range errs {
				switch {
				case err == nil:
					added++
				case !errors.Is(err, ErrLimit):
					t.Fatalf("Add: %v", err)
				}
			}
			n, err := s.Count(ctx, bob)
			if err != nil || n != MaxPerUser || added != MaxPerUser {
				t.Fatalf("added %d, stored %d (%v); want %d", added, n, err, MaxPerUser)
			}
		})
	})
}
