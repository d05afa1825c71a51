package handlers

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"

	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/limits"
)

// Limits are the limiters guarding everything that sends mail or checks a
// password. Per-IP limits are keyed by clientNetwork, per-address ones by
// addressKey. They are kept in the database (package limits), so every
// instance of Shelf on it counts the same attempts, across restarts too.
type Limits struct {
	LoginIP *limits.Limiter // failed logins per client network
	// LoginAccount spaces failed logins per address from clients without
	// a device cookie for the account (see device.go).
	LoginAccount *limits.Backoff
	LoginDevice  *limits.Limiter // failed logins per device cookie, instead of the two above
	RegisterIP   *limits.Limiter // sign-up submissions per client network
	ForgotIP     *limits.Limiter // reset requests per client network
	ForgotEmail  *limits.Limiter // reset requests per address, from clients without its device cookie
	ForgotDevice *limits.Limiter // reset requests per device cookie for its own account, instead of the two above
	ChangeEmail  *limits.Limiter // a pending sign-up's address changes (changeAddress), which count against RegisterIP too
	// ChangeFrom counts changes away from an address, across sign-ups: each
	// deletes the address's unconfirmed account, and with it the history
	// its confirmation mails are limited by (see changeWait).
	ChangeFrom *limits.Limiter
	// PasswordChecks counts every password checked per client network,
	// right or wrong: each costs a deliberately slow hash, and only wrong
	// ones count against the limits above, so one account's right
	// password could otherwise be sent again and again to keep both CPUs
	// busy.
	PasswordChecks *limits.Limiter
}

// DefaultLimits are generous for people and slow for scripts. Each has a
// name of its own in db.
func DefaultLimits(db *store.DB) *Limits {
	return &Limits{
		LoginIP:      limits.NewLimiter(db, "login_ip", 30, 15*time.Minute),
		LoginAccount: limits.NewBackoff(db, "login_account", 5, time.Second, 15*time.Minute, time.Hour),
		LoginDevice:  limits.NewLimiter(db, "login_device", 10, 15*time.Minute),
		RegisterIP:   limits.NewLimiter(db, "register_ip", 10, time.Hour),
		ForgotIP:     limits.NewLimiter(db, "forgot_ip", 10, time.Hour),
		ForgotEmail:  limits.NewLimiter(db, "forgot_email", 3, time.Hour),
		ForgotDevice: limits.NewLimiter(db, "forgot_device", 3, time.Hour),
		ChangeEmail:  limits.NewLimiter(db, "change_email", accounts.ResendPerDay, 24*time.Hour),
		ChangeFrom:   limits.NewLimiter(db, "change_from", 1, 24*time.Hour),
		// A network's people signing in together need a few a minute; 60
		// slow hashes a minute are a few percent of a CPU.
		PasswordChecks: limits.NewLimiter(db, "password_checks_ip", 60, time.Minute),
	}
}

// clientNetwork is the key of every per-IP limit: an IPv4 address as is
// (IPv4-mapped IPv6 too), and an IPv6 address's /64, since one subscriber
// usually holds a whole /64 and could otherwise use a fresh address, and a
// fresh budget, for each attempt.
func clientNetwork(c echo.Context) string { return networkOf(c.RealIP()) }

func networkOf(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

// addressKey is the key of every per-address limit: a fixed-size digest of
// the normalised address, so no more than 32 bytes of an address someone
// sends are kept, however long it is (the limits hash it again to store
// it). It folds the address as every look-up of an account does
// (store.CaseFold), so no spelling of one account's address ("jeßica",
// "JESSICA") has a budget of its own.
func addressKey(email string) string {
	sum := sha256.Sum256([]byte(store.CaseFold(email)))
	return string(sum[:])
}

// reserveLogin counts a login attempt at email (account userID, or 0 if
// none) before its password is checked, so concurrent guesses never get
// past the limits together, and returns the reservation to cancel if the
// password is right; or it returns the wait and counts nothing.
//
// A browser with a device cookie for the account counts against its device
// alone, so no one else, not even from the same network, can lock it out.
// Every other client, and a device past its own budget, counts against its
// network and against the address's shared Backoff.
func (a *App) reserveLogin(c echo.Context, email string, userID int64, devicesValidAfter, now time.Time) (limits.Reservation, time.Duration, error) {
	l, ctx := a.Limits, c.Request().Context()
	if d, ok := a.deviceFor(c, userID, devicesValidAfter); ok {
		if r, wait, err := l.LoginDevice.Reserve(ctx, d.ID, now); err != nil || wait == 0 {
			return r, 0, err
		}
	}
	ip, wait, err := l.LoginIP.Reserve(ctx, clientNetwork(c), now)
	if err != nil || wait > 0 {
		return limits.Reservation{}, wait, err
	}
	account, wait, err := l.LoginAccount.Reserve(ctx, addressKey(email), now)
	if err != nil || wait > 0 {
		return limits.Reservation{}, wait, errors.Join(err, ip.Cancel(ctx))
	}
	return ip.And(account), 0, nil
}

// passwordCheckWait counts a password about to be checked, right or
// wrong, against the client's network (see Limits.PasswordChecks), and
// returns zero, or how long to wait.
func (a *App) passwordCheckWait(c echo.Context, now time.Time) (time.Duration, error) {
	return a.Limits.PasswordChecks.Allow(c.Request().Context(), clientNetwork(c), now)
}

// forgotWait counts a reset request for email and returns zero, or returns
// how long to wait and counts nothing. As with logins, a browser with a
// device cookie for the address's account counts against its device alone;
// other clients count against their network and the address.
func (a *App) forgotWait(c echo.Context, email string) (time.Duration, error) {
	l, ctx, now := a.Limits, c.Request().Context(), a.now()
	if d, ok := a.deviceForAddress(c, email); ok {
		if wait, err := l.ForgotDevice.Allow(ctx, d.ID, now); err != nil || wait == 0 {
			return 0, err
		}
	}
	ip, wait, err := l.ForgotIP.Reserve(ctx, clientNetwork(c), now)
	if err != nil || wait > 0 {
		return wait, err
	}
	if wait, err := l.ForgotEmail.Allow(ctx, addressKey(email), now); err != nil || wait > 0 {
		return wait, errors.Join(err, ip.Cancel(ctx))
	}
	return 0, nil
}

// deviceForAddress is deviceFor the account of email. It reads the
// database only for a request with a valid device cookie.
func (a *App) deviceForAddress(c echo.Context, email string) (device, bool) {
	if _, ok := a.device(c); !ok {
		return device{}, false
	}
	u, err := a.Accounts.UserByEmail(c.Request().Context(), email)
	if err != nil {
		return device{}, false
	}
	return a.deviceFor(c, u.ID, u.DevicesValidAfter)
}

// humanWait says a wait the way people read it, rounding up.
func humanWait(d time.Duration) string {
	switch {
	case d <= time.Second:
		return "1 second"
	case d < time.Minute:
		return fmt.Sprintf("%d seconds", int((d+time.Second-1)/time.Second))
	case d <= time.Minute:
		return "1 minute"
	case d < 2*time.Hour:
		return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
	default:
		return fmt.Sprintf("%d hours", int((d+time.Hour-1)/time.Hour))
	}
}

// tooManyAttempts is the message for a rate-limited form.
func tooManyAttempts(d time.Duration) string {
	return "Too many attempts. Try again in " + humanWait(d) + "."
}
