package search

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"shelf/store/catalog"
)

// vocabulary is every indexed word with the number of books containing it,
// held in memory for typo and substring expansion. It is immutable once
// loaded except for its expansion cache; an import swaps in a new one.
type vocabulary struct {
	// blob is "\x00term\x00term\x00...\x00" with terms in byte order;
	// terms[i] is a substring of it, so the words are stored once.
	blob  string
	terms []string
	offs  []int32 // offs[i]: where terms[i] starts in blob
	docs  []int32
	books int64 // catalog size when loaded (the empty query shows it)

	trie  *termTrie  // the terms as a trie, for typo expansion
	grams *gramIndex // the terms by trigram, for substring expansion

	expansions *expansions // see expand

	mu          sync.Mutex
	suggestions map[string]string // see suggest; "" for none
}

// maxCachedWords bounds the expansion cache; when full it starts over.
const maxCachedWords = 20000

func readVocabulary(ctx context.Context, db *sql.DB) (*vocabulary, error) {
	v := &vocabulary{expansions: newExpansions()}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM books WHERE `+catalog.SQLVisibleBook).Scan(&v.books); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT term, docs FROM search_terms ORDER BY term`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var b strings.Builder
	b.WriteByte(0)
	var terms []string // temporary copies, replaced by blob substrings below
	for rows.Next() {
		var term string
		var n int64
		if err := rows.Scan(&term, &n); err != nil {
			return nil, err
		}
		if term == "" || strings.IndexByte(term, 0) >= 0 {
			continue
		}
		v.offs = append(v.offs, int32(b.Len()))
		b.WriteString(term)
		b.WriteByte(0)
		terms = append(terms, term)
		v.docs = append(v.docs, int32(min(n, 1<<31-1)))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	v.blob = b.String()
	v.terms = make([]string, len(terms))
	for i := range terms {
		end := len(v.blob) - 1
		if i+1 < len(v.offs) {
			end = int(v.offs[i+1]) - 1
		}
		v.terms[i] = v.blob[v.offs[i]:end]
	}
	if !sort.StringsAreSorted(v.terms) {
		// search_terms is a WITHOUT ROWID table keyed by term, so this does
		// not happen; fall back to a fresh, sorted copy if it ever does.
		return sortedVocabulary(v.books, terms, v.docs), nil
	}
	v.indexTerms()
	return v, nil
}

// indexTerms builds the trie and trigram index of the terms.
func (v *vocabulary) indexTerms() {
	v.trie = newTermTrie(v.terms)
	v.grams = newGramIndex(v.terms)
}

// sortedVocabulary builds a vocabulary from unsorted terms and their counts.
func sortedVocabulary(books int64, terms []string, docs []int32) *vocabulary {
	idx := make([]int, len(terms))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return terms[idx[a]] < terms[idx[b]] })
	v := &vocabulary{books: books, expansions: newExpansions()}
	var b strings.Builder
	b.WriteByte(0)
	for _, i := range idx {
		if terms[i] == "" || strings.IndexByte(terms[i], 0) >= 0 {
			continue
		}
		if len(v.offs) > 0 && v.terms[len(v.terms)-1] == terms[i] {
			continue
		}
		v.offs = append(v.offs, int32(b.Len()))
		b.WriteString(terms[i])
		b.WriteByte(0)
		v.terms = append(v.terms, terms[i])
		v.docs = append(v.docs, docs[i])
	}
	v.blob = b.String()
	for i := range v.terms {
		v.terms[i] = v.blob[v.offs[i] : int(v.offs[i])+len(v.terms[i])]
	}
	v.indexTerms()
	return v
}

// lookup returns the index of term, or -1.
func (v *vocabulary) lookup(term string) int {
	i := sort.SearchStrings(v.terms, term)
	if i < len(v.terms) && v.terms[i] == term {
		return i
	}
	return -1
}

// prefixRange returns the indexes [lo, hi) of the terms that start with p.
func (v *vocabulary) prefixRange(p string) (lo, hi int32) {
	i := sort.SearchStrings(v.terms, p)
	j := i + sort.Search(len(v.terms)-i, func(k int) bool { return !strings.HasPrefix(v.terms[i+k], p) })
	return int32(i), int32(j)
}

// docsOf returns how many books contain term (0 when it is not indexed).
func (v *vocabulary) docsOf(term string) int32 {
	if i := v.lookup(term); i >= 0 {
		return v.docs[i]
	}
	return 0
}

// termAt returns the index of the term whose bytes in blob include pos.
func (v *vocabulary) termAt(pos int) int {
	return sort.Search(len(v.offs), func(i int) bool { return int(v.offs[i]) > pos }) - 1
}

// Expansion limits: how many typo and substring variants one word may add
// to a query, most relevant first. They bound the size of the FTS query.
const (
	maxTypoTerms      = 30
	maxSubstringTerms = 20
)

// wordTerms is what one query word may match in the index.
type wordTerms struct {
	word  string
	last  bool // the query's last word: it also matches as a prefix
	exact bool // word itself is indexed
	pref  bool // last && some indexed term starts with word

	// As term indexes in the vocabulary's terms: id is word's (-1 when not
	// indexed), [lo, hi) the terms starting with word (empty unless last),
	// extraIDs its typo and substring variants not covered by exact or
	// pref, ascending.
	terms    []string
	id       int32
	lo, hi   int32
	extraIDs []int32
	extraSet termFilter // extraIDs' bits, to rule most terms out without a search
}

// possible reports whether the word can match anything at all.
func (w *wordTerms) possible() bool { return w.exact || w.pref || len(w.extraIDs) > 0 }

// strict reports whether the word matches without typos or substrings.
func (w *wordTerms) strict() bool { return w.exact || w.pref }

// kinds reports whether every word matches without typos or substrings,
// and whether some word has typo or substring variants.
func kinds(words []*wordTerms) (strict, hasVariants bool) {
	strict = true
	for _, w := range words {
		strict = strict && w.strict()
		hasVariants = hasVariants || len(w.extraIDs) > 0
	}
	return strict, hasVariants
}

// covers reports whether a folded token of a book counts as a match.
// It takes the token's bytes, which it compares without copying them.
func (w *wordTerms) covers(tok []byte) bool {
	if string(tok) == w.word || (w.last && len(tok) >= len(w.word) && string(tok[:len(w.word)]) == w.word) {
		return true
	}
	for _, t := range w.extraIDs {
		if w.terms[t] == string(tok) {
			return true
		}
	}
	return false
}

// typoBudget is how many edits a word of n runes tolerates: none up to 3,
// one from 4, two from 8. Words with digits (years, numbers) get none.
func typoBudget(word string, n int) int {
	if strings.ContainsAny(word, "0123456789") {
		return 0
	}
	switch {
	case n >= 8:
		return 2
	case n >= 4:
		return 1
	}
	return 0
}

// expand returns what word may match, computing it once per vocabulary.
func (v *vocabulary) expand(word string, last bool) *wordTerms {
	if w, ok := v.expansions.get(word, last); ok {
		w.terms = v.terms
		return w
	}
	w := v.computeExpansion(word, last)
	v.expansions.put(w)
	return w
}

type candidate struct {
	term int // index into terms
	dist int
}

func (v *vocabulary) computeExpansion(word string, last bool) *wordTerms {
	w := &wordTerms{word: word, last: last, terms: v.terms, id: int32(v.lookup(word))}
	w.exact = w.id >= 0
	if last {
		w.lo, w.hi = v.prefixRange(word)
	}
	w.pref = w.lo < w.hi
	runes := []rune(word)
	// covered reports terms the FTS query already matches without help.
	covered := func(t string) bool { return t == word || (last && strings.HasPrefix(t, word)) }
	seen := map[int]bool{}

	// Typo variants rank after exact matches (see tiers), so a real word's
	// neighbours ("king" → "ring") only show once its own matches run out.
	if k := typoBudget(word, len(runes)); k > 0 {
		var cands []candidate
		v.fuzzy(runes, k, last, func(i, d int) {
			if !covered(v.terms[i]) {
				cands = append(cands, candidate{i, d})
			}
		})
		sort.Slice(cands, func(a, b int) bool {
			ca, cb := cands[a], cands[b]
			if ca.dist != cb.dist {
				return ca.dist < cb.dist
			}
			if v.docs[ca.term] != v.docs[cb.term] {
				return v.docs[ca.term] > v.docs[cb.term]
			}
			return ca.term < cb.term
		})
		for _, c := range cands[:min(len(cands), maxTypoTerms)] {
			seen[c.term] = true
			w.extraIDs = append(w.extraIDs, int32(c.term))
		}
	}
	// Substring matches, as ILIKE '%word%' found them, from three letters
	// ("arr" finds Harry). A three-letter word that is a word of its own
	// ("the", "war") is taken as itself: the words containing it ("other",
	// "mother", "award") are many, common and nothing like what was asked,
	// and OR-ing their books into every search costs more than the rest.
	if len(runes) > 3 || (len(runes) == 3 && !w.exact) {
		for _, i := range v.containing(word, maxSubstringTerms, covered) {
			if !seen[i] {
				seen[i] = true
				w.extraIDs = append(w.extraIDs, int32(i))
			}
		}
	}
	slices.Sort(w.extraIDs)
	w.extraSet = newTermFilter(w.extraIDs)
	return w
}

// termFilter is a set of terms as 256 bits, one per term modulo 256: a
// clear bit means none of them, a set bit maybe one. A candidate checked
// against a word's typo and substring variants is mostly none of them,
// and a bit test costs less than a binary search through them.
type termFilter [4]uint64

func newTermFilter(terms []int32) termFilter {
	var f termFilter
	for _, t := range terms {
		f[t>>6&3] |= 1 << (t & 63)
	}
	return f
}

// maybe reports whether t may be one of the filter's terms.
func (f *termFilter) maybe(t int32) bool { return f[t>>6&3]&(1<<(t&63)) != 0 }

// containing returns up to limit indexes of terms that contain sub, most
// documents first, skipping those skip accepts.
func (v *vocabulary) containing(sub string, limit int, skip func(string) bool) []int {
	var hits []int
	v.containingTerms(sub, func(i int) {
		if !skip(v.terms[i]) {
			hits = append(hits, i)
		}
	})
	sort.Slice(hits, func(a, b int) bool {
		if v.docs[hits[a]] != v.docs[hits[b]] {
			return v.docs[hits[a]] > v.docs[hits[b]]
		}
		return hits[a] < hits[b]
	})
	return hits[:min(len(hits), limit)]
}

// fuzzy calls fn for every term within k edits of word (Damerau–Levenshtein,
// adjacent transpositions counting as one), or, when prefix is set, every
// term that has a prefix within k edits of word, in the terms' order. It
// walks the trie of the terms (termtrie.go).
func (v *vocabulary) fuzzy(word []rune, k int, prefix bool, fn func(term, dist int)) {
	v.walkFuzzy(word, k, prefix, fn)
}

// damerau returns the optimal-string-alignment distance between a and b:
// insertions, deletions, substitutions and swaps of adjacent runes each
// count as one edit.
func damerau(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	rows := make([][]int, len(ra)+1)
	for i := range rows {
		rows[i] = make([]int, len(rb)+1)
		rows[i][0] = i
	}
	for j := range rb {
		rows[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			x := min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				x = min(x, rows[i-2][j-2]+1)
			}
			rows[i][j] = x
		}
	}
	return rows[len(ra)][len(rb)]
}

// suggest returns the indexed term closest to word (at most 1 edit for
// words of 3–4 runes, 2 from 5) found in more books than word itself, the
// most common among equally close ones; ok is false when there is none.
func (v *vocabulary) suggest(word string) (string, bool) {
	v.mu.Lock()
	s, ok := v.suggestions[word]
	v.mu.Unlock()
	if !ok {
		s = v.computeSuggestion(word)
		v.mu.Lock()
		if len(v.suggestions) >= maxCachedWords || v.suggestions == nil {
			v.suggestions = map[string]string{}
		}
		v.suggestions[word] = s
		v.mu.Unlock()
	}
	return s, s != ""
}

func (v *vocabulary) computeSuggestion(word string) string {
	runes := []rune(word)
	k := 0
	switch {
	case len(runes) >= 5:
		k = 2
	case len(runes) >= 3:
		k = 1
	}
	if k == 0 || strings.ContainsAny(word, "0123456789") {
		return ""
	}
	own := v.docsOf(word)
	bestTerm, bestDist, bestDocs := -1, k+1, int32(0)
	v.fuzzy(runes, k, false, func(i, d int) {
		if v.docs[i] <= own || d == 0 {
			return
		}
		if d < bestDist || (d == bestDist && v.docs[i] > bestDocs) {
			bestTerm, bestDist, bestDocs = i, d, v.docs[i]
		}
	})
	if bestTerm < 0 {
		return ""
	}
	return v.terms[bestTerm]
}

// refreshTerms rebuilds search_terms from SQLite's index inside tx, for
// code that writes books directly (see Searcher.RefreshTerms; imports
// refresh the terms when they publish). With optimize it first merges the
// index into one segment, in this one transaction.
func refreshTerms(ctx context.Context, tx *sql.Tx, optimize bool) error {
	if optimize {
		if _, err := tx.ExecContext(ctx, `INSERT INTO book_search (book_search) VALUES ('optimize')`); err != nil {
			return fmt.Errorf("optimize search index: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM search_terms`); err != nil {
		return fmt.Errorf("refresh search terms: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO search_terms (term, docs) SELECT term, doc FROM book_terms`); err != nil {
		return fmt.Errorf("refresh search terms: %w", err)
	}
	return nil
}
