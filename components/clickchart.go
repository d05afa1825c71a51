package components

import (
	"math"
	"strconv"
	"time"
)

// ChartDay is one day of a link's clicks.
type ChartDay struct {
	Day    time.Time // midnight UTC
	Clicks int64
}

// The clicks chart's drawing: one bar per day, chartSlot units apart, the
// tallest chartHeight units high. Bars scale to the busiest day; a day
// with any click is at least chartMinBar high, so one click beside a
// million still shows.
const (
	chartSlot   = 10
	chartBar    = 8
	chartHeight = 100
	chartMinBar = 1.5
)

// chartBarView is one day's bar as drawn.
type chartBarView struct {
	X, Y, H string
	Label   string // "2 Dec: 40 clicks"
}

func chartWidth(days []ChartDay) string { return strconv.Itoa(max(len(days), 1) * chartSlot) }

func chartViewBox(days []ChartDay) string {
	return "0 0 " + chartWidth(days) + " " + strconv.Itoa(chartHeight+1)
}

// chartBars draws the days with clicks; days without are left blank.
func chartBars(days []ChartDay) []chartBarView {
	top := busiest(days)
	var bars []chartBarView
	for i, d := range days {
		if d.Clicks <= 0 {
			continue
		}
		h := float64(d.Clicks) / float64(days[top].Clicks) * chartHeight
		h = max(h, chartMinBar)
		bars = append(bars, chartBarView{
			X:     strconv.Itoa(i*chartSlot + (chartSlot-chartBar)/2),
			Y:     chartNumber(chartHeight - h),
			H:     chartNumber(h),
			Label: dayLabel(d.Day) + ": " + clicksText(d.Clicks),
		})
	}
	return bars
}

// chartEmpty reports whether no day has a click: nothing to draw.
func chartEmpty(days []ChartDay) bool {
	for _, d := range days {
		if d.Clicks > 0 {
			return false
		}
	}
	return true
}

// chartNumber writes a coordinate to a hundredth of a unit.
func chartNumber(f float64) string { return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64) }

// busiest is the index of the day with the most clicks, the latest of
// equals; -1 without days.
func busiest(days []ChartDay) int {
	top := -1
	for i, d := range days {
		if top < 0 || d.Clicks >= days[top].Clicks {
			top = i
		}
	}
	return top
}

// ChartSummary says what the chart shows, for its caption and its
// accessible name: "123 clicks in 30 days, most on 2 Dec: 40".
func ChartSummary(days []ChartDay) string {
	var total int64
	for _, d := range days {
		total += d.Clicks
	}
	span := strconv.Itoa(len(days)) + " days"
	if len(days) == 1 {
		span = "1 day"
	}
	top := busiest(days)
	switch {
	case total == 0:
		return "No clicks in " + span + "."
	case total == days[top].Clicks:
		return clicksText(total) + " in " + span + ", on " + dayLabel(days[top].Day) + "."
	}
	return clicksText(total) + " in " + span + ", most on " + dayLabel(days[top].Day) + ": " + Thousands(days[top].Clicks) + "."
}

func clicksText(n int64) string {
	if n == 1 {
		return "1 click"
	}
	return Thousands(n) + " clicks"
}

func dayLabel(t time.Time) string { return t.UTC().Format("2 Jan") }

func dayISO(t time.Time) string { return t.UTC().Format("2006-01-02") }
