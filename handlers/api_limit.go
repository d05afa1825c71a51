package handlers

import (
	"sync"
	"time"
)

// tokenLimiter allows each API token `per` requests per `window`, as a
// generic cell rate algorithm: a full burst at once, then one request per
// window/per as the budget refills.
//
// It is kept in this process's memory, not the database: a database write
// on every API request would cost more than the request itself, and this
// limit guards the service's capacity (a runaway script), not a secret, as
// the sign-in limits in store/limits do. With N instances behind a load
// balancer a token gets up to N times the limit; the sign-in limits, which
// must hold across instances, stay in the database.
type tokenLimiter struct {
	mu       sync.Mutex
	interval time.Duration // window / per
	window   time.Duration
	tat      map[int64]time.Time // each token's theoretical arrival time
	swept    time.Time
}

// Per-token API limit.
const (
	apiLimitPer    = 60
	apiLimitWindow = time.Minute
)

func newTokenLimiter(per int, window time.Duration) *tokenLimiter {
	return &tokenLimiter{interval: window / time.Duration(per), window: window, tat: map[int64]time.Time{}}
}

// allow counts a request of token id at now and reports whether it is
// within the limit; if not, retry is how long until one would be.
func (l *tokenLimiter) allow(id int64, now time.Time) (ok bool, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > l.window {
		for k, t := range l.tat {
			if !t.After(now) {
				delete(l.tat, k)
			}
		}
		l.swept = now
	}
	tat := l.tat[id]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(l.interval)
	if over := next.Sub(now) - l.window; over > 0 {
		return false, over
	}
	l.tat[id] = next
	return true, 0
}
