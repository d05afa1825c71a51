package search

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"shelf/store"
	"shelf/store/catalog"
)

// reconnectDelay is how long Follow waits before listening again after
// its connection dropped.
const reconnectDelay = time.Second

// FollowApplication is the application_name of Follow's connection, which
// names it in pg_stat_activity.
const FollowApplication = "shelf-catalog-listener"

// Follow keeps s up to date with the catalog on PostgreSQL until ctx ends:
// it listens on catalog.ChangeChannel, which every transaction that changes
// books notifies as it commits (whichever process or instance made it),
// and rebuilds the index then (RefreshIfChanged). Notifications that
// arrive during a rebuild make one more. After connecting, and after every
// reconnection (notifications sent while the connection was down are lost),
// it checks the catalog's version once and rebuilds if it changed. On
// SQLite it reads the catalog's version a few times a second instead, and
// SQLite's index answers while the in-memory one is rebuilt (see
// followSQLite).
//
// rebuilt, when set, is called after each rebuild with its figures, or
// with the error that stopped it.
func (s *Searcher) Follow(ctx context.Context, log *slog.Logger, rebuilt func(IndexStats, error)) {
	if s.db.Backend != store.Postgres {
		s.followSQLite(ctx, log, rebuilt)
		return
	}
	changed := make(chan struct{}, 1)
	h := changeHandler(func() {
		select {
		case changed <- struct{}{}:
		default: // a rebuild is due already, and will see this change
		}
	})
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			cfg, err := pgx.ParseConfig(s.db.URL)
			if err != nil {
				return nil, err
			}
			cfg.RuntimeParams["application_name"] = FollowApplication
			return pgx.ConnectConfig(ctx, cfg)
		},
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil {
				log.Warn("catalog changes: listening again shortly", "err", err)
			}
		},
		ReconnectDelay: reconnectDelay,
	}
	l.Handle(catalog.ChangeChannel, h)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.Listen(ctx) // returns only when ctx ends
	}()
	defer func() { <-done }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		stats, did, err := s.RefreshIfChanged(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Error("search index not rebuilt after a catalog change; the previous one still answers", "err", err)
			// Try again shortly rather than wait for the next change.
			time.AfterFunc(reconnectDelay, h.changed)
		}
		if (did || err != nil) && rebuilt != nil {
			rebuilt(stats, err)
		}
	}
}

// changeHandler is told of changes to the catalog: by a notification, or
// by (re)connecting, which may have missed some.
type changeHandler func()

func (h changeHandler) changed() { h() }

func (h changeHandler) HandleNotification(context.Context, *pgconn.Notification, *pgx.Conn) error {
	h()
	return nil
}

func (h changeHandler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	h()
	return nil
}
