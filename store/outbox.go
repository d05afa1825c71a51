package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
)

// Mail is one message to send.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// EnqueueMail writes m to the outbox inside tx, so it is sent if and only if
// tx commits. It returns the outbox row id.
func EnqueueMail(ctx context.Context, tx *sql.Tx, m Mail) (int64, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO outbox (message_id, recipient, subject, text_body, html_body) VALUES (?, ?, ?, ?, ?)`,
		hex.EncodeToString(b[:]), m.To, m.Subject, m.Text, m.HTML)
	if err != nil {
		return 0, fmt.Errorf("enqueue mail: %w", err)
	}
	return res.LastInsertId()
}
