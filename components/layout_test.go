package components

import (
	"context"
	"strings"
	"testing"
)

// A reader signed in whose address could not be read (an error page while
// the database is unavailable) gets a signed-in reader's header.
func TestHeaderOfAReaderSignedInWithoutAddress(t *testing.T) {
	var b strings.Builder
	if err := ErrorPage(Meta{Title: "Down", SignedIn: true, CSRFToken: "tok"}, 503, "Down", "Try again.").Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`id="nav-my-books"`, `data-signed-in-as=""`, ">Your account</a>", ">Sign out</button>"} {
		if !strings.Contains(page, want) {
			t.Errorf("header lacks %s:\n%s", want, page)
		}
	}
	if strings.Contains(page, ">Sign in</a>") {
		t.Errorf("header offers to sign in:\n%s", page)
	}
}
