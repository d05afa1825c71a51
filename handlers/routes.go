package handlers

import (
	"github.com/labstack/echo/v4"

	"shelf/static"
	"shelf/store"
	"shelf/store/search"
)

// Handler returns the whole HTTP surface: every route and its middleware.
func (a *App) Handler() *echo.Echo {
	if a.Sessions == nil {
		a.SetupAccounts()
	}
	a.fragments = search.NewRecentCache[*search.Results, *fragment](search.DefaultResultCache)
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = a.handleError
	e.IPExtractor = echo.ExtractIPDirect()

	// Every request runs under a deadline below the server's write timeout,
	// and bodies are limited before anything can read one.
	e.Use(a.withDeadline, a.recoverPanics, a.logRequests, securityHeaders, a.strictTransport, limitBodies, compress())

	e.GET("/healthz", a.health)
	e.GET(static.Prefix+"*", echo.WrapHandler(static.Handler()))
	e.GET("/about", a.about)

	// Catalog and search.
	e.GET("/", a.search)
	e.GET("/search", a.search)
	e.GET("/books/:id", a.book)

	// ---- Accounts (handlers/accounts.go, session.go, csrf.go) ----
	// Sessions load only when the request has a cookie; every POST, PUT,
	// PATCH and DELETE needs a CSRF token (csrf.go). Both run for all
	// routes (e.Use applies to routes added before it too).
	e.Use(a.loadSession, a.verifyCSRF)
	e.GET("/register", a.registerPage)
	e.POST("/register", a.register)
	e.POST("/register/validate/:field", a.validateField)
	e.GET("/login", a.loginPage)
	e.POST("/login", a.login)
	e.POST("/logout", a.logout)
	e.GET("/check-email", a.checkEmailPage) // signed-in or pending sign-up
	e.POST("/check-email/resend", a.resend)
	e.GET("/confirm/:token", a.confirmPage)
	e.POST("/confirm/:token", a.confirm)
	e.POST("/confirm/:token/not-me", a.notMe)
	e.GET("/account", a.account, a.requireConfirmed)
	e.GET("/password/forgot", a.forgotPage)
	e.POST("/password/forgot", a.forgot)
	e.GET("/password/reset/:token", a.resetPage)
	e.POST("/password/reset/:token", a.reset)
	a.wakeResetWorker() // requests recorded before a restart
	// ---- end accounts ----

	// Mail: the dev inbox (404 unless it is running) and the admin's view
	// of the outbox.
	mp := &MailPages{App: a, Inbox: a.DevInbox, Outbox: store.NewOutbox(a.DB), Sender: a.Mailer}
	e.GET("/dev/mail", mp.DevInbox)
	e.GET("/dev/mail/:n", mp.DevMessage)
	e.GET("/dev/mail/:n/html", mp.DevMessageHTML)
	e.GET("/admin/outbox", mp.AdminOutbox, a.requireAdmin)
	e.POST("/admin/outbox/:id/retry", mp.AdminOutboxRetry, a.requireAdmin)

	return e
}
