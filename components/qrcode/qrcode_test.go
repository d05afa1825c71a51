package qrcode

import (
	"encoding/xml"
	"fmt"
	"image/color"
	"strings"
	"testing"

	"github.com/boombuler/barcode/qr"
)

// svgDoc is the part of the drawing the tests read back.
type svgDoc struct {
	ViewBox string `xml:"viewBox,attr"`
	Title   struct {
		ID   string `xml:"id,attr"`
		Text string `xml:",chardata"`
	} `xml:"title"`
	Rects []struct{} `xml:"rect"`
	Paths []struct {
		D string `xml:"d,attr"`
	} `xml:"path"`
}

// paint fills the grid with the path's rectangles, as a renderer would,
// failing on any command the drawing is not expected to use.
func paint(t *testing.T, d string, size int) [][]bool {
	t.Helper()
	grid := make([][]bool, size)
	for i := range grid {
		grid[i] = make([]bool, size)
	}
	for _, cmd := range strings.Split(strings.TrimSuffix(d, "z"), "z") {
		var x, y, w, back int
		if _, err := fmt.Sscanf(cmd, "M%d %dh%dv1h-%d", &x, &y, &w, &back); err != nil || w != back || w < 1 {
			t.Fatalf("path command %q: %v", cmd, err)
		}
		for i := x; i < x+w; i++ {
			if grid[y][i] {
				t.Fatalf("module %d,%d drawn twice", i, y)
			}
			grid[y][i] = true
		}
	}
	return grid
}

func TestSVGModulesAreTheEncodersMatrix(t *testing.T) {
	for _, text := range []string{
		"http://shelf.test/s/abc",
		"https://shelf.example.org/s/" + strings.Repeat("x", 300), // a version with version information
	} {
		code, err := qr.Encode(text, qr.M, qr.Auto)
		if err != nil {
			t.Fatal(err)
		}
		n := code.Bounds().Dx()
		out, err := SVG(text, "qr-title", `Short link <"a"> & b`, 200)
		if err != nil {
			t.Fatal(err)
		}
		var doc svgDoc
		if err := xml.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, out)
		}
		size := n + 2*QuietZone
		if doc.ViewBox != fmt.Sprintf("0 0 %d %d", size, size) {
			t.Errorf("viewBox %q, want a %d-module square", doc.ViewBox, size)
		}
		if len(doc.Paths) != 1 || len(doc.Rects) != 1 {
			t.Fatalf("%d paths and %d rects, want one of each (background, modules)", len(doc.Paths), len(doc.Rects))
		}
		if doc.Title.ID != "qr-title" || doc.Title.Text != `Short link <"a"> & b` {
			t.Errorf("title %+v", doc.Title)
		}
		if !strings.Contains(out, `aria-labelledby="qr-title"`) || !strings.Contains(out, `shape-rendering="crispEdges"`) {
			t.Errorf("no label or no crisp edges: %s", out[:200])
		}
		grid := paint(t, doc.Paths[0].D, size)
		dark := 0
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				want := false
				if x >= QuietZone && y >= QuietZone && x < n+QuietZone && y < n+QuietZone {
					want = code.At(x-QuietZone, y-QuietZone) == color.Black
				}
				if grid[y][x] != want {
					t.Fatalf("%q: module %d,%d is %v, the encoder's is %v", text, x, y, grid[y][x], want)
				}
				if want {
					dark++
				}
			}
		}
		if dark < n*n/4 {
			t.Errorf("only %d dark modules of %d", dark, n*n)
		}
	}
}

func TestSVGRefusesWhatDoesNotFit(t *testing.T) {
	if _, err := SVG(strings.Repeat("x", 5000), "t", "t", 100); err == nil {
		t.Error("5,000 bytes encoded; a QR code holds under 3,000")
	}
}
