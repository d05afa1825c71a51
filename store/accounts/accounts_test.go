package accounts

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/storetest"
)

// testDB is a fresh database with its accounts.
type testDB struct {
	*store.DB
	*Accounts
}

// backends runs test on a fresh database of each backend (see
// storetest.Backends).
func backends(t *testing.T, test func(t *testing.T, db testDB)) {
	t.Helper()
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		test(t, testDB{db, New(db, Config{Hash: fastHash})})
	})
}

// fastHash keeps tests quick; the PHC string records the parameters.
var fastHash = HashParams{Time: 1, Memory: 64, Threads: 1}

func insertTestUser(t testing.TB, db testDB, email string, now time.Time) int64 {
	t.Helper()
	var id int64
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = InsertUser(context.Background(), tx, NewUser{Email: email, PasswordHash: "x"}, now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestHasher(t *testing.T) {
	ctx := context.Background()
	h := NewHasher(fastHash)
	hash, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash = %q", hash)
	}
	if ok, err := h.Verify(ctx, hash, "correct horse battery"); !ok || err != nil {
		t.Fatalf("verify right password = %v, %v", ok, err)
	}
	if ok, _ := h.Verify(ctx, hash, "correct horse batterY"); ok {
		t.Fatal("wrong password verified")
	}
	// A hash made with other parameters still verifies.
	other, _ := NewHasher(HashParams{Time: 2, Memory: 128, Threads: 1}).Hash(ctx, "pw")
	if ok, _ := h.Verify(ctx, other, "pw"); !ok {
		t.Fatal("hash with other parameters did not verify")
	}
	if _, err := h.Verify(ctx, "$2a$12$bcrypt", "pw"); err == nil {
		t.Fatal("non-argon2 hash accepted")
	}
}

func TestUsersUniqueEmailIgnoresCase(t *testing.T) {
	for _, c := range []struct{ stored, again, lookup string }{
		{"Ann@example.org", "ann@example.org", "ANN@example.org"},
		// Case beyond ASCII, which SQLite's NOCASE does not fold.
		{"Émile@example.org", "émile@example.org", "ÉMILE@example.org"},
		{"Ирина@example.рф", "ирина@example.рф", "ИРИНА@example.рф"},
		{"strasse@example.de", "STRASSE@example.de", "straße@example.de"},
	} {
		t.Run(c.stored, func(t *testing.T) {
			backends(t, func(t *testing.T, db testDB) {
				ctx := context.Background()
				now := time.Now()
				insertTestUser(t, db, c.stored, now)
				err := db.InTx(ctx, func(tx *sql.Tx) error {
					_, err := InsertUser(ctx, tx, NewUser{Email: c.again, PasswordHash: "x"}, now)
					return err
				})
				if !errors.Is(err, ErrDuplicateEmail) {
					t.Fatalf("second account %q: err = %v, want ErrDuplicateEmail", c.again, err)
				}
				for _, lookup := range []string{c.again, c.lookup} {
					u, err := db.UserByEmail(ctx, lookup)
					if err != nil || u.Email != c.stored || u.Confirmed() {
						t.Fatalf("UserByEmail(%q) = %+v, %v", lookup, u, err)
					}
					cr, err := db.CredentialsByEmail(ctx, lookup)
					if err != nil || cr.UserID != u.ID {
						t.Fatalf("CredentialsByEmail(%q) = %+v, %v", lookup, cr, err)
					}
				}
				if _, err := db.UserByEmail(ctx, "nobody@example.org"); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("unknown: %v", err)
				}
			})
		})
	}
}

func TestConcurrentInsertsOneAccount(t *testing.T) {
	backends(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		var ok, dup int
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := db.InTx(ctx, func(tx *sql.Tx) error {
					_, err := InsertUser(ctx, tx, NewUser{Email: "race@example.org", PasswordHash: "x"}, time.Now())
					return err
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrDuplicateEmail):
					dup++
				default:
					t.Errorf("insert: %v", err)
				}
			}()
		}
		wg.Wait()
		if ok != 1 || dup != 19 {
			t.Fatalf("ok=%d dup=%d, want 1 and 19", ok, dup)
		}
	})
}

func TestTokens(t *testing.T) {
	backends(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		uid := insertTestUser(t, db, "t@example.org", now)
		issue := func(p Purpose, at time.Time, ttl time.Duration) string {
			t.Helper()
			var tok string
			if err := db.InTx(ctx, func(tx *sql.Tx) error {
				var err error
				tok, err = IssueToken(ctx, tx, uid, p, at, ttl, false)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return tok
		}
		use := func(tok string, p Purpose, at time.Time) (int64, error) {
			var id int64
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				var err error
				id, err = UseToken(ctx, tx, tok, p, at)
				return err
			})
			return id, err
		}

		tok := issue(PurposeConfirm, now, 48*time.Hour)
		if len(tok) != tokenChars {
			t.Fatalf("token %q has %d chars", tok, len(tok))
		}
		var stored int
		db.Read.QueryRow(`SELECT count(*) FROM user_tokens WHERE hash = $1`, tok).Scan(&stored)
		if stored != 0 {
			t.Fatal("token stored in clear")
		}
		if id, err := db.CheckToken(ctx, tok, PurposeConfirm, now); id != uid || err != nil {
			t.Fatalf("check = %d, %v", id, err)
		}
		if _, err := use(tok, PurposeReset, now); !errors.Is(err, ErrTokenUnknown) {
			t.Fatalf("other purpose: %v", err)
		}
		if _, err := db.CheckToken(ctx, tok, PurposeConfirm, now.Add(48*time.Hour)); !errors.Is(err, ErrTokenExpired) {
			t.Fatalf("expired: %v", err)
		}
		tampered := []byte(tok)
		tampered[5] ^= 1
		if _, err := db.CheckToken(ctx, string(tampered), PurposeConfirm, now); !errors.Is(err, ErrTokenMalformed) {
			t.Fatalf("tampered: %v", err)
		}
		if _, err := db.CheckToken(ctx, tok[:20], PurposeConfirm, now); !errors.Is(err, ErrTokenMalformed) {
			t.Fatalf("cut: %v", err)
		}
		unknown, _, _ := newToken()
		if _, err := db.CheckToken(ctx, unknown, PurposeConfirm, now); !errors.Is(err, ErrTokenUnknown) {
			t.Fatalf("unknown: %v", err)
		}
		if id, err := use(tok, PurposeConfirm, now.Add(time.Hour)); id != uid || err != nil {
			t.Fatalf("use = %d, %v", id, err)
		}
		if id, err := use(tok, PurposeConfirm, now.Add(time.Hour)); id != uid || !errors.Is(err, ErrTokenUsed) {
			t.Fatalf("reuse = %d, %v", id, err)
		}
		// A newer link supersedes the older one.
		old := issue(PurposeReset, now, time.Hour)
		newer := issue(PurposeReset, now.Add(time.Minute), time.Hour)
		if _, err := use(old, PurposeReset, now.Add(2*time.Minute)); !errors.Is(err, ErrTokenSuperseded) {
			t.Fatalf("superseded: %v", err)
		}
		if _, err := use(newer, PurposeReset, now.Add(2*time.Minute)); err != nil {
			t.Fatalf("newer: %v", err)
		}
	})
}

func TestResendWait(t *testing.T) {
	backends(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
		uid := insertTestUser(t, db, "r@example.org", now)
		try := func(at time.Time, resent bool) time.Duration {
			t.Helper()
			var wait time.Duration
			if err := db.InTx(ctx, func(tx *sql.Tx) error {
				var err error
				if wait, err = ResendWait(ctx, tx, uid, at); err != nil || wait > 0 {
					return err
				}
				_, err = IssueToken(ctx, tx, uid, PurposeConfirm, at, time.Hour, resent)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return wait
		}
		if w := try(now, false); w != 0 { // the sign-up mail
			t.Fatalf("first: wait %v", w)
		}
		if w := try(now.Add(20*time.Second), true); w != 40*time.Second {
			t.Fatalf("after 20s: wait %v, want 40s", w)
		}
		at := now
		for i := 0; i < ResendPerDay; i++ {
			at = at.Add(time.Minute)
			if w := try(at, true); w != 0 {
				t.Fatalf("resend %d: wait %v", i+1, w)
			}
		}
		at = at.Add(time.Minute)
		if w := try(at, true); w != 24*time.Hour-5*time.Minute {
			t.Fatalf("sixth resend: wait %v, want %v", w, 24*time.Hour-5*time.Minute)
		}
		if w := try(now.Add(24*time.Hour+time.Minute+time.Second), true); w != 0 {
			t.Fatalf("next day: wait %v", w)
		}
	})
}

// BenchmarkPasswordHash measures one production-strength hash.
func BenchmarkPasswordHash(b *testing.B) {
	h := NewHasher(DefaultHashParams)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPasswordHashParallel shows throughput when many sign-ups arrive
// at once (the Hasher lets GOMAXPROCS run; the rest queue).
func BenchmarkPasswordHashParallel(b *testing.B) {
	h := NewHasher(DefaultHashParams)
	ctx := context.Background()
	b.SetParallelism(50)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
