package search

import (
	"context"
	"log/slog"
	"time"
)

// sqlitePollInterval is how often Follow reads the catalog's version on
// SQLite: one read of catalog_state's one row, a few microseconds.
const sqlitePollInterval = 250 * time.Millisecond

// followSQLite is Follow on SQLite, where no process tells another of its
// changes: it reads the catalog's version every sqlitePollInterval and,
// when it changed, reloads the vocabulary, which puts SQLite's index (it
// has the new books already) and an empty result cache in use at once,
// then rebuilds the in-memory index in the background. Changes that come
// during a rebuild are searchable at once too; the rebuild they interrupt
// is dropped and another one follows.
func (s *Searcher) followSQLite(ctx context.Context, log *slog.Logger, rebuilt func(IndexStats, error)) {
	build := s.builds
	requestBuild := func() {
		select {
		case build <- struct{}{}:
		default: // a build is due already, and will see this change
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.buildOnRequest(ctx, build, requestBuild, log, rebuilt)
	}()
	defer func() { <-done }()

	tick := time.NewTicker(sqlitePollInterval)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		_, changed, err := s.RefreshIfChanged(ctx)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil && !failing:
			log.Error("catalog changes: cannot read the catalog; searches may miss its latest changes", "err", err)
		case err == nil && failing:
			log.Info("catalog changes: reading the catalog again")
		}
		failing = err != nil
		if changed {
			requestBuild()
		}
	}
}

// buildOnRequest builds the in-memory index each time build receives, until
// ctx ends; after a failure it asks again shortly (SQLite's index answers
// meanwhile).
func (s *Searcher) buildOnRequest(ctx context.Context, build <-chan struct{}, requestBuild func(), log *slog.Logger, rebuilt func(IndexStats, error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-build:
		}
		stats, used, err := s.buildSQLite(ctx, true)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Error("search index not rebuilt after a catalog change; SQLite's index answers meanwhile", "err", err)
			time.AfterFunc(reconnectDelay, requestBuild)
		}
		if (used || err != nil) && rebuilt != nil {
			rebuilt(stats, err)
		}
	}
}
