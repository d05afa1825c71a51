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
	ta := newTestApp(t)
	ta.addBooks(catalog.Book{Title: "Dune", Authors: "Frank Herbert", Year: 1965, ISBN13: "9780441013593", Language: "eng"})
	paths := []string{"/healthz", "/", "/login", "/books/1", static.Path("app.css")}
	for _, path := range paths {
		for _, enc := range []string{"identity", "gzip"} {
			get := ta.fetchEncoded(http.MethodGet, path, enc)
			head := ta.fetchEncoded(http.MethodHead, path, enc)
			if get.Status != http.StatusOK || head.Status != http.StatusOK {
				t.Errorf("%s (%s): GET %d, HEAD %d; want 200", path, enc, get.Status, head.Status)
				continue
			}
			if head.Body != "" {
				t.Errorf("HEAD %s (%s) has a body of %d bytes", path, enc, len(head.Body))
			}
			for _, name := range []string{"Content-Type", "Content-Encoding", "Cache-Control", "Vary", "Content-Security-Policy", "ETag"} {
				if g, h := get.Header.Values(name), head.Header.Values(name); !slices.Equal(g, h) {
					t.Errorf("%s (%s): %s is %q for GET, %q for HEAD", path, enc, name, g, h)
				}
			}
			// Pages carry a random CSRF token, which changes the length of
			// their compressed form; uncompressed, and for static files,
			// the lengths are equal.
			if enc == "identity" || path == paths[len(paths)-1] {
				if g, h := get.Header.Get("Content-Length"), head.Header.Get("Content-Length"); g != h {
					t.Errorf("%s (%s): Content-Length %q for GET, %q for HEAD", path, enc, g, h)
				}
			}
		}
	}
}

// On the wire, nothing follows a HEAD answer's headers, for a page larger
// than net/http's buffer too.
func TestHeadSendsNoBody(t *testing.T) {
	ta := newTestApp(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(ta.Server.URL, "http://"))
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
	if get := ta.get("/login"); len(get.Body) <= 2048 {
		t.Fatalf("GET /login is %d bytes, too small to show this", len(get.Body))
	}
}

// fetchEncoded sends a request without a cookie jar, asking for encoding enc (so
// the client neither adds nor undoes compression).
func (ta *testApp) fetchEncoded(method, path, enc string) testResponse {
	ta.t.Helper()
	req, err := http.NewRequest(method, ta.Server.URL+path, nil)
	if err != nil {
		ta.t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", enc)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		ta.t.Fatal(err)
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
	return testResponse{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
}
