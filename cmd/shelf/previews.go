package main

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"shelf/handlers"
	"shelf/store"
	"shelf/store/capture"
	"shelf/store/netguard"
	"shelf/store/previews"
)

// previewConfig sets up page previews of external links.
type previewConfig struct {
	// Allow admits addresses the SSRF guard refuses (SHELF_PREVIEW_ALLOW):
	// for tests' local servers; empty by default.
	Allow netguard.Allowlist
	// Concurrency bounds the captures at once (SHELF_PREVIEW_CONCURRENCY).
	Concurrency int
	// Chromium is the browser (SHELF_CHROMIUM): chromium on PATH when
	// empty, "off" for no previews.
	Chromium string
	// Timeout bounds one capture (SHELF_PREVIEW_TIMEOUT).
	Timeout time.Duration
}

func (p *previewConfig) settings() []setting {
	return []setting{
		{"preview-allow", "SHELF_PREVIEW_ALLOW", "", "addresses page previews may reach although not public (comma-separated IPs, CIDR ranges or ip:port, e.g. 127.0.0.1:8089); for tests only", func(v string) error {
			l, err := netguard.ParseAllowlist(v)
			p.Allow = l
			return err
		}},
		{"preview-concurrency", "SHELF_PREVIEW_CONCURRENCY", "2", "page previews captured at once (each a Chromium tab)", func(v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 16 {
				return errors.New("want a number from 1 to 16")
			}
			p.Concurrency = n
			return nil
		}},
		{"chromium", "SHELF_CHROMIUM", "", "the Chromium that captures page previews (default: chromium on PATH; off: no previews)", func(v string) error {
			p.Chromium = v
			return nil
		}},
		{"preview-timeout", "SHELF_PREVIEW_TIMEOUT", "10s", "longest one page preview's capture may take", func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 100*time.Millisecond || d > time.Minute {
				return errors.New("want a Go duration from 100ms to 1m, e.g. 10s")
			}
			p.Timeout = d
			return nil
		}},
	}
}

// previewService is the queue of page previews and the worker capturing
// them, with its Chromium.
type previewService struct {
	Queue   *previews.Queue
	browser *capture.Browser
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

// startPreviews starts the preview worker. Without Chromium the server
// runs as ever, and every preview says previews are off.
func startPreviews(cfg previewConfig, db *store.DB, log *slog.Logger) *previewService {
	s := &previewService{Queue: previews.NewQueue(db, nil)}
	w := &previews.Worker{Queue: s.Queue, Logger: log, Concurrency: cfg.Concurrency}
	switch {
	case cfg.Chromium == "off":
		log.Info("page previews are off (SHELF_CHROMIUM=off)")
	case capture.FindChromium(cfg.Chromium) == "":
		log.Warn("page previews are off: no Chromium found (install chromium, or set SHELF_CHROMIUM)")
	default:
		guard := &netguard.Guard{Allow: cfg.Allow, Logger: log}
		if !cfg.Allow.Empty() {
			log.Warn("page previews may reach addresses on SHELF_PREVIEW_ALLOW; never set it in production")
		}
		s.browser = capture.New(capture.Config{Chromium: cfg.Chromium, Guard: guard, Logger: log,
			PageTimeout: cfg.Timeout, Concurrency: cfg.Concurrency})
		w.Capture = s.browser
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.done.Go(func() { w.Run(ctx) })
	return s
}

// Stop stops the worker (a capture under way is handed back, due at once)
// and Chromium.
func (s *previewService) Stop() {
	s.cancel()
	s.done.Wait()
	if s.browser != nil {
		s.browser.Close()
	}
}

// CardRenderer is the browser that renders share cards: the previews'
// Chromium, or nil (every card the fallback) when previews are off.
func (s *previewService) CardRenderer() handlers.CardRenderer {
	if s.browser == nil {
		return nil
	}
	return s.browser
}
