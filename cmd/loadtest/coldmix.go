package main

import (
	"context"
	"math/rand/v2"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// coldQueries builds a mix of at least want distinct queries from the books
// of the database under test: prefixes, whole words, title word + author,
// and typos (a letter dropped or two swapped). The fixed mix repeats 43
// queries, which a result cache answers from memory after the first round;
// cycling through more distinct queries than the cache holds measures what
// a search really costs.
func coldQueries(ctx context.Context, db string, want int) ([]string, error) {
	h, err := openDatabase(db)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	rows, err := h.QueryContext(ctx, `SELECT title, authors FROM books ORDER BY ratings_count DESC LIMIT $1`, want)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rng := rand.New(rand.NewPCG(1, 2)) // the same mix on every run
	seen := map[string]bool{}
	var out []string
	add := func(q string) {
		q = strings.TrimSpace(q)
		if q != "" && !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	for rows.Next() {
		var title, authors string
		if err := rows.Scan(&title, &authors); err != nil {
			return nil, err
		}
		if len(out) >= want {
			break
		}
		tw, aw := words(title), words(authors)
		if len(tw) == 0 {
			continue
		}
		for range 2 {
			addVariant(rng, tw, aw, add)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	paths := make([]string, len(out))
	for i, q := range out {
		paths[i] = "/search?" + url.Values{"q": {q}}.Encode()
	}
	return paths, nil
}

// addVariant adds one query a person might type looking for the book with
// title words tw and author words aw.
func addVariant(rng *rand.Rand, tw, aw []string, add func(string)) {
	w := tw[rng.IntN(len(tw))]
	switch rng.IntN(5) {
	case 0: // a prefix, as typed on the way
		add(prefix(w, 2+rng.IntN(3)))
	case 1: // a whole word
		add(w)
	case 2: // two words, the last unfinished
		if len(aw) > 0 {
			add(w + " " + prefix(aw[len(aw)-1], 3+rng.IntN(3)))
		} else {
			add(w)
		}
	case 3: // a typo
		add(typo(rng, w))
	case 4: // the first two title words
		if len(tw) > 1 {
			add(tw[0] + " " + tw[1])
		} else {
			add(w)
		}
	}
}

func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

func prefix(w string, n int) string {
	if utf8.RuneCountInString(w) <= n {
		return w
	}
	return string([]rune(w)[:n])
}

func typo(rng *rand.Rand, w string) string {
	r := []rune(w)
	if len(r) < 4 {
		return w
	}
	i := 1 + rng.IntN(len(r)-2)
	if rng.IntN(2) == 0 {
		return string(append(r[:i:i], r[i+1:]...)) // drop a letter
	}
	r[i], r[i+1] = r[i+1], r[i] // swap two
	return string(r)
}
