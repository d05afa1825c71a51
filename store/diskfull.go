package store

import (
	"errors"
	"path/filepath"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// nearlyFull is the room left on a file system that counts as none: less
// than SQLite needs to grow its files by a few pages and its shared memory.
const nearlyFull = 1 << 20

// freeSpace is the room left, in bytes, on the file system holding dir, for
// an unprivileged writer; ok is false when it cannot tell.
var freeSpace = fileSystemFree

// DiskFull reports whether err, from the SQLite database at path, means
// the disk holding it is full. SQLite says so (SQLITE_FULL) when a write
// runs out of room, but reports a shared-memory file (path-shm) that could
// not grow, for the same reason, as an I/O error: an I/O error counts when
// the file system has next to no room left. Shelf's own files (the key
// file beside the database) fail with ENOSPC.
func DiskFull(err error, path string) bool {
	if errors.Is(err, syscall.ENOSPC) {
		return true
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_FULL:
		return true
	case sqlite3.SQLITE_IOERR:
		free, ok := freeSpace(filepath.Dir(path))
		return ok && free < nearlyFull
	}
	return false
}
