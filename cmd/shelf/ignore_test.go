package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The secret key file Shelf creates beside a SQLite database (shelf.db.key
// for the README's first command, in the working tree) must never be
// committed or copied into an image.
func TestSecretKeyFileIsIgnored(t *testing.T) {
	const key = "shelf.db.key" // the default SHELF_DB plus ".key" (see config.go)
	for _, file := range []string{"../../.gitignore", "../../.dockerignore"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		ignored := false
		for _, line := range strings.Split(string(raw), "\n") {
			if p := strings.TrimPrefix(strings.TrimSpace(line), "/"); p != "" && !strings.HasPrefix(p, "#") {
				if ok, _ := filepath.Match(p, key); ok {
					ignored = true
				}
			}
		}
		if !ignored {
			t.Errorf("%s does not ignore %s, the secret key file", file, key)
		}
	}
}
