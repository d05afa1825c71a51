package handlers

import (
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"shelf/static"
	"shelf/store/catalog"
)

// HEAD answers wherever GET does, with GET's status and headers and no
// body.
func TestHeadLikeGet(t *testing.T) {
	env := newTestEnv(t)
	env.addBooks(catalog.Book{Title: "Dune", Authors: "Frank Herbert", Year: 1965, ISBN13: "9780441013593", Language: "eng"})
	paths := []string{"/healthz", "/", "/login", "/books/1", static.Path("app.css")}
	for _, path := range paths {
		for _, enc := range []string{"identity", "gzip"} {
			get := env.fetchEncoded(http.MethodGet, path, enc)
			head := env.fetchEncoded(http.MethodHead, path, enc)
			if get.status != http.StatusOK || head.status != http.StatusOK {
				t.Errorf("%s (%s): GET %d, HEAD %d; want 200", path, enc, get.status, head.status)
				continue
			}
			if head.body != "" {
				t.Errorf("HEAD %s (%s) has a body of %d bytes", path, enc, len(head.body))
			}
			for _, name := range []string{"Content-Type", "Content-Encoding", "Cache-Control", "Vary", "Content-Security-Policy", "ETag"} {
				if g, h := get.header.Values(name), head.header.Values(name); !slices.Equal(g, h) {
					t.Errorf("%s (%s): %s is %q for GET, %q for HEAD", path, enc, name, g, h)
				}
			}
			// Pages carry a random CSRF token, which changes the length of
			// their compressed form; uncompressed, and for static files,
			// the lengths are equal.
			if enc == "identity" || path == paths[len(paths)-1] {
				if g, h := get.header.Get("Content-Length"), head.header.Get("Content-Length"); g != h {
					t.Errorf("%s (%s): Content-Length %q for GET, %q for HEAD", path, enc, g, h)
				}
			}
		}
	}
}

// On the wire, nothing follows a HEAD answer's headers, for a page larger
// than net/http's buffer too.
func TestHeadSendsNoBody(t *testing.T) {
	env := newTestEnv(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "HEAD /login HTTP/1.1\r\nHost: shelf.test\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n")
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := strings.Cut(string(raw), "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.1 200") || body != "" {
		t.Fatalf("HEAD /login on the wire:\n%s\n--- then %d bytes", head, len(body))
	}
	if get := env.browser().get("/login"); len(get.body) <= 2048 {
		t.Fatalf("GET /login is %d bytes, too small to show this", len(get.body))
	}
}

// fetchEncoded sends a request without a cookie jar, asking for encoding enc (so
// the client neither adds nor undoes compression).
func (env *testEnv) fetchEncoded(method, path, enc string) page {
	env.t.Helper()
	req, err := http.NewRequest(method, env.srv.URL+path, nil)
	if err != nil {
		env.t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", enc)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		env.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body []byte
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		body = append(body, buf[:n]...)
		if err != nil {
			break
		}
	}
	return page{status: resp.StatusCode, body: string(body), header: resp.Header}
}
