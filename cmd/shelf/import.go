package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"shelf/store"
)

// importCommand is a placeholder until the import slice lands.
func importCommand(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	return errors.New("import: not implemented yet")
}

// importBundledIfEmpty imports the bundled catalog into an empty database.
func importBundledIfEmpty(ctx context.Context, c *store.Catalog, log *slog.Logger) error {
	return nil
}
