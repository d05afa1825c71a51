package apitokens_test

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/apitokens"
	"shelf/store/outbox"
	"shelf/store/storetest"
)

type resetMails struct{}

func (resetMails) Confirm(_ context.Context, to, token string, _ time.Duration) (outbox.Mail, error) {
	return outbox.Mail{To: to, Subject: "confirm", Text: "token:" + token, HTML: "token:" + token}, nil
}

func (resetMails) Reset(_ context.Context, to, token string, _ time.Duration) (outbox.Mail, error) {
	return outbox.Mail{To: to, Subject: "reset", Text: "token:" + token, HTML: "token:" + token}, nil
}

func (resetMails) SignUpAttempt(_ context.Context, to string) (outbox.Mail, error) {
	return outbox.Mail{To: to, Subject: "attempt", Text: "x", HTML: "x"}, nil
}

type fixture struct {
	db     *store.DB
	now    time.Time
	tokens *apitokens.Store
	accts  *accounts.Accounts
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	f := &fixture{db: db, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return f.now }
	f.tokens = apitokens.New(db, clock)
	f.accts = accounts.New(db, accounts.Config{Mails: resetMails{}, Now: clock, Hash: accounts.HashParams{Time: 1, Memory: 64, Threads: 1}})
	return f
}

func (f *fixture) user(t *testing.T, email string) int64 {
	t.Helper()
	id, err := f.accts.CreateAdmin(context.Background(), email, "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *fixture) create(t *testing.T, uid int64, n apitokens.NewToken) (apitokens.Token, string) {
	t.Helper()
	var tok apitokens.Token
	var secret string
	err := f.db.InTx(context.Background(), func(tx *sql.Tx) error {
		var err error
		tok, secret, err = f.tokens.Create(context.Background(), tx, uid, n)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok, secret
}

func TestTokens(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		ann := f.user(t, "ann@example.org")
		bob := f.user(t, "bob@example.org")

		tok, secret := f.create(t, ann, apitokens.NewToken{Name: "  laptop script ", Scopes: []apitokens.Scope{apitokens.ShelvesWrite, apitokens.BooksRead, apitokens.BooksRead}})
		if tok.Name != "laptop script" || len(tok.Scopes) != 2 || tok.Scopes[0] != apitokens.BooksRead || tok.Scopes[1] != apitokens.ShelvesWrite {
			t.Fatalf("created %+v", tok)
		}
		if want := f.now.Add(30 * 24 * time.Hour); !tok.ExpiresAt.Equal(want) {
			t.Fatalf("expires %v, want the 30-day default %v", tok.ExpiresAt, want)
		}
		if err := apitokens.Check(secret); err != nil || tok.Prefix != secret[:len(tok.Prefix)] {
			t.Fatalf("secret %q, prefix %q: %v", secret, tok.Prefix, err)
		}
		// Only the hash is stored.
		var stored []byte
		if err := db.Read.QueryRow(`SELECT hash FROM api_tokens WHERE id = $1`, tok.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if string(stored) != string(apitokens.Hash(secret)) {
			t.Fatal("the stored hash is not the token's SHA-256")
		}

		got, owner, err := f.tokens.Authenticate(ctx, secret)
		if err != nil || got.ID != tok.ID || owner.UserID != ann || owner.Email != "ann@example.org" || !owner.IsAdmin || owner.Version != 0 {
			t.Fatalf("Authenticate = %+v, %+v, %v", got, owner, err)
		}
		if _, _, err := f.tokens.Authenticate(ctx, apitokens.Generate()); !errors.Is(err, apitokens.ErrUnknown) {
			t.Fatalf("an unknown token: %v, want ErrUnknown", err)
		}

		// Last use: written once, then not again within a minute.
		if wrote, err := f.tokens.MarkUsed(ctx, got, "192.0.2.7", f.now); err != nil || !wrote {
			t.Fatalf("first use: wrote %v, %v", wrote, err)
		}
		got, _, _ = f.tokens.Authenticate(ctx, secret)
		if !got.LastUsedAt.Equal(f.now) || got.LastUsedFrom != "192.0.2.7" {
			t.Fatalf("last used %v from %q", got.LastUsedAt, got.LastUsedFrom)
		}
		if wrote, err := f.tokens.MarkUsed(ctx, got, "192.0.2.8", f.now.Add(59*time.Second)); err != nil || wrote {
			t.Fatalf("a use 59 s later: wrote %v, %v", wrote, err)
		}
		// Another instance that read the row before the write does not write again.
		stale := got
		stale.LastUsedAt = time.Time{}
		if wrote, err := f.tokens.MarkUsed(ctx, stale, "192.0.2.9", f.now.Add(30*time.Second)); err != nil || wrote {
			t.Fatalf("a stale instance's use: wrote %v, %v", wrote, err)
		}
		if wrote, err := f.tokens.MarkUsed(ctx, got, "192.0.2.8", f.now.Add(time.Minute)); err != nil || !wrote {
			t.Fatalf("a use a minute later: wrote %v, %v", wrote, err)
		}

		// Listing is per account.
		other, _ := f.create(t, bob, apitokens.NewToken{Name: "bob's", Scopes: []apitokens.Scope{apitokens.AccountRead}, Days: 365})
		list, err := f.tokens.List(ctx, ann)
		if err != nil || len(list) != 1 || list[0].ID != tok.ID || list[0].LastUsedFrom != "192.0.2.8" {
			t.Fatalf("ann's list = %+v, %v", list, err)
		}

		// Revoking: not another account's token; effective at once.
		if _, err := f.tokens.Revoke(ctx, ann, other.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoking bob's token as ann: %v", err)
		}
		if revoked, err := f.tokens.Revoke(ctx, ann, tok.ID); err != nil || !revoked {
			t.Fatalf("revoke = %v, %v", revoked, err)
		}
		if revoked, err := f.tokens.Revoke(ctx, ann, tok.ID); err != nil || revoked {
			t.Fatalf("revoke again = %v, %v", revoked, err)
		}
		if _, _, err := f.tokens.Authenticate(ctx, secret); !errors.Is(err, apitokens.ErrRevoked) {
			t.Fatalf("a revoked token: %v", err)
		}
		if list, _ := f.tokens.List(ctx, ann); len(list) != 1 || list[0].RevokedAt.IsZero() {
			t.Fatalf("a revoked token stays listed, marked: %+v", list)
		}

		// Expiry.
		_, short := f.create(t, ann, apitokens.NewToken{Name: "a day", Scopes: []apitokens.Scope{apitokens.BooksRead}, Days: 1})
		f.now = f.now.Add(24*time.Hour - time.Millisecond)
		if _, _, err := f.tokens.Authenticate(ctx, short); err != nil {
			t.Fatalf("a token just before it expires: %v", err)
		}
		f.now = f.now.Add(time.Millisecond)
		if _, _, err := f.tokens.Authenticate(ctx, short); !errors.Is(err, apitokens.ErrExpired) {
			t.Fatalf("an expired token: %v", err)
		}
	})
}

func TestCreateValidates(t *testing.T) {
	f := newFixture(t, storetest.Open(t))
	uid := f.user(t, "ann@example.org")
	for _, c := range []struct {
		n     apitokens.NewToken
		field string
	}{
		{apitokens.NewToken{Name: " ", Scopes: []apitokens.Scope{apitokens.BooksRead}}, "name"},
		// Names that would be invisible, or read as something else, on the
		// account page and in mail.
		{apitokens.NewToken{Name: "\u202e", Scopes: []apitokens.Scope{apitokens.BooksRead}}, "name"},
		{apitokens.NewToken{Name: "\u200b\u200d\u2066", Scopes: []apitokens.Scope{apitokens.BooksRead}}, "name"},
		{apitokens.NewToken{Name: "\u0085\u009b", Scopes: []apitokens.Scope{apitokens.BooksRead}}, "name"},
		{apitokens.NewToken{Name: "\u00a0\u3000", Scopes: []apitokens.Scope{apitokens.BooksRead}}, "name"},
		{apitokens.NewToken{Name: string(make([]rune, 101)), Scopes: []apitokens.Scope{apitokens.BooksRead}}, "name"},
		{apitokens.NewToken{Name: "x"}, "scopes"},
		{apitokens.NewToken{Name: "x", Scopes: []apitokens.Scope{"*"}}, "scopes"},
		{apitokens.NewToken{Name: "x", Scopes: []apitokens.Scope{"books:*"}}, "scopes"},
		{apitokens.NewToken{Name: "x", Scopes: []apitokens.Scope{apitokens.BooksRead}, Days: 366}, "days"},
		{apitokens.NewToken{Name: "x", Scopes: []apitokens.Scope{apitokens.BooksRead}, Days: -1}, "days"},
	} {
		err := f.db.InTx(context.Background(), func(tx *sql.Tx) error {
			_, _, err := f.tokens.Create(context.Background(), tx, uid, c.n)
			return err
		})
		var fe apitokens.FieldErrors
		if !errors.As(err, &fe) || fe[c.field] == "" {
			t.Errorf("Create(%+v) = %v, want an error on %s", c.n, err, c.field)
		}
	}
	var n int
	f.db.Read.QueryRow(`SELECT count(*) FROM api_tokens`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d tokens stored from invalid input", n)
	}
}

// A malformed token is refused before any database read: the store's
// database is closed, so a read would fail with another error.
func TestMalformedNeedsNoDatabase(t *testing.T) {
	db := storetest.Open(t)
	s := apitokens.New(db, nil)
	db.Close()
	good := apitokens.Generate()
	last := "x" // a checksum character changed: never the one it was
	if good[len(good)-1] == 'x' {
		last = "y"
	}
	for _, secret := range []string{"", "ghp_abc", good[:len(good)-1] + last, "shelf_pat_" + good[10:len(good)-1]} {
		if _, _, err := s.Authenticate(context.Background(), secret); err != apitokens.ErrMalformed {
			t.Errorf("Authenticate(%q) = %v, want ErrMalformed", secret, err)
		}
	}
	if _, _, err := s.Authenticate(context.Background(), good); err == nil || errors.Is(err, apitokens.ErrMalformed) {
		t.Fatalf("a well-formed token on a closed database: %v, want a database error", err)
	}
}

var tokenRe = regexp.MustCompile(`token:(\S+)`)

func TestPasswordResetRevokesAll(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		ann := f.user(t, "ann@example.org")
		bob := f.user(t, "bob@example.org")
		_, s1 := f.create(t, ann, apitokens.NewToken{Name: "one", Scopes: []apitokens.Scope{apitokens.BooksRead}})
		_, s2 := f.create(t, ann, apitokens.NewToken{Name: "two", Scopes: []apitokens.Scope{apitokens.ShelvesRead}})
		_, sb := f.create(t, bob, apitokens.NewToken{Name: "bob", Scopes: []apitokens.Scope{apitokens.ShelvesRead}})

		if err := f.accts.RequestReset(ctx, "ann@example.org"); err != nil {
			t.Fatal(err)
		}
		if err := f.accts.HandleResetRequests(ctx); err != nil {
			t.Fatal(err)
		}
		var text string
		if err := db.Read.QueryRow(`SELECT text_body FROM outbox WHERE subject = 'reset' ORDER BY id DESC LIMIT 1`).Scan(&text); err != nil {
			t.Fatal(err)
		}
		m := tokenRe.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("no token in %q", text)
		}
		if _, err := f.accts.CompleteReset(ctx, m[1], "another long password", func(context.Context, accounts.User) error { return nil }); err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{s1, s2} {
			if _, _, err := f.tokens.Authenticate(ctx, s); !errors.Is(err, apitokens.ErrRevoked) {
				t.Fatalf("ann's token after her reset: %v, want ErrRevoked", err)
			}
		}
		if _, _, err := f.tokens.Authenticate(ctx, sb); err != nil {
			t.Fatalf("bob's token after ann's reset: %v", err)
		}
		if v, err := f.tokens.Version(ctx, ann); err != nil || v != 1 {
			t.Fatalf("ann's token version = %d, %v, want 1", v, err)
		}
		if v, err := f.tokens.Version(ctx, bob); err != nil || v != 0 {
			t.Fatalf("bob's token version = %d, %v, want 0", v, err)
		}
	})
}

// Names keep what shows and lose the characters that could hide or
// disguise it.
func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"  deploy script ":       "deploy script",
		"ci\u202e\u2066bot":      "cibot",
		"a\u0000b\u0085c\u200bd": "abcd",
		"caf\u00e9 \U0001F4DA":   "caf\u00e9 \U0001F4DA",
		"bad\xffbyte":            "badbyte",
	} {
		if got := apitokens.CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

// An account holds at most MaxActive working tokens; revoked and expired
// ones do not count.
func TestActiveTokensAreCapped(t *testing.T) {
	f := newFixture(t, storetest.Open(t))
	uid := f.user(t, "ann@example.org")
	create := func() error {
		return f.db.InTx(context.Background(), func(tx *sql.Tx) error {
			_, _, err := f.tokens.Create(context.Background(), tx, uid, apitokens.NewToken{Name: "t", Scopes: []apitokens.Scope{apitokens.BooksRead}})
			return err
		})
	}
	for i := range apitokens.MaxActive {
		if err := create(); err != nil {
			t.Fatalf("token %d: %v", i+1, err)
		}
	}
	if err := create(); !errors.Is(err, apitokens.ErrTooMany) {
		t.Fatalf("token %d: %v, want ErrTooMany", apitokens.MaxActive+1, err)
	}
	if _, err := f.db.Write.Exec(`UPDATE api_tokens SET revoked_at = created_at WHERE id = (SELECT min(id) FROM api_tokens)`); err != nil {
		t.Fatal(err)
	}
	if err := create(); err != nil {
		t.Fatalf("after revoking one: %v", err)
	}
}

// RevokeCreatedSince revokes the account's tokens made after a moment, not
// those made before it nor another account's.
func TestRevokeCreatedSince(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		uid, other := f.user(t, "a@example.com"), f.user(t, "b@example.com")
		n := apitokens.NewToken{Name: "t", Scopes: []apitokens.Scope{apitokens.BooksRead}}
		_, before := f.create(t, uid, n)
		since := f.now
		f.now = f.now.Add(time.Second)
		_, after := f.create(t, uid, n)
		_, others := f.create(t, other, n)
		var revoked int64
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			revoked, err = apitokens.RevokeCreatedSince(ctx, tx, uid, since, f.now)
			return err
		})
		if err != nil || revoked != 1 {
			t.Fatalf("RevokeCreatedSince = %d, %v; want 1", revoked, err)
		}
		if _, _, err := f.tokens.Authenticate(ctx, after); !errors.Is(err, apitokens.ErrRevoked) {
			t.Errorf("the token made since: %v, want ErrRevoked", err)
		}
		for _, s := range []string{before, others} {
			if _, _, err := f.tokens.Authenticate(ctx, s); err != nil {
				t.Errorf("a token that should stay: %v", err)
			}
		}
	})
}
