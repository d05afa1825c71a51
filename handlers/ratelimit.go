package handlers

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Limiter allows at most Limit events per key in any sliding Window. It lives
// in memory: limits reset when Shelf restarts, and each process keeps its
// own. (Resending confirmation mail is limited in SQLite instead, per
// account, because those limits are promised to people.)
type Limiter struct {
	Limit  int
	Window time.Duration

	mu        sync.Mutex
	hits      map[string][]time.Time // oldest first, at most Limit entries
	lastSweep time.Time
}

// NewLimiter returns a limiter of limit events per window.
func NewLimiter(limit int, window time.Duration) *Limiter {
	return &Limiter{Limit: limit, Window: window, hits: map[string][]time.Time{}}
}

func (l *Limiter) wait(key string, now time.Time) time.Duration {
	hs := l.live(key, now)
	if len(hs) < l.Limit {
		return 0
	}
	return hs[0].Add(l.Window).Sub(now)
}

func (l *Limiter) hit(key string, now time.Time) {
	hs := append(l.live(key, now), now)
	if len(hs) > l.Limit {
		hs = hs[len(hs)-l.Limit:]
	}
	l.hits[key] = hs
	l.sweep(now)
}

// Allow records an event and returns zero if key is under its limit, or
// returns the wait and records nothing.
func (l *Limiter) Allow(key string, now time.Time) time.Duration {
	_, wait := l.Reserve(key, now)
	return wait
}

// Reserve is Allow that can be taken back: the event is counted at once,
// so concurrent callers cannot all pass a check made before any of them
// records, and Cancel uncounts it (a login that turned out right).
func (l *Limiter) Reserve(key string, now time.Time) (Reservation, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.wait(key, now); w > 0 {
		return Reservation{}, w
	}
	l.hit(key, now)
	return Reservation{undo: []func(){func() { l.unhit(key, now) }}}, 0
}

// unhit removes one event of key recorded at t, if it is still there.
func (l *Limiter) unhit(key string, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	hs := l.hits[key]
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].Equal(t) {
			hs = append(hs[:i:i], hs[i+1:]...)
			break
		}
	}
	if len(hs) == 0 {
		delete(l.hits, key)
	} else {
		l.hits[key] = hs
	}
}

// live drops key's events older than the window.
func (l *Limiter) live(key string, now time.Time) []time.Time {
	hs := l.hits[key]
	i := 0
	for i < len(hs) && !hs[i].After(now.Add(-l.Window)) {
		i++
	}
	if i == len(hs) {
		delete(l.hits, key)
		return nil
	}
	return hs[i:]
}

// sweep drops idle keys once per window, so memory stays bounded by the
// keys active in the last window.
func (l *Limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.Window {
		return
	}
	l.lastSweep = now
	for k := range l.hits {
		l.live(k, now)
	}
}

// A Reservation is an attempt that limiters have counted before its outcome
// is known. Cancel gives it back; a reservation not cancelled stays counted.
type Reservation struct{ undo []func() }

// Cancel uncounts the attempt everywhere it was counted. It may be called
// on the zero Reservation, and more than once.
func (r *Reservation) Cancel() {
	for _, f := range r.undo {
		f()
	}
	r.undo = nil
}

// and returns a reservation that cancels both r and other.
func (r Reservation) and(other Reservation) Reservation {
	return Reservation{undo: append(r.undo[:len(r.undo):len(r.undo)], other.undo...)}
}

// Backoff lets a key's first Free attempts through, then spaces attempts
// by a delay that doubles from Base up to Max: a script slows to one guess
// per Max, while a person who mistypes a few times hardly waits. A key is
// forgotten after Forget without attempts (Forget must exceed Max, or a
// patient script would be forgotten between guesses). Attempts are
// reserved, as with Limiter, so concurrent callers never get more than the
// delays allow.
type Backoff struct {
	Free      int
	Base, Max time.Duration
	Forget    time.Duration

	mu        sync.Mutex
	keys      map[string]*backoffState
	lastSweep time.Time
}

type backoffState struct {
	attempts int       // counted attempts, reserved ones included
	last     time.Time // the latest attempt
}

// NewBackoff returns a Backoff with the given parameters.
func NewBackoff(free int, base, maxDelay, forget time.Duration) *Backoff {
	return &Backoff{Free: free, Base: base, Max: maxDelay, Forget: forget, keys: map[string]*backoffState{}}
}

// delay is the space required after the n-th counted attempt.
func (b *Backoff) delay(n int) time.Duration {
	if n < b.Free {
		return 0
	}
	d := b.Base
	for i := b.Free; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Reserve counts an attempt for key and returns zero, or returns how long
// key must wait and counts nothing.
func (b *Backoff) Reserve(key string, now time.Time) (Reservation, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sweep(now)
	st := b.keys[key]
	if st == nil || now.Sub(st.last) >= b.Forget {
		st = &backoffState{}
		b.keys[key] = st
	}
	if wait := st.last.Add(b.delay(st.attempts)).Sub(now); st.attempts > 0 && wait > 0 {
		return Reservation{}, wait
	}
	st.attempts++
	st.last = now
	return Reservation{undo: []func(){func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if st.attempts > 0 {
			st.attempts--
		}
	}}}, 0
}

// sweep drops forgotten keys once per Forget, so memory stays bounded by
// the keys active in the last two Forget periods.
func (b *Backoff) sweep(now time.Time) {
	if now.Sub(b.lastSweep) < b.Forget {
		return
	}
	b.lastSweep = now
	for k, st := range b.keys {
		if now.Sub(st.last) >= b.Forget {
			delete(b.keys, k)
		}
	}
}

// Limits are the limiters guarding everything that sends mail or checks a
// password. Per-IP limits are keyed by clientNetwork, per-address ones by
// addressKey.
type Limits struct {
	LoginIP *Limiter // failed logins per client network
	// LoginAccount spaces failed logins per address from clients without
	// a device cookie for the account (see device.go).
	LoginAccount *Backoff
	LoginDevice  *Limiter // failed logins per device cookie, instead of the two above
	RegisterIP   *Limiter // sign-up submissions per client network
	ForgotIP     *Limiter // reset requests per client network
	ForgotEmail  *Limiter // reset requests per address, from clients without its device cookie
	ForgotDevice *Limiter // reset requests per device cookie for its own account, instead of the two above
}

// DefaultLimits are generous for people and slow for scripts.
func DefaultLimits() *Limits {
	return &Limits{
		LoginIP:      NewLimiter(30, 15*time.Minute),
		LoginAccount: NewBackoff(5, time.Second, 15*time.Minute, time.Hour),
		LoginDevice:  NewLimiter(10, 15*time.Minute),
		RegisterIP:   NewLimiter(10, time.Hour),
		ForgotIP:     NewLimiter(10, time.Hour),
		ForgotEmail:  NewLimiter(3, time.Hour),
		ForgotDevice: NewLimiter(3, time.Hour),
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
// the normalised address, so a limiter holds 32 bytes per address however
// long the address someone sends. Uniqueness ignores ASCII case, and so
// does the key.
func addressKey(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
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
func (a *App) reserveLogin(c echo.Context, email string, userID int64, devicesValidAfter, now time.Time) (Reservation, time.Duration) {
	l := a.Limits
	if d, ok := a.deviceFor(c, userID, devicesValidAfter); ok {
		if r, wait := l.LoginDevice.Reserve(d.ID, now); wait == 0 {
			return r, 0
		}
	}
	ip, wait := l.LoginIP.Reserve(clientNetwork(c), now)
	if wait > 0 {
		return Reservation{}, wait
	}
	account, wait := l.LoginAccount.Reserve(addressKey(email), now)
	if wait > 0 {
		ip.Cancel()
		return Reservation{}, wait
	}
	return ip.and(account), 0
}

// forgotWait counts a reset request for email and returns zero, or returns
// how long to wait and counts nothing. As with logins, a browser with a
// device cookie for the address's account counts against its device alone;
// other clients count against their network and the address.
func (a *App) forgotWait(c echo.Context, email string) time.Duration {
	l, now := a.Limits, a.now()
	if d, ok := a.deviceForAddress(c, email); ok {
		if _, wait := l.ForgotDevice.Reserve(d.ID, now); wait == 0 {
			return 0
		}
	}
	ip, wait := l.ForgotIP.Reserve(clientNetwork(c), now)
	if wait > 0 {
		return wait
	}
	if _, wait := l.ForgotEmail.Reserve(addressKey(email), now); wait > 0 {
		ip.Cancel()
		return wait
	}
	return 0
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
