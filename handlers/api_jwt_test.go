package handlers

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"shelf/store/apitokens"
)

func (env *testEnv) exchange(authorization string) (tokenResponse, apiResponse) {
	env.t.Helper()
	r := env.api(http.MethodPost, "/api/v1/token", authorization)
	var tr tokenResponse
	if r.status == http.StatusOK {
		if err := json.Unmarshal([]byte(r.body), &tr); err != nil {
			env.t.Fatal(err)
		}
	}
	return tr, r
}

func TestAccessTokenExchange(t *testing.T) {
	env := newTestEnv(t)
	authTestRoutes(env)
	env.register("reader@example.com")
	reader := env.user("reader@example.com")
	pat, secret := env.newPAT("reader@example.com", 0, apitokens.BooksRead, apitokens.ShelvesRead)

	tr, r := env.exchange("Bearer " + secret)
	if r.status != 200 || tr.TokenType != "Bearer" || tr.ExpiresIn != 900 || tr.Scope != "books:read shelves:read" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("exchange: %d %s %v", r.status, r.body, r.header)
	}
	if _, r := env.exchange(basic("reader@example.com", secret)); r.status != 200 {
		t.Fatalf("exchange with Basic: %d %s", r.status, r.body)
	}

	// The claims.
	var claims accessClaims
	tok, _, err := jwt.NewParser().ParseUnverified(tr.AccessToken, &claims)
	if err != nil {
		t.Fatal(err)
	}
	now := env.clock.Now()
	if tok.Header["alg"] != "EdDSA" || tok.Header["kid"] == "" || claims.Issuer != "http://shelf.test" ||
		len(claims.Audience) != 1 || claims.Audience[0] != "http://shelf.test/api" || claims.Subject != strconv.FormatInt(reader.ID, 10) ||
		claims.ID == "" || claims.TokenID != pat.ID || claims.Version != 0 || claims.Scope != "books:read shelves:read" ||
		claims.ExpiresAt.Sub(claims.IssuedAt.Time) != 15*time.Minute || claims.IssuedAt.After(now) || now.Sub(claims.IssuedAt.Time) > time.Second {
		t.Fatalf("header %v, claims %+v", tok.Header, claims)
	}

	// Shelf's API accepts it, with the personal token's scopes.
	c := env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).caller(t)
	if c.UserID != reader.ID || c.TokenID != pat.ID || !c.Has(apitokens.BooksRead) || !c.Has(apitokens.ShelvesRead) || c.Has(apitokens.BooksWrite) {
		t.Fatalf("caller %+v", c)
	}
	env.api("GET", "/api/v1/auth-test/write", "Bearer "+tr.AccessToken).wantRefused(t, "an access token without books:write", 403, "insufficient_scope")

	// Exchanging needs a personal access token, not an access token.
	if _, r := env.exchange(""); r.status != 401 {
		t.Fatalf("exchange without credentials: %d", r.status)
	}
	if _, r := env.exchange("Bearer " + tr.AccessToken); r.status != 401 {
		t.Fatalf("exchange of an access token: %d", r.status)
	}

	// Expired after 15 minutes.
	env.clock.Advance(15*time.Minute + 6*time.Second) // past the 5 s leeway for clock skew
	r = env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken)
	r.wantRefused(t, "an expired access token", 401, "invalid_token")
	if !strings.Contains(r.body, "expired") {
		t.Fatalf("the detail does not say expired: %s", r.body)
	}

	// Revoking the personal token ends its access tokens at once.
	tr, _ = env.exchange("Bearer " + secret)
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).caller(t)
	if _, err := env.app.apiTokens.Revoke(context.Background(), reader.ID, pat.ID); err != nil {
		t.Fatal(err)
	}
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).wantRefused(t, "an access token of a revoked token", 401, "invalid_token")

	// So does a new token version (a password reset bumps it), even for a
	// personal token that still works.
	_, other := env.newPAT("reader@example.com", 0, apitokens.BooksRead)
	tr, _ = env.exchange("Bearer " + other)
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).caller(t)
	if _, err := env.db.Write.Exec(`INSERT INTO api_token_versions (user_id, version) VALUES ($1, 1)`, reader.ID); err != nil {
		t.Fatal(err)
	}
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).wantRefused(t, "an access token of an older version", 401, "invalid_token")
	if tr, r := env.exchange("Bearer " + other); r.status != 200 {
		t.Fatalf("exchange after the version moved on: %d", r.status)
	} else {
		env.api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).caller(t)
	}
}

// An access token never outlives its personal token.
func TestAccessTokenEndsWithItsToken(t *testing.T) {
	env := newTestEnv(t)
	env.register("reader@example.com")
	_, secret := env.newPAT("reader@example.com", 1, apitokens.BooksRead)
	env.clock.Advance(24*time.Hour - 5*time.Minute)
	tr, r := env.exchange("Bearer " + secret)
	if r.status != 200 || tr.ExpiresIn > 300 {
		t.Fatalf("exchange 5 minutes before the token expires: %d, expires in %d s", r.status, tr.ExpiresIn)
	}
}

// Forged and stale access tokens are refused: signed with a key rotated
// out, with alg none, with HS256 keyed by the public key, by a key that is
// not Shelf's, or without an expiry, or for another audience or issuer.
func TestForgedAccessTokensRefused(t *testing.T) {
	env := newTestEnvWith(t, func(_ *Deps, s *Settings) { s.JWTKeyRotation = time.Hour })
	authTestRoutes(env)
	env.register("reader@example.com")
	reader := env.user("reader@example.com")
	pat, secret := env.newPAT("reader@example.com", 0, apitokens.BooksRead)
	ctx := context.Background()

	old, err := env.app.jwtKeys.Signing(ctx)
	if err != nil {
		t.Fatal(err)
	}
	claimsAt := func(now time.Time) accessClaims {
		return accessClaims{RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "http://shelf.test", Audience: jwt.ClaimStrings{"http://shelf.test/api"}, Subject: strconv.FormatInt(reader.ID, 10),
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(10 * time.Minute)), ID: "x",
		}, Scope: "books:read", TokenID: pat.ID}
	}
	sign := func(m jwt.SigningMethod, key any, kid string, c jwt.Claims) string {
		tok := jwt.NewWithClaims(m, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A control: claims like these, signed with the current key, work.
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+sign(jwt.SigningMethodEdDSA, old.Private, old.ID, claimsAt(env.clock.Now()))).caller(t)

	// Past the rotation and the old key's last token, the old key is gone.
	env.clock.Advance(time.Hour + 17*time.Minute)
	if _, r := env.exchange("Bearer " + secret); r.status != 200 {
		t.Fatalf("exchange after rotation: %d", r.status)
	}
	cur, err := env.app.jwtKeys.Signing(ctx)
	if err != nil || cur.ID == old.ID {
		t.Fatalf("no rotation: %s, %v", cur.ID, err)
	}
	now := env.clock.Now()
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	noExp := claimsAt(now)
	noExp.ExpiresAt = nil
	otherAud := claimsAt(now)
	otherAud.Audience = jwt.ClaimStrings{"https://elsewhere.example/api"}
	otherIss := claimsAt(now)
	otherIss.Issuer = "https://elsewhere.example"
	none := sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, cur.ID, claimsAt(now))
	// Each is told why in the API's words, never the JWT library's.
	const (
		badSignature = "The access token's signature does not verify"
		otherServer  = "The access token was issued for another server."
		notValid     = "The access token is not valid."
	)
	for what, c := range map[string]struct{ token, detail string }{
		"a rotated-out key":             {sign(jwt.SigningMethodEdDSA, old.Private, old.ID, claimsAt(now)), "signed with a key this server no longer uses"},
		"alg none":                      {none, badSignature},
		"alg none, no signature":        {strings.TrimSuffix(none, "."), "neither a personal access token nor an access token"},
		"HS256 keyed by the public key": {sign(jwt.SigningMethodHS256, []byte(cur.Public), cur.ID, claimsAt(now)), badSignature},
		"HS256 keyed by the JWK x":      {sign(jwt.SigningMethodHS256, []byte(base64.RawURLEncoding.EncodeToString(cur.Public)), cur.ID, claimsAt(now)), badSignature},
		"a stranger's key":              {sign(jwt.SigningMethodEdDSA, stranger, cur.ID, claimsAt(now)), badSignature},
		"no kid":                        {sign(jwt.SigningMethodEdDSA, cur.Private, "", claimsAt(now)), badSignature},
		"no expiry":                     {sign(jwt.SigningMethodEdDSA, cur.Private, cur.ID, noExp), notValid},
		"another audience":              {sign(jwt.SigningMethodEdDSA, cur.Private, cur.ID, otherAud), otherServer},
		"another issuer":                {sign(jwt.SigningMethodEdDSA, cur.Private, cur.ID, otherIss), otherServer},
		"a tampered payload":            {tamper(sign(jwt.SigningMethodEdDSA, cur.Private, cur.ID, claimsAt(now))), badSignature},
		"not base64":                    {"a.b.c", "malformed"},
	} {
		r := env.api("GET", "/api/v1/auth-test/open", "Bearer "+c.token)
		r.wantRefused(t, what, 401, "invalid_token")
		var p problem
		json.Unmarshal([]byte(r.body), &p)
		if !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s: detail %q, want it to say %q", what, p.Detail, c.detail)
		}
		for _, internal := range []string{"could not", "token signature is invalid", "token has invalid", "token is unverifiable", "ed25519", "signing method", "base64", "key is of invalid type", "illegal", "verification error", "jwtkeys"} {
			if strings.Contains(p.Detail, internal) {
				t.Errorf("%s: detail %q shows the library's words (%q)", what, p.Detail, internal)
			}
		}
	}
	env.api("GET", "/api/v1/auth-test/open", "Bearer "+sign(jwt.SigningMethodEdDSA, cur.Private, cur.ID, claimsAt(now))).caller(t)
}

// tamper widens the scope claim of a signed token without re-signing it.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		panic(err)
	}
	claims["scope"] = "books:read books:write"
	payload, _ = json.Marshal(claims)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// A third-party service verifies Shelf's access tokens from the published
// key set alone, fetched over HTTP, with its own code (no JWT library):
// the EdDSA signature by the key the kid names, and the claims.
func TestThirdPartyVerifiesFromJWKS(t *testing.T) {
	env := newTestEnv(t)
	env.register("reader@example.com")
	reader := env.user("reader@example.com")
	_, secret := env.newPAT("reader@example.com", 0, apitokens.ShelvesRead)
	tr, r := env.exchange("Bearer " + secret)
	if r.status != 200 {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}

	resp, err := http.Get(env.srv.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("jwks: %d %v", resp.StatusCode, resp.Header)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	keys := map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		if k["kty"] != "OKP" || k["crv"] != "Ed25519" || k["alg"] != "EdDSA" || k["use"] != "sig" || k["kid"] == "" || k["d"] != "" {
			t.Fatalf("key %v", k)
		}
		x, err := base64.RawURLEncoding.DecodeString(k["x"])
		if err != nil || len(x) != ed25519.PublicKeySize {
			t.Fatalf("key %v: x of %d bytes, %v", k, len(x), err)
		}
		keys[k["kid"]] = ed25519.PublicKey(x)
	}

	verify := func(token string) (map[string]any, bool) {
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			return nil, false
		}
		var header map[string]any
		h, err := base64.RawURLEncoding.DecodeString(parts[0])
		if err != nil || json.Unmarshal(h, &header) != nil || header["alg"] != "EdDSA" {
			return nil, false
		}
		kid, _ := header["kid"].(string)
		pub, ok := keys[kid]
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if !ok || err != nil || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
			return nil, false
		}
		var claims map[string]any
		p, _ := base64.RawURLEncoding.DecodeString(parts[1])
		if json.Unmarshal(p, &claims) != nil {
			return nil, false
		}
		exp, _ := claims["exp"].(float64)
		aud, _ := claims["aud"].([]any)
		if claims["iss"] != "http://shelf.test" || len(aud) != 1 || aud[0] != "http://shelf.test/api" ||
			time.Unix(int64(exp), 0).Before(env.clock.Now()) {
			return nil, false
		}
		return claims, true
	}
	claims, ok := verify(tr.AccessToken)
	if !ok || claims["sub"] != strconv.FormatInt(reader.ID, 10) || claims["scope"] != "shelves:read" {
		t.Fatalf("the service refuses a good token: %v", claims)
	}
	if _, ok := verify(tamper(tr.AccessToken)); ok {
		t.Fatal("the service's verifier accepts anything")
	}
	parts := strings.Split(tr.AccessToken, ".")
	if _, ok := verify(parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"1","iss":"http://shelf.test"}`)) + "." + parts[2]); ok {
		t.Fatal("the service accepts a payload the signature does not cover")
	}
}

// Instances on one database sign with the same keys: an access token from
// one works at the other, and revoking its personal token at one ends it
// at the other from the next request.
func TestAccessTokensAcrossInstances(t *testing.T) {
	envs := newInstances(t, 2)
	for _, env := range envs {
		authTestRoutes(env)
	}
	envs[0].register("reader@example.com")
	pat, secret := envs[0].newPAT("reader@example.com", 0, apitokens.BooksRead)
	tr, r := envs[0].exchange("Bearer " + secret)
	if r.status != http.StatusOK {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	envs[1].api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).caller(t)
	envs[1].api("GET", "/api/v1/auth-test/open", "Bearer "+secret).caller(t)
	k0, err := envs[0].app.jwtKeys.Signing(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if k1, err := envs[1].app.jwtKeys.Signing(context.Background()); err != nil || k1.ID != k0.ID {
		t.Fatalf("instances sign with %s and %s (%v)", k0.ID, k1.ID, err)
	}
	if _, err := envs[0].app.apiTokens.Revoke(context.Background(), pat.UserID, pat.ID); err != nil {
		t.Fatal(err)
	}
	envs[1].api("GET", "/api/v1/auth-test/open", "Bearer "+secret).wantRefused(t, "a token revoked at the other instance", 401, "invalid_token")
	envs[1].api("GET", "/api/v1/auth-test/open", "Bearer "+tr.AccessToken).wantRefused(t, "its access token at the other instance", 401, "invalid_token")
}
