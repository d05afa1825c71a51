package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"shelf/store/outbox"
)

// BenchmarkOutboxDrain measures delivering 1,000 queued messages to a local
// SMTP server, from Notify until every one is marked sent.
func BenchmarkOutboxDrain(b *testing.B) {
	const n = 1000
	srv := newTestSMTP(b)
	db := openDB(b, "")
	opt := outbox.SenderOptions{PollInterval: time.Hour}
	s := startSender(b, db, srv.config(), opt)
	ob := outbox.NewQueue(db)
	var mails []outbox.Mail
	for i := range n {
		mails = append(mails, welcome(fmt.Sprintf("reader%d@example.com", i)))
	}
	total := 0
	var elapsed time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		enqueue(b, db, mails...)
		total += n
		b.StartTimer()
		start := time.Now()
		s.Notify()
		srv.waitFor(total, time.Minute)
		for {
			c, err := ob.Counts(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if c.Sent == int64(total) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
}
