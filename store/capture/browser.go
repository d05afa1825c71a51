package capture

import (
	"context"
	"log/slog"
	"time"

	"shelf/store/netguard"
)

// Config sets up a Browser; zero values get defaults.
type Config struct {
	// Chromium is the browser's executable; found on PATH as chromium when
	// empty.
	Chromium string
	// Guard checks every address a capture connects to (required).
	Guard *netguard.Guard
	// PageTimeout bounds one capture (10 s).
	PageTimeout time.Duration
	// MaxBytes bounds what one capture transfers through the proxy (10 MB).
	MaxBytes int64
	// MaxRedirects bounds the main document's redirects (5).
	MaxRedirects int
	// Concurrency bounds the captures at once (2).
	Concurrency int
	Logger      *slog.Logger
}

// Browser captures pages in one Chromium process, started on first use and
// started again if it dies.
type Browser struct {
	cfg Config
}

// New returns a Browser; Chromium starts on the first capture.
func New(cfg Config) *Browser { return &Browser{cfg: cfg} }

// Page captures url: a 1280x800 viewport, scaled to a 640x400 PNG, with
// the page's title, description and final URL.
func (b *Browser) Page(ctx context.Context, url string) (Shot, error) {
	return Shot{}, ErrUnavailable
}

// RenderHTML renders html in a width x height viewport, with every network
// request refused, and returns it as PNG.
func (b *Browser) RenderHTML(ctx context.Context, html string, width, height int) ([]byte, error) {
	return nil, ErrUnavailable
}

// Close stops Chromium.
func (b *Browser) Close() {}
