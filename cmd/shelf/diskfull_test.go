//go:build linux

package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Shelf started on a full disk says so plainly, and exits 1. The test
// binary, confined in a child process, runs what main runs (run). The disk
// is a tmpfs of a few KiB mounted in a mount namespace of the
// test's own (a user namespace makes that possible without root; the test
// is skipped where the system allows none). A 4 KiB one fails SQLite's
// first write (SQLITE_FULL), a 16 KiB one its shared memory (an I/O
// error, SQLITE_IOERR_SHMSIZE).
func TestStartOnAFullDisk(t *testing.T) {
	if os.Getenv("CONFINE_EXEC") != "" {
		runShelfConfined()
		return
	}
	csv := filepath.Join(t.TempDir(), "books.csv")
	if err := os.WriteFile(csv, []byte("title,authors\nThe Hobbit,J.R.R. Tolkien\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	commands := []struct{ args, stdin, again string }{
		{"serve", "", "start again"},
		{"import " + csv, "", "import again (nothing was imported)"},
		{"create-admin --email admin@example.org --password-stdin", "correct horse battery staple\n", "run create-admin again (no account was created)"},
	}
	for _, c := range commands {
		for _, size := range []string{"4k", "16k"} {
			dir := t.TempDir()
			out, code, err := runConfined(t, dir, "CONFINE_TMPFS="+size, "CONFINE_ARGS="+c.args, "CONFINE_STDIN="+c.stdin)
			if err != nil {
				t.Skipf("no mount namespace for a small disk: %v\n%s", err, out)
			}
			want := "shelf: the disk holding " + filepath.Join(dir, "shelf.db") + " is full: free some space and " + c.again + "\n"
			if code != 1 || out != want {
				t.Errorf("shelf %s on a full %s disk: exit %d, output:\n%s\nwant exit 1 and only:\n%s", c.args, size, code, out, want)
			}
		}
	}
}

// A database that cannot grow on a disk with room (the process may not
// write files past 16 KiB, RLIMIT_FSIZE) is not said to be on a full disk.
func TestStartWithFilesLimitedIsNotAFullDisk(t *testing.T) {
	if os.Getenv("CONFINE_EXEC") != "" {
		runShelfConfined()
		return
	}
	dir := t.TempDir()
	out, code, err := runConfined(t, dir, "CONFINE_FSIZE="+strconv.Itoa(16<<10))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if code != 1 || !strings.Contains(out, "disk I/O error") || strings.Contains(out, "is full") {
		t.Errorf("with files limited to 16 KiB: exit %d, output:\n%s\nwant exit 1 and SQLite's I/O error", code, out)
	}
}

// runConfined runs shelf on a database in dir, in a child (this test
// binary, see runShelfConfined) confined as env says, and returns its
// output and exit code. err is set when it could not be confined.
func runConfined(t *testing.T, dir string, env ...string) (string, int, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$")
	cmd.Env = append(os.Environ(), append(env, "CONFINE_EXEC=1", "CONFINE_DIR="+dir,
		"SHELF_DB="+filepath.Join(dir, "shelf.db"), "SHELF_ADDR=127.0.0.1:0", "SHELF_BASE_URL=http://127.0.0.1:8462")...)
	if strings.Contains(strings.Join(env, " "), "CONFINE_TMPFS=") {
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
			UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
			GidMappingsEnableSetgroups: false,
		}
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		if strings.HasPrefix(string(out), "confine: ") {
			return string(out), 0, errors.New("could not confine")
		}
		return string(out), exit.ExitCode(), nil
	}
	return string(out), 0, err
}

// runShelfConfined, in the child, mounts the small disk or limits the
// size of files, then runs shelf as main does, and exits with its code.
func runShelfConfined() {
	fail := func(err error) {
		os.Stderr.WriteString("confine: " + err.Error() + "\n")
		os.Exit(2)
	}
	if size := os.Getenv("CONFINE_TMPFS"); size != "" {
		if err := syscall.Mount("tmpfs", os.Getenv("CONFINE_DIR"), "tmpfs", 0, "size="+size); err != nil {
			fail(err)
		}
	}
	if limit := os.Getenv("CONFINE_FSIZE"); limit != "" {
		n, _ := strconv.ParseUint(limit, 10, 64)
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
			fail(err)
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SHELF_") {
			env = append(env, kv)
		}
	}
	args := []string{"serve"}
	if a := os.Getenv("CONFINE_ARGS"); a != "" {
		args = strings.Fields(a)
	}
	os.Exit(run(context.Background(), args, env, strings.NewReader(os.Getenv("CONFINE_STDIN")), os.Stdout, os.Stderr))
}
