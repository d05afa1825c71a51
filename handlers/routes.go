package handlers

import (
	"github.com/labstack/echo/v4"

	"shelf/handlers/paths"
	"shelf/static"
	"shelf/store"
)

// Handler returns the whole HTTP surface: every route and its middleware.
func (a *App) Handler() *echo.Echo {
	if a.Sessions == nil {
		a.SetupAccounts()
	}
	a.fragments = store.NewRecentCache[*store.Results, *fragment](store.DefaultResultCache)
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = a.handleError
	e.IPExtractor = echo.ExtractIPDirect()

	// Every request runs under a deadline below the server's write timeout,
	// and bodies are limited before anything can read one.
	e.Use(a.withDeadline, a.recoverPanics, a.logRequests, securityHeaders, a.strictTransport, limitBodies, compress())

	e.GET(paths.Health, a.health)
	e.GET(static.Prefix+"*", echo.WrapHandler(static.Handler()))
	e.GET(paths.About, a.about)

	// Catalog and search.
	e.GET(paths.Home, a.search)
	e.GET(paths.Search, a.search)
	e.GET(paths.Book, a.book)

	// ---- Accounts (handlers/accounts.go, session.go, csrf.go) ----
	// Sessions load only when the request has a cookie; every POST, PUT,
	// PATCH and DELETE needs a CSRF token (csrf.go). Both run for all
	// routes (e.Use applies to routes added before it too).
	e.Use(a.loadSession, a.verifyCSRF)
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
	a.wakeResetWorker() // requests recorded before a restart
	// ---- end accounts ----

	// Mail: the dev inbox (404 unless it is running) and the admin's view
	// of the outbox.
	mp := &MailPages{App: a, Inbox: a.DevInbox, Outbox: store.NewOutbox(a.DB), Sender: a.Mailer}
	e.GET(paths.DevInbox, mp.DevInbox)
	e.GET(paths.DevMessage, mp.DevMessage)
	e.GET(paths.DevMessageHTML, mp.DevMessageHTML)
	e.GET(paths.AdminOutbox, mp.AdminOutbox, a.requireAdmin)
	e.POST(paths.AdminOutboxRetry, mp.AdminOutboxRetry, a.requireAdmin)

	return e
}
