package handlers

import (
	"net"
	"net/http"
	"net/netip"

	"github.com/labstack/echo/v4"

	"shelf/components/paths"
	"shelf/static"
	"shelf/store/search"
)

// clientIP reads the client's address from the connection, or, behind the
// given proxies, from the X-Forwarded-For entries they appended: the
// rightmost address that is not one of them. Echo's defaults would also
// trust every private and loopback address; only the configured ones are.
func clientIP(proxies []netip.Prefix) echo.IPExtractor {
	if len(proxies) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range proxies {
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// routes builds the whole HTTP surface: every route and its middleware.
func (a *App) routes() *echo.Echo {
	a.fragments = search.NewRecentCache[*search.Results, *fragment](search.DefaultResultCache)
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = a.handleError
	e.IPExtractor = clientIP(a.TrustedProxies)

	// Global middleware runs for every request, routed or not, in this
	// order. Every request runs under a deadline below the server's write
	// timeout, and bodies are limited before anything can read one.
	// Sessions load only when the request has a cookie (session.go); every
	// POST, PUT, PATCH and DELETE needs a CSRF token (csrf.go).
	e.Use(
		a.withDeadline,
		a.recoverPanics,
		a.logRequests,
		securityHeaders,
		a.strictTransport,
		limitBodies,
		compress(),
		a.loadSession,
		a.verifyCSRF,
	)

	serveGet(e, paths.Health, a.health)
	serveGet(e, static.Prefix+"*", echo.WrapHandler(static.Handler()))
	serveGet(e, paths.About, a.about)
	a.catalogRoutes(e)
	a.accountRoutes(e)
	a.sessionsRoutes(e)
	a.passwordRoutes(e)
	a.magicRoutes(e)
	a.passkeyRoutes(e)
	a.totpRoutes(e)
	a.mailRoutes(e)
	a.tokenRoutes(e)
	a.shelfRoutes(e)
	a.shareRoutes(e)
	a.catalogEditRoutes(e)
	a.goodreadsRoutes(e)
	a.apiRoutes(e)
	a.linkRoutes(e)
	a.myLinkRoutes(e)
	a.previewRoutes(e)

	a.tellLinksTheRoutes(e) // last: every route

	return e
}

// serveGet serves path to GET and to HEAD, which net/http answers with the same
// status and headers and no body.
func serveGet(e *echo.Echo, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	e.Match([]string{http.MethodGet, http.MethodHead}, path, h, m...)
}

// catalogRoutes: search, as you type or not, and each book's page
// (search.go).
func (a *App) catalogRoutes(e *echo.Echo) {
	serveGet(e, paths.Home, a.search)
	serveGet(e, paths.Search, a.search)
	serveGet(e, paths.Book, a.book)
}

// accountRoutes: sign-up, sign-in and out, confirming an address, the
// account page and password reset.
func (a *App) accountRoutes(e *echo.Echo) {
	serveGet(e, paths.Register, a.registerPage)
	e.POST(paths.Register, a.register)
	e.POST(paths.RegisterValidate, a.validateField)
	serveGet(e, paths.Login, a.loginPage)
	e.POST(paths.Login, a.login)
	e.POST(paths.Logout, a.logout)
	serveGet(e, paths.CheckEmail, a.checkEmailPage) // signed-in or pending sign-up
	serveGet(e, paths.CheckEmailStatus, a.confirmationStatus)
	e.POST(paths.ResendConfirm, a.resend)
	e.POST(paths.CheckEmailAddress, a.changeAddress) // mailbox.go
	serveGet(e, paths.Confirm, a.confirmPage)
	e.POST(paths.Confirm, a.confirm)
	e.POST(paths.ConfirmNotMe, a.notMe)
	serveGet(e, paths.Account, a.account, a.requireConfirmed)
	serveGet(e, paths.ForgotPassword, a.forgotPage)
	e.POST(paths.ForgotPassword, a.forgot)
	serveGet(e, paths.ResetPassword, a.resetPage)
	e.POST(paths.ResetPassword, a.reset)
}

// mailRoutes: the dev inbox (404 unless it is running) and the admin's
// view of the outbox (devmail.go).
func (a *App) mailRoutes(e *echo.Echo) {
	mp := &MailPages{App: a, Inbox: a.DevInbox, Outbox: a.outbox, Sender: a.Mailer}
	serveGet(e, paths.DevInbox, mp.DevInbox)
	serveGet(e, paths.DevMessage, mp.DevMessage)
	serveGet(e, paths.DevMessageHTML, mp.DevMessageHTML)
	serveGet(e, paths.AdminOutbox, mp.AdminOutbox, a.requireAdmin)
	e.POST(paths.AdminOutboxRetry, mp.AdminOutboxRetry, a.requireAdmin)
}
