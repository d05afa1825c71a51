package previews_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/capture"
	"shelf/store/previews"
	"shelf/store/storetest"
)

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

// fakeCapture answers each URL from a script: the errors first, in order,
// then a shot.
type fakeCapture struct {
	mu     sync.Mutex
	errs   map[string][]error
	calls  map[string]int
	block  chan struct{} // when set, captures wait for it (or their context)
	called chan string
}

func (f *fakeCapture) Page(ctx context.Context, url string) (capture.Shot, error) {
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	n := f.calls[url]
	f.calls[url]++
	var err error
	if n < len(f.errs[url]) {
		err = f.errs[url][n]
	}
	block, called := f.block, f.called
	f.mu.Unlock()
	if called != nil {
		called <- url
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return capture.Shot{}, ctx.Err()
		}
	}
	if err != nil {
		return capture.Shot{}, err
	}
	return capture.Shot{Title: "Title of " + url, Description: "About it", PNG: []byte("\x89PNG fake " + url), FinalURL: url + "#final"}, nil
}

func get(t *testing.T, q *previews.Queue, url string) previews.Preview {
	t.Helper()
	p, ok, err := q.Get(context.Background(), previews.KeyOf(url))
	if err != nil || !ok {
		t.Fatalf("get %s: %v, %v", url, ok, err)
	}
	return p
}

func TestEnqueueIsIdempotent(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		q := previews.NewQueue(db, c.now)
		p, err := q.Enqueue(ctx, "https://example.com/a")
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != previews.Pending || p.Key != previews.KeyOf("https://example.com/a") || len(p.Key) != 64 {
			t.Errorf("enqueued %+v", p)
		}
		w := &previews.Worker{Queue: q, Capture: &fakeCapture{}}
		if n, err := w.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("RunOnce = %d, %v", n, err)
		}
		p, err = q.Enqueue(ctx, "https://example.com/a")
		if err != nil || p.Status != previews.Ready || p.Title != "Title of https://example.com/a" {
			t.Errorf("enqueued again: %+v, %v; want the ready one", p, err)
		}
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Errorf("a ready preview was captured again")
		}
		img, ok, err := q.Image(ctx, p.Key)
		if err != nil || !ok || string(img.PNG) != "\x89PNG fake https://example.com/a" || len(img.ETag) < 10 || img.URL != "https://example.com/a" {
			t.Errorf("Image = %+v, %v, %v", img, ok, err)
		}
		// The tag alone, for a revalidation: the PNG is not read.
		if tag, ok, err := q.ImageTag(ctx, p.Key); err != nil || !ok || tag.ETag != img.ETag || tag.URL != img.URL || tag.PNG != nil {
			t.Errorf("ImageTag = %+v, %v, %v", tag, ok, err)
		}
		if p.Width != 640 || p.Height != 400 || p.FinalURL != "https://example.com/a#final" {
			t.Errorf("ready preview %+v", p)
		}
		for _, key := range []string{"nope", previews.KeyOf("https://example.com/other"), "../../etc/passwd"} {
			if _, ok, err := q.Get(ctx, key); ok || err != nil {
				t.Errorf("Get(%q) = %v, %v", key, ok, err)
			}
			if _, ok, err := q.Image(ctx, key); ok || err != nil {
				t.Errorf("Image(%q) = %v, %v", key, ok, err)
			}
			if _, ok, err := q.ImageTag(ctx, key); ok || err != nil {
				t.Errorf("ImageTag(%q) = %v, %v", key, ok, err)
			}
		}
	})
}

func TestRetriesThenSucceeds(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		q := previews.NewQueue(db, c.now)
		url := "https://example.com/flaky"
		f := &fakeCapture{errs: map[string][]error{url: {errors.New("timed out after 10 s"), errors.New("connection reset")}}}
		w := &previews.Worker{Queue: q, Capture: f}
		q.Enqueue(ctx, url)
		w.RunOnce(ctx)
		p := get(t, q, url)
		if p.Status != previews.Pending || p.Error != "timed out after 10 s" || p.Attempts != 1 {
			t.Fatalf("after one failure: %+v", p)
		}
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Fatal("retried before its backoff")
		}
		c.add(31 * time.Second)
		w.RunOnce(ctx)
		if p := get(t, q, url); p.Status != previews.Pending || p.Error != "connection reset" || p.Attempts != 2 {
			t.Fatalf("after two failures: %+v", p)
		}
		c.add(time.Minute)
		if n, _ := w.RunOnce(ctx); n != 0 {
			t.Fatal("the second backoff is not longer")
		}
		c.add(time.Minute + time.Second)
		w.RunOnce(ctx)
		if p := get(t, q, url); p.Status != previews.Ready || p.Error != "" || p.Attempts != 3 {
			t.Fatalf("after the third attempt: %+v", p)
		}
	})
}

func TestFailuresAreVisibleAndFinal(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		q := previews.NewQueue(db, c.now)
		down, refused := "https://down.example/", "http://10.0.0.5/"
		f := &fakeCapture{errs: map[string][]error{
			down:    {errors.New("e1"), errors.New("e2"), errors.New("e3"), errors.New("e4")},
			refused: {&capture.RefusedError{Reason: "private address 10.0.0.5"}},
		}}
		w := &previews.Worker{Queue: q, Capture: f}
		q.Enqueue(ctx, down)
		q.Enqueue(ctx, refused)
		for range 5 {
			w.RunOnce(ctx)
			c.add(time.Hour)
		}
		if p := get(t, q, refused); p.Status != previews.Failed || p.Error != "refused: private address 10.0.0.5" || p.Attempts != 1 {
			t.Errorf("refused: %+v", p)
		}
		if p := get(t, q, down); p.Status != previews.Failed || p.Error != "e3" || p.Attempts != 3 {
			t.Errorf("down: %+v", p)
		}
		if p, _ := q.Enqueue(ctx, refused); p.Status != previews.Failed {
			t.Errorf("a refused preview asked for again: %+v", p)
		}
		if f.calls[down] != 3 || f.calls[refused] != 1 {
			t.Errorf("captures: %v", f.calls)
		}
	})
}

func TestPreviewsOff(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		q := previews.NewQueue(db, nil)
		q.Enqueue(ctx, "https://example.com/")
		w := &previews.Worker{Queue: q}
		w.RunOnce(ctx)
		if p := get(t, q, "https://example.com/"); p.Status != previews.Failed || p.Error != previews.OffReason {
			t.Errorf("no capturer: %+v", p)
		}
		q.Enqueue(ctx, "https://example.org/")
		w = &previews.Worker{Queue: q, Capture: unavailable{}}
		w.RunOnce(ctx)
		if p := get(t, q, "https://example.org/"); p.Status != previews.Failed || p.Error != previews.OffReason {
			t.Errorf("no chromium: %+v", p)
		}
		// Once the server can capture, asking again tries again.
		if p, err := q.Enqueue(ctx, "https://example.org/"); err != nil || p.Status != previews.Pending || p.Attempts != 0 {
			t.Errorf("asked again with previews on: %+v, %v", p, err)
		}
		(&previews.Worker{Queue: q, Capture: &fakeCapture{}}).RunOnce(ctx)
		if p := get(t, q, "https://example.org/"); p.Status != previews.Ready {
			t.Errorf("after previews came on: %+v", p)
		}
		if _, err := q.Enqueue(ctx, "https://example.org/"+strings.Repeat("x", previews.MaxURL)); !errors.Is(err, previews.ErrURLTooLong) {
			t.Errorf("a very long URL: %v", err)
		}
	})
}

type unavailable struct{}

func (unavailable) Page(context.Context, string) (capture.Shot, error) {
	return capture.Shot{}, capture.ErrUnavailable
}

// TestSurvivesRestart: a worker claims a job and its process dies
// mid-capture; after a restart (the database opened anew), nobody takes the
// job up until the lease lapses, then a new worker finishes it.
func TestSurvivesRestart(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		q := previews.NewQueue(db, c.now)
		url := "https://example.com/restart"
		q.Enqueue(ctx, url)
		if jobs, err := q.Claim(ctx, "dead-process", time.Minute, 2); err != nil || len(jobs) != 1 {
			t.Fatalf("claim: %v, %v", jobs, err)
		}
		db.Close() // the crash

		db2 := reopen(t, db)
		q2 := previews.NewQueue(db2, c.now)
		f := &fakeCapture{}
		fresh := &previews.Worker{Queue: q2, Capture: f, Lease: time.Minute}
		c.add(30 * time.Second)
		if n, _ := fresh.RunOnce(ctx); n != 0 {
			t.Fatal("taken up within the dead worker's lease")
		}
		if p := get(t, q2, url); p.Status != previews.Pending || p.Attempts != 1 {
			t.Errorf("while leased: %+v", p)
		}
		c.add(31 * time.Second)
		if n, err := fresh.RunOnce(ctx); n != 1 || err != nil {
			t.Fatalf("after the lease: RunOnce = %d, %v", n, err)
		}
		if p := get(t, q2, url); p.Status != previews.Ready || p.Attempts != 2 || p.Title != "Title of "+url {
			t.Errorf("after restart: %+v", p)
		}
	})
}

// TestStoppingHandsJobsBack: a worker stopped mid-capture hands its job
// back, due at once and its attempt not counted.
func TestStoppingHandsJobsBack(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		c := newClock()
		q := previews.NewQueue(db, c.now)
		url := "https://example.com/stop"
		q.Enqueue(context.Background(), url)
		f := &fakeCapture{block: make(chan struct{}), called: make(chan string, 1)}
		w := &previews.Worker{Queue: q, Capture: f}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { w.RunOnce(ctx); close(done) }()
		<-f.called
		stop()
		<-done
		if p := get(t, q, url); p.Status != previews.Pending || p.Attempts != 0 || p.Error != "" {
			t.Errorf("after stopping: %+v", p)
		}
		if n, _ := (&previews.Worker{Queue: q, Capture: &fakeCapture{}}).RunOnce(context.Background()); n != 1 {
			t.Error("not due at once")
		}
	})
}

// reopen opens db's database again: a new process's connections.
func reopen(t *testing.T, db *store.DB) *store.DB {
	t.Helper()
	src := db.Path
	if db.Backend == store.Postgres {
		src = db.URL
	}
	db2, err := store.Open(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db2.Close() })
	return db2
}

// TestLeaseLapsedClaimIsLost: a worker that outlives its lease cannot record
// over the worker that took the job up.
func TestLeaseLapsedClaimIsLost(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		q := previews.NewQueue(db, c.now)
		url := "https://example.com/slow"
		q.Enqueue(ctx, url)
		jobs, err := q.Claim(ctx, "a", time.Minute, 10)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claim: %v, %v", jobs, err)
		}
		if again, _ := q.Claim(ctx, "b", time.Minute, 10); len(again) != 0 {
			t.Fatal("claimed twice within the lease")
		}
		c.add(2 * time.Minute)
		jobs, _ = q.Claim(ctx, "b", time.Minute, 10)
		if len(jobs) != 1 || jobs[0].Attempts != 2 {
			t.Fatalf("after the lease: %+v", jobs)
		}
		if err := q.Complete(ctx, "a", jobs[0].Key, previews.Capture{PNG: []byte("late")}); !errors.Is(err, previews.ErrLostClaim) {
			t.Errorf("late outcome: %v, want ErrLostClaim", err)
		}
		if err := q.Fail(ctx, "b", jobs[0].Key, "refused: x"); err != nil {
			t.Fatal(err)
		}
		if p := get(t, q, url); p.Status != previews.Failed {
			t.Errorf("%+v", p)
		}
	})
}

// TestGivesUpOnJobsThatKillWorkers: a job whose workers keep dying on it is
// failed, not claimed forever.
func TestGivesUpOnJobsThatKillWorkers(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := newClock()
		q := previews.NewQueue(db, c.now)
		url := "https://example.com/crasher"
		q.Enqueue(ctx, url)
		for i := range 3 {
			if jobs, _ := q.Claim(ctx, fmt.Sprint("dead", i), time.Minute, 1); len(jobs) != 1 {
				t.Fatalf("claim %d: %v", i, jobs)
			}
			c.add(2 * time.Minute)
		}
		f := &fakeCapture{}
		(&previews.Worker{Queue: q, Capture: f}).RunOnce(ctx)
		if p := get(t, q, url); p.Status != previews.Failed || p.Error != "gave up after 3 attempts" {
			t.Errorf("%+v", p)
		}
		if len(f.calls) != 0 {
			t.Errorf("captured again: %v", f.calls)
		}
	})
}

// TestClaimsDoNotOverlap: workers claiming at once never share a job.
func TestClaimsDoNotOverlap(t *testing.T) {
	storetest.Backends(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		q := previews.NewQueue(db, nil)
		for i := range 40 {
			if _, err := q.Enqueue(ctx, fmt.Sprintf("https://example.com/%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		var (
			mu   sync.Mutex
			seen = map[string]string{}
			wg   sync.WaitGroup
		)
		for w := range 4 {
			wg.Go(func() {
				name := fmt.Sprint("w", w)
				for {
					jobs, err := q.Claim(ctx, name, time.Minute, 3)
					if err != nil {
						t.Error(err)
						return
					}
					if len(jobs) == 0 {
						return
					}
					mu.Lock()
					for _, j := range jobs {
						if other, dup := seen[j.Key]; dup {
							t.Errorf("%s claimed by %s and %s", j.URL, other, name)
						}
						seen[j.Key] = name
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != 40 {
			t.Errorf("%d of 40 claimed", len(seen))
		}
	})
}
