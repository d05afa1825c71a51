package main

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAddressCheck: a reader types ann@gmial.com and tabs out; the
// suggestion shows under the field, one click puts ann@gmail.com in the
// field and checks it again, without a page load. A throwaway address is
// refused in place. On a phone 375 px wide nothing of it overflows.
func TestBrowserAddressCheck(t *testing.T) {
	chromium := needChromium(t)
	base, _ := startShelf(t)
	tab := newTab(t, chromium.newBrowser(t))

	runStep(t, tab, "open the sign-up page on a phone", 15*time.Second,
		chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateScale(3), chromedp.EmulateTouch),
		chromedp.Navigate(base+"/register"),
		chromedp.WaitVisible(chromedp.ID("email")),
	)
	waitJS(t, tab, "htmx to load", 5*time.Second, `!!window.htmx`)
	evalJS[bool](t, tab, `window.__noReload = true`)
	// The page's checks and swaps, logged when the test fails.
	evalJS[bool](t, tab, `(() => {
		const log = window.__checks = [];
		const at = () => performance.now().toFixed(0);
		document.addEventListener('htmx:configRequest', (e) => log.push(at() + ' ' + (e.detail.elt.id || e.detail.elt.tagName) + ' ' +
			(e.detail.triggeringEvent ? e.detail.triggeringEvent.type : '') + ' ' + JSON.stringify(e.detail.parameters)));
		document.addEventListener('htmx:afterSwap', (e) => log.push(at() + ' swap ' + e.detail.elt.id));
		return true;
	})()`)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the page's checks:\n%s", evalJS[string](t, tab, `window.__checks.join("\n")`))
		}
	})

	runStep(t, tab, "focus the address", 5*time.Second, chromedp.Focus(chromedp.ID("email")))
	typeKeys(t, tab, "ann@gmial.com")
	typeKeys(t, tab, "\t")
	waitJS(t, tab, "the suggestion and the typo warning", 5*time.Second,
		`(() => { const b = document.querySelector('#email-suggestion button');
			return !!b && b.value === 'ann@gmail.com' && document.getElementById('email-suggestion').textContent.includes('Did you mean') &&
				document.getElementById('email-error').textContent.includes('gmial.com') &&
				document.getElementById('email').getAttribute('aria-invalid') === 'true' &&
				!!document.getElementById('email-confirmed') && !document.querySelector('.htmx-added, .htmx-settling, .htmx-request'); })()`)
	if w := evalJS[int64](t, tab, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("the verdict on a phone 375 px wide makes the page %d px wide", w)
	}

	runStep(t, tab, "accept the suggestion", 5*time.Second, chromedp.Click(chromedp.CSS(`#email-suggestion button`)))
	waitJS(t, tab, "the field fixed and checked again", 5*time.Second,
		`document.getElementById('email').value === 'ann@gmail.com' && document.getElementById('email-suggestion') === null &&
		 document.getElementById('email-confirmed') === null && document.getElementById('email-error').textContent.trim() === '' &&
		 document.getElementById('email').getAttribute('aria-invalid') !== 'true'`)
	if !evalJS[bool](t, tab, `window.__noReload === true && location.pathname === '/register'`) {
		t.Fatal("accepting the suggestion loaded a page")
	}

	// A throwaway, re-typed after the in-place check: select all, then type.
	runStep(t, tab, "focus the address again", 5*time.Second, chromedp.Focus(chromedp.ID("email")))
	evalJS[bool](t, tab, `(() => { document.getElementById('email').select(); return true; })()`)
	typeKeys(t, tab, "ann@mailinator.com")
	typeKeys(t, tab, "\t")
	waitJS(t, tab, "the throwaway refused in place", 5*time.Second,
		`document.getElementById('email-error').textContent.includes("We can't create accounts with addresses at this domain") &&
		 document.getElementById('email').getAttribute('aria-invalid') === 'true' && document.getElementById('email-suggestion') === null`)
	if got := evalJS[string](t, tab, `document.getElementById('email').value`); got != "ann@mailinator.com" {
		t.Errorf("the field holds %q, want what was typed", got)
	}
	if w := evalJS[int64](t, tab, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("the refusal on a phone 375 px wide makes the page %d px wide", w)
	}

	// A long address at a typo domain: the warning, the suggestion and the
	// "Yes, use this address" box wrap on a phone.
	runStep(t, tab, "focus the address once more", 5*time.Second, chromedp.Focus(chromedp.ID("email")))
	evalJS[bool](t, tab, `(() => { document.getElementById('email').select(); return true; })()`)
	typeKeys(t, tab, "areaderwhosenameisratherlongandhasnohyphensinit@hotmial.com	")
	// Settled: htmx has set up the new box (a person does not click within
	// the 20 ms that takes).
	waitJS(t, tab, "the long verdict", 5*time.Second, `!!document.getElementById('email-confirmed') && !!document.getElementById('email-suggestion') &&
		!document.querySelector('.htmx-added, .htmx-settling, .htmx-request')`)
	if w := evalJS[int64](t, tab, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("a long address's verdict on a phone 375 px wide makes the page %d px wide", w)
	}
	// Ticking the box clears the warning in place.
	runStep(t, tab, "say yes, use this address", 5*time.Second, chromedp.Click(chromedp.ID("email-confirmed")))
	waitJS(t, tab, "the warning cleared", 5*time.Second,
		`document.getElementById('email-error').textContent.trim() === '' && document.getElementById('email-confirmed').checked &&
		 document.getElementById('email').getAttribute('aria-invalid') !== 'true'`)
}
