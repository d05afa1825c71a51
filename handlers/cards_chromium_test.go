package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"shelf/components"
	"shelf/static"
	"shelf/store/capture"
	"shelf/store/catalog"
)

// chromeRenderer renders cards with Debian's chromium, as the capture
// browser does in production: one browser, a tab per card.
type chromeRenderer struct{ browser context.Context }

func newChromeRenderer(t testing.TB) *chromeRenderer {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: skipped under -short")
	}
	exe, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; CI must install it (apt-get install chromium)")
		}
		t.Skip("chromium is not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.Flag("hide-scrollbars", true), chromedp.UserDataDir(t.TempDir()))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return &chromeRenderer{browser: browser}
}

func (r *chromeRenderer) RenderHTML(ctx context.Context, html string, w, h int) ([]byte, error) {
	tab, cancel := chromedp.NewContext(r.browser)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	if err := chromedp.Do(tab, chromedp.EmulateViewport(int64(w), int64(h)),
		chromedp.Navigate("data:text/html;base64,"+base64.StdEncoding.EncodeToString([]byte(html)))); err != nil {
		return nil, err
	}
	return chromedp.Run(tab, chromedp.CaptureScreenshot())
}

// inked is the share of the card right of its spine (40 px) unlike its
// background: the text.
func inked(t *testing.T, img image.Image) float64 {
	t.Helper()
	b := img.Bounds()
	b.Min.X += 40
	br, bgg, bb, _ := img.At(b.Min.X+20, b.Min.Y+5).RGBA()
	var n int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r != br || g != bgg || bl != bb {
				n++
			}
		}
	}
	return float64(n) / float64(b.Dx()*b.Dy())
}

func decodeCard(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != components.CardWidth || b.Dy() != components.CardHeight {
		t.Fatalf("card is %dx%d, want %dx%d", b.Dx(), b.Dy(), components.CardWidth, components.CardHeight)
	}
	return img
}

func TestCardFallbackImage(t *testing.T) {
	if f := inked(t, decodeCard(t, static.CardFallback)); f < 0.02 {
		t.Errorf("the fallback card is blank: %.3f inked", f)
	}
}

// A card's page fetches nothing: no URL, no stylesheet or font link.
func TestCardPagesSelfContained(t *testing.T) {
	bc, err := bookCard(catalog.Book{ID: 1, Title: "T", Authors: "A", Year: 2000, AverageRating: 4})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := components.ShelfCard(components.ShelfCardView{Name: "Read", Count: 2, Titles: []string{"a", "b"}}).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	external := regexp.MustCompile(`(?i)https?:|//|src=|href=|url\(|@import|<link|<script|<img|<iframe`)
	for _, html := range []string{bc.html, buf.String()} {
		if m := external.FindString(html); m != "" {
			t.Errorf("card page refers out (%q):\n%s", m, html)
		}
		if !strings.Contains(html, "<style>") {
			t.Errorf("card page without its inline style:\n%s", html)
		}
	}
}

// Through the route with real Chromium: the fallback, then a 1200×630 card
// that is not blank.
func TestCardRealChromium(t *testing.T) {
	r := newChromeRenderer(t)
	env := cardEnv(t, r)
	anon := env.browser()
	if p := anon.get("/cards/books/1.png"); p.body != string(static.CardFallback) {
		t.Fatal("no fallback first")
	}
	start := time.Now()
	env.app.cards.wait()
	t.Logf("card rendered in %v", time.Since(start))
	p := anon.get("/cards/books/1.png")
	if p.header.Get("ETag") == "" || p.body == string(static.CardFallback) {
		t.Fatalf("no card after rendering: %q", p.header.Get("ETag"))
	}
	img := decodeCard(t, []byte(p.body))
	if f := inked(t, img); f < 0.02 {
		t.Errorf("the card is blank: %.3f inked", f)
	} else {
		t.Logf("%.3f inked", f)
	}
	if os.Getenv("SHELF_CARD_OUT") != "" {
		os.WriteFile(os.Getenv("SHELF_CARD_OUT"), []byte(p.body), 0o644)
	}
}

// How long Chromium takes to render a card, with the browser running.
func BenchmarkCardRenderChromium(b *testing.B) {
	r := newChromeRenderer(b)
	cd, err := bookCard(catalog.Book{ID: 1, Title: "Harry Potter and the Philosopher's Stone", Authors: "J.K. Rowling", Year: 1997, AverageRating: 4.44})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.RenderHTML(context.Background(), cd.html, components.CardWidth, components.CardHeight); err != nil {
			b.Fatal(err)
		}
	}
}

// The capture browser, which renders cards in production, renders one to
// a 1200×630 PNG that is not blank.
func TestCardCaptureBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped under -short")
	}
	b := capture.New(capture.Config{})
	defer b.Close()
	cd, err := bookCard(catalog.Book{ID: 1, Title: "The Hobbit", Authors: "J.R.R. Tolkien", Year: 1937, AverageRating: 4.25})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data, err := b.RenderHTML(ctx, cd.html, components.CardWidth, components.CardHeight)
	if errors.Is(err, capture.ErrUnavailable) && os.Getenv("CI") != "true" {
		t.Skipf("the capture browser cannot render here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if f := inked(t, decodeCard(t, data)); f < 0.02 {
		t.Errorf("the card is blank: %.3f inked", f)
	}
}
