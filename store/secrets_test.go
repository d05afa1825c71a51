package store

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
)

func TestSecretIsCreatedOnceAndShared(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shelf.db")
	db1, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db1.Close()
	db2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	a, err := db1.Secret(ctx, "cookies")
	if err != nil {
		t.Fatal(err)
	}
	b, err := db2.Secret(ctx, "cookies")
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 32 || !bytes.Equal(a, b) {
		t.Fatalf("two processes got different secrets: %x and %x", a, b)
	}
	other, err := db1.Secret(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, other) {
		t.Fatal("two names share one secret")
	}
}
