package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// typedQuery is typed key by key, typingGap apart, as a quick typist would.
const (
	typedQuery = "harry potter prisoner"
	typingGap  = 60 * time.Millisecond
	// resultsDue is how soon after the last key its results must show on
	// a server and network as fast as the test's.
	resultsDue = 150 * time.Millisecond
)

// jsWatchTyping records, in the page, when the last key changed the box,
// every text the result count showed and when, and how many search
// requests the form sent and swapped in.
const jsWatchTyping = `(() => {
	const w = window.typingWatch = {firstKey: 0, lastKey: 0, counts: [], sent: 0, swapped: 0};
	const form = document.getElementById('search-form');
	document.getElementById('search-input').addEventListener('input', () => { w.lastKey = performance.now(); w.firstKey ||= w.lastKey; });
	form.addEventListener('htmx:beforeRequest', () => { w.sent++; });
	document.body.addEventListener('htmx:afterSwap', (e) => { if (e.target.id === 'results') w.swapped++; });
	const count = document.getElementById('result-count');
	new MutationObserver(() => { w.counts.push({text: count.textContent, at: performance.now()}); })
		.observe(count, {childList: true, subtree: true, characterData: true});
	return true;
})()`

type typingRun struct {
	FirstKey float64 `json:"firstKey"`
	LastKey  float64 `json:"lastKey"`
	Counts   []struct {
		Text string  `json:"text"`
		At   float64 `json:"at"`
	} `json:"counts"`
	Sent    int `json:"sent"`
	Swapped int `json:"swapped"`
}

// typeQuery opens the home page, types typedQuery and waits until its
// results have shown and nothing more arrives; it returns what the page
// recorded, and fails t if an older query's results ever replaced a newer
// one's or were left showing.
func typeQuery(t *testing.T, tab context.Context, base string) typingRun {
	t.Helper()
	runStep(t, tab, "open the home page", 15*time.Second,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("search-input")),
	)
	waitJS(t, tab, "htmx to load", 5*time.Second, `!!window.htmx`)
	evalJS[bool](t, tab, jsWatchTyping)
	runStep(t, tab, "focus the search box", 5*time.Second, chromedp.Focus(chromedp.ID("search-input")))
	start := time.Now()
	for i, r := range typedQuery {
		time.Sleep(time.Until(start.Add(time.Duration(i) * typingGap)))
		runStep(t, tab, fmt.Sprintf("type %q", r), 5*time.Second, chromedp.KeyEvent(string(r)))
	}
	final := "“" + typedQuery + "”"
	waitJS(t, tab, "results for "+typedQuery, 10*time.Second,
		fmt.Sprintf(`document.getElementById('result-count').textContent.includes(%q)`, final))
	// Long enough for any late answer to an earlier key to land.
	time.Sleep(settle)
	run := evalJS[typingRun](t, tab, `window.typingWatch`)

	// Each count shown is for what was typed up to some key, and each
	// later one for a longer prefix: an answer for fewer keys never lands
	// after one for more.
	prev := -1
	for _, c := range run.Counts {
		open, end := strings.Index(c.Text, "“"), strings.LastIndex(c.Text, "”")
		if open < 0 || end < open {
			t.Errorf("the result count says %q, naming no query", c.Text)
			continue
		}
		q := c.Text[open+len("“") : end]
		if !strings.HasPrefix(typedQuery, q) {
			t.Errorf("the result count showed %q while typing %q", q, typedQuery)
			continue
		}
		if len(q) < prev {
			t.Errorf("results for %q replaced those for a longer prefix of %q: a stale answer landed", q, typedQuery)
		}
		prev = len(q)
	}
	if got := evalJS[string](t, tab, jsResultCountText); !strings.Contains(got, final) {
		t.Errorf("after typing %q the result count says %q", typedQuery, got)
	}
	if got := evalJS[string](t, tab, jsResultText); !strings.Contains(got, "Prisoner of Azkaban") {
		t.Errorf("the results for %q do not show the Prisoner of Azkaban: %.200q", typedQuery, got)
	}
	return run
}

// serverTime adds up the durations the server logged for requests.
func serverTime(t *testing.T, lines []string) time.Duration {
	t.Helper()
	var total time.Duration
	for _, line := range lines {
		for _, field := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(field, "duration="); ok {
				d, err := time.ParseDuration(v)
				if err != nil {
					t.Fatalf("request log line with duration %q: %v", v, err)
				}
				total += d
			}
		}
	}
	return total
}

// shownAfterLastKey is how long after the last key the results for the
// whole query showed.
func (r typingRun) shownAfterLastKey() time.Duration {
	for _, c := range r.Counts {
		if strings.Contains(c.Text, "“"+typedQuery+"”") {
			return time.Duration((c.At - r.LastKey) * float64(time.Millisecond))
		}
	}
	return -1
}

// Results follow typing within resultsDue of the last key on a fast server
// (the wait is the network's, not a debounce's), and an answer for an
// earlier key never lands over a later one's, also when the network is slow
// enough for answers to overlap. It logs what a typed query costs in
// requests.
func TestBrowserResultsFollowTyping(t *testing.T) {
	chromium := needChromium(t)
	base, logs := startShelf(t)
	browser := chromium.newBrowser(t)

	t.Run("Fast", func(t *testing.T) {
		tab := newTab(t, browser)
		var waits, typed []time.Duration
		var sent, seen, swapped []int
		var served []time.Duration
		for range 5 {
			before := requestLines(logs, "/search", true)
			run := typeQuery(t, tab, base)
			waits = append(waits, run.shownAfterLastKey())
			typed = append(typed, time.Duration((run.LastKey-run.FirstKey)*float64(time.Millisecond)))
			sent = append(sent, run.Sent)
			swapped = append(swapped, run.Swapped)
			lines := newLines(before, requestLines(logs, "/search", true))
			seen = append(seen, len(lines))
			served = append(served, serverTime(t, lines))
		}
		slices.Sort(waits)
		median := waits[len(waits)/2]
		t.Logf("typing %q (%d keys, %v apart; first to last key %v): results %v after the last key (median; runs %v); requests sent %v, reaching the server %v (handled in %v in all), swapped in %v",
			typedQuery, len([]rune(typedQuery)), typingGap, typed, median, waits, sent, seen, served, swapped)
		if median < 0 || median > resultsDue {
			t.Errorf("the results for %q showed %v after the last key (median of %v), want within %v", typedQuery, median, waits, resultsDue)
		}
	})

	t.Run("SlowAnswerDropped", func(t *testing.T) {
		// The answer for all keys but the last takes 600 ms, every other
		// one 60 ms, so earlier answers are still on the way when later
		// keys are typed. The slow one must be abandoned, neither waited
		// for (as a queue would) nor shown.
		tab := newTab(t, browser)
		ctx, cancel := context.WithTimeout(tab, 5*time.Second)
		defer cancel()
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			t.Fatalf("enable the network domain: %v", err)
		}
		lastButOne := strings.ReplaceAll(typedQuery[:len(typedQuery)-1], " ", "+")
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{
				{URLPattern: base + "/search?*" + lastButOne[strings.LastIndex(lastButOne, "+")+1:], Latency: 600, DownloadThroughput: -1, UploadThroughput: -1},
				{Latency: 60, DownloadThroughput: -1, UploadThroughput: -1},
			},
		}); err != nil {
			t.Fatalf("slow the network: %v", err)
		}
		run := typeQuery(t, tab, base)
		wait := run.shownAfterLastKey()
		t.Logf("on a network with 60 ms latency: results %v after the last key; requests sent %d, swapped in %d",
			wait, run.Sent, run.Swapped)
		if wait < 0 || wait > 400*time.Millisecond {
			t.Errorf("with 60 ms latency the results for %q showed %v after the last key: the slow answer for the key before was waited for", typedQuery, wait)
		}
	})

	t.Run("HistoryEntryPerQuery", func(t *testing.T) {
		// Keys make no history entries of their own; a pause to read the
		// results does, and Enter on a query already shown adds none.
		tab := newTab(t, browser)
		runStep(t, tab, "open the home page", 15*time.Second,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.ID("search-input")),
		)
		waitJS(t, tab, "htmx to load", 5*time.Second, `!!window.htmx`)
		entries := evalJS[int](t, tab, `history.length`)
		typeSlowly(t, tab, "harry")
		waitJS(t, tab, "results for harry", 10*time.Second, jsQueryParam+` === 'harry'`)
		time.Sleep(1200 * time.Millisecond) // reading the results
		typeSlowly(t, tab, " potter\r")
		waitJS(t, tab, "results for harry potter", 10*time.Second, jsQueryParam+` === 'harry potter'`)
		time.Sleep(settle)
		if got := evalJS[int](t, tab, `history.length`) - entries; got != 2 {
			t.Errorf("typing harry, pausing, then typing \" potter\" and Enter made %d history entries, want 2", got)
		}
		historyBack(t, tab)
		waitJS(t, tab, "harry's results after going back", 5*time.Second,
			fmt.Sprintf(`%s === 'harry' && %s === 'harry' && %s.includes('Harry')`, jsQueryParam, jsInputValue, jsResultText))
		historyBack(t, tab)
		waitJS(t, tab, "the home page after going back again", 5*time.Second,
			`location.pathname === '/' && `+jsInputValue+` === ''`)
	})
	t.Run("BackNeedsNoRequest", func(t *testing.T) {
		// Going back to a query restores it from the page's history cache
		// (ten pages), even after a long query typed since: the pages of
		// its keys, which no history entry shows, are not kept there.
		tab := newTab(t, browser)
		runStep(t, tab, "open the home page", 15*time.Second,
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible(chromedp.ID("search-input")),
		)
		waitJS(t, tab, "htmx to load", 5*time.Second, `!!window.htmx`)
		typeSlowly(t, tab, "harry")
		waitJS(t, tab, "results for harry", 10*time.Second, jsQueryParam+` === 'harry'`)
		evalJS[bool](t, tab, `(document.getElementById('search-input').select(), true)`)
		typeSlowly(t, tab, "the lord of the rings")
		waitJS(t, tab, "results for the lord of the rings", 10*time.Second, jsQueryParam+` === 'the lord of the rings'`)
		time.Sleep(settle)
		before := requestLines(logs, "/search", true)
		historyBack(t, tab)
		waitJS(t, tab, "harry's results after going back", 5*time.Second,
			fmt.Sprintf(`%s === 'harry' && %s === 'harry' && %s.includes('Harry')`, jsQueryParam, jsInputValue, jsResultText))
		if got := newLines(before, requestLines(logs, "/search", true)); len(got) != 0 {
			t.Errorf("going back to harry asked the server again:\n%s", strings.Join(got, "\n"))
		}
	})
}
