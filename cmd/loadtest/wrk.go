package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// queries is the search mix: what people type into the box, taken from the
// bundled catalog's vocabulary. Every class the issue names is here: one
// letter, short prefixes, whole words, two words, typos, accents, misses, and
// a second page.
var queries = []struct{ q, page string }{
	// one letter
	{q: "h"}, {q: "t"}, {q: "a"}, {q: "s"},
	// two or three letters, as typed on the way to a word
	{q: "ha"}, {q: "har"}, {q: "tol"}, {q: "po"}, {q: "gam"}, {q: "mur"},
	// whole words
	{q: "harry"}, {q: "potter"}, {q: "tolkien"}, {q: "dune"}, {q: "hobbit"}, {q: "pride"},
	{q: "murder"}, {q: "love"}, {q: "king"}, {q: "war"}, {q: "night"}, {q: "austen"},
	// two words, the last one often unfinished
	{q: "harry pot"}, {q: "rowling chamber"}, {q: "hunger games"}, {q: "lord rings"},
	{q: "stephen king"}, {q: "game thr"}, {q: "jane austen"}, {q: "agatha christie"},
	// typos
	{q: "hary poter"}, {q: "tolkein"}, {q: "hobit"}, {q: "hungr games"}, {q: "agatha cristie"},
	// accents, with and without
	{q: "garcia marquez"}, {q: "garcía márquez"}, {q: "les misérables"},
	// misses
	{q: "xyzzyq"}, {q: "qqqqzz"}, {q: "zzqv plorf"},
	// the next page of common queries
	{q: "harry", page: "2"}, {q: "the", page: "2"},
}

// queryPaths is the mix as URL paths.
func queryPaths() []string { return mixPaths("/search?") }

// apiQueryPaths is the mix as the JSON API's searches: the same queries
// and pages.
func apiQueryPaths() []string { return mixPaths("/api/v1/books?") }

func mixPaths(prefix string) []string {
	out := make([]string, 0, len(queries))
	for _, q := range queries {
		v := url.Values{"q": {q.q}}
		if q.page != "" {
			v.Set("page", q.page)
		}
		out = append(out, prefix+v.Encode())
	}
	return out
}

// doneLua prints wrk's summary as one JSON line, so the Go side does not
// have to parse wrk's human-readable output. Latencies are microseconds.
const doneLua = `
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,' ..
    '"status":%.0f,"timeout":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f,"max":%.0f,"mean":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
`

// searchScript cycles through paths as HTMX requests. Each thread starts at
// a different place in the list, half the list apart, so the threads do not
// ask in lockstep (nor warm a cache for each other).
func searchScript(paths []string) string { return mixScript(paths, true) }

// apiScript cycles through paths as the JSON API's clients ask: gzip, and
// no HX-Request.
func apiScript(paths []string) string { return mixScript(paths, false) }

func mixScript(paths []string, htmx bool) string {
	var b strings.Builder
	b.WriteString("local paths = {\n")
	for _, p := range paths {
		b.WriteString("  " + strconv.Quote(p) + ",\n")
	}
	b.WriteString(`}
local nextStart = 0
function setup(thread)
  thread:set("start", nextStart)
  nextStart = nextStart + math.floor(#paths / 2) + 7
end
local i = 0
function init(args)
  i = (start or 0) % #paths
`)
	if htmx {
		b.WriteString(`  wrk.headers["HX-Request"] = "true"
`)
	}
	// Each request is formatted once, here, not on every call: as wrk's
	// SCRIPTING advises when testing a fast server, so that wrk's own
	// work, on the same two cores, stays what it is for /healthz.
	b.WriteString(`  wrk.headers["Accept-Encoding"] = "gzip"
  for k = 1, #paths do
    paths[k] = wrk.format("GET", paths[k])
  end
end
function request()
  i = i % #paths + 1
  return paths[i]
end
`)
	b.WriteString(doneLua)
	return b.String()
}

// wrkResult is one wrk run. Latencies are microseconds.
type wrkResult struct {
	Requests   int64   `json:"requests"`
	DurationUS int64   `json:"duration_us"`
	Bytes      int64   `json:"bytes"`
	Connect    int64   `json:"connect"`
	Read       int64   `json:"read"`
	Write      int64   `json:"write"`
	Status     int64   `json:"status"` // responses with status >= 400
	Timeout    int64   `json:"timeout"`
	P50        float64 `json:"p50"`
	P90        float64 `json:"p90"`
	P99        float64 `json:"p99"`
	P999       float64 `json:"p999"`
	Max        float64 `json:"max"`
	Mean       float64 `json:"mean"`

	// ServerCPU is the CPU time (user + system) the server used during
	// the run, read from /proc; 0 when unknown.
	ServerCPU time.Duration `json:"-"`
}

// cpuPerRequest is the server's CPU time per request: unlike requests/s it
// hardly depends on what else the machine is doing.
func (r wrkResult) cpuPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.ServerCPU / time.Duration(r.Requests)
}

// cores is how many CPUs the server kept busy on average.
func (r wrkResult) cores() float64 {
	if r.DurationUS == 0 {
		return 0
	}
	return r.ServerCPU.Seconds() / (float64(r.DurationUS) / 1e6)
}

func (r wrkResult) rps() float64 {
	if r.DurationUS == 0 {
		return 0
	}
	return float64(r.Requests) / (float64(r.DurationUS) / 1e6)
}

func (r wrkResult) errors() int64 {
	return r.Connect + r.Read + r.Write + r.Status + r.Timeout
}

// errorDetail names the kinds of errors, "" when there are none.
func (r wrkResult) errorDetail() string {
	var parts []string
	for _, e := range []struct {
		name string
		n    int64
	}{{"status>=400", r.Status}, {"timeout", r.Timeout}, {"connect", r.Connect}, {"read", r.Read}, {"write", r.Write}} {
		if e.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", e.n, e.name))
		}
	}
	return strings.Join(parts, ", ")
}

type wrkRunner struct {
	exe                  string
	threads, connections int
	cpus                 string // for taskset -c; empty: any CPU
	log                  io.Writer
}

func (w wrkRunner) run(ctx context.Context, target, script string, d time.Duration) (wrkResult, error) {
	args := []string{
		"-t", strconv.Itoa(w.threads), "-c", strconv.Itoa(w.connections),
		"-d", strconv.Itoa(int(d.Round(time.Second)/time.Second)) + "s",
		"--timeout", "5s", "--latency", "-s", script, target,
	}
	cmd := exec.CommandContext(ctx, w.exe, args...)
	if w.cpus != "" {
		cmd = exec.CommandContext(ctx, "taskset", append([]string{"-c", w.cpus, w.exe}, args...)...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	r, err := parseWrk(out.Bytes())
	if err != nil {
		return r, fmt.Errorf("%w\n%s", err, out.String())
	}
	return r, nil
}

// runMeasuringCPU is run, also recording the CPU time process pid used.
func (w wrkRunner) runMeasuringCPU(ctx context.Context, pid int, target, script string, d time.Duration) (wrkResult, error) {
	before, err1 := processCPU(pid)
	r, err := w.run(ctx, target, script, d)
	after, err2 := processCPU(pid)
	if err == nil && err1 == nil && err2 == nil {
		r.ServerCPU = after - before
	}
	return r, err
}

// processCPU reads utime + stime of pid from /proc/PID/stat.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(b))
}

// clockTick is USER_HZ, 100 on every Linux platform Go supports.
const clockTick = 10 * time.Millisecond

func parseStatCPU(stat string) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed /proc stat times")
	}
	return time.Duration(ut+st) * clockTick, nil
}

func parseWrk(out []byte) (wrkResult, error) {
	var r wrkResult
	for line := range strings.Lines(string(out)) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "WRKJSON ")
		if !ok {
			continue
		}
		if err := json.Unmarshal([]byte(rest), &r); err != nil {
			return r, fmt.Errorf("parse wrk summary: %w", err)
		}
		if r.Requests == 0 {
			return r, errors.New("wrk made no requests")
		}
		return r, nil
	}
	return r, errors.New("wrk printed no WRKJSON summary line")
}

// runOn runs script against path on every server at once, the connections
// split evenly between them, and adds up the results (see combine).
func runOn(ctx context.Context, w wrkRunner, srvs []*server, path, script string, d time.Duration) (wrkResult, error) {
	if len(srvs) == 1 {
		return w.runMeasuringCPU(ctx, srvs[0].pid(), srvs[0].base+path, script, d)
	}
	results := make([]wrkResult, len(srvs))
	errs := make([]error, len(srvs))
	var wg sync.WaitGroup
	for i, s := range srvs {
		one := w
		one.connections = w.connections / len(srvs)
		one.threads = max(1, min(w.threads/len(srvs), one.connections))
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = one.runMeasuringCPU(ctx, s.pid(), s.base+path, script, d)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return wrkResult{}, err
	}
	return combine(results), nil
}

// combine is the load of several simultaneous runs as one: requests, bytes,
// errors and server CPU add up; each latency figure is the largest.
func combine(rs []wrkResult) wrkResult {
	var c wrkResult
	var weighted float64
	for _, r := range rs {
		c.Requests += r.Requests
		c.DurationUS = max(c.DurationUS, r.DurationUS)
		c.Bytes += r.Bytes
		c.Connect += r.Connect
		c.Read += r.Read
		c.Write += r.Write
		c.Status += r.Status
		c.Timeout += r.Timeout
		c.P50, c.P90, c.P99, c.P999, c.Max = max(c.P50, r.P50), max(c.P90, r.P90), max(c.P99, r.P99), max(c.P999, r.P999), max(c.Max, r.Max)
		weighted += r.Mean * float64(r.Requests)
		c.ServerCPU += r.ServerCPU
	}
	if c.Requests > 0 {
		c.Mean = weighted / float64(c.Requests)
	}
	return c
}
