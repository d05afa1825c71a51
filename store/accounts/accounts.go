// Package accounts keeps Shelf's accounts: users and their password hashes,
// the rules an address and a password follow, the single-use tokens mailed
// for confirmation and password reset, and reset requests.
package accounts

import "shelf/store"

// Accounts reads and writes accounts in the database.
type Accounts struct {
	db *store.DB
}

// New returns the accounts kept in db.
func New(db *store.DB) *Accounts { return &Accounts{db: db} }
