// Package capture takes screenshots of web pages with headless Chromium,
// safe against server-side request forgery by construction: Chromium
// reaches the network only through an HTTP proxy in this process, which
// connects only through a netguard.Dialer (addresses resolved here, checked,
// and pinned), so every redirect, subresource, frame, fetch and WebSocket is
// checked where it connects. One Chromium process serves every capture, each
// in a browser context of its own, with its own proxy, byte budget and tab.
package capture

import (
	"errors"
)

// Shot is one page as captured.
type Shot struct {
	Title, Description string
	PNG                []byte // 640x400
	FinalURL           string // after redirects
}

// RefusedError is a capture refused for good: the page, or where it
// redirects, is at a refused address, is not http(s), is a download, or
// went past a cap. Trying again would not help.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "refused: " + e.Reason }

// ErrUnavailable is returned when no Chromium can be run here.
var ErrUnavailable = errors.New("capture: chromium is not available")
