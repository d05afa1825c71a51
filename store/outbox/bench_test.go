package outbox_test

import (
	"context"
	"testing"
	"time"

	"shelf/store"
	"shelf/store/outbox"
	"shelf/store/storetest"
)

// BenchmarkOutboxDrain measures delivering 1,000 queued messages to a local
// SMTP server, from Notify until every one is marked sent: by one sender on
// each backend, and by several instances' senders sharing one PostgreSQL
// database.
func BenchmarkOutboxDrain(b *testing.B) {
	for _, c := range []struct {
		name      string
		open      func(testing.TB) *store.DB
		instances int
	}{
		{"sqlite", storetest.Open, 1},
		{"postgres", storetest.OpenPostgres, 1},
		{"postgres/instances=4", storetest.OpenPostgres, 4},
	} {
		b.Run(c.name, func(b *testing.B) { benchmarkDrain(b, c.open(b), c.instances) })
	}
}

func benchmarkDrain(b *testing.B, db *store.DB, instances int) {
	const n = 1000
	srv := newTestSMTP(b)
	senders := startInstances(b, db, instances, srv.config(), outbox.SenderOptions{PollInterval: time.Hour})
	ob := outbox.NewQueue(db)
	mails := manyMails(n)
	total := 0
	var elapsed time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		enqueue(b, db, mails...)
		total += n
		b.StartTimer()
		start := time.Now()
		for _, s := range senders {
			s.Notify()
		}
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
	if srv.count() != total {
		b.Fatalf("server got %d messages, want %d", srv.count(), total)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
}
