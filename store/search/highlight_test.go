package search

import (
	"slices"
	"testing"
)

func TestHighlight(t *testing.T) {
	v := sortedVocabulary(0, []string{"harry", "potter", "garcia", "hairy", "chamber"}, []int32{5, 5, 5, 5, 5})
	words := func(ws ...string) []*wordTerms {
		out := make([]*wordTerms, len(ws))
		for i, w := range ws {
			out[i] = v.expand(w, i == len(ws)-1)
		}
		return out
	}
	m := func(s string) Segment { return Segment{Text: s, Mark: true} }
	u := func(s string) Segment { return Segment{Text: s} }
	tests := []struct {
		s     string
		words []*wordTerms
		want  []Segment
	}{
		{"Harry Potter and the Chamber", words("harry", "pot"), []Segment{m("Harry"), u(" "), m("Potter"), u(" and the Chamber")}},
		{"Gabriel García Márquez", words("garcia"), []Segment{u("Gabriel "), m("García"), u(" Márquez")}},
		{"Hairy Harry", words("hary"), []Segment{m("Hairy"), u(" "), m("Harry")}}, // typo variants are marked too
		{"<b>Harry</b> & co", words("harry"), []Segment{u("<b>"), m("Harry"), u("</b> & co")}},
		{"Nothing here", words("harry"), []Segment{u("Nothing here")}},
		{"Potter", words("po", "harry"), []Segment{u("Potter")}}, // only the last word is a prefix
		{"", words("harry"), nil},
	}
	for _, tt := range tests {
		if got := highlight(tt.s, tt.words); !slices.Equal(got, tt.want) {
			t.Errorf("highlight(%q) = %+v, want %+v", tt.s, got, tt.want)
		}
	}
}
