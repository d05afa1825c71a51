package handlers

import (
	"context"
	"sync"
	"time"
)

// Password-reset mail is sent off the request path: forgot records the
// request (accounts.RecordResetRequest, the same insert for every address) and
// wakes this worker, which looks the address up and, for an account, issues
// the token and enqueues the mail. The answer and its timing therefore do
// not depend on whether the address has an account. Requests survive a
// crash in the table and are handled when the worker next runs (it runs
// once when the handler is built).

type resetWorker struct {
	once sync.Once
	wake chan struct{}
	// manual, set by tests before Handler, leaves requests queued until
	// HandleResetRequests is called.
	manual bool
}

// wakeResetWorker starts the worker on first use and has it look for
// requests.
func (a *App) wakeResetWorker() {
	if a.resets.manual {
		return
	}
	a.resets.once.Do(func() {
		a.resets.wake = make(chan struct{}, 1)
		go a.runResetWorker()
	})
	select {
	case a.resets.wake <- struct{}{}:
	default: // already woken; it will see this request too
	}
}

// resetBatchDelay is how long the worker waits after being woken before it
// handles requests. Running at once, its extra work for a real account (the
// token, rendering and queueing the mail) would compete for the CPU with
// the request still writing its answer, and make that answer measurably
// slower; after the delay the answer has long gone, and requests that
// arrived meanwhile are handled together.
const resetBatchDelay = 250 * time.Millisecond

func (a *App) runResetWorker() {
	for range a.resets.wake {
		time.Sleep(resetBatchDelay)
		if err := a.HandleResetRequests(context.Background()); err != nil {
			a.Logger.Error("password reset requests", "err", err)
		}
	}
}

// HandleResetRequests handles every recorded reset request (see
// accounts.HandleResetRequests).
func (a *App) HandleResetRequests(ctx context.Context) error {
	return a.Accounts.HandleResetRequests(ctx)
}
