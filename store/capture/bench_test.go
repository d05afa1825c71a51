package capture

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkPage captures a local page again and again, one at a time and
// Concurrency at once, and reports the median and 95th percentile of one
// capture's time (Chromium already started):
//
//	go test -run '^$' -bench BenchmarkPage -benchtime 40x ./store/capture
func BenchmarkPage(b *testing.B) {
	if !testBrowser.Available() {
		b.Skip("chromium is not installed")
	}
	if _, err := testBrowser.Page(context.Background(), publicURL+"/page"); err != nil { // start Chromium
		b.Fatal(err)
	}
	for _, at := range []int{1, testBrowser.cfg.Concurrency} {
		b.Run("at-once="+strconv.Itoa(at), func(b *testing.B) {
			var (
				mu    sync.Mutex
				times []time.Duration
				wg    sync.WaitGroup
				next  = make(chan struct{})
			)
			for range at {
				wg.Go(func() {
					for range next {
						start := time.Now()
						if _, err := testBrowser.Page(context.Background(), publicURL+"/page"); err != nil {
							b.Error(err)
						}
						mu.Lock()
						times = append(times, time.Since(start))
						mu.Unlock()
					}
				})
			}
			for b.Loop() {
				next <- struct{}{}
			}
			close(next)
			wg.Wait()
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Milliseconds()), "p50-ms")
			b.ReportMetric(float64(times[len(times)*95/100].Milliseconds()), "p95-ms")
		})
	}
}
