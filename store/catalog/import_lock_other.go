//go:build !unix

package catalog

import "context"

// importLockWorks: without flock, a killed import's staged books are not
// told from a running one's.
const importLockWorks = false

// lockImports does nothing where flock is missing: run one import at a time.
func lockImports(ctx context.Context, dbPath string) (unlock func(), err error) {
	return func() {}, ctx.Err()
}
