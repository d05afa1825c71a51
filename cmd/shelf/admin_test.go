package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"shelf/store"
	"shelf/store/accounts"
)

func TestCreateAdmin(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shelf.db")
	create := func(email, stdin string, extra ...string) (int, string, string) {
		var out, errb bytes.Buffer
		args := append([]string{"create-admin", "-db", path, "--email", email}, extra...)
		code := run(ctx, args, nil, strings.NewReader(stdin), &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, errs := create(" Root@Example.ORG", "violet tractor humming\n", "--password-stdin")
	if code != 0 || !strings.Contains(out, "created admin Root@example.org") {
		t.Fatalf("create: %d %q %q", code, out, errs)
	}
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	u, err := accounts.New(db, accounts.Config{}).UserByEmail(ctx, "root@example.org")
	db.Close()
	if err != nil || !u.IsAdmin || !u.Confirmed() {
		t.Fatalf("user = %+v, %v", u, err)
	}

	for _, tc := range []struct {
		name, email, stdin string
		extra              []string
		want               string
	}{
		{"duplicate", "root@example.org", "another good phrase\n", []string{"--password-stdin"}, "already exists"},
		{"bad email", "root@", "violet tractor humming\n", []string{"--password-stdin"}, "--email"},
		{"common password", "b@example.org", "password123\n", []string{"--password-stdin"}, "too common"},
		{"short password", "b@example.org", "short\n", []string{"--password-stdin"}, "at least 8"},
		{"empty stdin", "b@example.org", "", []string{"--password-stdin"}, "no password"},
		{"not a terminal", "b@example.org", "violet tractor humming\n", nil, "not a terminal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := create(tc.email, tc.stdin, tc.extra...)
			if code != 1 || !strings.Contains(errs, tc.want) {
				t.Fatalf("code %d, stderr %q; want 1 and %q", code, errs, tc.want)
			}
		})
	}
	var errb bytes.Buffer
	if code := run(ctx, []string{"create-admin", "-db", path}, nil, strings.NewReader(""), &bytes.Buffer{}, &errb); code != 1 || !strings.Contains(errb.String(), "--email is required") {
		t.Fatalf("missing --email: %d %q", code, errb.String())
	}
}

func TestAccountSettings(t *testing.T) {
	c, _, err := loadConfig("shelf", nil, nil)
	if err != nil || c.SessionIdle.String() != "12h0m0s" || c.SessionLifetime.String() != "720h0m0s" || c.ConfirmTTL.String() != "48h0m0s" {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, _, err = loadConfig("shelf", []string{"-session-idle", "30m"}, []string{"SHELF_CONFIRM_TTL=2h", "SHELF_SESSION_LIFETIME=24h"})
	if err != nil || c.SessionIdle.String() != "30m0s" || c.ConfirmTTL.String() != "2h0m0s" || c.SessionLifetime.String() != "24h0m0s" {
		t.Fatalf("set: %+v %v", c, err)
	}
	for _, bad := range []string{"SHELF_SESSION_IDLE=0", "SHELF_SESSION_LIFETIME=30d", "SHELF_CONFIRM_TTL=-1h"} {
		if _, _, err := loadConfig("shelf", nil, []string{bad}); err == nil || !strings.Contains(err.Error(), strings.Split(bad, "=")[0]) {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}
