package apitokens

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"shelf/store"
)

// Expiry: every token expires, DefaultDays after it is made unless its
// owner picks another number of days, at most MaxDays.
const (
	DefaultDays = 30
	MaxDays     = 365
	// MaxActive is the most tokens an account holds at once (neither
	// revoked nor expired): each one is a way in, and each creation mails
	// the owner.
	MaxActive = 50
	// MaxName is the longest name, in characters.
	MaxName = 100
	// UsedEvery is how often, at most, a token's last use is written: a
	// request within a minute of the recorded one writes nothing.
	UsedEvery = time.Minute
)

// Errors of Authenticate. Each means "no such caller"; the API answers all
// of them alike, saying which only in its detail.
var (
	ErrUnknown = errors.New("apitokens: no such token")
	ErrExpired = errors.New("apitokens: token expired")
	ErrRevoked = errors.New("apitokens: token revoked")
	// ErrTooMany: the account already holds MaxActive tokens.
	ErrTooMany = fmt.Errorf("apitokens: at most %d active tokens an account", MaxActive)
)

// FieldErrors name each invalid field of a NewToken ("name", "scopes",
// "days") and what is wrong with it.
type FieldErrors map[string]string

func (fe FieldErrors) Error() string {
	var parts []string
	for _, f := range []string{"name", "scopes", "days"} {
		if m, ok := fe[f]; ok {
			parts = append(parts, f+": "+m)
		}
	}
	return "apitokens: " + strings.Join(parts, "; ")
}

// NewToken is what a new token is made from.
type NewToken struct {
	Name   string
	Scopes []Scope
	Days   int // 0 means DefaultDays
}

// CleanName drops control and formatting characters (C0 and C1 controls,
// direction overrides, zero-width characters) and surrounding spaces from
// a name: it is shown on the account page and in mail, where such
// characters could hide it or make it read as another.
func CleanName(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s))
}

// CheckName returns what is wrong with a (cleaned) token's name, or "".
func CheckName(name string) string {
	switch {
	case !strings.ContainsFunc(name, func(r rune) bool { return unicode.IsGraphic(r) && !unicode.IsSpace(r) }):
		return "Give the token a name, to tell it apart from others."
	case utf8.RuneCountInString(name) > MaxName:
		return fmt.Sprintf("Use at most %d characters.", MaxName)
	}
	return ""
}

// CheckDays returns what is wrong with an expiry in days, or "".
func CheckDays(days int) string {
	if days < 1 || days > MaxDays {
		return fmt.Sprintf("Choose between 1 and %d days.", MaxDays)
	}
	return ""
}

// Validate returns n normalised (name trimmed, scopes in list order without
// repeats, days defaulted) and what is wrong with it.
func (n NewToken) Validate() (NewToken, FieldErrors) {
	fe := FieldErrors{}
	n.Name = CleanName(n.Name)
	if m := CheckName(n.Name); m != "" {
		fe["name"] = m
	}
	if n.Days == 0 {
		n.Days = DefaultDays
	}
	if m := CheckDays(n.Days); m != "" {
		fe["days"] = m
	}
	var scopes []Scope
	for _, s := range Scopes {
		for _, want := range n.Scopes {
			if want == s {
				scopes = append(scopes, s)
				break
			}
		}
	}
	for _, want := range n.Scopes {
		if _, ok := ParseScope(string(want)); !ok {
			fe["scopes"] = fmt.Sprintf("There is no scope %q.", string(want))
		}
	}
	if len(scopes) == 0 && fe["scopes"] == "" {
		fe["scopes"] = "Choose at least one scope."
	}
	n.Scopes = scopes
	if len(fe) > 0 {
		return n, fe
	}
	return n, nil
}

// Token is a stored personal access token (never its secret).
type Token struct {
	ID           int64
	UserID       int64
	Name         string
	Prefix       string // the token's first characters, for display
	Scopes       []Scope
	CreatedAt    time.Time
	ExpiresAt    time.Time
	LastUsedAt   time.Time // zero if never used
	LastUsedFrom string    // the client address of that use
	RevokedAt    time.Time // zero unless revoked
}

// Active reports whether the token works at now.
func (t Token) Active(now time.Time) bool { return t.RevokedAt.IsZero() && now.Before(t.ExpiresAt) }

// Has reports whether the token carries scope.
func (t Token) Has(scope Scope) bool {
	for _, s := range t.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Owner is the account a token acts for, as it is now.
type Owner struct {
	UserID  int64
	Email   string
	IsAdmin bool
	// Version is the account's token version (see Store.Version).
	Version int64
}

// Store keeps personal access tokens in db.
type Store struct {
	db  *store.DB
	now func() time.Time

	// Authenticate's and ByID's queries, prepared once: one runs on every
	// API request that carries a token, and parsing it anew each time
	// would cost more than running it.
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// New returns the token store; now is time.Now when nil.
func New(db *store.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

func parseTS(v sql.NullString) time.Time {
	if !v.Valid || v.String == "" {
		return time.Time{}
	}
	t, _ := store.ParseTime(v.String)
	return t
}

func joinScopes(scopes []Scope) string {
	s := make([]string, len(scopes))
	for i, sc := range scopes {
		s[i] = string(sc)
	}
	return strings.Join(s, " ")
}

// splitScopes reads a stored list, dropping any scope no longer known.
func splitScopes(s string) []Scope {
	var out []Scope
	for _, f := range strings.Fields(s) {
		if sc, ok := ParseScope(f); ok {
			out = append(out, sc)
		}
	}
	return out
}

// Create makes a token for the account userID in tx, returning it and its
// secret, which is shown once and never stored. Invalid input gives
// FieldErrors.
func (s *Store) Create(ctx context.Context, tx *sql.Tx, userID int64, n NewToken) (Token, string, error) {
	n, fe := n.Validate()
	if fe != nil {
		return Token{}, "", fe
	}
	now := s.now()
	var active int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2`,
		userID, store.FormatTime(now.UTC())).Scan(&active); err != nil {
		return Token{}, "", fmt.Errorf("count tokens: %w", err)
	}
	if active >= MaxActive {
		return Token{}, "", ErrTooMany
	}
	secret := Generate()
	t := Token{UserID: userID, Name: n.Name, Prefix: displayPrefix(secret), Scopes: n.Scopes,
		CreatedAt: now.UTC().Truncate(time.Millisecond), ExpiresAt: now.UTC().Add(time.Duration(n.Days) * 24 * time.Hour).Truncate(time.Millisecond)}
	err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens (user_id, hash, prefix, name, scopes, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		userID, Hash(secret), t.Prefix, t.Name, joinScopes(t.Scopes), store.FormatTime(t.CreatedAt), store.FormatTime(t.ExpiresAt)).Scan(&t.ID)
	if err != nil {
		return Token{}, "", fmt.Errorf("create token: %w", err)
	}
	return t, secret, nil
}

const tokenColumns = `t.id, t.user_id, t.name, t.prefix, t.scopes, t.created_at, t.expires_at, t.last_used_at, t.last_used_from, t.revoked_at`

func scanToken(row interface{ Scan(...any) error }, extra ...any) (Token, error) {
	var t Token
	var scopes string
	var created, expires, used, revoked sql.NullString
	err := row.Scan(append([]any{&t.ID, &t.UserID, &t.Name, &t.Prefix, &scopes, &created, &expires, &used, &t.LastUsedFrom, &revoked}, extra...)...)
	if err != nil {
		return Token{}, err
	}
	t.Scopes = splitScopes(scopes)
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = parseTS(created), parseTS(expires), parseTS(used), parseTS(revoked)
	return t, nil
}

// List returns the account's tokens, newest first: active ones, and those
// revoked or expired within the last KeepListed.
func (s *Store) List(ctx context.Context, userID int64) ([]Token, error) {
	since := store.FormatTime(s.now().Add(-KeepListed))
	rows, err := s.db.Read.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens t
		WHERE t.user_id = $1 AND (t.revoked_at IS NULL OR t.revoked_at > $2) AND t.expires_at > $2
		ORDER BY t.created_at DESC, t.id DESC`, userID, since)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// KeepListed is how long a revoked or expired token stays on the list.
const KeepListed = 7 * 24 * time.Hour

// Get returns the account's token id (store.ErrNotFound if it has none).
func (s *Store) Get(ctx context.Context, userID, id int64) (Token, error) {
	t, err := scanToken(s.db.Read.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens t WHERE t.id = $1 AND t.user_id = $2`, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, store.ErrNotFound
	}
	return t, err
}

// Revoke revokes the account's token id, effective on the next request.
// It reports whether the token was active until now; revoking one already
// revoked changes nothing, and another account's token is store.ErrNotFound.
func (s *Store) Revoke(ctx context.Context, userID, id int64) (bool, error) {
	var revoked bool
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL`,
			store.FormatTime(s.now()), id, userID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if revoked = n > 0; revoked {
			return nil
		}
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_tokens WHERE id = $1 AND user_id = $2`, id, userID).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("revoke token: %w", err)
	}
	return revoked, err
}

// RevokeAll revokes every token of the account in tx and bumps its token
// version, so that the access tokens issued for them stop working too. A
// password reset calls it in its own transaction.
func RevokeAll(ctx context.Context, tx *sql.Tx, userID int64, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, store.FormatTime(now), userID); err != nil {
		return fmt.Errorf("revoke tokens: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO api_token_versions (user_id, version) VALUES ($1, 1)
		ON CONFLICT (user_id) DO UPDATE SET version = api_token_versions.version + 1`, userID); err != nil {
		return fmt.Errorf("bump token version: %w", err)
	}
	return nil
}

// RevokeCreatedSince revokes, in tx, the account's active tokens made
// after since, and reports how many: its owner said the sign-in or change
// at since was not them, so no token made after it is theirs for certain.
func RevokeCreatedSince(ctx context.Context, tx *sql.Tx, userID int64, since, now time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND created_at > $3 AND revoked_at IS NULL`,
		store.FormatTime(now), userID, store.FormatTime(since))
	if err != nil {
		return 0, fmt.Errorf("revoke tokens made since: %w", err)
	}
	return res.RowsAffected()
}

// Version returns the account's token version: 0 until its tokens are
// first revoked all at once, then one more each time.
func (s *Store) Version(ctx context.Context, userID int64) (int64, error) {
	var v int64
	err := s.db.Read.QueryRowContext(ctx, `SELECT COALESCE((SELECT version FROM api_token_versions WHERE user_id = $1), 0)`, userID).Scan(&v)
	return v, err
}

const ownerJoin = ` FROM api_tokens t JOIN users u ON u.id = t.user_id
	LEFT JOIN api_token_versions v ON v.user_id = t.user_id `

const ownerColumns = `, u.email, u.is_admin, COALESCE(v.version, 0)`

const (
	byHashQuery = `SELECT ` + tokenColumns + ownerColumns + ownerJoin + `WHERE t.hash = $1`
	byIDQuery   = `SELECT ` + tokenColumns + ownerColumns + ownerJoin + `WHERE t.id = $1`
)

// queryRow runs one of the prepared queries.
func (s *Store) queryRow(ctx context.Context, query string, arg any) (*sql.Row, error) {
	s.mu.Lock()
	st := s.stmts[query]
	if st == nil {
		var err error
		if st, err = s.db.Read.PrepareContext(ctx, query); err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("look up token: %w", err)
		}
		if s.stmts == nil {
			s.stmts = map[string]*sql.Stmt{}
		}
		s.stmts[query] = st
	}
	s.mu.Unlock()
	return st.QueryRowContext(ctx, arg), nil
}

// lookup returns the token row reads, with its owner, and checks it is
// active.
func (s *Store) lookup(row *sql.Row) (Token, Owner, error) {
	var o Owner
	t, err := scanToken(row, &o.Email, &o.IsAdmin, &o.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, Owner{}, ErrUnknown
	}
	if err != nil {
		return Token{}, Owner{}, fmt.Errorf("look up token: %w", err)
	}
	o.UserID = t.UserID
	switch now := s.now(); {
	case !t.RevokedAt.IsZero():
		return t, o, ErrRevoked
	case !now.Before(t.ExpiresAt):
		return t, o, ErrExpired
	}
	return t, o, nil
}

// Authenticate returns the active token secret is, and its owner. A
// malformed secret is ErrMalformed before any database read; otherwise
// ErrUnknown, ErrExpired or ErrRevoked say why it does not work. Every call
// reads the database, so a revocation counts from the next request on.
func (s *Store) Authenticate(ctx context.Context, secret string) (Token, Owner, error) {
	if err := Check(secret); err != nil {
		return Token{}, Owner{}, err
	}
	row, err := s.queryRow(ctx, byHashQuery, Hash(secret))
	if err != nil {
		return Token{}, Owner{}, err
	}
	return s.lookup(row)
}

// ByID returns the active token id and its owner, for an access token
// issued for it: ErrUnknown, ErrExpired or ErrRevoked if it no longer works.
func (s *Store) ByID(ctx context.Context, id int64) (Token, Owner, error) {
	row, err := s.queryRow(ctx, byIDQuery, id)
	if err != nil {
		return Token{}, Owner{}, err
	}
	return s.lookup(row)
}

// MarkUsed records that token t was used at now from the client address
// from, unless its recorded last use is less than UsedEvery old: at most
// one write a minute per token, from any number of instances. It reports
// whether it wrote.
func (s *Store) MarkUsed(ctx context.Context, t Token, from string, now time.Time) (bool, error) {
	if !t.LastUsedAt.IsZero() && now.Sub(t.LastUsedAt) < UsedEvery {
		return false, nil
	}
	res, err := s.db.Write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1, last_used_from = $2
		WHERE id = $3 AND (last_used_at IS NULL OR last_used_at <= $4)`, store.FormatTime(now), from, t.ID, store.FormatTime(now.Add(-UsedEvery)))
	if err != nil {
		return false, fmt.Errorf("mark token used: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
