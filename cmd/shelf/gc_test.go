package main

import (
	"runtime/debug"
	"testing"
)

func TestSetGCHeadroom(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tests := []struct {
		headroom uint64
		want     int
	}{
		{1 << 50, 100}, // never more than Go's default
		{1, 10},        // never less than a tenth
	}
	for _, tt := range tests {
		got, live := setGCHeadroom(tt.headroom)
		if got != tt.want || live == 0 {
			t.Errorf("setGCHeadroom(%d) = %d, live %d; want %d", tt.headroom, got, live, tt.want)
		}
		if set := debug.SetGCPercent(100); set != got {
			t.Errorf("GOGC is %d, want %d", set, got)
		}
	}
	// In between, the heap may grow by about the headroom.
	_, live := setGCHeadroom(0)
	if got, _ := setGCHeadroom(live / 2); got < 40 || got > 60 {
		t.Errorf("headroom of half the live heap (%d bytes) set GOGC %d, want about 50", live, got)
	}
}
