//go:build !unix

package catalog

import "context"

// lockImports does nothing where flock is missing: run one import at a time.
func lockImports(ctx context.Context, dbPath string) (unlock func(), err error) {
	return func() {}, ctx.Err()
}
