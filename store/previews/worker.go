package previews

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"shelf/store/capture"
)

// Capturer captures a page; *capture.Browser is one.
type Capturer interface {
	Page(ctx context.Context, url string) (capture.Shot, error)
}

// Worker captures pending previews: it claims due jobs, captures them a few
// at a time, and records each outcome. Workers in several processes may
// share a queue.
type Worker struct {
	Queue *Queue
	// Capture takes the screenshots; nil when this server cannot (no
	// Chromium): every preview then fails at once with OffReason.
	Capture Capturer
	Logger  *slog.Logger
	// Concurrency is how many jobs are captured at once (2).
	Concurrency int
	// Lease is how long a claim holds before another worker may take the
	// job up (2 min): well past a capture's time cap.
	Lease time.Duration
	// Poll is how often the queue is looked at when nothing wakes the
	// worker (2 s).
	Poll time.Duration
	// MaxAttempts is how many times a job is tried before it fails (3).
	MaxAttempts int
	// Backoff is how long to wait before attempt n+1 after attempt n
	// failed (30 s, then 2 min).
	Backoff func(n int) time.Duration

	once sync.Once
	id   string
}

func (w *Worker) defaults() {
	w.once.Do(func() {
		if w.Concurrency <= 0 {
			w.Concurrency = 2
		}
		if w.Lease <= 0 {
			w.Lease = 2 * time.Minute
		}
		if w.Poll <= 0 {
			w.Poll = 2 * time.Second
		}
		if w.MaxAttempts <= 0 {
			w.MaxAttempts = 3
		}
		if w.Backoff == nil {
			w.Backoff = func(n int) time.Duration { return 30 * time.Second << (2 * (n - 1)) }
		}
		if w.Logger == nil {
			w.Logger = slog.New(slog.DiscardHandler)
		}
		host, _ := os.Hostname()
		var b [6]byte
		rand.Read(b[:])
		w.id = host + "-" + hex.EncodeToString(b[:])
	})
}

// Run works until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	tick := time.NewTicker(w.Poll)
	defer tick.Stop()
	for {
		n, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.Logger.Error("preview worker", "err", err)
		}
		if n > 0 && err == nil {
			continue // there may be more
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-w.Queue.wake:
		}
	}
}

// RunOnce claims up to Concurrency due jobs, captures them side by side and
// records their outcomes. It returns how many it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	w.defaults()
	jobs, err := w.Queue.Claim(ctx, w.id, w.Lease, w.Concurrency)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Go(func() { errs[i] = w.do(ctx, j) })
	}
	wg.Wait()
	return len(jobs), errors.Join(errs...)
}

func (w *Worker) do(ctx context.Context, j Job) error {
	if w.Capture == nil {
		return w.Queue.Fail(ctx, w.id, j.Key, OffReason)
	}
	if j.Attempts > w.MaxAttempts {
		// Claimed again and again by workers that died on it.
		return w.Queue.Fail(ctx, w.id, j.Key, "gave up after "+strconv.Itoa(j.Attempts-1)+" attempts")
	}
	start := time.Now()
	shot, err := w.Capture.Page(ctx, j.URL)
	var refused *capture.RefusedError
	switch {
	case err == nil:
		w.Logger.Info("preview captured", "url", j.URL, "took", time.Since(start).Round(time.Millisecond))
		return w.Queue.Complete(ctx, w.id, j.Key, Capture{Title: shot.Title, Description: shot.Description,
			FinalURL: shot.FinalURL, PNG: shot.PNG, Width: 640, Height: 400})
	case errors.As(err, &refused):
		w.Logger.Warn("preview refused", "url", j.URL, "reason", err.Error())
		return w.Queue.Fail(ctx, w.id, j.Key, err.Error())
	case errors.Is(err, capture.ErrUnavailable):
		return w.Queue.Fail(ctx, w.id, j.Key, OffReason)
	case ctx.Err() != nil:
		// Stopping: hand the job back, due at once, for the next start.
		return w.Queue.Release(context.WithoutCancel(ctx), w.id, j.Key)
	case j.Attempts >= w.MaxAttempts:
		w.Logger.Warn("preview failed", "url", j.URL, "attempts", j.Attempts, "err", err)
		return w.Queue.Fail(ctx, w.id, j.Key, err.Error())
	default:
		w.Logger.Info("preview failed; retrying", "url", j.URL, "attempts", j.Attempts, "err", err)
		return w.Queue.Retry(ctx, w.id, j.Key, w.Queue.now().Add(w.Backoff(j.Attempts)), err.Error())
	}
}
