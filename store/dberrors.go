package store

import (
	"context"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Unavailable reports whether err means the database cannot take a write
// right now, rather than a bug or bad input: the disk is full or read-only,
// another process holds the file locked past busy_timeout, an I/O error, or
// the request's deadline passed while it waited. Nothing the user sent is
// wrong, so the handlers answer 503 and ask them to try again shortly.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // the primary code; extended codes add high bits
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_READONLY,  // e.g. a file system remounted read-only after errors
		sqlite3.SQLITE_INTERRUPT: // a statement cut short by the request's deadline
		return true
	}
	return false
}
