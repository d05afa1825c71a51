// Package qrcode draws QR codes as inline SVG: one <path> of dark
// modules, not a shape per module, so a code of a few thousand modules is
// a few kilobytes of markup and renders crisply at any size.
package qrcode

import (
	"html"
	"strconv"

	"github.com/boombuler/barcode/qr"
)

// QuietZone is the light margin around the code, in modules, that the
// standard asks for: readers find the code by it.
const QuietZone = 4

// Modules returns text's QR code (error correction level M) as rows of
// modules, true for dark, without the quiet zone.
func Modules(text string) ([][]bool, error) {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return nil, err
	}
	b := code.Bounds()
	rows := make([][]bool, b.Dy())
	for y := range rows {
		rows[y] = make([]bool, b.Dx())
		for x := range rows[y] {
			r, _, _, _ := code.At(b.Min.X+x, b.Min.Y+y).RGBA()
			rows[y][x] = r < 0x8000
		}
	}
	return rows, nil
}

// SVG draws text's QR code. Each run of dark modules in a row is one
// rectangle of the path. The code is labelled by a <title> with the given
// id (unique on the page), and px is its width and height in CSS pixels.
func SVG(text, titleID, title string, px int) (string, error) {
	rows, err := Modules(text)
	if err != nil {
		return "", err
	}
	return draw(rows, titleID, title, px), nil
}

func draw(rows [][]bool, titleID, title string, px int) string {
	size := strconv.Itoa(len(rows) + 2*QuietZone)
	b := make([]byte, 0, 256+len(rows)*len(rows))
	b = append(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 `...)
	b = append(b, size+" "+size...)
	b = append(b, `" width="`...)
	b = strconv.AppendInt(b, int64(px), 10)
	b = append(b, `" height="`...)
	b = strconv.AppendInt(b, int64(px), 10)
	b = append(b, `" role="img" aria-labelledby="`...)
	b = append(b, html.EscapeString(titleID)...)
	b = append(b, `" shape-rendering="crispEdges"><title id="`...)
	b = append(b, html.EscapeString(titleID)...)
	b = append(b, `">`...)
	b = append(b, html.EscapeString(title)...)
	b = append(b, `</title><rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="`...)
	for y, row := range rows {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			end := x
			for end < len(row) && row[end] {
				end++
			}
			b = append(b, 'M')
			b = strconv.AppendInt(b, int64(x+QuietZone), 10)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(y+QuietZone), 10)
			b = append(b, 'h')
			b = strconv.AppendInt(b, int64(end-x), 10)
			b = append(b, "v1h-"...)
			b = strconv.AppendInt(b, int64(end-x), 10)
			b = append(b, 'z')
			x = end
		}
	}
	b = append(b, `"/></svg>`...)
	return string(b)
}
