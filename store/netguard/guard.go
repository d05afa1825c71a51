// Package netguard decides which network addresses Shelf may connect to on
// behalf of what a reader typed, and connects only to those.
package netguard

// Guard checks and dials addresses.
type Guard struct{}
