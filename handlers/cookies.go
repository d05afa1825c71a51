package handlers

import "net/http"

// Every cookie Shelf sets is HttpOnly, SameSite=Lax and Path=/; over https
// it is also Secure and named with the __Host- prefix, so browsers keep it
// host-only and a sibling subdomain cannot plant one. (Lax, not Strict:
// Strict would drop the cookies on links followed from mail.)

// secure reports whether the site is served over https.
func (a *App) secure() bool { return a.BaseURL != nil && a.BaseURL.Scheme == "https" }

// cookieName is name, __Host- prefixed over https.
func (a *App) cookieName(name string) string {
	if a.secure() {
		return "__Host-" + name
	}
	return name
}

// cookie is the cookie name (unprefixed) holding value; maxAge as in
// http.Cookie: 0 lasts the browser session, negative deletes.
func (a *App) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: a.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: a.secure(), SameSite: http.SameSiteLaxMode}
}
