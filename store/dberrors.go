package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Unavailable reports whether err means the database cannot take a write
// right now, rather than a bug or bad input: the disk is full or read-only,
// another process holds the file locked past busy_timeout, an I/O error, or
// the request's deadline passed while it waited. On PostgreSQL: the server
// cannot be reached or is shutting down, is out of disk, memory or
// connections, or a transaction kept conflicting with others. Nothing the
// user sent is wrong, so the handlers answer 503 and ask them to try again
// shortly.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	// Whatever refused it (the server, or the database no longer taking
	// connections, or gone during a restore), no connection means the
	// database is out of reach: checked before the PgError a refusal wraps.
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), // connection exception
			strings.HasPrefix(pe.Code, "53"),       // insufficient resources: disk full, out of memory, too many connections
			strings.HasPrefix(pe.Code, "57P"),      // the server is shutting down or starting up
			pe.Code == "57014",                     // a statement cut short by the request's deadline
			pe.Code == "55P03",                     // lock not available
			pe.Code == "25006",                     // read-only transaction (a standby)
			pe.Code == "40001", pe.Code == "40P01": // conflicts InTx's retries did not get past
			return true
		}
		return false
	}
	// ErrConnClosed: the server ended the connection under a statement.
	var ne net.Error
	if errors.Is(err, pgconn.ErrConnClosed) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || pgconn.SafeToRetry(err) {
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
