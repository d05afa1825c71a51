//go:build linux

package store

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// An I/O error is a full disk only when the file system has no room left.
// The errors are SQLite's own: a process whose files may not grow past
// 16 KiB (RLIMIT_FSIZE, as a full disk, makes writes fail) creates a
// database, and SQLite reports the shared memory it cannot grow as an I/O
// error (SQLITE_IOERR_SHMSIZE), as it does on a full disk. Whether the disk
// is full is then asked of the file system, which for the test says what
// the child is told to.
func TestDiskFullOnIOErrorOnlyWithoutRoom(t *testing.T) {
	if dir := os.Getenv("SHELF_TEST_FSIZE_DIR"); dir != "" {
		if room := os.Getenv("SHELF_TEST_ROOM"); room != "real" {
			freeSpace = func(string) (uint64, bool) { return 4096, true }
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 16 << 10, Max: 16 << 10}); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "shelf.db")
		db, err := Open(context.Background(), path)
		if err == nil {
			db.Close()
			t.Fatal("created a database in 16 KiB")
		}
		t.Logf("open: %v", err)
		if DiskFull(err, path) {
			os.Stdout.WriteString("DISK FULL\n")
		} else {
			os.Stdout.WriteString("NOT FULL\n")
		}
		return
	}
	for _, tc := range []struct {
		room, want string
	}{{"none", "DISK FULL"}, {"real", "NOT FULL"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFullOnIOErrorOnlyWithoutRoom$", "-test.v")
		cmd.Env = append(os.Environ(), "SHELF_TEST_FSIZE_DIR="+t.TempDir(), "SHELF_TEST_ROOM="+tc.room)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "disk I/O error") || !strings.Contains(string(out), "\n"+tc.want+"\n") {
			t.Errorf("with %s room, want an I/O error and %s:\n%s", tc.room, tc.want, out)
		}
	}
}
