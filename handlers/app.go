// Package handlers is Shelf's HTTP surface: it parses requests, calls the
// store, and answers HTMX requests with fragments and plain requests with
// whole pages rendered from the same components.
package handlers

import (
	"log/slog"
	"net/url"

	"shelf/store"
)

// App holds every dependency the handlers use. Handlers are its methods.
type App struct {
	DB      *store.DB
	Catalog *store.Catalog
	Logger  *slog.Logger
	// BaseURL is the configured public address; every absolute link is
	// built from it, never from the request's Host header.
	BaseURL *url.URL
}
