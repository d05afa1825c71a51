package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Synthetic books fill a catalog for load tests. Book number k (counting
// every synthetic book the catalog has had) is always the same book: its
// random numbers are seeded with k, so the same N on the same catalog gives
// the same books, and a second run appends N more (numbers N+1 to 2N)
// rather than repeating the first. Titles follow the patterns of real titles
// from the bundled catalog with its words; authors combine its first and
// last names; years and languages are drawn from it; ratings counts are
// log-normal, so most books have a few ratings and a few have millions.
// Synthetic books have no ISBN; their dedupe key is "synthetic:" and the
// zero-padded number.

const (
	syntheticKeyPrefix = "synthetic:"
	syntheticSeed      = 0x5e1f_b00c
	syntheticBatch     = 1000
)

// ImportSynthetic appends n generated books, all visible at once when it
// is done (see bulkInsert), and returns how many it added. progress, when set,
// is called every 1,000 books.
func (c *Catalog) ImportSynthetic(ctx context.Context, n int, progress func(done int)) (int, error) {
	if n <= 0 {
		return 0, fmt.Errorf("synthetic import: want a positive number of books, not %d", n)
	}
	v, err := syntheticVocabulary()
	if err != nil {
		return 0, err
	}
	added, _, err := c.bulkInsert(ctx, true, func(ctx context.Context, s loader) error {
		if room := MaxBookID - (s.firstID() - 1); int64(n) > room {
			return fmt.Errorf("%w: room for %d more books, not %d (ids stop at %d)", ErrCatalogFull, max(room, 0), n, MaxBookID)
		}
		var last sql.NullString
		if err := s.queryRow(ctx, `SELECT max(dedupe_key) FROM books WHERE dedupe_key >= $1 AND dedupe_key < $2`,
			syntheticKeyPrefix, syntheticKeyPrefix[:len(syntheticKeyPrefix)-1]+";").Scan(&last); err != nil {
			return err
		}
		var start int64 = 1
		if last.Valid {
			k, err := strconv.ParseInt(strings.TrimPrefix(last.String, syntheticKeyPrefix), 10, 64)
			if err != nil {
				return fmt.Errorf("unexpected dedupe key %q", last.String)
			}
			start = k + 1
		}

		// Generate on another goroutine while this one inserts.
		genCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		batches := make(chan []bookRow, 4)
		go func() {
			defer close(batches)
			for i := 0; i < n; i += syntheticBatch {
				batch := make([]bookRow, min(syntheticBatch, n-i))
				for j := range batch {
					batch[j] = v.book(start + int64(i+j))
				}
				select {
				case batches <- batch:
				case <-genCtx.Done():
					return
				}
			}
		}()
		done := 0
		for batch := range batches {
			for i := range batch {
				if err := s.add(ctx, batch[i]); err != nil {
					return err
				}
			}
			done += len(batch)
			if progress != nil {
				progress(done)
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return 0, fmt.Errorf("synthetic import: %w (nothing was imported)", err)
	}
	return added, nil
}

// synthVocab is what synthetic books are made of, all from the bundled catalog.
type synthVocab struct {
	templates   [][]string // title patterns: words, with "\x00" + punctuation for a slot
	words       []string   // words that fill slots, repeated as often as in real titles
	first, last []string   // author names
	years       []int
	languages   []string
}

var syntheticVocabulary = sync.OnceValues(buildSynthVocab)

// synthStopwords stay as they are in title patterns; other words become slots.
var synthStopwords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an the of and or in on at to for with from by into over under
		about after before without within between my your his her its our their i you he she we they
		it is are be as not no all me us this that what who how why when where but so up out one two`) {
		synthStopwords[w] = true
	}
}

func buildSynthVocab() (*synthVocab, error) {
	zr, err := openBundled()
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	p, err := newCSVBooks(zr)
	if err != nil {
		return nil, fmt.Errorf("bundled catalog: %w", err)
	}
	v := &synthVocab{}
	seenTemplate := map[string]bool{}
	seenFirst, seenLast := map[string]bool{}, map[string]bool{}
	for {
		b, _, reason, err := p.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("bundled catalog: %w", err)
		}
		if reason != "" {
			continue
		}
		if b.year != 0 {
			v.years = append(v.years, b.year)
		}
		v.languages = append(v.languages, b.language)
		if tmpl, words, ok := titlePattern(b.title); ok {
			v.words = append(v.words, words...)
			if key := strings.Join(tmpl, " "); !seenTemplate[key] {
				seenTemplate[key] = true
				v.templates = append(v.templates, tmpl)
			}
		}
		for _, name := range strings.Split(b.authors, ", ") {
			f := strings.Fields(name)
			if len(f) < 2 || !isNameWord(f[0]) || !isNameWord(f[len(f)-1]) {
				continue
			}
			if first := f[0]; !seenFirst[first] {
				seenFirst[first] = true
				v.first = append(v.first, first)
			}
			if last := f[len(f)-1]; !seenLast[last] {
				seenLast[last] = true
				v.last = append(v.last, last)
			}
		}
	}
	if len(v.templates) == 0 || len(v.words) == 0 || len(v.first) == 0 || len(v.last) == 0 || len(v.years) == 0 {
		return nil, errors.New("bundled catalog: too few books to generate synthetic ones")
	}
	return v, nil
}

// titlePattern turns a real title into a pattern, dropping any series in
// parentheses: "The Hunger Games (The Hunger Games, #1)" gives
// ["The", slot, slot] and the words ["Hunger", "Games"]. Titles with other
// punctuation or digits, more than six words or more than three slots are
// skipped.
func titlePattern(title string) (tmpl, words []string, ok bool) {
	if i := strings.Index(title, " ("); i > 0 && strings.HasSuffix(title, ")") {
		title = title[:i]
	}
	fields := strings.Fields(title)
	if len(fields) == 0 || len(fields) > 6 {
		return nil, nil, false
	}
	for _, f := range fields {
		word, punct := f, ""
		if last := f[len(f)-1]; last == ':' || last == ',' {
			word, punct = f[:len(f)-1], f[len(f)-1:]
		}
		if !isTitleWord(word) || (len(word) < 3 && !synthStopwords[strings.ToLower(word)]) {
			return nil, nil, false
		}
		if synthStopwords[strings.ToLower(word)] {
			tmpl = append(tmpl, f)
			continue
		}
		tmpl = append(tmpl, "\x00"+punct)
		words = append(words, word)
	}
	return tmpl, words, len(words) > 0 && len(words) <= 3
}

func isTitleWord(w string) bool {
	if w == "" {
		return false
	}
	for _, r := range w {
		if !unicode.IsLetter(r) && r != '\'' && r != '-' {
			return false
		}
	}
	return unicode.IsLetter([]rune(w)[0])
}

func isNameWord(w string) bool {
	letters := 0
	for _, r := range w {
		switch {
		case unicode.IsLetter(r):
			letters++
		case r == '.' || r == '-' || r == '\'':
		default:
			return false
		}
	}
	return letters > 0
}

// book returns synthetic book number k.
func (v *synthVocab) book(k int64) bookRow {
	r := rand.New(rand.NewPCG(syntheticSeed, uint64(k)))
	var t strings.Builder
	tmpl := v.templates[r.IntN(len(v.templates))]
	for i, tok := range tmpl {
		if i > 0 {
			t.WriteByte(' ')
		}
		if strings.HasPrefix(tok, "\x00") {
			t.WriteString(v.words[r.IntN(len(v.words))])
			t.WriteString(tok[1:])
		} else {
			t.WriteString(tok)
		}
	}
	if r.IntN(8) == 0 { // part of a series
		fmt.Fprintf(&t, " (%s %s, #%d)", v.words[r.IntN(len(v.words))], v.words[r.IntN(len(v.words))], 1+r.IntN(7))
	}
	authors := v.first[r.IntN(len(v.first))] + " " + v.last[r.IntN(len(v.last))]
	if r.IntN(10) == 0 {
		authors += ", " + v.first[r.IntN(len(v.first))] + " " + v.last[r.IntN(len(v.last))]
	}
	rating := math.Round(min(5, max(1, 3.9+0.35*r.NormFloat64()))*100) / 100
	count := int64(math.Exp(4 + 2.2*r.NormFloat64()))
	return bookRow{
		title:     t.String(),
		authors:   authors,
		year:      v.years[r.IntN(len(v.years))],
		language:  v.languages[r.IntN(len(v.languages))],
		rating:    rating,
		hasRating: true,
		count:     min(count, 5_000_000),
		key:       fmt.Sprintf("%s%010d", syntheticKeyPrefix, k),
	}
}
