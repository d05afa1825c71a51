// Package handlers is Shelf's HTTP surface: it parses requests, calls the
// store, and answers HTMX requests with fragments and plain requests with
// whole pages rendered from the same components.
package handlers

import (
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/v2"

	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/catalog"
	"shelf/store/outbox/devinbox"
	"shelf/store/search"
	"shelf/store/sessions"
)

// App holds every dependency the handlers use. Handlers are its methods.
type App struct {
	DB      *store.DB
	Catalog *catalog.Catalog
	Search  *search.Searcher
	Logger  *slog.Logger
	// BaseURL is the configured public address; every absolute link is
	// built from it, never from the request's Host header.
	BaseURL *url.URL

	// Accounts (handlers/accounts.go, session.go, csrf.go). SetupAccounts
	// fills the zero ones; Handler calls it when Sessions is nil.
	Sessions     *scs.SessionManager
	SessionStore *sessions.Store
	Accounts     *accounts.Accounts
	Limits       *Limits
	// Mailer wakes the outbox sender after mail is enqueued; may be nil.
	Mailer MailNotifier
	// DevInbox catches all mail when no SMTP server is configured; nil
	// otherwise, and then /dev/mail is a 404.
	DevInbox *devinbox.Inbox
	// Now is the clock for tokens, sessions and limits; time.Now when nil.
	Now func() time.Time
	// AccountSettings holds session and token lifetimes.
	AccountSettings AccountSettings
	// RequestTimeout bounds each request's work, database waits included;
	// DefaultRequestTimeout when zero. Keep it well below the server's
	// WriteTimeout (30 s), so a request that cannot finish is answered and
	// rolled back rather than cut off and committed later.
	RequestTimeout time.Duration

	crossOrigin *http.CrossOriginProtection
	signer      *signer        // signs cookie values; see signer.go
	fragments   *fragmentCache // rendered search fragments, see writeFragment
	resets      resetWorker    // sends password-reset mail, see resets.go
}

// MailNotifier is told when mail has been enqueued.
type MailNotifier interface{ Notify() }
