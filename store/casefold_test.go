package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

func TestCaseFold(t *testing.T) {
	for in, want := range map[string]string{
		"Ann@Example.org":    "ann@example.org",
		"Émile@x.org":        "émile@x.org",
		"ＡＮＮ@x.org":          "ann@x.org", // fullwidth: NFKC first
		"STRASSE@x.de":       "strasse@x.de",
		"straße@x.de":        "strasse@x.de",
		"ИРИНА@пример.рф":    "ирина@пример.рф",
		"already@folded.org": "already@folded.org",
	} {
		if got := CaseFold(in); got != want {
			t.Errorf("CaseFold(%q) = %q, want %q", in, got, want)
		}
	}
}

// Migration 0011 fills email_key for accounts made before it, and leaves
// two that collide in case beyond ASCII findable by id only for the later.
func TestEmailKeyMigrationFillsExistingAccounts(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shelf.db")
	raw, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := migrations(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
		applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')))`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.version >= 11 {
			break
		}
		if _, err := raw.ExecContext(ctx, m.sql); err != nil {
			t.Fatalf("%s: %v", m.name, err)
		}
		if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			t.Fatal(err)
		}
	}
	for _, email := range []string{"Émile@x.org", "ann@x.org", "émile@x.org"} {
		if _, err := raw.ExecContext(ctx, `INSERT INTO users (email, password_hash, created_at) VALUES ($1, 'x', '2026-01-01 00:00:00.000')`, email); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	keys := map[string]string{}
	rows, err := db.Read.QueryContext(ctx, `SELECT email, email_key FROM users ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var email, key string
		if err := rows.Scan(&email, &key); err != nil {
			t.Fatal(err)
		}
		keys[email] = key
	}
	if keys["Émile@x.org"] != "émile@x.org" || keys["ann@x.org"] != "ann@x.org" {
		t.Errorf("keys = %q", keys)
	}
	if k := keys["émile@x.org"]; k == "émile@x.org" || k == "" {
		t.Errorf("the later of two colliding accounts got key %q, want one no address folds to", k)
	}
}
