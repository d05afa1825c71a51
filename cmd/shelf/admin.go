package main

import (
	"context"
	"errors"
	"io"
)

// createAdminCommand is a placeholder until the accounts slice lands.
func createAdminCommand(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return errors.New("create-admin: not implemented yet")
}
