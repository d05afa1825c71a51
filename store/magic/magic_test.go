package magic_test

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/magic"
	"shelf/store/outbox"
	"shelf/store/storetest"
)

// sentMails renders mails that carry what they were given, and keeps it.
type sentMails struct {
	mu      sync.Mutex
	tokens  []string
	codes   []string
	notices []string
}

func (m *sentMails) SignIn(_ context.Context, to, token, code string, _ time.Duration) (outbox.Mail, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens, m.codes = append(m.tokens, token), append(m.codes, code)
	return outbox.Mail{To: to, Subject: "sign in", Text: token + " " + code, HTML: token + " " + code}, nil
}

func (m *sentMails) NoAccount(_ context.Context, to string) (outbox.Mail, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.notices = append(m.notices, to)
	return outbox.Mail{To: to, Subject: "no account", Text: "none", HTML: "none"}, nil
}

type fixture struct {
	t     *testing.T
	db    *store.DB
	s     *magic.Store
	mails *sentMails
	now   time.Time
	user  int64
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	f := &fixture{t: t, db: db, mails: &sentMails{}, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	f.s = magic.New(db, f.mails, nil)
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		f.user, err = accounts.InsertUser(context.Background(), tx, accounts.NewUser{Email: "ann@example.org", PasswordHash: "x"}, f.now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// request records a request for email from a new browser and handles it;
// it returns the browser's binding hash.
func (f *fixture) request(email string) []byte {
	f.t.Helper()
	_, browser, err := magic.NewBinding()
	if err != nil {
		f.t.Fatal(err)
	}
	ctx := context.Background()
	if err := f.s.Record(ctx, email, browser, f.now); err != nil {
		f.t.Fatal(err)
	}
	if err := f.s.HandleRequests(ctx, func() time.Time { return f.now }); err != nil {
		f.t.Fatal(err)
	}
	return browser
}

func (f *fixture) last() (token, code string) {
	f.t.Helper()
	if len(f.mails.tokens) == 0 {
		f.t.Fatal("no sign-in mailed")
	}
	return f.mails.tokens[len(f.mails.tokens)-1], f.mails.codes[len(f.mails.codes)-1]
}

func (f *fixture) outbox(to string) int {
	var n int
	if err := f.db.Read.QueryRow(`SELECT count(*) FROM outbox WHERE recipient = $1`, to).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func confirmed(t *testing.T, db *store.DB, id int64) bool {
	var at sql.NullString
	if err := db.Read.QueryRow(`SELECT confirmed_at FROM users WHERE id = $1`, id).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at.Valid
}

func TestCodeShape(t *testing.T) {
	re := regexp.MustCompile(`^[2-9A-HJKMNP-TW-Z]{4}-[2-9A-HJKMNP-TW-Z]{4}$`)
	for range 200 {
		c, err := magic.NewCode()
		if err != nil {
			t.Fatal(err)
		}
		if !re.MatchString(c) || strings.ContainsAny(c, "01OILUV") {
			t.Fatalf("code %q has the wrong shape or a lookalike character", c)
		}
		if magic.NormalizeCode(" "+strings.ToLower(strings.ReplaceAll(c, "-", " "))+" ") != c {
			t.Fatalf("typed in lower case with spaces, %q does not read back", c)
		}
	}
}

func TestLinkSignsInOnceAndConfirms(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		f.request("ANN@example.org")
		token, _ := f.last()
		if f.outbox("ann@example.org") != 1 {
			t.Fatal("one mail expected")
		}
		for range 2 { // looking never uses it up
			if id, err := f.s.CheckLink(ctx, token, f.now); err != nil || id != f.user {
				t.Fatalf("CheckLink = %d, %v", id, err)
			}
		}
		saved := 0
		u, err := f.s.UseLink(ctx, token, f.now, func(ctx context.Context, u accounts.User) error { saved++; return nil }, 0)
		if err != nil || u.ID != f.user || saved != 1 {
			t.Fatalf("UseLink = %d, %v (saved %d)", u.ID, err, saved)
		}
		if !confirmed(t, db, f.user) {
			t.Error("signing in by link did not confirm the address")
		}
		if _, err := f.s.UseLink(ctx, token, f.now, nil, 0); !errors.Is(err, magic.ErrUsed) {
			t.Errorf("second use: %v, want ErrUsed", err)
		}
		altered := token[:42] + "A"
		if altered == token {
			altered = token[:42] + "B"
		}
		if _, err := f.s.UseLink(ctx, altered, f.now, nil, 0); !errors.Is(err, magic.ErrUnknown) {
			t.Errorf("altered token: %v, want ErrUnknown", err)
		}
	})
}

func TestCodeTriedSixTimes(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		browser := f.request("ann@example.org")
		token, code := f.last()
		wrong := "2222-2222"
		if wrong == code {
			wrong = "3333-3333"
		}
		for i := 1; i <= magic.MaxFailures; i++ {
			_, left, err := f.s.UseCode(ctx, browser, wrong, f.now, nil, 0)
			if i < magic.MaxFailures && (!errors.Is(err, magic.ErrWrongCode) || left != magic.MaxFailures-i) {
				t.Fatalf("wrong code %d: left %d, %v", i, left, err)
			}
			if i == magic.MaxFailures && !errors.Is(err, magic.ErrTooMany) {
				t.Fatalf("wrong code %d: %v, want ErrTooMany", i, err)
			}
		}
		// The sixth try, with the right code: the request is void.
		if _, _, err := f.s.UseCode(ctx, browser, code, f.now, nil, 0); !errors.Is(err, magic.ErrTooMany) {
			t.Fatalf("right code after %d wrong ones: %v, want ErrTooMany", magic.MaxFailures, err)
		}
		if _, err := f.s.UseLink(ctx, token, f.now, nil, 0); err == nil {
			t.Fatal("the link still works after too many wrong codes")
		}
		if confirmed(t, db, f.user) {
			t.Error("address confirmed without a sign-in")
		}
	})
}

func TestCodeIsBoundToTheBrowserAndSingleUse(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		browser := f.request("ann@example.org")
		token, code := f.last()
		_, other, _ := magic.NewBinding()
		if _, _, err := f.s.UseCode(ctx, other, code, f.now, nil, 0); !errors.Is(err, magic.ErrUnknown) {
			t.Fatalf("code from another browser: %v, want ErrUnknown", err)
		}
		u, _, err := f.s.UseCode(ctx, browser, strings.ToLower(code), f.now, nil, 0)
		if err != nil || u.ID != f.user {
			t.Fatalf("right code: %d, %v", u.ID, err)
		}
		if _, _, err := f.s.UseCode(ctx, browser, code, f.now, nil, 0); !errors.Is(err, magic.ErrUsed) {
			t.Fatalf("code again: %v, want ErrUsed", err)
		}
		if _, err := f.s.UseLink(ctx, token, f.now, nil, 0); !errors.Is(err, magic.ErrUsed) {
			t.Fatalf("the link after its code: %v, want ErrUsed", err)
		}
	})
}

func TestNewerRequestVoidsAndExpiry(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		first := f.request("ann@example.org")
		oldToken, oldCode := f.last()
		f.now = f.now.Add(time.Minute)
		second := f.request("Ann@Example.org")
		newToken, newCode := f.last()
		if _, err := f.s.UseLink(ctx, oldToken, f.now, nil, 0); !errors.Is(err, magic.ErrVoided) {
			t.Errorf("older link: %v, want ErrVoided", err)
		}
		if _, _, err := f.s.UseCode(ctx, first, oldCode, f.now, nil, 0); !errors.Is(err, magic.ErrVoided) {
			t.Errorf("older code: %v, want ErrVoided", err)
		}
		f.now = f.now.Add(magic.TTL)
		if _, err := f.s.UseLink(ctx, newToken, f.now, nil, 0); !errors.Is(err, magic.ErrExpired) {
			t.Errorf("link after %s: %v, want ErrExpired", magic.TTL, err)
		}
		if _, _, err := f.s.UseCode(ctx, second, newCode, f.now, nil, 0); !errors.Is(err, magic.ErrExpired) {
			t.Errorf("code after %s: %v, want ErrExpired", magic.TTL, err)
		}
	})
}

func TestUnknownAddressAnsweredAlike(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		for range 3 {
			f.request("nobody@example.org")
			f.now = f.now.Add(time.Hour)
		}
		if len(f.mails.tokens) != 0 || len(f.mails.notices) != 1 || f.outbox("nobody@example.org") != 1 {
			t.Fatalf("unknown address: %d sign-ins, %d notices, %d mails; want 0, 1, 1", len(f.mails.tokens), len(f.mails.notices), f.outbox("nobody@example.org"))
		}
		f.now = f.now.Add(magic.NoticeInterval)
		f.request("nobody@example.org")
		if len(f.mails.notices) != 2 {
			t.Errorf("a day later: %d notices, want 2", len(f.mails.notices))
		}
		// Wrong codes are counted as for an account.
		browser := f.request("nobody@example.org")
		if _, left, err := f.s.UseCode(ctx, browser, "2222-2222", f.now, nil, 0); !errors.Is(err, magic.ErrWrongCode) || left != magic.MaxFailures-1 {
			t.Errorf("wrong code for an unknown address: left %d, %v", left, err)
		}
	})
}

func TestConcurrentUsesSignInOnce(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		for _, viaCode := range []bool{false, true} {
			f.now = f.now.Add(time.Minute)
			browser := f.request("ann@example.org")
			token, code := f.last()
			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, saved := 0, 0
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					save := func(context.Context, accounts.User) error { mu.Lock(); saved++; mu.Unlock(); return nil }
					var err error
					if viaCode {
						_, _, err = f.s.UseCode(ctx, browser, code, f.now, save, 0)
					} else {
						_, err = f.s.UseLink(ctx, token, f.now, save, 0)
					}
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						ok++
					} else if !errors.Is(err, magic.ErrUsed) && !store.Unavailable(err) {
						t.Errorf("concurrent use: %v", err)
					}
				}()
			}
			wg.Wait()
			if ok != 1 {
				t.Errorf("code %v: %d concurrent uses succeeded, want exactly 1", viaCode, ok)
			}
			if saved < 1 {
				t.Errorf("code %v: the session hook never ran", viaCode)
			}
		}
	})
}

func TestSweep(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		f.request("ann@example.org")
		f.request("nobody@example.org")
		count := func(table string) int {
			var n int
			if err := db.Read.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if count("magic_tokens") != 2 || count("magic_notices") != 1 {
			t.Fatalf("before: %d sign-ins, %d notices", count("magic_tokens"), count("magic_notices"))
		}
		f.now = f.now.Add(magic.TTL + 24*time.Hour + time.Second)
		if err := f.s.HandleRequests(context.Background(), func() time.Time { return f.now }); err != nil {
			t.Fatal(err)
		}
		if count("magic_tokens") != 0 || count("magic_notices") != 0 {
			t.Errorf("after a day: %d sign-ins, %d notices left, want none", count("magic_tokens"), count("magic_notices"))
		}
	})
}
