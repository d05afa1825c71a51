package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// openResult is one open-loop run: requests sent at a constant rate,
// whether or not earlier ones were answered, so a slow response delays no
// later request and a stall shows up in the latencies instead of lowering
// the rate (what wrk's closed loop does).
type openResult struct {
	rate     int     // requests per second asked for
	achieved float64 // requests per second sent
	requests uint64
	errors   uint64   // transport errors and non-2xx answers
	detail   []string // the first few distinct errors
	p50, p90 time.Duration
	p99, max time.Duration
}

// openLoop sends the paths round-robin over bases at rate per second for
// d, as HTMX requests accepting gzip, with at most conns connections (and
// as many requests in flight).
func openLoop(ctx context.Context, bases, paths []string, rate int, d time.Duration, conns int) (openResult, error) {
	if len(paths) == 0 || len(bases) == 0 {
		return openResult{}, fmt.Errorf("open loop: no targets")
	}
	header := http.Header{"Hx-Request": {"true"}, "Accept-Encoding": {"gzip"}}
	targets := make([]vegeta.Target, len(paths))
	for i, p := range paths {
		targets[i] = vegeta.Target{Method: http.MethodGet, URL: bases[i%len(bases)] + p, Header: header}
	}
	atk := vegeta.NewAttacker(vegeta.Workers(uint64(min(conns, 64))), vegeta.MaxWorkers(uint64(conns)),
		vegeta.Connections(conns), vegeta.MaxConnections(conns), vegeta.KeepAlive(true), vegeta.HTTP2(false),
		vegeta.Timeout(10*time.Second))
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()
	var m vegeta.Metrics
	res := openResult{rate: rate}
	seen := map[string]bool{}
	for r := range atk.Attack(vegeta.NewStaticTargeter(targets...), vegeta.Rate{Freq: rate, Per: time.Second}, d, "open") {
		m.Add(r)
		if r.Error != "" || r.Code < 200 || r.Code > 299 {
			res.errors++
			e := r.Error
			if e == "" {
				e = fmt.Sprintf("HTTP %d", r.Code)
			}
			if !seen[e] && len(res.detail) < 3 {
				seen[e] = true
				res.detail = append(res.detail, e)
			}
		}
	}
	m.Close()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.achieved, res.requests = m.Rate, m.Requests
	res.p50, res.p90, res.p99, res.max = m.Latencies.P50, m.Latencies.P90, m.Latencies.P99, m.Latencies.Max
	return res, nil
}

func (r openResult) errorDetail() string { return strings.Join(r.detail, "; ") }

// medianOpen is the run with the median p99.
func medianOpen(rs []openResult) openResult {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b openResult) int { return int(a.p99 - b.p99) })
	return s[len(s)/2]
}
