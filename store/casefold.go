package store

import (
	"database/sql/driver"
	"fmt"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
	"modernc.org/sqlite"
)

// CaseFold returns s in the form two strings share when they differ only in
// case, in any script, or in compatibility forms: NFKC, then Unicode full
// case folding ("Émile" and "émile", "STRASSE" and "straße" fold alike).
// SQLite's lower() and NOCASE fold ASCII only.
func CaseFold(s string) string {
	return cases.Fold().String(norm.NFKC.String(s))
}

// casefold(text) is CaseFold in SQL, for migrations that fill folded
// columns from existing rows.
func init() {
	sqlite.MustRegisterDeterministicScalarFunction("casefold", 1,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case nil:
				return nil, nil
			case string:
				return CaseFold(v), nil
			case []byte:
				return CaseFold(string(v)), nil
			default:
				return nil, fmt.Errorf("casefold: want text, got %T", v)
			}
		})
}
