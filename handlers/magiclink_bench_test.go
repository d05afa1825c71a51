package handlers

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	accts "shelf/store/accounts"
)

// BenchmarkMagicRequest times the answer to "Email me a sign-in link" for
// an address with an account and for one without, the mail work done by the
// worker after each answer as in production. The two should not differ:
//
//	go test -run '^$' -bench MagicRequest -count 5 ./handlers/
func BenchmarkMagicRequest(b *testing.B) {
	for _, known := range []bool{false, true} {
		name := "unknown"
		if known {
			name = "known"
		}
		b.Run(name, func(b *testing.B) {
			env := newTestEnvWith(b, func(d *Deps, s *Settings) { s.manualResets = true; d.Search = nil })
			const accounts = 64
			if known {
				err := env.db.InTx(context.Background(), func(tx *sql.Tx) error {
					for i := range accounts {
						if _, err := accts.InsertUser(context.Background(), tx, accts.NewUser{
							Email: "reader" + strconv.Itoa(i) + "@example.org", PasswordHash: "x", Confirmed: true}, env.clock.Now()); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			br := env.browser()
			br.get("/login/email")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				email := "reader" + strconv.Itoa(i%accounts) + "@example.org"
				if i%accounts == 0 {
					b.StopTimer()
					env.clock.Advance(25 * time.Hour) // past every limit
					b.StartTimer()
				}
				p := br.post("/login/email", url.Values{"email": {email}})
				if p.status != http.StatusSeeOther {
					b.Fatalf("request %d: %d", i, p.status)
				}
				b.StopTimer()
				env.clock.Advance(61 * time.Second) // past the per-network limit
				if err := env.app.HandleMagicRequests(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
