package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"shelf/store"
)

// BookChange is one recorded change to a book: who made it, when, and each
// field it changed.
type BookChange struct {
	ID     int64
	BookID int64
	UserID int64  // 0 once the account is deleted
	Email  string // the account's address when it made the change
	At     time.Time
	// Created is set for the change that added the book; its fields'
	// Before values are empty.
	Created bool
	Fields  []FieldChange // in the form's order
}

// FieldChange is one field's value before and after a change, as the
// form shows it ("" for empty).
type FieldChange struct {
	Field, Before, After string
}

// MaxHistory is how many changes History returns, newest first.
const MaxHistory = 200

// History returns the recorded changes to the book, newest first, at most
// MaxHistory.
func (c *Catalog) History(ctx context.Context, bookID int64) ([]BookChange, error) {
	rows, err := c.db.Read.QueryContext(ctx, `SELECT id, book_id, coalesce(user_id, 0), user_email, changed_at, action, before, after
		FROM book_changes WHERE book_id = $1 ORDER BY id DESC LIMIT $2`, bookID, MaxHistory)
	if err != nil {
		return nil, fmt.Errorf("book history: %w", err)
	}
	defer rows.Close()
	var out []BookChange
	for rows.Next() {
		var ch BookChange
		var at, action, before, after string
		if err := rows.Scan(&ch.ID, &ch.BookID, &ch.UserID, &ch.Email, &at, &action, &before, &after); err != nil {
			return nil, fmt.Errorf("book history: %w", err)
		}
		if ch.At, err = store.ParseTime(at); err != nil {
			return nil, fmt.Errorf("book history: change %d: %w", ch.ID, err)
		}
		ch.Created = action == "create"
		if ch.Fields, err = fieldChanges(before, after); err != nil {
			return nil, fmt.Errorf("book history: change %d: %w", ch.ID, err)
		}
		out = append(out, ch)
	}
	return out, rows.Err()
}

func fieldChanges(before, after string) ([]FieldChange, error) {
	var was, now map[string]string
	if err := json.Unmarshal([]byte(before), &was); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(after), &now); err != nil {
		return nil, err
	}
	var out []FieldChange
	for _, f := range BookFields {
		b, inB := was[f]
		a, inA := now[f]
		if inA || inB {
			out = append(out, FieldChange{Field: f, Before: b, After: a})
		}
	}
	return out, nil
}
