package components

import "testing"

func TestPageOfText(t *testing.T) {
	for _, tc := range []struct {
		page, total, perPage int
		want                 string
	}{
		{1, 0, 20, "Page 1 of 1"},
		{1, 20, 20, "Page 1 of 1"},
		{1, 21, 20, "Page 1 of 2"},
		{2, 40, 20, "Page 2 of 2"},
		{1200, 30000, 20, "Page 1,200 of 1,500"},
	} {
		if got := pageOfText(tc.page, tc.total, tc.perPage); got != tc.want {
			t.Errorf("pageOfText(%d, %d, %d) = %q, want %q", tc.page, tc.total, tc.perPage, got, tc.want)
		}
	}
}
