package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// Every API request's input is checked before anything acts on it: a body
// or query that is not exactly what the route takes is refused as a whole,
// with a problem naming what is wrong, so nothing is ever half-applied.

// apiProblem is an error an API handler returns: the problem to answer.
type apiProblem struct{ p problem }

func (e *apiProblem) Error() string {
	return fmt.Sprintf("%d %s: %s", e.p.Status, e.p.Type, e.p.Detail)
}

// badRequest is a problem with the request as a whole (400).
func badRequest(typ, detail string) *apiProblem {
	return &apiProblem{problem{Status: http.StatusBadRequest, Type: typ, Detail: detail}}
}

// invalidFields is a body or query whose fields are wrong (422 for a body,
// 400 for a query), each named with what is wrong with it.
func invalidFields(status int, fields []fieldProblem) *apiProblem {
	detail := "A field of the request is not valid."
	if len(fields) > 1 {
		detail = "Fields of the request are not valid."
	}
	return &apiProblem{problem{Status: status, Type: "invalid-fields", Detail: detail, Errors: fields}}
}

func notFoundProblem(detail string) *apiProblem {
	return &apiProblem{problem{Status: http.StatusNotFound, Type: "not-found", Detail: detail}}
}

// apiHandler adapts a handler that may fail with an apiProblem: the
// problem is answered as such, any other error goes to the error handler
// (which answers problems too, and logs what is unexpected).
func apiHandler(h func(c echo.Context) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := h(c)
		var ap *apiProblem
		if errors.As(err, &ap) {
			return writeProblem(c, ap.p)
		}
		return err
	}
}

// jsonMember is one member of a request body's object, in the order sent.
type jsonMember struct {
	Name  string
	Value any // string, json.Number, bool, nil, []any or map[string]any
}

// readJSONObject reads the request's body, which must be one JSON object
// sent as application/json, and returns its members. It refuses another
// content type (415), a body past the size cap (413), malformed or
// trailing data, invalid UTF-8 and a member named twice (400).
func readJSONObject(c echo.Context) ([]jsonMember, error) {
	req := c.Request()
	mt, params, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return nil, &apiProblem{problem{Status: http.StatusUnsupportedMediaType, Type: "unsupported-media-type",
			Detail: "Send the body as application/json."}}
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return nil, &apiProblem{problem{Status: http.StatusUnsupportedMediaType, Type: "unsupported-media-type",
				Detail: "Send the body as application/json, in UTF-8."}}
		}
	}
	body, err := io.ReadAll(req.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &apiProblem{problem{Status: http.StatusRequestEntityTooLarge, Type: "body-too-large",
			Detail: fmt.Sprintf("The body may be at most %d bytes.", tooLarge.Limit)}}
	}
	if err != nil {
		return nil, badRequest("malformed-body", "The body could not be read.")
	}
	return parseJSONObject(body)
}

func parseJSONObject(body []byte) ([]jsonMember, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("malformed-json", "The body is empty; send a JSON object.")
	}
	if !utf8.Valid(body) {
		return nil, badRequest("malformed-json", "The body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	malformed := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return badRequest("malformed-json", fmt.Sprintf("The body is not valid JSON: %s (at byte %d).", strings.TrimPrefix(se.Error(), "json: "), se.Offset))
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return badRequest("malformed-json", "The body is not valid JSON: it ends too early.")
		}
		return badRequest("malformed-json", "The body is not valid JSON.")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, badRequest("malformed-json", "The body must be a JSON object.")
	}
	var members []jsonMember
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(err)
		}
		name, _ := tok.(string)
		for _, m := range members {
			if m.Name == name {
				return nil, invalidFields(http.StatusUnprocessableEntity, []fieldProblem{{Field: name, Detail: "is given more than once"}})
			}
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, malformed(err)
		}
		members = append(members, jsonMember{Name: name, Value: v})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("malformed-json", "The body has data after its JSON object.")
	}
	return members, nil
}

// jsonTypeName names a decoded JSON value's type, for problems.
func jsonTypeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return "an integer"
		}
		return "a number"
	case []any:
		return "an array"
	}
	return "an object"
}

// bodyFields checks a body's members against the fields a route takes and
// their types, collecting every problem.
type bodyFields struct {
	allowed []string
	errs    []fieldProblem
}

func (f *bodyFields) fail(field, detail string) {
	f.errs = append(f.errs, fieldProblem{Field: field, Detail: detail})
}

// known reports whether m is one of the route's fields, noting it if not.
func (f *bodyFields) known(m jsonMember) bool {
	for _, a := range f.allowed {
		if a == m.Name {
			return true
		}
	}
	f.fail(m.Name, "is not a field of this request (it takes "+strings.Join(f.allowed, ", ")+")")
	return false
}

// str reads m as a string (null is refused unless nullable; then ok is
// set and null reports it).
func (f *bodyFields) str(m jsonMember, nullable bool) (s string, null, ok bool) {
	switch v := m.Value.(type) {
	case string:
		return v, false, true
	case nil:
		if nullable {
			return "", true, true
		}
	}
	want := "must be a string"
	if nullable {
		want = "must be a string or null"
	}
	f.fail(m.Name, want+", not "+jsonTypeName(m.Value))
	return "", false, false
}

// integer reads m as a whole number within [lo, hi] (or null, if nullable).
func (f *bodyFields) integer(m jsonMember, lo, hi int64, nullable bool) (n int64, null, ok bool) {
	want := "must be an integer"
	if nullable {
		want = "must be an integer or null"
	}
	switch v := m.Value.(type) {
	case nil:
		if nullable {
			return 0, true, true
		}
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			// 3.0 is a whole number written as a float: still an integer
			// in JSON's data model, as JSON Schema has it.
			x, ferr := strconv.ParseFloat(string(v), 64)
			if ferr != nil || x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				break
			}
			n = int64(x)
		}
		if n < lo || n > hi {
			f.fail(m.Name, fmt.Sprintf("must be between %d and %d", lo, hi))
			return 0, false, false
		}
		return n, false, true
	}
	f.fail(m.Name, want+", not "+jsonTypeName(m.Value))
	return 0, false, false
}

// problem returns the collected problems as one 422, or nil.
func (f *bodyFields) problem() error {
	if len(f.errs) == 0 {
		return nil
	}
	return invalidFields(http.StatusUnprocessableEntity, f.errs)
}

// queryParams checks a request's query string: only the named parameters,
// each at most once, each well-formed.
type queryParams struct {
	values url.Values
	errs   []fieldProblem
}

// readQuery parses the query, refusing parameters the route does not take.
func readQuery(c echo.Context, allowed ...string) (*queryParams, error) {
	values, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return nil, badRequest("malformed-query", "The query string is not well-formed.")
	}
	q := &queryParams{values: values}
	for name, vs := range values {
		known := false
		for _, a := range allowed {
			known = known || a == name
		}
		switch {
		case !known && len(allowed) == 0:
			q.fail(name, "is not a parameter of this request (it takes none)")
		case !known:
			q.fail(name, "is not a parameter of this request (it takes "+strings.Join(allowed, ", ")+")")
		case len(vs) > 1:
			q.fail(name, "is given more than once")
		}
	}
	return q, nil
}

func (q *queryParams) fail(name, detail string) {
	q.errs = append(q.errs, fieldProblem{Field: name, Detail: detail})
}

// str returns the parameter's value ("" when absent) and whether it was
// given.
func (q *queryParams) str(name string) (string, bool) {
	vs, ok := q.values[name]
	if !ok || len(vs) != 1 {
		return "", ok
	}
	return vs[0], true
}

// integer reads a decimal parameter within [lo, hi], def when absent.
func (q *queryParams) integer(name string, def, lo, hi int) int {
	s, ok := q.str(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || strconv.Itoa(n) != s || n < lo || n > hi {
		q.fail(name, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
		return def
	}
	return n
}

// problem returns the collected problems as one 400, or nil.
func (q *queryParams) problem() error {
	if len(q.errs) == 0 {
		return nil
	}
	return invalidFields(http.StatusBadRequest, q.errs)
}

// pathID reads a route's id parameter: the canonical decimal form of a
// whole number (400 otherwise), and 404 when it is outside [1, max],
// where nothing can have it.
func pathID(c echo.Context, name string, max int64, what string) (int64, error) {
	raw := c.Param(name)
	if raw == "" || len(raw) > 1 && raw[0] == '0' || strings.Trim(raw, "0123456789") != "" {
		return 0, invalidFields(http.StatusBadRequest, []fieldProblem{{Field: name,
			Detail: fmt.Sprintf("must be a whole number from 1 to %d", max)}})
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 || id > max {
		return 0, notFoundProblem("There is no " + what + " with this id.")
	}
	return id, nil
}
