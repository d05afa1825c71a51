package search

import (
	"bufio"
	"context"
	"os"
	"testing"

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
//	  go test -run '^$' -bench ColdMix -benchmem ./store/search
func BenchmarkColdMix(b *testing.B) {
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
	defer db.Close()
	s, err := New(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.BuildIndex(ctx); err != nil {
		b.Fatal(err)
	}
	s.SetResultCache(0)
	for _, q := range queries { // the words' expansions, as a running server has them
		if _, err := s.Search(ctx, q, 1); err != nil {
			b.Fatal(err)
		}
	}
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
