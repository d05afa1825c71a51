package handlers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"shelf/components"
	"shelf/components/paths"
	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/apitokens"
	"shelf/store/security"
)

// Personal access tokens on the account page: the list with a revoke
// button each (in place with htmx, or a plain form), and a page that
// creates one, behind the password re-entered within recentAuthWindow,
// mails the owner (a security event, whose "This wasn't me" revokes the
// account's tokens) and shows the token once.

const (
	sessNewAPIToken    = "api_token_new" // []byte: the token just made, sealed, until shown
	newAPITokenPurpose = "new-api-token"
)

// scopeLabels say what each scope lets a token do.
var scopeLabels = map[apitokens.Scope]string{
	apitokens.BooksRead:    "search the catalog and read books' details",
	apitokens.BooksWrite:   "add and edit books (an admin's tokens only)",
	apitokens.ShelvesRead:  "read your shelves, ratings and notes",
	apitokens.ShelvesWrite: "change your shelves, ratings and notes",
	apitokens.LinksRead:    "read your short links and their clicks",
	apitokens.LinksWrite:   "make, disable and delete your short links",
	apitokens.AccountRead:  "read your address and role",
}

func (a *App) apiTokenPageRoutes(e *echo.Echo) {
	serveGet(e, paths.APITokens, a.apiTokenForm, a.requireRecentAuth)
	e.POST(paths.APITokens, a.createAPIToken, a.requireRecentAuth)
	e.POST(paths.APITokensValidate, a.validateAPITokenField, a.requireConfirmed)
	// GET only: a HEAD would use up the one showing of the new token.
	e.GET(paths.APITokenCreated, a.apiTokenCreated, a.requireConfirmed)
	e.POST(paths.APITokenRevoke, a.revokeAPIToken, a.requireConfirmed)
	a.OnNotMe(EventAPITokenCreated, a.undoAPITokenCreated)
}

// apiTokensView is the account page's section.
func (a *App) apiTokensView(c echo.Context, u accounts.User) (components.APITokensView, error) {
	list, err := a.apiTokens.List(c.Request().Context(), u.ID)
	if err != nil {
		return components.APITokensView{}, err
	}
	v := components.APITokensView{CSRF: a.csrfToken(c)}
	for _, t := range list {
		v.Items = append(v.Items, a.apiTokenItem(t))
	}
	return v, nil
}

func (a *App) apiTokenItem(t apitokens.Token) components.APITokenItem {
	item := components.APITokenItem{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Scopes: scopeNames(t.Scopes),
		Created: t.CreatedAt.UTC().Format(displayTime), Expires: t.ExpiresAt.UTC().Format(displayTime),
		Expired: !a.now().Before(t.ExpiresAt)}
	if !t.LastUsedAt.IsZero() {
		item.LastUsed, item.LastUsedFrom = t.LastUsedAt.UTC().Format(displayTime), t.LastUsedFrom
	}
	if !t.RevokedAt.IsZero() {
		item.Revoked = t.RevokedAt.UTC().Format(displayTime)
	}
	return item
}

func scopeNames(scopes []apitokens.Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}

// apiTokenFormView is the create form. books:write is offered to admins
// only: it does nothing in anyone else's token.
func (a *App) apiTokenFormView(c echo.Context, name, days string, checked []apitokens.Scope, errs map[string]string) components.APITokenFormView {
	v := components.APITokenFormView{CSRF: a.csrfToken(c), Name: name, Days: days, MaxDays: apitokens.MaxDays, Errors: errs}
	u, _ := a.currentUser(c)
	for _, s := range apitokens.Scopes {
		if s == apitokens.BooksWrite && !u.IsAdmin {
			continue
		}
		on := false
		for _, cs := range checked {
			on = on || cs == s
		}
		v.Scopes = append(v.Scopes, components.ScopeOption{Value: string(s), Label: scopeLabels[s], Checked: on})
	}
	return v
}

func (a *App) apiTokenForm(c echo.Context) error {
	noStore(c)
	m := a.formMeta(c, "Create an API token")
	return render(c, http.StatusOK, components.APITokenCreatePage(m, a.apiTokenFormView(c, "", strconv.Itoa(apitokens.DefaultDays), nil, nil)))
}

// parseDays reads the expiry field: empty means the default.
func parseDays(raw string) (int, string) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return apitokens.DefaultDays, ""
	}
	d, err := strconv.Atoi(raw)
	if err != nil {
		return 0, "Enter a whole number of days, at most " + strconv.Itoa(apitokens.MaxDays) + "."
	}
	return d, apitokens.CheckDays(d)
}

func (a *App) validateAPITokenField(c echo.Context) error {
	switch c.QueryParam("field") {
	case "name":
		raw := c.FormValue("name")
		return render(c, http.StatusOK, components.FieldView(components.APITokenNameField(raw, apitokens.CheckName(apitokens.CleanName(raw)))))
	case "days":
		raw := c.FormValue("days")
		_, msg := parseDays(raw)
		return render(c, http.StatusOK, components.FieldView(components.APITokenDaysField(raw, msg, apitokens.MaxDays)))
	}
	return echo.ErrNotFound
}

// createAPIToken makes the token and records the security event that
// mails the owner, in one transaction, then shows the token once.
func (a *App) createAPIToken(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	ctx := c.Request().Context()
	form, err := c.FormParams()
	if err != nil {
		return echo.ErrBadRequest
	}
	name, rawDays := form.Get("name"), form.Get("days")
	var scopes []apitokens.Scope
	for _, s := range form["scope"] {
		scopes = append(scopes, apitokens.Scope(s))
	}
	days, daysMsg := parseDays(rawDays)
	n, fe := apitokens.NewToken{Name: name, Scopes: scopes, Days: days}.Validate()
	for field, msg := range map[string]string{"days": daysMsg, "scopes": adminScopeMessage(u, scopes)} {
		if msg != "" {
			if fe == nil {
				fe = apitokens.FieldErrors{}
			}
			fe[field] = msg
		}
	}
	if fe != nil {
		m := a.formMeta(c, "Create an API token")
		return render(c, http.StatusUnprocessableEntity, components.APITokenCreatePage(m, a.apiTokenFormView(c, name, rawDays, scopes, fe)))
	}
	var tok apitokens.Token
	var secret string
	err = a.DB.InTx(ctx, func(tx *sql.Tx) error {
		tctx := store.WithTx(ctx, tx)
		var err error
		if tok, secret, err = a.apiTokens.Create(tctx, tx, u.ID, n); err != nil {
			return err
		}
		return inRequestTx(c, tctx, func() error {
			return a.securityEventOn(c, u, EventAPITokenCreated, strconv.FormatInt(tok.ID, 10),
				"\u201c"+tok.Name+"\u201d, "+strings.Join(scopeNames(tok.Scopes), " ")+", expires "+tok.ExpiresAt.UTC().Format(displayTime))
		})
	})
	if errors.Is(err, apitokens.ErrTooMany) {
		m := a.formMeta(c, "Create an API token")
		fe := apitokens.FieldErrors{"name": fmt.Sprintf("You already have %d tokens that work: revoke one you no longer use first.", apitokens.MaxActive)}
		return render(c, http.StatusUnprocessableEntity, components.APITokenCreatePage(m, a.apiTokenFormView(c, name, rawDays, scopes, fe)))
	}
	if err != nil {
		return err
	}
	a.Logger.Info("api token created", "user_id", u.ID, "token_id", tok.ID)
	a.Sessions.Put(ctx, sessNewAPIToken, a.TwoFactor.Keys().Seal([]byte(strconv.FormatInt(tok.ID, 10)+"\n"+secret), u.ID, newAPITokenPurpose))
	return redirect(c, paths.APITokenCreated)
}

// apiTokenCreated shows the token just made, once: the session forgets it
// as it is shown.
func (a *App) apiTokenCreated(c echo.Context) error {
	noStore(c)
	u, _ := a.currentUser(c)
	ctx := c.Request().Context()
	m := a.meta(c, "Your new API token")
	sealedToken, _ := a.Sessions.Pop(ctx, sessNewAPIToken).([]byte)
	plain, err := a.TwoFactor.Keys().Open(sealedToken, u.ID, newAPITokenPurpose)
	idText, secret, ok := strings.Cut(string(plain), "\n")
	id, _ := strconv.ParseInt(idText, 10, 64)
	if sealedToken == nil || err != nil || !ok {
		return render(c, http.StatusOK, components.APITokenCreatedPage(m, components.APITokenCreatedView{}))
	}
	t, err := a.apiTokens.Get(ctx, u.ID, id)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, components.APITokenCreatedPage(m, components.APITokenCreatedView{
		Name: t.Name, Secret: secret, Scopes: scopeNames(t.Scopes), Expires: t.ExpiresAt.UTC().Format(displayTime)}))
}

// revokeAPIToken revokes a token at once: htmx swaps its row for the
// revoked one; a plain form comes back to the account page.
func (a *App) revokeAPIToken(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return echo.ErrNotFound
	}
	u, _ := a.currentUser(c)
	ctx := c.Request().Context()
	revoked, err := a.apiTokens.Revoke(ctx, u.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	t, err := a.apiTokens.Get(ctx, u.ID, id)
	if err != nil {
		return err
	}
	if revoked {
		a.Logger.Info("api token revoked", "user_id", u.ID, "token_id", id)
	}
	if isHTMX(c) {
		return render(c, http.StatusOK, components.APITokenRow(a.csrfToken(c), a.apiTokenItem(t)))
	}
	a.flash(c, "Token revoked: "+t.Name+". It no longer works.")
	return redirect(c, paths.Account+"#api-tokens")
}

// undoAPITokenCreated answers "This wasn't me" on the mail about a new
// token: whoever made it may have made others, so every token of the
// account is revoked.
func (a *App) undoAPITokenCreated(ctx context.Context, tx *sql.Tx, ev security.Event) (string, error) {
	if err := apitokens.RevokeAll(ctx, tx, ev.UserID, a.now()); err != nil {
		return "", err
	}
	return "Every API token of your account was revoked.", nil
}

// adminScopeMessage refuses books:write to the token of an account that is
// not an admin's, or is "".
func adminScopeMessage(u accounts.User, scopes []apitokens.Scope) string {
	if !u.IsAdmin && slices.Contains(scopes, apitokens.BooksWrite) {
		return "books:write is for admins' tokens, and this account is not an admin's."
	}
	return ""
}
