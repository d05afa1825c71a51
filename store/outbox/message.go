package outbox

import (
	"fmt"
	netmail "net/mail"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// MessageID is the Message-ID header value (without angle brackets) for an
// outbox row: the row's random id at the sender's domain. It is the same on
// every attempt, so a receiver can drop a duplicate delivered after a crash.
func MessageID(from *netmail.Address, row Message) string {
	_, domain, _ := strings.Cut(from.Address, "@")
	if domain == "" {
		domain = "localhost"
	}
	return row.MessageID + "@" + domain
}

// invalidMessageError marks a message that can never be sent as it is (a
// malformed recipient, say): retrying cannot help.
type invalidMessageError struct{ err error }

func (e invalidMessageError) Error() string { return e.err.Error() }
func (e invalidMessageError) Unwrap() error { return e.err }

// buildMessage turns an outbox row into a multipart/alternative message
// with a text and an HTML part. Its Date is when the row was queued, so,
// like the Message-ID, it is the same on every attempt.
func buildMessage(from *netmail.Address, row Message) (*gomail.Msg, error) {
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	m.FromMailAddress(from)
	if err := m.To(row.To); err != nil {
		return nil, invalidMessageError{fmt.Errorf("invalid recipient %q: %w", row.To, err)}
	}
	m.Subject(oneLine(row.Subject))
	m.SetMessageIDWithValue(MessageID(from, row))
	m.SetDateWithValue(row.CreatedAt)
	m.SetBodyString(gomail.TypeTextPlain, row.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, row.HTML)
	return m, nil
}

// oneLine keeps a header value on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
