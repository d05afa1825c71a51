package handlers

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/labstack/echo/v4"

	"shelf/components/paths"
	"shelf/store/apitokens"
	"shelf/store/jwtkeys"
)

// Access tokens for other services: POST /api/v1/token exchanges a personal
// access token for a JWT signed with Ed25519 (EdDSA), valid for at most
// accessTokenTTL, that carries the personal token's scopes, its id and the
// account's token version. Other services verify it with the keys published
// at /.well-known/jwks.json; Shelf's own API accepts it as well, and checks
// on each use that the personal token still works and the version is
// current, so revoking the token or resetting the password ends it too.

const (
	accessTokenTTL = 15 * time.Minute
	// jwksMaxAge is how long the key set may be cached; keys are published
	// jwtkeys.DefaultPublishAhead (longer) before they sign.
	jwksMaxAge = 5 * time.Minute
	// clockLeeway is how far instances on one database may disagree on
	// the time.
	clockLeeway = 5 * time.Second
	// ctxAccessToken marks a caller authenticated by an access token.
	ctxAccessToken = "shelf.api.access-token"
)

// accessClaims are an access token's claims.
type accessClaims struct {
	jwt.RegisteredClaims
	// Scope is the scopes, space-separated (RFC 9068).
	Scope string `json:"scope"`
	// Version is the account's token version when the token was issued.
	Version int64 `json:"ver"`
	// TokenID is the personal access token it was issued for.
	TokenID int64 `json:"pat"`
}

// issuer is the iss of access tokens: the configured public address.
func (a *App) issuer() string { return strings.TrimSuffix(a.BaseURL.String(), "/") }

// audience is their aud: the API.
func (a *App) audience() string { return a.issuer() + "/api" }

// tokenRoutes: the token exchange and the published keys.
func (a *App) tokenRoutes(e *echo.Echo) {
	e.POST(paths.APIToken, a.exchangeToken, a.apiAuthenticate)
	serveGet(e, paths.JWKS, a.jwks)
	a.apiTokenPageRoutes(e)
}

// tokenResponse is the exchange's answer, shaped as OAuth 2.0's (RFC 6749).
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

func (a *App) exchangeToken(c echo.Context) error {
	caller := apiCallerFrom(c)
	if caller == nil {
		return a.authProblem(c, http.StatusUnauthorized, "invalid_token", "invalid-token",
			"Send a personal access token in the Authorization header to exchange it for an access token.")
	}
	if via, _ := c.Get(ctxAccessToken).(bool); via {
		return a.authProblem(c, http.StatusUnauthorized, "invalid_token", "invalid-token",
			"Exchange a personal access token, not an access token.")
	}
	ctx := c.Request().Context()
	t, owner, err := a.apiTokens.ByID(ctx, caller.TokenID)
	if err != nil {
		return err // it worked a moment ago, in apiAuthenticate
	}
	key, err := a.jwtKeys.Signing(ctx)
	if err != nil {
		return err
	}
	now := a.now().Truncate(time.Second)
	exp := now.Add(accessTokenTTL)
	if t.ExpiresAt.Before(exp) {
		exp = t.ExpiresAt
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return err
	}
	// Services that verify the token see its scopes, not the owner's role.
	var scopes []apitokens.Scope
	for _, sc := range caller.Scopes {
		if owner.IsAdmin || !sc.AdminOnly() {
			scopes = append(scopes, sc)
		}
	}
	scope := joinScopes(scopes)
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    a.issuer(),
			Audience:  jwt.ClaimStrings{a.audience()},
			Subject:   strconv.FormatInt(owner.UserID, 10),
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        base64.RawURLEncoding.EncodeToString(jti),
		},
		Scope: scope, Version: owner.Version, TokenID: t.ID,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = key.ID
	signed, err := tok.SignedString(key.Private)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, tokenResponse{AccessToken: signed, TokenType: "Bearer", ExpiresIn: int(exp.Sub(now).Seconds()), Scope: scope})
}

func joinScopes(scopes []apitokens.Scope) string {
	s := make([]string, len(scopes))
	for i, sc := range scopes {
		s[i] = string(sc)
	}
	return strings.Join(s, " ")
}

// jwtCaller authenticates an access token: signed with EdDSA by a published
// key, unexpired, issued by and for this Shelf, for a personal access token
// that still works and an account whose token version has not moved on.
func (a *App) jwtCaller(c echo.Context, raw string) (*apiCaller, error) {
	ctx := c.Request().Context()
	var lookupErr error
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(a.issuer()),
		jwt.WithAudience(a.audience()),
		jwt.WithTimeFunc(a.now),
		// A token issued by one instance must not be "issued in the
		// future" at another.
		jwt.WithLeeway(clockLeeway),
		jwt.WithStrictDecoding(),
	)
	var claims accessClaims
	_, err := parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("no kid")
		}
		pub, err := a.jwtKeys.Lookup(ctx, kid)
		if err != nil && !errors.Is(err, jwtkeys.ErrUnknownKey) {
			lookupErr = err
		}
		return pub, err
	})
	switch {
	case lookupErr != nil:
		return nil, lookupErr
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, refuse("The access token has expired. Exchange the personal access token for a new one.")
	case err != nil:
		return nil, refuse(accessTokenRefusal(err))
	}
	t, owner, err := a.apiTokens.ByID(ctx, claims.TokenID)
	switch {
	case errors.Is(err, apitokens.ErrUnknown), errors.Is(err, apitokens.ErrRevoked):
		return nil, refuse("The access token has been revoked.")
	case errors.Is(err, apitokens.ErrExpired):
		return nil, refuse("The access token's personal access token has expired.")
	case err != nil:
		return nil, err
	}
	// An access token is issued after its personal token is made: one
	// older than the token with its id was issued for another, since gone,
	// whose id the database gave again.
	if strconv.FormatInt(owner.UserID, 10) != claims.Subject || owner.Version != claims.Version ||
		claims.IssuedAt == nil || claims.IssuedAt.Add(clockLeeway).Before(t.CreatedAt) {
		return nil, refuse("The access token has been revoked.")
	}
	var scopes []apitokens.Scope
	for _, f := range strings.Fields(claims.Scope) {
		if sc, ok := apitokens.ParseScope(f); ok && t.Has(sc) {
			scopes = append(scopes, sc)
		}
	}
	a.markTokenUsed(c, t)
	c.Set(ctxAccessToken, true)
	return &apiCaller{UserID: owner.UserID, Email: owner.Email, IsAdmin: owner.IsAdmin, Scopes: scopes, TokenID: t.ID}, nil
}

// jwk is one public key of the key set (RFC 7517, RFC 8037).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// jwks publishes the public keys that sign access tokens: the current one,
// the next (published before it signs) and those rotated out whose tokens
// may not have expired yet.
func (a *App) jwks(c echo.Context) error {
	ctx := c.Request().Context()
	if _, err := a.jwtKeys.Signing(ctx); err != nil { // makes the first and the next key when due
		return err
	}
	keys, err := a.jwtKeys.Published(ctx)
	if err != nil {
		return err
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, jwk{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.Public),
			Kid: k.ID, Alg: "EdDSA", Use: "sig"})
	}
	c.Response().Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(jwksMaxAge.Seconds())))
	return c.JSON(http.StatusOK, set)
}

// accessTokenRefusal says why an access token was refused, in the API's
// words rather than the JWT library's.
func accessTokenRefusal(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "The access token is malformed: check it was copied whole."
	case errors.Is(err, jwtkeys.ErrUnknownKey):
		return "The access token was signed with a key this server no longer uses. Exchange the personal access token for a new one."
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "The access token's signature does not verify: it was not issued by this server, or it was altered."
	case errors.Is(err, jwt.ErrTokenInvalidIssuer), errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "The access token was issued for another server."
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "The access token is not valid yet: check the clock of the machine that asked for it."
	default:
		return "The access token is not valid."
	}
}
