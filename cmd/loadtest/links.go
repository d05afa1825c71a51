package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"shelf/store"
	"shelf/store/accounts"
	"shelf/store/links"
)

// The short-link mix: GET /s/{id} over -links links, half to Shelf's own
// pages (answered with a redirect) and half to outside pages (answered,
// for a visitor who does not come from Shelf, with the interstitial).

// linkOwner owns the links the load test makes; it is created once per
// database and reused with its links.
const linkOwner = "loadtest-links@example.com"

// shortLinks are the ids of the load test's links, by kind.
type shortLinks struct {
	internal, external []string
}

// seedLinks makes sure db holds n links of the load test's owner (half
// internal, half external) and returns their ids.
func seedLinks(ctx context.Context, db string, n int) (shortLinks, error) {
	var out shortLinks
	d, err := store.Open(ctx, db)
	if err != nil {
		return out, err
	}
	defer d.Close()
	acc := accounts.New(d, accounts.Config{})
	owner, err := acc.UserByEmail(ctx, linkOwner)
	var id int64
	switch {
	case err == nil:
		id = owner.ID
	case errors.Is(err, store.ErrNotFound):
		if id, err = acc.CreateAdmin(ctx, linkOwner, "loadtest-links-password-1"); err != nil {
			return out, fmt.Errorf("create the links' owner: %w", err)
		}
	default:
		return out, err
	}
	base, _ := url.Parse("http://shelf.invalid")
	ls := links.New(d, base, time.Now)
	have, err := ls.List(ctx, id)
	if err != nil {
		return out, err
	}
	for _, l := range have {
		if l.External {
			out.external = append(out.external, l.ID)
		} else {
			out.internal = append(out.internal, l.ID)
		}
	}
	for i := len(have); i < n; i++ {
		target := "/books/" + strconv.Itoa(1+i%1000)
		if i%2 == 1 {
			target = "https://example.com/reviews/" + strconv.Itoa(i)
		}
		l, err := ls.Create(ctx, id, target, "")
		if err != nil {
			return out, fmt.Errorf("create link %d: %w", i, err)
		}
		if l.External {
			out.external = append(out.external, l.ID)
		} else {
			out.internal = append(out.internal, l.ID)
		}
	}
	return out, nil
}

// linkPaths is /s/{id} for each id.
func linkPaths(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "/s/" + id
	}
	return out
}

// checkLinks asks for one link of each kind, without following redirects,
// and fails unless the internal one redirects and the external one shows
// the interstitial: otherwise the load runs would measure something else.
func checkLinks(ctx context.Context, base string, sl shortLinks) error {
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct {
		ids  []string
		want int
	}{{sl.internal, http.StatusFound}, {sl.external, http.StatusOK}} {
		if len(c.ids) == 0 {
			return errors.New("no links of one kind")
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/s/"+c.ids[0], nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			return fmt.Errorf("GET /s/%s: %d, want %d", c.ids[0], resp.StatusCode, c.want)
		}
	}
	return nil
}
