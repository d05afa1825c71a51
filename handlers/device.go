package handlers

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Device cookies, after OWASP's "Slow Down Online Guessing Attacks with
// Device Cookies": a browser that has signed in to an account carries a
// signed cookie naming the account and a random device id. Its login
// attempts at that account count against the device alone (Limits.
// LoginDevice), so failures caused by others, at the address
// (Limits.LoginAccount) or from the same network (Limits.LoginIP), do not
// lock its owner out; the same goes for reset requests (Limits.
// ForgotDevice). A device past its own budget is treated like any other
// client until its failures age out. A browser holds one device cookie, for
// the account it signed in to last. The cookie holds no secret about the
// account; forging one needs the signing key (see signer.go).

// deviceCookieTTL is how long a device cookie is honoured after it was
// issued; each sign-in issues a new one.
const deviceCookieTTL = 365 * 24 * time.Hour

const devicePurpose = "device"

// device is what a valid device cookie says.
type device struct {
	UserID int64
	ID     string // random, base64url
	Issued time.Time
}

// deviceCookie is the device cookie's name (see cookies.go).
const deviceCookie = "shelf_device"

// issueDevice gives the browser a new device cookie for account userID.
func (a *App) issueDevice(c echo.Context, userID int64) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	d := device{UserID: userID, ID: base64.RawURLEncoding.EncodeToString(id[:]), Issued: a.now()}
	c.SetCookie(a.cookie(deviceCookie, a.signer.Sign(devicePurpose, d.encode()), int(deviceCookieTTL/time.Second)))
}

// encode is "userID|deviceID|issued Unix milliseconds" (no '.', which the
// signer uses). Milliseconds, as the account's last password change is
// stored: a cookie issued by the reset itself is not older than it.
func (d device) encode() string {
	return strconv.FormatInt(d.UserID, 10) + "|" + d.ID + "|" + strconv.FormatInt(d.Issued.UnixMilli(), 10)
}

// legacyIssuedLimit tells a cookie's issue time in Unix seconds (cookies
// issued before it was in milliseconds) from one in milliseconds: any
// time in milliseconds since 2001 is above it.
const legacyIssuedLimit = 1e12

// device returns what the request's device cookie says, if we signed it
// and it was issued in the last deviceCookieTTL.
func (a *App) device(c echo.Context) (device, bool) {
	ck, err := c.Cookie(a.cookieName(deviceCookie))
	if err != nil {
		return device{}, false
	}
	value, err := a.signer.Verify(devicePurpose, ck.Value)
	if err != nil {
		return device{}, false
	}
	d, ok := decodeDevice(value)
	if !ok {
		return device{}, false
	}
	if age := a.now().Sub(d.Issued); age < -time.Minute || age > deviceCookieTTL {
		return device{}, false
	}
	return d, true
}

// deviceFor returns the request's device if its cookie is for account
// userID and was issued no earlier than validAfter, the account's last
// password change: a new password ends the trust of every browser that
// signed in with the old one. No account (0) has a device.
func (a *App) deviceFor(c echo.Context, userID int64, validAfter time.Time) (device, bool) {
	d, ok := a.device(c)
	if !ok || userID == 0 || d.UserID != userID || d.Issued.Before(validAfter) {
		return device{}, false
	}
	return d, true
}

func decodeDevice(value string) (device, bool) {
	parts := strings.Split(value, "|")
	if len(parts) != 3 || parts[1] == "" {
		return device{}, false
	}
	uid, err1 := strconv.ParseInt(parts[0], 10, 64)
	issued, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || uid <= 0 {
		return device{}, false
	}
	at := time.UnixMilli(issued)
	if issued < legacyIssuedLimit {
		at = time.Unix(issued, 0)
	}
	return device{UserID: uid, ID: parts[1], Issued: at}, true
}
