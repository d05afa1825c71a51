package handlers

import (
	"fmt"
	"sync"
	"time"
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

// Wait returns how long key must wait before its next event is allowed; zero
// means now. It records nothing.
func (l *Limiter) Wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.wait(key, now)
}

func (l *Limiter) wait(key string, now time.Time) time.Duration {
	hs := l.live(key, now)
	if len(hs) < l.Limit {
		return 0
	}
	return hs[0].Add(l.Window).Sub(now)
}

// Hit records an event for key.
func (l *Limiter) Hit(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hit(key, now)
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
	l.mu.Lock()
	defer l.mu.Unlock()
	if w := l.wait(key, now); w > 0 {
		return w
	}
	l.hit(key, now)
	return 0
}

// Reset forgets key (after a successful login, say).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.hits, key)
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

// Limits are the limiters guarding everything that sends mail or checks a
// password.
type Limits struct {
	LoginIP      *Limiter // failed logins per client IP
	LoginAccount *Limiter // failed logins per address
	RegisterIP   *Limiter // sign-up submissions per IP
	EmailCheckIP *Limiter // "already registered" checks while typing, per IP
	ForgotIP     *Limiter // reset requests per IP
	ForgotEmail  *Limiter // reset requests per address
}

// DefaultLimits are generous for people and slow for scripts.
func DefaultLimits() *Limits {
	return &Limits{
		LoginIP:      NewLimiter(30, 15*time.Minute),
		LoginAccount: NewLimiter(5, 15*time.Minute),
		RegisterIP:   NewLimiter(10, time.Hour),
		EmailCheckIP: NewLimiter(60, 10*time.Minute),
		ForgotIP:     NewLimiter(10, time.Hour),
		ForgotEmail:  NewLimiter(3, time.Hour),
	}
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
