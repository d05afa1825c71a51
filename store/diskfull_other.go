//go:build !unix

package store

func fileSystemFree(string) (uint64, bool) { return 0, false }
