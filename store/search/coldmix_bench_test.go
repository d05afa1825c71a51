package search

import (
	"bufio"
	"context"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"shelf/store"
)

// BenchmarkColdMix runs a file of queries (one a line) over an existing
// database's in-memory index, without the result cache: what uncached
// searches cost at that catalog's size. The words' typo and substring
// expansions are cached, as in a server that has seen them. It needs SHELF_BENCH_DB (a Shelf
// database file, such as the load test's 1M one) and SHELF_BENCH_QUERIES;
// without them it is skipped.
//
//	SHELF_BENCH_DB=/tmp/shelf-loadtest/shelf-1000000.db SHELF_BENCH_QUERIES=queries.txt \
//	  go test -run '^$' -bench 'ColdMix$' -benchmem ./store/search
func BenchmarkColdMix(b *testing.B) {
	s, queries := coldMixSearcher(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := s.Search(ctx, queries[i%len(queries)], 1); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkColdMixPerQuery times each query of the file alone, the best of
// three, and reports the distribution over the queries: where the tail of
// the mix comes from. Set up as BenchmarkColdMix; one iteration is enough.
//
//	SHELF_BENCH_DB=… SHELF_BENCH_QUERIES=… go test -run '^$' -bench ColdMixPerQuery -benchtime 1x ./store/search
func BenchmarkColdMixPerQuery(b *testing.B) {
	s, queries := coldMixSearcher(b)
	ctx := context.Background()
	times := make([]time.Duration, len(queries))
	for b.Loop() {
		for i, q := range queries {
			times[i] = time.Duration(math.MaxInt64)
			for range 3 {
				start := time.Now()
				if _, err := s.Search(ctx, q, 1); err != nil {
					b.Fatal(err)
				}
				times[i] = min(times[i], time.Since(start))
			}
		}
	}
	slices.Sort(times)
	var sum time.Duration
	for _, t := range times {
		sum += t
	}
	at := func(q float64) float64 {
		return float64(times[min(int(q*float64(len(times))), len(times)-1)].Microseconds())
	}
	b.ReportMetric(float64(sum.Microseconds())/float64(len(times)), "mean-µs")
	b.ReportMetric(at(0.5), "p50-µs")
	b.ReportMetric(at(0.9), "p90-µs")
	b.ReportMetric(at(0.99), "p99-µs")
	b.ReportMetric(at(0.999), "p99.9-µs")
	b.ReportMetric(float64(times[len(times)-1].Microseconds()), "max-µs")
}

// coldMixSearcher opens SHELF_BENCH_DB with its index built and no result
// cache, and reads SHELF_BENCH_QUERIES; the words' expansions are cached,
// as in a server that has seen them. Without the two it skips.
func coldMixSearcher(b *testing.B) (*Searcher, []string) {
	b.Helper()
	dbPath, qPath := os.Getenv("SHELF_BENCH_DB"), os.Getenv("SHELF_BENCH_QUERIES")
	if dbPath == "" || qPath == "" {
		b.Skip("set SHELF_BENCH_DB and SHELF_BENCH_QUERIES")
	}
	f, err := os.Open(qPath)
	if err != nil {
		b.Fatal(err)
	}
	var queries []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		queries = append(queries, sc.Text())
	}
	f.Close()
	if len(queries) == 0 {
		b.Fatal("no queries")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	s, err := New(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.BuildIndex(ctx); err != nil {
		b.Fatal(err)
	}
	s.SetResultCache(0)
	for _, q := range queries {
		if _, err := s.Search(ctx, q, 1); err != nil {
			b.Fatal(err)
		}
	}
	return s, queries
}
