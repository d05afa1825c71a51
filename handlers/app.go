// Package handlers is Shelf's HTTP surface: it parses requests, calls the
// store, and answers HTMX requests with fragments and plain requests with
// whole pages rendered from the same components.
package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/labstack/echo/v4"

	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/addresscheck"
	"shelf/store/apitokens"
	"shelf/store/cards"
	"shelf/store/catalog"
	"shelf/store/jwtkeys"
	"shelf/store/links"
	"shelf/store/outbox"
	"shelf/store/outbox/devinbox"
	"shelf/store/previews"
	"shelf/store/search"
	"shelf/store/sessions"
	"shelf/store/shares"
	"shelf/store/shelves"
	"shelf/store/twofactor"
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

	// Accounts (handlers/accounts.go, session.go, csrf.go), set up by New.
	Sessions     *scs.SessionManager
	SessionStore *sessions.Store
	Accounts     *accounts.Accounts
	Limits       *Limits
	// TwoFactor keeps second factors, sealed under the secret key (totp.go).
	TwoFactor *twofactor.Store
	// Mailer wakes the outbox sender after mail is enqueued; may be nil.
	Mailer MailNotifier
	// Shelves keeps readers' shelves (shelves.go), set up by New.
	Shelves *shelves.Store
	// Links keeps short links (links.go), set up by New.
	Links *links.Store
	// Previews, when set, is asked for a preview of each new external
	// link, shown before leaving Shelf; nil-safe.
	Previews LinkPreviews
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
	// TrustedProxies are the load balancers whose X-Forwarded-For names
	// the client (see clientIP).
	TrustedProxies []netip.Prefix
	// MailFrom is the address Shelf's mail comes from, for the tips on the
	// check-your-mailbox page; may be empty.
	MailFrom string
	// APICORSOrigins are the origins whose scripts may call the JSON API
	// (see apiCORS); none turns CORS off.
	APICORSOrigins []string

	echo        *echo.Echo // every route, see routes.go
	crossOrigin *http.CrossOriginProtection
	signer      *signer        // signs cookie values; see signer.go
	fragments   *fragmentCache // rendered search fragments, see writeFragment
	resets      resetWorker    // sends password-reset mail, see resets.go

	// undoHooks undo each kind of security event for "This wasn't me"
	// (see OnNotMe).
	undoHooks map[string]UndoHook
	magic     magicLinks            // sign-in by email, see magiclink.go
	addresses *addresscheck.Checker // judges new addresses, see address_check.go

	apiTokens  *apitokens.Store // personal access tokens, see api_auth.go
	apiLimiter *tokenLimiter    // per-token API request limit
	jwtKeys    *jwtkeys.Keyring // keys signing access tokens, see api_jwt.go
	goodreads  goodreadsImports // Goodreads import jobs, see goodreads.go

	// relyingParty runs passkey ceremonies (passkeys.go); nil when the
	// base URL's host cannot name one, and passkeys are off.
	relyingParty *webauthn.WebAuthn

	outbox *outbox.Queue // mail, read to tell a sign-up its mail was refused (see pendingRefused)

	shares *shares.Store // shared shelves, see shares.go
	cards  *cardMaker    // share cards, see cards.go

	apiSearches *apiSearchCache // encoded API search pages, see apiSearch

	linkLimits linkLimits // links made per reader and network per day
	// PreviewQueue keeps page previews of external links (previews.go);
	// from Deps, or made by New.
	PreviewQueue *previews.Queue
}

// Deps are what the App uses but does not own.
type Deps struct {
	DB      *store.DB
	Catalog *catalog.Catalog
	Search  *search.Searcher
	Logger  *slog.Logger
	// Mailer wakes the outbox sender after mail is enqueued; may be nil.
	Mailer MailNotifier
	// DevInbox catches all mail when no SMTP server is configured; nil
	// otherwise.
	DevInbox *devinbox.Inbox
	// Now is the clock for tokens, sessions and limits; time.Now when nil.
	Now func() time.Time
	// Previews is the queue of page previews, shared with the worker that
	// captures them; New makes one when nil.
	Previews *previews.Queue
	// CardRenderer renders share cards (cards.go); nil serves the
	// fallback card for every page.
	CardRenderer CardRenderer
}

// Settings configure the App; zero values get defaults.
type Settings struct {
	// BaseURL is the configured public address (required).
	BaseURL *url.URL
	// Accounts holds session and token lifetimes and password-hash costs.
	Accounts AccountSettings
	// RequestTimeout bounds each request's work; DefaultRequestTimeout
	// when zero.
	RequestTimeout time.Duration
	// TrustedProxies are the load balancers in front of Shelf. A request
	// from one of them is taken to come from the address it appends to
	// X-Forwarded-For; with none, from the connection's address, and the
	// header is ignored (anyone can send it).
	TrustedProxies []netip.Prefix
	// SecretKey (32 bytes, required) seals second-factor secrets and keys
	// the hashes of recovery codes. It is kept outside the database.
	SecretKey []byte
	// AddressCheck configures the check of new addresses: the local allow
	// and deny lists, and the resolver of the opt-in MX check.
	AddressCheck addresscheck.Options
	// MailFrom is the address Shelf's mail comes from (the configured
	// From, without its name), shown to readers looking for a mail.
	MailFrom string
	// APICORSOrigins are the exact origins (scheme://host[:port]) whose
	// scripts may call the JSON API; none turns CORS off (see
	// ParseCORSOrigins).
	APICORSOrigins []string

	// LinksPerDay and LinksPerIPPerDay bound the short links a reader, and
	// a client network, make in a day; DefaultLinksPerDay and
	// DefaultLinksPerIPPerDay when zero.
	LinksPerDay, LinksPerIPPerDay int

	// JWTKeyRotation is how long each key signing the API's access tokens
	// is used; jwtkeys.DefaultRotate (24 hours) when zero.
	JWTKeyRotation time.Duration

	// manualResets, for tests, leaves reset requests queued until
	// HandleResetRequests is called.
	manualResets bool
}

// New builds the App from its dependencies and settings: the accounts, the
// session manager, the routes, and the worker that sends reset mail (which
// handles, at once, requests recorded before a restart).
func New(d Deps, s Settings) (*App, error) {
	if d.DB == nil || d.Logger == nil {
		return nil, errors.New("handlers: DB and Logger are required")
	}
	if s.BaseURL == nil {
		return nil, errors.New("handlers: BaseURL is required")
	}
	a := &App{DB: d.DB, Catalog: d.Catalog, Search: d.Search, Logger: d.Logger, BaseURL: s.BaseURL,
		Mailer: d.Mailer, DevInbox: d.DevInbox, Now: d.Now, AccountSettings: s.Accounts, RequestTimeout: s.RequestTimeout,
		TrustedProxies: s.TrustedProxies, MailFrom: s.MailFrom, PreviewQueue: d.Previews}
	a.APICORSOrigins = s.APICORSOrigins
	if a.Catalog != nil && a.Search != nil {
		a.Catalog.SetChangeHooks(a.Search.CatalogHooks()) // edits are searchable at once
	}
	a.resets.manual = s.manualResets
	a.addresses = addresscheck.New(s.AddressCheck)
	keys, err := newSealedKeys(s.SecretKey)
	if err != nil {
		return nil, err
	}
	a.TwoFactor = twofactor.New(a.DB, keys)
	if a.relyingParty, err = newRelyingParty(a.BaseURL); err != nil {
		a.relyingParty = nil
		a.Logger.Warn("passkeys are off: the base URL's host cannot name them; serve Shelf from a domain name to use them",
			"base_url", a.BaseURL.String(), "err", err)
	}
	a.Shelves = shelves.New(a.DB, a.now)
	a.Links = links.New(a.DB, a.BaseURL, a.now)
	if a.PreviewQueue == nil {
		a.PreviewQueue = previews.NewQueue(a.DB, a.now)
	}
	a.Previews = a.PreviewQueue
	a.linkLimits = newLinkLimits(a, s.LinksPerDay, s.LinksPerIPPerDay)
	a.shares = shares.New(a.DB, a.now)
	a.outbox = outbox.NewQueue(a.DB)
	a.cards = newCardMaker(cards.New(a.DB, a.now), d.CardRenderer, a.now, a.Logger.Error)
	a.setupAccounts()
	a.apiTokens = apitokens.New(a.DB, a.now)
	a.apiLimiter = newTokenLimiter(apiLimitPer, apiLimitWindow)
	a.jwtKeys = jwtkeys.New(a.DB, keys, jwtkeys.Config{Rotate: s.JWTKeyRotation, TokenTTL: accessTokenTTL, Now: a.now})
	a.registerUndoHooks()
	a.echo = a.routes()
	a.wakeResetWorker()
	return a, nil
}

// absURL is path on the configured base URL, never the request's Host.
func (a *App) absURL(path string) string { return strings.TrimSuffix(a.BaseURL.String(), "/") + path }

// Handler returns the whole HTTP surface: every route and its middleware.
func (a *App) Handler() *echo.Echo { return a.echo }

// ServeHTTP serves a request (see Handler).
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.echo.ServeHTTP(w, r) }

// MailNotifier is told when mail has been enqueued.
type MailNotifier interface{ Notify() }
