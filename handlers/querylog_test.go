package handlers

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net/url"
	"strings"
	"sync"
	"testing"

	"shelf/store"
)

// queryLog records the queries run on a SQLite database's read pool.
type queryLog struct {
	mu      sync.Mutex
	queries []string
}

// wrap returns db with its read pool replaced by one, over the same file,
// whose queries l records.
func (l *queryLog) wrap(t testing.TB, db *store.DB) *store.DB {
	t.Helper()
	if db.Backend != store.SQLite {
		t.Fatal("queryLog wraps SQLite only")
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "query_only(1)")
	q.Set("_time_format", "sqlite")
	logged := *db
	logged.Read = sql.OpenDB(loggedConnector{db.Read.Driver(), "file:" + db.Path + "?" + q.Encode(), l})
	t.Cleanup(func() { logged.Read.Close() })
	return &logged
}

// take returns the queries recorded since the last take that contain s.
func (l *queryLog) take(s string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var qs []string
	for _, q := range l.queries {
		if strings.Contains(q, s) {
			qs = append(qs, q)
		}
	}
	l.queries = nil
	return qs
}

func (l *queryLog) record(q string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queries = append(l.queries, q)
}

type loggedConnector struct {
	driver driver.Driver
	dsn    string
	log    *queryLog
}

func (c loggedConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.driver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return loggedConn{conn, c.log}, nil
}

func (c loggedConnector) Driver() driver.Driver { return c.driver }

// loggedConn passes what the store uses through to the driver's
// connection, recording queries.
type loggedConn struct {
	driver.Conn
	log *queryLog
}

func (c loggedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.log.record(query)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c loggedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.log.record(query)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c loggedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}
