package outbox

import (
	"fmt"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	if classify(nil) != delivered {
		t.Error("nil error is not delivered")
	}
	if classify(invalidMessageError{fmt.Errorf("bad")}) != permanent {
		t.Error("invalid message is not permanent")
	}
	if classify(fmt.Errorf("EOF")) != connectionLost {
		t.Error("plain error is not connection lost")
	}
}

func TestClientKeepsConfiguredPort(t *testing.T) {
	for _, c := range []SMTPConfig{{Host: "mail.example.com", Port: 25}, {Host: "mail.example.com", Port: 587}, {Host: "mail.example.com", Port: 465, ImplicitTLS: true}} {
		client, err := newClient(c, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := client.ServerAddr(); got != c.Addr() {
			t.Errorf("client for %v dials %s", c, got)
		}
	}
}
