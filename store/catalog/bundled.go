package catalog

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"fmt"
	"io"
)

// bundledCatalog is the catalog a new Shelf starts with: the 10,000 most
// rated books on Goodreads, from goodbooks-10k by Zygmunt Zając
// (https://github.com/zygmuntz/goodbooks-10k), licensed CC BY-SA 4.0. It is
// trimmed to the columns Shelf uses (title, authors,
// original_publication_year, isbn13, language_code, average_rating,
// ratings_count), with ISBN-13 check digits recovered, and gzipped; see
// bundled/README.md. Regenerate it with go generate.
//
//go:generate go test -run TestBundledCatalogMatchesSource -update-bundled .
//go:embed bundled/goodbooks-10k.csv.gz
var bundledCatalog []byte

// openBundled returns the bundled catalog as CSV.
func openBundled() (io.ReadCloser, error) {
	zr, err := gzip.NewReader(bytes.NewReader(bundledCatalog))
	if err != nil {
		return nil, fmt.Errorf("bundled catalog: %w", err)
	}
	return zr, nil
}

// ImportBundled imports the bundled goodbooks-10k catalog. Books already
// there are skipped, so running it twice adds nothing.
func (c *Catalog) ImportBundled(ctx context.Context) (ImportReport, error) {
	zr, err := openBundled()
	if err != nil {
		return ImportReport{}, err
	}
	defer zr.Close()
	return c.Import(ctx, zr, ImportOptions{})
}
