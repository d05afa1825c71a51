package store

import "time"

// TimeLayout is how Shelf stores a time, on both backends: TEXT in UTC to
// the millisecond, which sorts as it compares.
const TimeLayout = "2006-01-02 15:04:05.000"

// FormatTime is t as stored.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime reads a stored time.
func ParseTime(s string) (time.Time, error) { return time.Parse(TimeLayout, s) }
