package components

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"shelf/store/shelves"
)

// A reader's control reads back as what it was given: whatever the note,
// the page address or the token hold, nothing escapes its attribute or
// element.
func TestShelfControl(t *testing.T) {
	v := ShelfControlView{BookID: 7, Shelved: true, CSRF: `tok"en<`, Back: `/search?q="x"&page=2`, LabelledBy: "title-7",
		Entry: shelves.Entry{BookID: 7, Shelf: shelves.Reading, Rating: 3, Note: "</textarea><script>alert(1)</script> & more"},
		Error: `<b>no</b>`, Status: "On Reading."}
	var sb strings.Builder
	if err := ShelfControl(v).Render(context.Background(), &sb); err != nil {
		t.Fatal(err)
	}
	nodes, err := html.ParseFragment(strings.NewReader(sb.String()), &html.Node{Type: html.ElementNode, Data: "li", DataAtom: atom.Li})
	if err != nil || len(nodes) != 1 {
		t.Fatalf("%d nodes, %v", len(nodes), err)
	}
	var forms, pressed, csrf, backs []string
	var note, alert string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Script:
				t.Errorf("a <script> element in %s", sb.String())
			case atom.Form:
				forms = append(forms, attr(n, "action"))
				if attr(n, "hx-post") != attr(n, "action") || attr(n, "hx-target") != "closest .shelf" || attr(n, "method") != "post" {
					t.Errorf("form %v", n.Attr)
				}
			case atom.Input:
				switch attr(n, "name") {
				case "_csrf":
					csrf = append(csrf, attr(n, "value"))
				case "back":
					backs = append(backs, attr(n, "value"))
				}
			case atom.Button:
				if attr(n, "aria-pressed") == "true" {
					pressed = append(pressed, attr(n, "id")+"="+attr(n, "value"))
				}
			case atom.Textarea:
				note = text(n)
			case atom.P:
				if attr(n, "role") == "alert" {
					alert = text(n)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(nodes[0])
	if got := strings.Join(forms, " "); got != "/shelves/7/shelf /shelves/7/rating /shelves/7/remove /shelves/7/note" {
		t.Errorf("forms %s", got)
	}
	// The current rating's button clears it.
	if got := strings.Join(pressed, " "); got != "shelf-7-reading=reading shelf-7-rate-3=0" {
		t.Errorf("pressed %s", got)
	}
	for i := range forms {
		if csrf[i] != v.CSRF || backs[i] != v.Back {
			t.Errorf("form %d: token %q back %q", i, csrf[i], backs[i])
		}
	}
	if note != v.Entry.Note || alert != v.Error {
		t.Errorf("note %q, alert %q", note, alert)
	}
	if attr(nodes[0], "aria-labelledby") != "title-7" || attr(nodes[0], "id") != "shelf-7" {
		t.Errorf("control %v", nodes[0].Attr)
	}
}
