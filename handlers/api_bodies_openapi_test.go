package handlers

import (
	"net/http"
	"strings"
	"testing"
)

// Bodies are capped and multipart refused before any route runs, whatever
// the method: every operation of the API may answer 413 and 415, and the
// document says so.
func TestEveryOperationDocumentsRefusedBodies(t *testing.T) {
	env := newAPITestEnv(t)
	doc, _ := loadOpenAPI(t)
	big := strings.Repeat("x", maxBodyBytes+1)
	n := 0
	for path, item := range doc.Paths.Map() {
		path = strings.NewReplacer("{id}", "1", "{book_id}", "1").Replace(path)
		for method := range item.Operations() {
			n++
			if r := callAPI(t, env, "", apiRequest{method: method, path: path, body: big}); r.status != http.StatusRequestEntityTooLarge {
				t.Errorf("%s %s with a body too large: %d", method, path, r.status)
			}
			r := callAPI(t, env, "", apiRequest{method: method, path: path, body: "--x--\r\n", contentType: "multipart/form-data; boundary=x"})
			if r.status != http.StatusUnsupportedMediaType {
				t.Errorf("%s %s with a multipart body: %d", method, path, r.status)
			}
		}
	}
	if n < 16 {
		t.Fatalf("only %d operations", n)
	}
}
