package components

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func chartDays(counts map[int]int64) []ChartDay {
	first := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	days := make([]ChartDay, 30)
	for i := range days {
		days[i] = ChartDay{Day: first.AddDate(0, 0, i), Clicks: counts[i]}
	}
	return days
}

var barRe = regexp.MustCompile(`<rect class="chart-bar" x="([0-9.]+)" y="([0-9.]+)" width="8" height="([0-9.]+)"><title>([^<]*)</title></rect>`)

type drawnBar struct {
	x, y, h float64
	label   string
}

func renderChart(t *testing.T, days []ChartDay) (string, []drawnBar) {
	t.Helper()
	var b strings.Builder
	if err := ClicksChart(days).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, `viewBox="0 0 300 101"`) || !strings.Contains(out, `role="img" aria-labelledby="clicks-summary"`) {
		t.Fatalf("not a labelled 30-day chart: %s", out)
	}
	if n := strings.Count(out, "<tr><th scope=\"row\">"); n != len(days) {
		t.Errorf("the table has %d days, want %d", n, len(days))
	}
	var bars []drawnBar
	for _, m := range barRe.FindAllStringSubmatch(out, -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		y, _ := strconv.ParseFloat(m[2], 64)
		h, _ := strconv.ParseFloat(m[3], 64)
		if y < 0 || h <= 0 || y+h != chartHeight || x < 0 || x+chartBar > 300 {
			t.Errorf("bar %q outside the chart: x %v y %v h %v", m[4], x, y, h)
		}
		bars = append(bars, drawnBar{x, y, h, m[4]})
	}
	if strings.Count(out, `class="chart-bar"`) != len(bars) {
		t.Fatalf("bars not in the expected form: %s", out)
	}
	return out, bars
}

// Without a click in its days the chart is only its summary: an empty
// chart, 8rem of blank, looked broken.
func TestClicksChartWithoutClicks(t *testing.T) {
	var b strings.Builder
	if err := ClicksChart(chartDays(nil)).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if want := `<p class="clicks-none" id="clicks-chart"><span id="clicks-summary">No clicks in 30 days.</span></p>`; out != want {
		t.Errorf("got %s, want %s", out, want)
	}
}

func TestClicksChartOneClick(t *testing.T) {
	out, bars := renderChart(t, chartDays(map[int]int64{29: 1}))
	if len(bars) != 1 || bars[0].h != chartHeight || bars[0].x != 29*chartSlot+1 || bars[0].label != "2 Dec: 1 click" {
		t.Fatalf("bars %+v", bars)
	}
	if !strings.Contains(out, ">1 click in 30 days, on 2 Dec.<") {
		t.Errorf("summary: %s", out)
	}
}

func TestClicksChartScalesToTheBusiestDay(t *testing.T) {
	out, bars := renderChart(t, chartDays(map[int]int64{0: 1, 10: 500_000, 20: 1_000_000, 21: 40}))
	if len(bars) != 4 {
		t.Fatalf("bars %+v", bars)
	}
	want := []float64{chartMinBar, 50, chartHeight, chartMinBar}
	for i, b := range bars {
		if b.h != want[i] {
			t.Errorf("bar %d (%s): height %v, want %v", i, b.label, b.h, want[i])
		}
	}
	if bars[2].label != "23 Nov: 1,000,000 clicks" {
		t.Errorf("label %q", bars[2].label)
	}
	if !strings.Contains(out, ">1,500,041 clicks in 30 days, most on 23 Nov: 1,000,000.<") {
		t.Errorf("summary: %s", out)
	}
	if !strings.Contains(out, `<time datetime="2026-11-23">23 Nov</time></th><td>1,000,000</td>`) {
		t.Errorf("table: %s", out)
	}
}

func TestChartSummary(t *testing.T) {
	for _, tc := range []struct {
		counts map[int]int64
		want   string
	}{
		{nil, "No clicks in 30 days."},
		{map[int]int64{3: 2}, "2 clicks in 30 days, on 6 Nov."},
		{map[int]int64{3: 40, 4: 83}, "123 clicks in 30 days, most on 7 Nov: 83."},
		{map[int]int64{3: 40, 29: 40}, "80 clicks in 30 days, most on 2 Dec: 40."}, // the latest of equals
	} {
		if got := ChartSummary(chartDays(tc.counts)); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.counts, got, tc.want)
		}
	}
}
