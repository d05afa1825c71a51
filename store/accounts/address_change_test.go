package accounts

import (
	"context"
	"errors"
	"testing"
	"time"

	"shelf/store"
)

// A pending sign-up moves to another address, on both backends: the old
// account goes, its links say they were retired until they would have
// expired, and the new address is signed up as SignUp would.
func TestChangeAddress(t *testing.T) {
	backends(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		db = flowDB(t, db, &now, &countingNotifier{})
		hash, err := db.Hasher.Hash(ctx, "a long enough secret")
		if err != nil {
			t.Fatal(err)
		}
		from, _, err := db.SignUpHashed(ctx, NewUser{Email: "wrong@example.org", PasswordHash: hash}, noSession)
		if err != nil {
			t.Fatal(err)
		}
		oldToken := mailsTo(t, db, "wrong@example.org")[0].token

		var saved User
		created, existing, err := db.ChangeAddress(ctx, AddressChange{From: from, FromEmail: "wrong@example.org", NewUser: NewUser{Email: "right@example.org", PasswordHash: hash}},
			func(_ context.Context, u User) error { saved = u; return nil })
		if err != nil || created == 0 || existing != 0 || saved.ID != created || saved.Email != "right@example.org" {
			t.Fatalf("change: %d %d %v, saved %+v", created, existing, err, saved)
		}
		if _, err := db.UserByEmail(ctx, "wrong@example.org"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the old account: %v", err)
		}
		if _, err := db.CheckToken(ctx, oldToken, PurposeConfirm, now); !errors.Is(err, ErrTokenRetired) {
			t.Fatalf("old token: %v, want retired", err)
		}
		if _, _, err := db.Confirm(ctx, oldToken, noSession); !errors.Is(err, ErrTokenRetired) {
			t.Fatalf("confirm with the old token: %v", err)
		}
		ms := mailsTo(t, db, "right@example.org")
		if len(ms) != 1 || ms[0].subject != "confirm" {
			t.Fatalf("mails to the new address: %+v", ms)
		}
		if uid, _, err := db.Confirm(ctx, ms[0].token, noSession); err != nil || uid != created {
			t.Fatalf("confirm the new address: %d %v", uid, err)
		}

		// To an address with a confirmed account: a notice, no account.
		now = now.Add(time.Minute)
		from2, _, err := db.SignUpHashed(ctx, NewUser{Email: "second@example.org", PasswordHash: hash}, noSession)
		if err != nil {
			t.Fatal(err)
		}
		created, existing, err = db.ChangeAddress(ctx, AddressChange{From: from2, FromEmail: "second@example.org", NewUser: NewUser{Email: "right@example.org", PasswordHash: hash}}, noSession)
		if err != nil || created != 0 || existing == 0 {
			t.Fatalf("change to a taken address: %d %d %v", created, existing, err)
		}
		if ms := mailsTo(t, db, "right@example.org"); len(ms) != 2 || ms[1].subject != "attempt" {
			t.Fatalf("mails to the taken address: %+v", ms)
		}
		// From an account confirmed meanwhile: nothing changes.
		if _, _, err := db.ChangeAddress(ctx, AddressChange{From: existing, FromEmail: "right@example.org", NewUser: NewUser{Email: "third@example.org", PasswordHash: hash}}, noSession); !errors.Is(err, ErrAccountConfirmed) {
			t.Fatalf("change from a confirmed account: %v", err)
		}
		if ms := mailsTo(t, db, "third@example.org"); len(ms) != 0 {
			t.Fatalf("mail after a refused change: %+v", ms)
		}

		// An id that no longer has the sign-up's address is not retired.
		other, _, err := db.SignUpHashed(ctx, NewUser{Email: "other@example.org", PasswordHash: hash}, noSession)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.ChangeAddress(ctx, AddressChange{From: other, FromEmail: "someone-else@example.org",
			NewUser: NewUser{Email: "sixth@example.org", PasswordHash: hash}}, noSession); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("change from another address's account: %v", err)
		}

		// Retired links are forgotten once they would have expired.
		now = now.Add(DefaultConfirmTTL + time.Minute)
		from3, _, err := db.SignUpHashed(ctx, NewUser{Email: "fourth@example.org", PasswordHash: hash}, noSession)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.ChangeAddress(ctx, AddressChange{From: from3, FromEmail: "fourth@example.org", NewUser: NewUser{Email: "fifth@example.org", PasswordHash: hash}}, noSession); err != nil {
			t.Fatal(err)
		}
		if _, err := db.CheckToken(ctx, oldToken, PurposeConfirm, now); !errors.Is(err, ErrTokenUnknown) {
			t.Fatalf("an expired retired token: %v, want unknown", err)
		}
	})
}

// ResendWaitNow reads what Resend decides by.
func TestResendWaitNow(t *testing.T) {
	backends(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		db = flowDB(t, db, &now, &countingNotifier{})
		id, _, err := db.SignUp(ctx, NewAccount{Email: "wait@example.org", Password: "a long enough secret"}, noSession)
		if err != nil {
			t.Fatal(err)
		}
		now = now.Add(20 * time.Second)
		if wait, err := db.ResendWaitNow(ctx, id, now); err != nil || wait != 40*time.Second {
			t.Fatalf("wait %v, %v", wait, err)
		}
		if wait, err := db.Resend(ctx, id); err != nil || wait != 40*time.Second {
			t.Fatalf("resend: wait %v, %v", wait, err)
		}
	})
}

// The wait is the longer rule's: just after the last resend of the day
// it is the day's, not the minute's.
func TestResendWaitAfterIsTheWholeWait(t *testing.T) {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	var resends []time.Time
	for i := range ResendPerDay {
		resends = append(resends, now.Add(time.Duration(i)*time.Minute))
	}
	last := resends[len(resends)-1]
	at := last.Add(time.Second)
	if got, want := ResendWaitAfter(last, resends, at), resends[0].Add(24*time.Hour).Sub(at); got != want {
		t.Fatalf("wait %v, want %v", got, want)
	}
	if got := ResendWaitAfter(last, resends[1:], at); got != time.Minute-time.Second {
		t.Fatalf("under the daily limit: %v", got)
	}
	if got := ResendWaitAfter(time.Time{}, nil, at); got != 0 {
		t.Fatalf("no history: %v", got)
	}
}
