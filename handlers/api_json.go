package handlers

import (
	"bytes"
	"math"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v4"
)

// The API's hottest answers (search pages) are encoded by appending to a
// pooled buffer rather than through reflection: the same bytes
// encoding/json writes (TestAppendJSONStringMatchesEncodingJSON), a few
// allocations instead of dozens.

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it: quotes, backslashes, control characters, <, > and &, and
// U+2028 and U+2029; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendJSONFloat appends f as encoding/json writes a float64.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

func appendJSONBool(b []byte, v bool) []byte {
	if v {
		return append(b, "true"...)
	}
	return append(b, "false"...)
}

// encodedJSON is an API answer encoded once and kept: plain, and gzipped
// when it is worth compressing.
type encodedJSON struct {
	plain, gzipped []byte
}

// newEncodedJSON keeps a copy of body, and of its gzipped form.
func newEncodedJSON(body []byte) (*encodedJSON, error) {
	e := &encodedJSON{plain: bytes.Clone(body)}
	if len(body) < minGzipBytes {
		return e, nil
	}
	gz := bytes.NewBuffer(make([]byte, 0, len(body)/3))
	w := gzipWriters.Get().(*gzip.Writer)
	w.Reset(gz)
	w.Write(body)
	err := w.Close()
	gzipWriters.Put(w)
	if err != nil {
		return nil, err
	}
	e.gzipped = gz.Bytes()
	return e, nil
}

// write sends the answer, gzipped when the client accepts it. The
// compress middleware leaves these requests alone (see isSelfCompressed).
func (e *encodedJSON) write(c echo.Context) error {
	h := c.Response().Header()
	h.Add("Vary", "Accept-Encoding")
	if e.gzipped != nil && acceptsGzip(c.Request()) {
		h.Set("Content-Encoding", "gzip")
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, e.gzipped)
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, e.plain)
}
