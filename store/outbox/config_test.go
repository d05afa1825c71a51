package outbox

import (
	"strings"
	"testing"
)

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		in      string
		want    SMTPConfig
		wantErr string
	}{
		{in: "smtp://mail.example.com", want: SMTPConfig{Host: "mail.example.com", Port: 587}},
		{in: "smtp://u%40x:p%3Ass@mail.example.com:2525", want: SMTPConfig{Host: "mail.example.com", Port: 2525, Username: "u@x", Password: "p:ss"}},
		{in: "smtps://u:p@mail.example.com", want: SMTPConfig{Host: "mail.example.com", Port: 465, Username: "u", Password: "p", ImplicitTLS: true}},
		{in: "smtp://[::1]:25/", want: SMTPConfig{Host: "::1", Port: 25}},
		{in: "http://mail.example.com", wantErr: "scheme"},
		{in: "mail.example.com:25", wantErr: "scheme"},
		{in: "smtp://", wantErr: "missing host"},
		{in: "smtp://mail.example.com:0", wantErr: "port"},
		{in: "smtp://mail.example.com:x", wantErr: "smtp://"},
		{in: "smtp://mail.example.com/path", wantErr: "path"},
		{in: "smtp://127.0.0.1:25?tls=none", want: SMTPConfig{Host: "127.0.0.1", Port: 25, NoTLS: true}},
		{in: "smtp://relay.internal:25?tls=none", want: SMTPConfig{Host: "relay.internal", Port: 25, NoTLS: true}},
		{in: "smtp://mail.example.com?tls=no", wantErr: "tls=none"},
		{in: "smtp://mail.example.com?tls=none&x=1", wantErr: "tls=none"},
		{in: "smtp://mail.example.com?x=1", wantErr: "tls=none"},
		{in: "smtps://mail.example.com?tls=none", wantErr: "smtps"},
		{in: "smtp://u:secret@mail.example.com?tls=none", wantErr: "password"},
		{in: "smtp://u:secret@127.0.0.1?tls=none", want: SMTPConfig{Host: "127.0.0.1", Port: 587, Username: "u", Password: "secret", NoTLS: true}},
		{in: "smtp://:secret@mail.example.com", wantErr: "user name"},
	}
	for _, tt := range tests {
		got, err := ParseSMTPURL(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSMTPURL(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error repeats the password: %v", err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSMTPURL(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	c, _ := ParseSMTPURL("smtps://u:secret@mail.example.com")
	if s := c.String(); s != "smtps://u@mail.example.com:465" {
		t.Errorf("String() = %q", s)
	}
}

func TestParseFrom(t *testing.T) {
	for in, want := range map[string]string{
		DefaultFrom:                  `"Shelf" <shelf@localhost>`,
		"books@example.com":          "<books@example.com>",
		" Shelf <books@example.com>": `"Shelf" <books@example.com>`,
	} {
		a, err := ParseFrom(in)
		if err != nil || a.String() != want {
			t.Errorf("ParseFrom(%q) = %v, %v; want %s", in, a, err, want)
		}
	}
	for _, in := range []string{"", "shelf", "Shelf <shelf>", "a@b.com, c@d.com"} {
		if _, err := ParseFrom(in); err == nil {
			t.Errorf("ParseFrom(%q) accepted", in)
		}
	}
}

func TestIsLocalHost(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.1.2.3": true,
		"::1": true, "::ffff:127.0.0.1": true, "shelf.localhost": true,
		"shelf.example.com": false, "localhost.example.com": false, "10.0.0.1": false, "0.0.0.0": false, "::": false, "": false} {
		if got := IsLocalHost(host); got != want {
			t.Errorf("IsLocalHost(%q) = %v", host, got)
		}
	}
}
