package static

import _ "embed"

// CardFallback is the share card served for a page whose own card is not
// rendered yet: components.FallbackCard at 1200×630, rendered once by
// headless Chromium (chromium --headless --hide-scrollbars
// --window-size=1200,630 --screenshot=card-fallback.png page.html).
//
//go:embed card-fallback.png
var CardFallback []byte
