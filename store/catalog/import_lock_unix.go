//go:build unix

package catalog

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// importLockWorks: lockImports keeps out other imports, in any process.
const importLockWorks = true

// lockImports takes the lock that keeps two imports into the database at
// dbPath from interleaving, waiting while another holds it. It is a flock
// on a file beside the database, so the kernel releases it when the
// process ends, however it ends.
func lockImports(ctx context.Context, dbPath string) (unlock func(), err error) {
	f, err := os.OpenFile(dbPath+"-import.lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
