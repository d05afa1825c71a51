package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"shelf/store"
	"shelf/store/accounts"
)

// createAdminCommand creates a confirmed admin account. The password comes
// from a no-echo prompt (twice) when stdin is a terminal, or from one line of
// stdin with --password-stdin. The sign-up rules apply, of the address its
// syntax alone: the operator chooses the address, so the throwaway and
// typo-domain lists, which guard sign-up against mistakes and abuse, do not.
func createAdminCommand(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	var email string
	var fromStdin bool
	cfg, _, err := loadConfig("shelf create-admin", args, environ, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the admin's email address (required)")
		fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	})
	if err != nil {
		return err
	}
	if strings.TrimSpace(email) == "" {
		return errors.New("create-admin: --email is required")
	}
	addr, err := accounts.ValidateEmail(email)
	if err != nil {
		return fmt.Errorf("create-admin: --email %q: %v", email, err)
	}
	password, err := readNewPassword(stdin, stderr, fromStdin)
	if err != nil {
		return fmt.Errorf("create-admin: %w", err)
	}
	if err := accounts.CheckPassword(password); err != nil {
		return fmt.Errorf("create-admin: password: %v", err)
	}

	defer explainDiskFull(&err, cfg.DB, "run create-admin again (no account was created)")
	db, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	id, err := accounts.New(db, accounts.Config{}).CreateAdmin(ctx, addr, password)
	if errors.Is(err, accounts.ErrDuplicateEmail) {
		return fmt.Errorf("create-admin: an account with the address %s already exists", addr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created admin %s (id %d)\n", addr, id)
	return nil
}

// readNewPassword reads one line from stdin, or prompts twice without echo
// when stdin is a terminal.
func readNewPassword(stdin io.Reader, stderr io.Writer, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", errors.New("--password-stdin: no password on standard input")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("standard input is not a terminal: pipe the password with --password-stdin")
	}
	prompt := func(label string) (string, error) {
		fmt.Fprint(stderr, label)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
	first, err := prompt("Password: ")
	if err != nil {
		return "", err
	}
	second, err := prompt("Password again: ")
	if err != nil {
		return "", err
	}
	if first != second {
		return "", errors.New("the passwords do not match")
	}
	return first, nil
}
