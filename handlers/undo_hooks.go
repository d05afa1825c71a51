package handlers

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"shelf/store"
	"shelf/store/security"
)

// undoSlack allows for the time a request takes between taking its clock
// reading (stored with a change) and recording the change's event.
const undoSlack = time.Minute

// registerUndoHooks says what "This wasn't me" undoes for each kind of
// security event that changed how the account signs in.
func (a *App) registerUndoHooks() {
	a.OnNotMe(EventPasskeyAdded, a.undoPasskeyAdded)
	a.OnNotMe(Event2FAOff, a.undo2FAOff)
	a.OnNotMe(Event2FAOn, a.undo2FAOn)
}

// undoPasskeyAdded removes the passkey the event added, if it is still
// there.
func (a *App) undoPasskeyAdded(ctx context.Context, tx *sql.Tx, ev security.Event) (string, error) {
	id, err := hex.DecodeString(ev.Ref)
	if err != nil || len(id) == 0 {
		return "", nil
	}
	p, err := a.passkeyStore().RemoveCredential(ctx, tx, ev.UserID, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return "The passkey \u201c" + p.Name + "\u201d was removed: it no longer signs in.", nil
}

// undo2FAOff turns two-factor sign-in back on as it was before the event
// turned it off (same app, same recovery codes), unless it was turned on
// again since.
func (a *App) undo2FAOff(ctx context.Context, tx *sql.Tx, ev security.Event) (string, error) {
	ok, err := a.TwoFactor.Restore(ctx, tx, ev.UserID, ev.At.Add(-undoSlack), a.now())
	if err != nil || !ok {
		return "", err
	}
	return "Two-factor sign-in was turned back on, with the same authenticator app and recovery codes as before.", nil
}

// undo2FAOn turns off the two-factor sign-in the event turned on: the app
// and recovery codes of whoever set it up no longer work. A factor set up
// after the event stays.
func (a *App) undo2FAOn(ctx context.Context, tx *sql.Tx, ev security.Event) (string, error) {
	ok, err := a.TwoFactor.RemoveEnabledBy(ctx, tx, ev.UserID, ev.At)
	if err != nil || !ok {
		return "", err
	}
	return "Two-factor sign-in was turned off: the authenticator app and recovery codes set up then no longer work.", nil
}
