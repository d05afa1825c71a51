// Package static embeds Shelf's browser assets (vendored htmx, CSS, the
// small app script) and serves them under content-hashed names, so they can
// be cached forever and still change the moment their content does.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed *.js *.css *.svg
var files embed.FS

// Prefix is the URL path every asset is served under.
const Prefix = "/static/"

type asset struct {
	body    []byte
	gzipped []byte // nil when compression does not pay
	ctype   string
	etag    string
}

var (
	byName   = map[string]string{} // "app.css" -> "app.1a2b3c4d5e.css"
	byHashed = map[string]*asset{} // "app.1a2b3c4d5e.css" -> asset
)

func init() {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		body, err := files.ReadFile(e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		h := hex.EncodeToString(sum[:])[:10]
		ext := path.Ext(e.Name())
		hashed := strings.TrimSuffix(e.Name(), ext) + "." + h + ext
		byName[e.Name()] = hashed
		a := &asset{body: body, ctype: mime.TypeByExtension(ext), etag: `"` + h + `"`}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if buf.Len() < len(body)*9/10 {
			a.gzipped = buf.Bytes()
		}
		byHashed[hashed] = a
	}
}

// Path returns the URL of the named asset ("app.css") under its hashed name.
// It panics on an unknown name: that is a programming error caught by tests.
func Path(name string) string {
	h, ok := byName[name]
	if !ok {
		panic("static: no asset named " + name)
	}
	return Prefix + h
}

// Handler serves the assets by hashed name, precompressed when the client
// accepts gzip, with a year-long immutable cache lifetime.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, Prefix)
		a, ok := byHashed[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", a.etag)
		h.Add("Vary", "Accept-Encoding")
		if r.Header.Get("If-None-Match") == a.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		body := a.body
		if a.gzipped != nil && acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			body = a.gzipped
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(body)
		}
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}
