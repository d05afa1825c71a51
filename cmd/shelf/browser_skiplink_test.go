package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The first Tab on a page reaches "Skip to content", and a sighted
// keyboard user sees it: it stayed a clipped 1 px square while focused, so
// focus seemed to vanish before it reached the header.
func TestBrowserSkipLinkShowsWhenFocused(t *testing.T) {
	chromium := needChromium(t)
	s := startShelfServer(t)
	tab := newTab(t, chromium.newBrowser(t))
	for _, width := range []int64{320, 1280} {
		runStep(t, tab, fmt.Sprintf("%d px wide", width), 10*time.Second, chromedp.EmulateViewport(width, 844))
		runStep(t, tab, "open the home page", 15*time.Second, chromedp.Navigate(s.URL+"/"))
		waitJS(t, tab, "the home page", 10*time.Second, `document.readyState === "complete"`)
		runStep(t, tab, "press Tab", 5*time.Second, chromedp.KeyEvent(kb.Tab))
		waitJS(t, tab, "the skip link focused", 5*time.Second, `document.activeElement.getAttribute('href') === '#main'`)
		if got := evalJS[string](t, tab, `(() => { const r = document.activeElement.getBoundingClientRect();
			return r.width >= 40 && r.height >= 20 && r.top >= 0 && r.left >= 0 && r.right <= innerWidth ? '' :
				'at ' + [r.left, r.top, r.width, r.height].map(Math.round).join(', ') })()`); got != "" {
			t.Errorf("at %d px the focused skip link is not shown within the screen (%s)", width, got)
		}
		runStep(t, tab, "press Tab again", 5*time.Second, chromedp.KeyEvent(kb.Tab))
		waitJS(t, tab, "focus past the skip link", 5*time.Second, `document.activeElement.getAttribute('href') !== '#main'`)
		if w := evalJS[float64](t, tab, `document.querySelector('a[href="#main"]').getBoundingClientRect().width`); w > 1 {
			t.Errorf("at %d px the skip link still shows (%.0f px wide) once focus has left it", width, w)
		}
	}
}
