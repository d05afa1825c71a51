package handlers

import (
	"github.com/labstack/echo/v4"

	"shelf/components/paths"
	"shelf/static"
	"shelf/store/outbox"
	"shelf/store/search"
)

// routes builds the whole HTTP surface: every route and its middleware.
func (a *App) routes() *echo.Echo {
	a.fragments = search.NewRecentCache[*search.Results, *fragment](search.DefaultResultCache)
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = a.handleError
	e.IPExtractor = echo.ExtractIPDirect()
	e.Pre(headAsGet)

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

	e.GET(paths.Health, a.health)
	e.GET(static.Prefix+"*", echo.WrapHandler(static.Handler()))
	e.GET(paths.About, a.about)
	a.catalogRoutes(e)
	a.accountRoutes(e)
	a.mailRoutes(e)

	return e
}

// catalogRoutes: search, as you type or not, and each book's page
// (search.go).
func (a *App) catalogRoutes(e *echo.Echo) {
	e.GET(paths.Home, a.search)
	e.GET(paths.Search, a.search)
	e.GET(paths.Book, a.book)
}

// accountRoutes: sign-up, sign-in and out, confirming an address, the
// account page and password reset.
func (a *App) accountRoutes(e *echo.Echo) {
	e.GET(paths.Register, a.registerPage)
	e.POST(paths.Register, a.register)
	e.POST(paths.RegisterValidate, a.validateField)
	e.GET(paths.Login, a.loginPage)
	e.POST(paths.Login, a.login)
	e.POST(paths.Logout, a.logout)
	e.GET(paths.CheckEmail, a.checkEmailPage) // signed-in or pending sign-up
	e.POST(paths.ResendConfirm, a.resend)
	e.GET(paths.Confirm, a.confirmPage)
	e.POST(paths.Confirm, a.confirm)
	e.POST(paths.ConfirmNotMe, a.notMe)
	e.GET(paths.Account, a.account, a.requireConfirmed)
	e.GET(paths.ForgotPassword, a.forgotPage)
	e.POST(paths.ForgotPassword, a.forgot)
	e.GET(paths.ResetPassword, a.resetPage)
	e.POST(paths.ResetPassword, a.reset)
}

// mailRoutes: the dev inbox (404 unless it is running) and the admin's
// view of the outbox (devmail.go).
func (a *App) mailRoutes(e *echo.Echo) {
	mp := &MailPages{App: a, Inbox: a.DevInbox, Outbox: outbox.NewQueue(a.DB), Sender: a.Mailer}
	e.GET(paths.DevInbox, mp.DevInbox)
	e.GET(paths.DevMessage, mp.DevMessage)
	e.GET(paths.DevMessageHTML, mp.DevMessageHTML)
	e.GET(paths.AdminOutbox, mp.AdminOutbox, a.requireAdmin)
	e.POST(paths.AdminOutboxRetry, mp.AdminOutboxRetry, a.requireAdmin)
}
