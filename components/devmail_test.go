package components

import (
	"reflect"
	"testing"
)

func TestLinkify(t *testing.T) {
	link := func(u string) TextSegment { return TextSegment{Text: u, URL: u} }
	text := func(s string) TextSegment { return TextSegment{Text: s} }
	tests := []struct {
		in   string
		want []TextSegment
	}{
		{"", nil},
		{"no links here", []TextSegment{text("no links here")}},
		{"https://x.test/a", []TextSegment{link("https://x.test/a")}},
		{"Go to https://x.test/c?t=1&u=2.", []TextSegment{text("Go to "), link("https://x.test/c?t=1&u=2"), text(".")}},
		{"(see http://x.test/a_(b))", []TextSegment{text("(see "), link("http://x.test/a_(b)"), text(")")}},
		{"<https://x.test/a>", []TextSegment{text("<"), link("https://x.test/a"), text(">")}},
		{`"https://x.test/a"onclick=x`, []TextSegment{text(`"`), link("https://x.test/a"), text(`"onclick=x`)}},
		{"javascript:alert(1) data:text/html,x", []TextSegment{text("javascript:alert(1) data:text/html,x")}},
		{"https:// nothing", []TextSegment{text("https:// nothing")}},
		{"a https://x.test\nb http://y.test/é", []TextSegment{text("a "), link("https://x.test"), text("\nb "), link("http://y.test/é")}},
	}
	for _, tt := range tests {
		if got := Linkify(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Linkify(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
