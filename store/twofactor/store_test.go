package twofactor

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/sealed"
	"shelf/store/storetest"
)

func testStore(t *testing.T, db *store.DB) *Store {
	t.Helper()
	keys, err := sealed.New(bytes.Repeat([]byte{7}, sealed.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return New(db, keys)
}

func newUser(t *testing.T, db *store.DB, email string) int64 {
	t.Helper()
	var id int64
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		id, err = accounts.InsertUser(context.Background(), tx, accounts.NewUser{Email: email, PasswordHash: "x", Confirmed: true}, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func inTx[T any](t *testing.T, db *store.DB, fn func(tx *sql.Tx) (T, error)) T {
	t.Helper()
	var out T
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// enable turns the app on for a new account, enrolled at step `enrolled`.
func enable(t *testing.T, db *store.DB, s *Store, email string, enrolled int64) (int64, string) {
	t.Helper()
	uid := newUser(t, db, email)
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	inTx(t, db, func(tx *sql.Tx) (int, error) {
		return 0, s.Enable(context.Background(), tx, uid, secret, enrolled, time.Now())
	})
	return uid, secret
}

func code(t *testing.T, secret string, step int64) string {
	t.Helper()
	c, err := Code(secret, step)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestStepsAroundNow: at sign-in, codes of the steps -1..+1 around the
// fake clock work and -3, -2, +2, +3 do not; at enrolment -2..+2 do.
func TestStepsAroundNow(t *testing.T) {
	secret, _ := NewSecret()
	now := time.Date(2026, 5, 1, 12, 0, 10, 0, time.UTC)
	cur := Step(now)
	for d := int64(-3); d <= 3; d++ {
		c := code(t, secret, cur+d)
		_, signIn := MatchStep(secret, c, now, SignInSkew, 0)
		_, enrol := MatchStep(secret, c, now, EnrolSkew, 0)
		if signIn != (d >= -1 && d <= 1) {
			t.Errorf("step %+d: accepted at sign-in = %v", d, signIn)
		}
		if enrol != (d >= -2 && d <= 2) {
			t.Errorf("step %+d: accepted at enrolment = %v", d, enrol)
		}
	}
	if _, ok := MatchStep(secret, code(t, secret, cur), now, SignInSkew, cur); ok {
		t.Error("a code of a step already used was accepted")
	}
}

// The codes match RFC 6238's SHA-1 test vectors (secret "12345678901234567890").
func TestRFC6238Vectors(t *testing.T) {
	secret := b32.EncodeToString([]byte("12345678901234567890"))
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		if got := code(t, secret, Step(time.Unix(unix, 0))); got != want {
			t.Errorf("T=%d: %s, want %s", unix, got, want)
		}
	}
}

func TestCodeWorksOnce(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := testStore(t, db)
		now := time.Now()
		ctx := context.Background()
		uid, secret := enable(t, db, s, "once@example.org", Step(now)-1)
		// The enrolment code (step now-1) is used already.
		if ok := inTx(t, db, func(tx *sql.Tx) (bool, error) { return s.UseCode(ctx, tx, uid, code(t, secret, Step(now)-1), now) }); ok {
			t.Fatal("the enrolment code worked again")
		}
		c := code(t, secret, Step(now))
		if ok := inTx(t, db, func(tx *sql.Tx) (bool, error) { return s.UseCode(ctx, tx, uid, c, now) }); !ok {
			t.Fatal("a fresh code was refused")
		}
		if ok := inTx(t, db, func(tx *sql.Tx) (bool, error) { return s.UseCode(ctx, tx, uid, c, now) }); ok {
			t.Fatal("the same code worked twice")
		}
		// An earlier step's code, still within the skew, is refused too.
		if ok := inTx(t, db, func(tx *sql.Tx) (bool, error) { return s.UseCode(ctx, tx, uid, code(t, secret, Step(now)-1), now) }); ok {
			t.Fatal("an older code worked after a newer one")
		}
	})
}

// At sign-in, against the stored secret: codes of the steps -3..+3 around a
// fake clock; only -1..+1 sign in.
func TestUseCodeStepsAroundNow(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := testStore(t, db)
		now := time.Date(2026, 5, 1, 12, 0, 29, 0, time.UTC)
		for d := int64(-3); d <= 3; d++ {
			uid, secret := enable(t, db, s, fmt.Sprintf("step%d@example.org", d+3), 0)
			ok := inTx(t, db, func(tx *sql.Tx) (bool, error) {
				return s.UseCode(context.Background(), tx, uid, code(t, secret, Step(now)+d), now)
			})
			if ok != (d >= -1 && d <= 1) {
				t.Errorf("step %+d: signed in = %v", d, ok)
			}
		}
	})
}

func TestCodeConcurrentlyWorksOnce(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := testStore(t, db)
		now := time.Now()
		uid, secret := enable(t, db, s, "race@example.org", 0)
		c := code(t, secret, Step(now))
		const n = 8
		var wg sync.WaitGroup
		results := make(chan bool, n)
		for range n {
			wg.Go(func() {
				var ok bool
				err := db.InTx(context.Background(), func(tx *sql.Tx) error {
					var err error
					ok, err = s.UseCode(context.Background(), tx, uid, c, now)
					return err
				})
				if err != nil {
					t.Error(err)
				}
				results <- ok
			})
		}
		wg.Wait()
		close(results)
		won := 0
		for ok := range results {
			if ok {
				won++
			}
		}
		if won != 1 {
			t.Fatalf("%d of %d concurrent uses of one code succeeded, want 1", won, n)
		}
	})
}

func TestRecoveryCodes(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := testStore(t, db)
		ctx := context.Background()
		now := time.Now()
		uid, _ := enable(t, db, s, "recover@example.org", 0)
		codes := inTx(t, db, func(tx *sql.Tx) ([]string, error) { return s.ReplaceRecoveryCodes(ctx, tx, uid) })
		if len(codes) != RecoveryCodes {
			t.Fatalf("%d codes", len(codes))
		}
		for _, c := range codes {
			if len(c) != 19 || strings.Count(c, "-") != 3 {
				t.Fatalf("code %q is not XXXX-XXXX-XXXX-XXXX", c)
			}
		}
		var stored int
		if err := db.Read.QueryRow(`SELECT count(*) FROM recovery_codes WHERE code_hash = $1`, []byte(codes[0])).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("a code is stored in clear (%d, %v)", stored, err)
		}
		typed := strings.ToLower(strings.ReplaceAll(codes[0], "-", " "))
		use := func(c string) bool {
			return inTx(t, db, func(tx *sql.Tx) (bool, error) { return s.UseRecoveryCode(ctx, tx, uid, c, now) })
		}
		if !use(typed) {
			t.Fatalf("code %q typed as %q refused", codes[0], typed)
		}
		if use(codes[0]) {
			t.Fatal("a recovery code worked twice")
		}
		if n, err := s.RecoveryCodesLeft(ctx, uid); err != nil || n != RecoveryCodes-1 {
			t.Fatalf("%d left, %v", n, err)
		}
		other := newUser(t, db, "other@example.org")
		if inTx(t, db, func(tx *sql.Tx) (bool, error) { return s.UseRecoveryCode(ctx, tx, other, codes[1], now) }) {
			t.Fatal("one account's code worked for another")
		}
		fresh := inTx(t, db, func(tx *sql.Tx) ([]string, error) { return s.ReplaceRecoveryCodes(ctx, tx, uid) })
		if use(codes[1]) {
			t.Fatal("a code worked after the codes were replaced")
		}
		if !use(fresh[0]) {
			t.Fatal("a new code was refused")
		}
	})
}

func TestTenFailuresFreeze(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := testStore(t, db)
		ctx := context.Background()
		now := time.Now()
		uid, _ := enable(t, db, s, "freeze@example.org", 0)
		fail := func(at time.Time) bool {
			return inTx(t, db, func(tx *sql.Tx) (bool, error) { return s.RecordFailure(ctx, tx, uid, at) })
		}
		// Failures older than the window are forgotten.
		for range FreezeAfter - 1 {
			if fail(now.Add(-FailWindow - time.Minute)) {
				t.Fatal("froze early")
			}
		}
		for i := range FreezeAfter {
			if froze := fail(now); froze != (i == FreezeAfter-1) {
				t.Fatalf("failure %d: froze = %v", i+1, froze)
			}
		}
		until, err := s.FrozenUntil(ctx, uid, now)
		if err != nil || !until.Equal(now.Add(FreezeFor).Truncate(time.Millisecond)) && until.Sub(now.Add(FreezeFor)).Abs() > time.Millisecond {
			t.Fatalf("frozen until %v, %v", until, err)
		}
		if until, _ := s.FrozenUntil(ctx, uid, now.Add(FreezeFor+time.Second)); !until.IsZero() {
			t.Fatal("still frozen after FreezeFor")
		}
	})
}

func TestRecoveryCodeNormalization(t *testing.T) {
	for in, want := range map[string]string{
		"abcd-efgh-jkmn-pqrs":   "ABCDEFGHJKMNPQRS",
		" ABCD EFGH JKMN PQRS ": "ABCDEFGHJKMNPQRS",
		"o1l0-0000-0000-0000":   "0110000000000000",
	} {
		if got, ok := NormalizeRecoveryCode(in); !ok || got != want {
			t.Errorf("%q: %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"123456", "ABCD-EFGH-JKMN-PQR", "ABCD-EFGH-JKMN-PQRU", "ABCD-EFGH-JKMN-PQRSX"} {
		if _, ok := NormalizeRecoveryCode(in); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

// BenchmarkUseCode: one consumption of a code in its own transaction on
// SQLite (open the sealed secret, compare three steps, record the step).
func BenchmarkUseCode(b *testing.B) {
	db, err := store.Open(context.Background(), b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	keys, _ := sealed.New(bytes.Repeat([]byte{7}, sealed.KeySize))
	s := New(db, keys)
	secret, _ := NewSecret()
	var uid int64
	ctx := context.Background()
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if uid, err = accounts.InsertUser(ctx, tx, accounts.NewUser{Email: "bench@example.org", PasswordHash: "x", Confirmed: true}, time.Now()); err != nil {
			return err
		}
		return s.Enable(ctx, tx, uid, secret, 0, time.Now())
	})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	i := int64(0)
	for b.Loop() {
		i++
		now := start.Add(time.Duration(i) * Period) // a fresh step each time
		c, _ := Code(secret, Step(now))
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			ok, err := s.UseCode(ctx, tx, uid, c, now)
			if err == nil && !ok {
				b.Fatal("refused")
			}
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSealOpen(b *testing.B) {
	keys, _ := sealed.New(bytes.Repeat([]byte{7}, sealed.KeySize))
	secret := []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
	for b.Loop() {
		if _, err := keys.Open(keys.Seal(secret, 1, "totp-secret"), 1, "totp-secret"); err != nil {
			b.Fatal(err)
		}
	}
}

// A disabled factor signs nothing in and is kept a week, so Restore can
// turn it back on as it was; enabling again replaces it, and one disabled
// longer ago is deleted.
func TestDisableKeepsTheFactorForRestore(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		s := testStore(t, db)
		ctx := context.Background()
		now := time.Now()
		uid, secret := enable(t, db, s, "kept@example.org", Step(now)-5)
		codes := inTx(t, db, func(tx *sql.Tx) ([]string, error) { return s.ReplaceRecoveryCodes(ctx, tx, uid) })
		inTx(t, db, func(tx *sql.Tx) (any, error) { return nil, s.Disable(ctx, tx, uid, now) })
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return s.Disable(ctx, tx, uid, now) }); !errors.Is(err, ErrNotEnabled) {
			t.Fatalf("disabling twice: %v, want ErrNotEnabled", err)
		}
		if on, err := s.Enabled(ctx, uid); err != nil || on {
			t.Fatalf("enabled after Disable: %v %v", on, err)
		}
		if ok := inTx(t, db, func(tx *sql.Tx) (bool, error) { return s.UseRecoveryCode(ctx, tx, uid, codes[0], now) }); ok {
			t.Fatal("a recovery code of a disabled factor worked")
		}
		if _, err := inTxErr(db, func(tx *sql.Tx) (bool, error) { return s.UseCode(ctx, tx, uid, code(t, secret, Step(now)), now) }); !errors.Is(err, ErrNotEnabled) {
			t.Fatalf("an app code of a disabled factor: %v, want ErrNotEnabled", err)
		}
		if n, _ := s.RecoveryCodesLeft(ctx, uid); n != 0 {
			t.Fatalf("%d recovery codes left while disabled", n)
		}

		// Restore: only a factor disabled since the given time.
		if ok := inTx(t, db, func(tx *sql.Tx) (bool, error) { return s.Restore(ctx, tx, uid, now.Add(time.Minute), now) }); ok {
			t.Fatal("restored a factor disabled before the event")
		}
		if ok := inTx(t, db, func(tx *sql.Tx) (bool, error) { return s.Restore(ctx, tx, uid, now.Add(-time.Minute), now) }); !ok {
			t.Fatal("not restored")
		}
		if n, _ := s.RecoveryCodesLeft(ctx, uid); n != RecoveryCodes {
			t.Fatalf("%d recovery codes after restoring, want %d", n, RecoveryCodes)
		}
		if ok := inTx(t, db, func(tx *sql.Tx) (bool, error) { return s.UseCode(ctx, tx, uid, code(t, secret, Step(now)), now) }); !ok {
			t.Fatal("the restored secret's code did not work")
		}

		// A week later it is gone; enabling again replaces a kept one.
		inTx(t, db, func(tx *sql.Tx) (any, error) { return nil, s.Disable(ctx, tx, uid, now) })
		later := now.Add(KeepDisabled + time.Hour)
		if ok := inTx(t, db, func(tx *sql.Tx) (bool, error) { return s.Restore(ctx, tx, uid, now.Add(-time.Minute), later) }); ok {
			t.Fatal("restored a factor disabled more than a week ago")
		}
		other := newUser(t, db, "other@example.org")
		inTx(t, db, func(tx *sql.Tx) (any, error) { return nil, s.Enable(ctx, tx, other, secret, Step(later), later) })
		var rows int
		if err := db.Read.QueryRowContext(ctx, `SELECT count(*) FROM totp_factors WHERE user_id = $1`, uid).Scan(&rows); err != nil || rows != 0 {
			t.Fatalf("%d factors kept past a week (%v)", rows, err)
		}
		if err := db.Read.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1`, uid).Scan(&rows); err != nil || rows != 0 {
			t.Fatalf("%d recovery codes kept past a week (%v)", rows, err)
		}

		again, _ := enable(t, db, s, "again@example.org", Step(now))
		inTx(t, db, func(tx *sql.Tx) (any, error) { return nil, s.Disable(ctx, tx, again, now) })
		inTx(t, db, func(tx *sql.Tx) (any, error) { return nil, s.Enable(ctx, tx, again, secret, Step(now), now) })
		if on, err := s.Enabled(ctx, again); err != nil || !on {
			t.Fatalf("enabling again after Disable: %v %v", on, err)
		}
	})
}

func inTxErr[T any](db *store.DB, fn func(tx *sql.Tx) (T, error)) (T, error) {
	var out T
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		out, err = fn(tx)
		return err
	})
	return out, err
}
