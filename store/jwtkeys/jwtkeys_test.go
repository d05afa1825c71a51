package jwtkeys_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/jwtkeys"
	"shelf/store/sealed"
	"shelf/store/storetest"
)

func TestRotation(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		seal, err := sealed.New(bytes.Repeat([]byte{7}, 32))
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		cfg := jwtkeys.Config{Rotate: time.Hour, TokenTTL: 15 * time.Minute, PublishAhead: 10 * time.Minute, Now: func() time.Time { return now }}
		one, two := jwtkeys.New(db, seal, cfg), jwtkeys.New(db, seal, cfg) // two instances

		first, err := one.Signing(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := two.Signing(ctx); err != nil || again.ID != first.ID || !again.Public.Equal(first.Public) || !again.Private.Equal(first.Private) {
			t.Fatalf("the other instance signs with %+v, %v; want %s", again.ID, err, first.ID)
		}
		// Sealed at rest.
		var stored []byte
		if err := db.Read.QueryRow(`SELECT private_key FROM jwt_keys WHERE kid = $1`, first.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(stored, first.Private.Seed()) {
			t.Fatal("the private key is stored in clear")
		}

		// Near the end of its period the next key is published, not yet used.
		now = now.Add(55 * time.Minute)
		if k, err := one.Signing(ctx); err != nil || k.ID != first.ID {
			t.Fatalf("signing 5 minutes before rotation: %s, %v", k.ID, err)
		}
		// The other instance's copy may be stale for a while; after the
		// reload interval it sees the new key.
		now = now.Add(31 * time.Second)
		pub, err := two.Published(ctx)
		if err != nil || len(pub) != 2 {
			t.Fatalf("published %d keys before the rotation (%v), want the current and the next", len(pub), err)
		}
		var next string
		for _, k := range pub {
			if k.Private != nil {
				t.Fatal("Published hands out a private key")
			}
			if k.ID != first.ID {
				next = k.ID
			}
		}
		if next == "" {
			t.Fatal("no next key published")
		}

		// After the rotation the next key signs, on both instances; the old
		// one stays published until its tokens have expired.
		now = time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
		for _, inst := range []*jwtkeys.Keyring{one, two} {
			if k, err := inst.Signing(ctx); err != nil || k.ID != next {
				t.Fatalf("signing after the rotation: %s, %v, want %s", k.ID, err, next)
			}
		}
		if k, err := two.Lookup(ctx, first.ID); err != nil || !k.Equal(first.Public) {
			t.Fatalf("the rotated-out key, right after: %v", err)
		}
		now = now.Add(16 * time.Minute)
		if _, err := two.Lookup(ctx, first.ID); !errors.Is(err, jwtkeys.ErrUnknownKey) {
			t.Fatalf("the rotated-out key after its tokens expired: %v, want ErrUnknownKey", err)
		}
		if _, err := one.Lookup(ctx, "no-such-kid"); !errors.Is(err, jwtkeys.ErrUnknownKey) {
			t.Fatalf("an unknown kid: %v", err)
		}
	})
}

// A key that another instance made is found on first sight of its kid.
func TestLookupFindsAnotherInstancesKey(t *testing.T) {
	db := storetest.Open(t)
	seal, _ := sealed.New(bytes.Repeat([]byte{7}, 32))
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg := jwtkeys.Config{TokenTTL: 15 * time.Minute, Now: func() time.Time { return now }}
	one, two := jwtkeys.New(db, seal, cfg), jwtkeys.New(db, seal, cfg)
	if _, err := two.Published(context.Background()); err != nil { // caches "no keys"
		t.Fatal(err)
	}
	k, err := one.Signing(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := two.Lookup(context.Background(), k.ID); err != nil || !pub.Equal(k.Public) {
		t.Fatalf("Lookup of another instance's new key: %v", err)
	}
}

// A key sealed under another secret key does not load.
func TestWrongSecretKey(t *testing.T) {
	db := storetest.Open(t)
	a, _ := sealed.New(bytes.Repeat([]byte{7}, 32))
	b, _ := sealed.New(bytes.Repeat([]byte{8}, 32))
	cfg := jwtkeys.Config{TokenTTL: 15 * time.Minute}
	if _, err := jwtkeys.New(db, a, cfg).Signing(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := jwtkeys.New(db, b, cfg).Signing(context.Background()); !errors.Is(err, sealed.ErrOpen) {
		t.Fatalf("keys under another secret: %v, want sealed.ErrOpen", err)
	}
}
