package search

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"shelf/store/catalog"
)

// memoryIndex is the catalog's search index held in memory, built from the
// books table and the vocabulary after start (see Searcher.BuildIndex). SQLite
// stays the source of truth: until this index is built, and again after an
// import until it is rebuilt, Search runs the same rules on book_search.
//
// Books are numbered ("docs") most popular first, in book_search's rowid
// order, so every list below is ascending and its first entries are the
// best: a search walks a few lists from the front and stops once it has a
// page and a count, however many books match. Terms are the vocabulary's
// indexes, in byte order, so the terms starting with a prefix are one range.
type memoryIndex struct {
	vocab *vocabulary // whose term indexes the lists hold

	// What is known of doc d is info[d] (the last record only marks where
	// the last doc's text and terms end). What a result shows of it is
	// there and in text: reading 20 rows from SQLite would cost more than
	// the search itself.
	info []docInfo
	text string

	// Forward index: the terms of doc d are toks[info[d].tokStart:
	// info[d+1].tokStart], the title's in order (info[d].titleLen of them),
	// then the authors'. With aligned, they are every token's, one for one
	// (no token was missing from the vocabulary).
	toks    []int32
	aligned bool

	// Postings: the docs holding term t are post[postStart[t]:postStart[t+1]].
	postStart []uint32
	post      []uint32

	// Openings: the docs whose title starts with term t are
	// open[openStart[t]:openStart[t+1]]; the same docs are ordered by their
	// title's second term (-1 for one-word titles), then by doc, in
	// bySecond[openStart[t]:openStart[t+1]], with that term in second. The
	// titles equal to a query, or starting with it, are found there.
	openStart []uint32
	open      []uint32
	bySecond  []uint32
	second    []int32

	// initials holds, for each first letter that common terms start with,
	// the docs holding a term that starts with it: a one-letter last word
	// ("harry p") is then a bit test instead of hundreds of lists.
	initials map[string]*docBitmap
	// dense holds the docs of each term found in at least 1 book in
	// denseShare ("the", "of", "love") as a bitmap: checking a candidate
	// against it is a bit test, not a search through a long list.
	dense map[int32]*docBitmap

	// prefixes keeps bitmaps of the common multi-term prefixes searched
	// most (see prefixBitmaps).
	prefixes prefixBitmaps

	bitmaps sync.Pool // of *docBitmap, one bit per doc, all clear

	// byRatings: every doc has at most the ratings of the doc before it,
	// as the books came in (see rankWindow).
	byRatings bool
}

// docInfo is what ranking and results read of a doc, in one record rather
// than an array each: a search ranks up to 128 docs scattered over the
// index and shows ten, and each array was a cache miss of its own per doc
// (a fifth of what an uncached search cost at a million books).
type docInfo struct {
	tokStart     uint32 // where its terms start in toks
	textStart    uint32 // its title is text[textStart:authorsStart]
	authorsStart uint32 // its authors run to the next doc's textStart
	ratings      uint32
	book         int32 // the book's id
	year         int16 // the catalog takes -5000 to 2100
	titleLen     uint8 // terms of the title (255: at least)
	mainLen      uint8 // terms of the title less its series note (see mainTitle)
	rating       float64
}

// docs is how many docs ix holds.
func (ix *memoryIndex) docs() int { return len(ix.info) - 1 }

// IndexStats describes a built search index.
type IndexStats struct {
	Books, Terms, Postings int
	Bytes                  int64 // memory held by its lists
	Unindexed              int   // tokens missing from the vocabulary (should be 0)
	HugePageBytes          int64 // of Bytes, on huge pages (see useHugePages)
	Took                   time.Duration
}

// sqlIndexBooks reads every book, most popular first (see bookID).
const (
	sqlIndexBooks = `SELECT b.id, b.title, b.authors, coalesce(b.year, 0), coalesce(b.average_rating, 0), b.ratings_count
	FROM book_search s JOIN books b ON b.id = 16777215 - (s.rowid & 16777215) WHERE b.` + catalog.SQLVisibleBook + ` ORDER BY s.rowid DESC`
	sqlTextBytes = `SELECT coalesce(sum(length(CAST(title AS BLOB)) + length(CAST(authors AS BLOB))), 0) FROM books WHERE ` + catalog.SQLVisibleBook
)

// indexedBook is what the index keeps of a book.
type indexedBook struct {
	id             int64
	title, authors string
	year, ratings  int64
	rating         float64
}

// buildFromSQLite builds the index of the published books in SQLite, in
// book_search's order, for v (read from the same index).
func buildFromSQLite(ctx context.Context, db *sql.DB, v *vocabulary) (*memoryIndex, IndexStats, error) {
	var textBytes int64
	if err := db.QueryRowContext(ctx, sqlTextBytes).Scan(&textBytes); err != nil {
		return nil, IndexStats{}, err
	}
	return buildMemoryIndex(v, textBytes, func(add func(*indexedBook) error) error {
		rows, err := db.QueryContext(ctx, sqlIndexBooks)
		if err != nil {
			return err
		}
		defer rows.Close()
		var b indexedBook
		for rows.Next() {
			if err := rows.Scan(&b.id, &b.title, &b.authors, &b.year, &b.rating, &b.ratings); err != nil {
				return err
			}
			if err := add(&b); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// buildMemoryIndex builds the index of the books each passes to add, most
// popular first, whose titles and authors take textBytes bytes, with the
// terms of v, which must hold every word of them.
func buildMemoryIndex(v *vocabulary, textBytes int64, each func(add func(*indexedBook) error) error) (*memoryIndex, IndexStats, error) {
	var stats IndexStats
	termID := make(map[string]int32, len(v.terms))
	distinct := 0 // postings the index will hold: one per book and term
	for i, t := range v.terms {
		termID[t] = int32(i)
		distinct += int(v.docs[i])
	}
	if textBytes >= 1<<32-1 {
		return nil, stats, fmt.Errorf("the catalog's text (%d bytes) is too large for 32-bit offsets", textBytes)
	}
	ix := &memoryIndex{
		vocab: v,
		info:  make([]docInfo, 0, v.books+1),
		toks:  make([]int32, 0, distinct+distinct/8), // titles repeat some words
	}
	var text strings.Builder
	text.Grow(int(textBytes))
	postCount := make([]uint32, len(v.terms)+1)
	openCount := make([]uint32, len(v.terms)+1)

	appendTerms := func(_, _ int, folded []byte) {
		if t, ok := termID[string(folded)]; ok {
			ix.toks = append(ix.toks, t)
		} else {
			stats.Unindexed++
		}
	}
	err := each(func(b *indexedBook) error {
		if int64(text.Len())+int64(len(b.title)+len(b.authors)) >= 1<<32-1 {
			return fmt.Errorf("the catalog's text is too large for 32-bit offsets")
		}
		textStart := uint32(text.Len())
		text.WriteString(b.title)
		authorsStart := uint32(text.Len())
		text.WriteString(b.authors)
		from := len(ix.toks)
		tokenize(b.title, appendTerms)
		n := len(ix.toks) - from
		tokenize(b.authors, appendTerms)
		doc := ix.toks[from:]
		for i, t := range doc {
			if !slices.Contains(doc[:i], t) {
				postCount[t]++
			}
		}
		if n > 0 {
			openCount[doc[0]]++
		}
		main := n
		if m := mainTitle(b.title); len(m) < len(b.title) {
			main = 0
			tokenize(m, func(_, _ int, _ []byte) { main++ })
		}
		ix.info = append(ix.info, docInfo{
			tokStart:     uint32(from),
			textStart:    textStart,
			authorsStart: authorsStart,
			ratings:      uint32(max(min(b.ratings, math.MaxUint32), 0)),
			book:         int32(b.id),
			year:         int16(max(min(b.year, math.MaxInt16), math.MinInt16)),
			titleLen:     uint8(min(n, 255)),
			mainLen:      uint8(min(main, 255)),
			rating:       b.rating,
		})
		return nil
	})
	if err != nil {
		return nil, stats, err
	}
	ix.text = text.String()
	ix.aligned = stats.Unindexed == 0
	ix.byRatings = slices.IsSortedFunc(ix.info, func(a, b docInfo) int { return cmp.Compare(b.ratings, a.ratings) })
	ix.info = append(ix.info, docInfo{tokStart: uint32(len(ix.toks)), textStart: uint32(len(ix.text))}) // where the last doc ends
	if cap(ix.toks) > len(ix.toks)+len(ix.toks)/4 {
		ix.toks = slices.Clip(slices.Clone(ix.toks))
	}

	// Lay the lists out one after another; counts become start offsets and
	// then, while filling, each list's next free slot.
	ix.postStart, ix.post = layOut(postCount)
	ix.openStart, ix.open = layOut(openCount)
	for d := range ix.docs() {
		doc := ix.tokens(uint32(d))
		for i, t := range doc {
			if !slices.Contains(doc[:i], t) {
				ix.post[postCount[t]] = uint32(d)
				postCount[t]++
			}
		}
		if ix.info[d].titleLen > 0 {
			ix.open[openCount[doc[0]]] = uint32(d)
			openCount[doc[0]]++
		}
	}

	ix.bitmaps.New = func() any { return newDocBitmap(ix.docs()) }
	ix.bySecond = make([]uint32, len(ix.open))
	ix.second = make([]int32, len(ix.open))
	var pairs []uint64 // second term + 1, doc
	for t := range v.terms {
		from, to := ix.openStart[t], ix.openStart[t+1]
		pairs = pairs[:0]
		for _, d := range ix.open[from:to] {
			second := int32(-1)
			if ix.info[d].titleLen > 1 {
				second = ix.toks[ix.info[d].tokStart+1]
			}
			pairs = append(pairs, uint64(second+1)<<32|uint64(d))
		}
		slices.Sort(pairs)
		for i, p := range pairs {
			ix.second[int(from)+i], ix.bySecond[int(from)+i] = int32(p>>32)-1, uint32(p)
		}
	}

	ix.initials = map[string]*docBitmap{}
	for lo := 0; lo < len(v.terms); {
		_, n := utf8.DecodeRuneInString(v.terms[lo])
		initial := v.terms[lo][:n]
		l, hi := v.prefixRange(initial)
		if int(ix.postStart[hi]-ix.postStart[l]) >= ix.docs()/32 { // denser than its lists
			s := termSet{id: -1, lo: l, hi: hi}
			ix.initials[initial] = ix.newBitmap(&s)
		}
		lo = int(hi)
	}
	ix.dense = map[int32]*docBitmap{}
	for t := range v.terms {
		if int(ix.postStart[t+1]-ix.postStart[t]) >= ix.docs()/denseShare {
			s := termSet{id: int32(t), lo: 0, hi: 0}
			ix.dense[int32(t)] = ix.newBitmap(&s)
		}
	}
	for _, b := range ix.initials {
		stats.Bytes += 8 * int64(len(b.words)+len(b.sum))
	}
	for _, b := range ix.dense {
		stats.Bytes += 8 * int64(len(b.words)+len(b.sum))
	}

	stats.Books, stats.Terms, stats.Postings = ix.docs(), len(v.terms), len(ix.post)
	stats.Bytes += 4*int64(len(ix.toks)+len(ix.postStart)+len(ix.post)+
		len(ix.openStart)+len(ix.open)+len(ix.bySecond)+len(ix.second)) +
		int64(unsafe.Sizeof(docInfo{}))*int64(len(ix.info)) + int64(len(ix.text))
	stats.HugePageBytes = int64(ix.useHugePages())
	return ix, stats, nil
}

// denseShare: terms in at least one book in denseShare get a bitmap (see
// memoryIndex.dense), which then takes at most twice the memory of their
// list. At a million books that is a few dozen terms and about 5 MB.
const denseShare = 64

// denseOf returns term t's bitmap when it is common enough to have one
// (see memoryIndex.dense), else nil; the length test spares the map look-up.
func (ix *memoryIndex) denseOf(t int32) *docBitmap {
	if int(ix.postStart[t+1]-ix.postStart[t]) < ix.docs()/denseShare {
		return nil
	}
	return ix.dense[t]
}

// layOut turns per-term counts into start offsets of lists stored back to
// back (starts has one more entry than counts, the end), allocates the
// lists, and leaves counts holding each list's start.
func layOut(counts []uint32) (starts, lists []uint32) {
	starts = make([]uint32, len(counts))
	var n uint32
	for t := range len(counts) - 1 {
		starts[t] = n
		n += counts[t]
		counts[t] = starts[t]
	}
	starts[len(counts)-1] = n
	return starts, make([]uint32, n)
}

// book returns what a result shows of doc d.
func (ix *memoryIndex) book(d uint32) catalog.Book {
	info := &ix.info[d]
	return catalog.Book{
		ID:            int64(info.book),
		Title:         ix.text[info.textStart:info.authorsStart],
		Authors:       ix.text[info.authorsStart:ix.info[d+1].textStart],
		Year:          int(info.year),
		AverageRating: info.rating,
		RatingsCount:  int64(info.ratings),
	}
}

// tokens returns the terms of doc d: its title's, then its authors'.
func (ix *memoryIndex) tokens(d uint32) []int32 {
	return ix.toks[ix.info[d].tokStart:ix.info[d+1].tokStart]
}

// termSet is what one query word matches, as terms: the word itself, the
// terms it starts (the last word), and its typo and substring variants.
type termSet struct {
	id     int32   // -1: none
	lo, hi int32   // a range of terms; empty when lo >= hi
	extra  []int32 // ascending, outside id and [lo, hi)
	// extraSet filters extra (see termFilter)
	extraSet termFilter

	bits *docBitmap // the same docs as a bitmap, when there is one (read only)
}

// contains reports whether doc d, whose terms are toks(), matches s.
func (s *termSet) contains(d uint32, toks func() []int32) bool {
	if s.bits != nil {
		return s.bits.has(d)
	}
	return s.matchesAny(toks())
}

// termSets returns the sets of words: exact ones (each word as typed, the
// last also as a prefix) or, with loose, with their variants too.
func (ix *memoryIndex) termSets(words []*wordTerms, loose bool) []termSet {
	sets := make([]termSet, len(words))
	for i, w := range words {
		s := termSet{id: -1}
		if w.exact {
			s.id = w.id
		}
		if w.pref {
			s.lo, s.hi = w.lo, w.hi
		}
		if loose {
			s.extra, s.extraSet = w.extraIDs, w.extraSet
		}
		if w.pref && len(s.extra) == 0 && utf8.RuneCountInString(w.word) == 1 {
			s.bits = ix.initials[w.word] // nil when its terms are few
		} else if w.pref && len(s.extra) == 0 && (s.id < 0 || s.inRange(s.id)) && s.hi-s.lo > 1 &&
			int(ix.postStart[s.hi]-ix.postStart[s.lo]) >= ix.docs()/denseShare {
			s.bits = ix.prefixBits(s.lo, s.hi) // nil until it is searched again
		}
		if s.id >= 0 && s.lo >= s.hi && len(s.extra) == 0 {
			s.bits = ix.dense[s.id] // nil unless the word is common
		}
		sets[i] = s
	}
	return sets
}

func (s *termSet) inRange(t int32) bool { return s.lo <= t && t < s.hi }

func (s *termSet) has(t int32) bool {
	if t == s.id || s.inRange(t) {
		return true
	}
	if !s.extraSet.maybe(t) {
		return false
	}
	_, ok := slices.BinarySearch(s.extra, t)
	return ok
}

// matchesAny reports whether some term of toks is in s.
func (s *termSet) matchesAny(toks []int32) bool {
	for _, t := range toks {
		if s.has(t) {
			return true
		}
	}
	return false
}

// size is the total length of the lists of s's terms (starts being the
// postings' or the openings' offsets): what walking them would cost.
func (s *termSet) size(starts []uint32) int {
	n := 0
	if s.id >= 0 && !s.inRange(s.id) {
		n += int(starts[s.id+1] - starts[s.id])
	}
	if s.lo < s.hi {
		n += int(starts[s.hi] - starts[s.lo])
	}
	for _, t := range s.extra {
		n += int(starts[t+1] - starts[t])
	}
	return n
}

// terms is how many terms s has: an upper bound on its lists.
func (s *termSet) terms() int {
	n := len(s.extra) + int(max(s.hi-s.lo, 0))
	if s.id >= 0 && !s.inRange(s.id) {
		n++
	}
	return n
}

// eachTerm calls fn with each of s's terms once.
func (s *termSet) eachTerm(fn func(t int32)) {
	if s.id >= 0 && !s.inRange(s.id) {
		fn(s.id)
	}
	for t := s.lo; t < s.hi; t++ {
		fn(t)
	}
	for _, t := range s.extra {
		fn(t)
	}
}

// longest is the length of s's longest list: at least that many docs
// match s.
func (s *termSet) longest(starts []uint32) int {
	n := 0
	s.eachTerm(func(t int32) { n = max(n, int(starts[t+1]-starts[t])) })
	return n
}

// lists returns the non-empty lists of s's terms.
func (s *termSet) lists(starts, data []uint32) [][]uint32 {
	out := make([][]uint32, 0, s.terms())
	s.eachTerm(func(t int32) {
		if l := data[starts[t]:starts[t+1]]; len(l) > 0 {
			out = append(out, l)
		}
	})
	return out
}

// merged walks the union of ascending lists in order, each doc once: a
// heap of the lists' first docs.
type merged struct {
	heap  []mergeHead
	lists [][]uint32 // what follows each head
	last  int64
}

type mergeHead struct {
	doc  uint32
	list int32
}

func newMerged(lists [][]uint32) *merged {
	m := &merged{heap: make([]mergeHead, len(lists)), lists: lists, last: -1}
	for i, l := range lists {
		m.heap[i] = mergeHead{l[0], int32(i)}
		lists[i] = l[1:]
	}
	for i := len(m.heap)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	return m
}

func (m *merged) next() (uint32, bool) {
	for len(m.heap) > 0 {
		top := &m.heap[0]
		d := top.doc
		if l := m.lists[top.list]; len(l) > 0 {
			top.doc, m.lists[top.list] = l[0], l[1:]
		} else {
			n := len(m.heap) - 1
			m.heap[0] = m.heap[n]
			m.heap = m.heap[:n]
		}
		m.down(0)
		if int64(d) != m.last {
			m.last = int64(d)
			return d, true
		}
	}
	return 0, false
}

func (m *merged) down(i int) {
	h := m.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && h[r].doc < h[l].doc {
			c = r
		}
		if h[i].doc <= h[c].doc {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// each calls fn with every doc that matches all sets, in order, until fn
// returns false, which it is expected to do after about want docs. Its
// cost follows the rarest word, not the most common.
//
// When every set has a bitmap (common words and prefixes: "a mar", "of
// for"), the docs are the bitmaps ANDed a word at a time from the front
// (eachAnd). Otherwise, when the words look common enough together that fn
// will have its fill early, the docs are walked lazily from the front of
// the lists (eachLazy); else every match has to be found anyway, and
// bitmaps find them fastest (eachBitmap).
func (ix *memoryIndex) each(sets []termSet, want int, fn func(doc uint32) bool) {
	sizes := make([]int, len(sets))
	expected := float64(ix.docs()) // matches if the words were independent
	allBits := true
	for i := range sets {
		sizes[i] = sets[i].size(ix.postStart)
		expected *= float64(sizes[i]) / float64(max(ix.docs(), 1))
		allBits = allBits && sets[i].bits != nil
	}
	switch {
	case slices.Min(sizes) == 0:
	case allBits:
		ix.eachAnd(sets, sizes, fn)
	case expected >= 4*float64(want):
		// The guess can be far off ("frome whart" looked like 661 similar
		// matches, and had 15): the lazy walk stops once its checks have
		// cost about what the bitmaps would have, and they go on from there.
		total := 0
		for _, n := range sizes {
			total += n
		}
		ix.eachLazyThenBitmap(sets, sizes, total/lazyChecksPerPosting, fn)
	default:
		ix.eachBitmap(sets, sizes, fn)
	}
}

// eachLazyThenBitmap is eachLazy within budget, then eachBitmap from
// where it stopped.
func (ix *memoryIndex) eachLazyThenBitmap(sets []termSet, sizes []int, budget int, fn func(doc uint32) bool) {
	if last, done := ix.eachLazy(sets, sizes, budget, fn); !done {
		ix.eachBitmap(sets, sizes, func(d uint32) bool { return int64(d) <= last || fn(d) })
	}
}

// lazyChecksPerPosting: checking a candidate through its terms costs about
// as much as setting this many postings' bits. At a million books a check
// reads a doc's terms from far away in memory: with 64 (100 ns against
// 1.5, as measured on a small index), the cold mix's lazy walks that ran
// out of budget had cost 1.65 times the bitmaps that followed them; with
// 128, 0.8 times.
const lazyChecksPerPosting = 128

// eachAnd is each for sets that all have bitmaps: their words ANDed from
// the front, the rarest set's summary skipping the empty ones. Finding the
// first thousand books of "of for" this way takes microseconds; merging
// the 42 lists of "for*" and testing each doc took half a millisecond.
func (ix *memoryIndex) eachAnd(sets []termSet, sizes []int, fn func(doc uint32) bool) {
	bms := make([]*docBitmap, len(sets))
	for i := range sets {
		bms[i] = sets[i].bits
	}
	first := rarest(sizes)
	bms[0], bms[first] = bms[first], bms[0]
	eachAnd(bms, fn)
}

// rarest returns the index of the smallest of sizes (the first of equals).
func rarest(sizes []int) int {
	r := 0
	for i, n := range sizes {
		if n < sizes[r] {
			r = i
		}
	}
	return r
}

// eachAnd calls fn with the docs in every one of bms, in order, until fn
// returns false. bms[0] should be the sparsest: its summary drives.
func eachAnd(bms []*docBitmap, fn func(d uint32) bool) {
	lead, rest := bms[0], bms[1:]
	for i, x := range lead.sum {
		for _, o := range rest {
			x &= o.sum[i]
		}
		for ; x != 0; x &= x - 1 {
			w := i<<6 + bits.TrailingZeros64(x)
			y := lead.words[w]
			for _, o := range rest {
				y &= o.words[w]
			}
			for ; y != 0; y &= y - 1 {
				if !fn(uint32(w<<6 + bits.TrailingZeros64(y))) {
					return
				}
			}
		}
	}
}

// eachLazy is each walking from the front of the lists. The set with the
// fewest postings drives: its bitmap ANDed with the other sets' bitmaps when
// it has one, else its lists merged. Every candidate is checked against the
// other sets through its own terms (the forward index). At a million books that
// is two reads close together, cheaper than galloping through even one
// list of another word (a leap frog), and much cheaper than through the
// several lists of a prefix: "house you" took 1.9 ms that way, 0.4 ms now.
//
// Its candidates checked through their terms are at most budget: when they
// would be more, it returns the last doc it decided (-1 for none) and done
// false.
func (ix *memoryIndex) eachLazy(sets []termSet, sizes []int, budget int, fn func(doc uint32) bool) (last int64, done bool) {
	driver := rarest(sizes)
	var checked []termSet
	var bms []*docBitmap // when the driver has a bitmap: it and the others'
	if sets[driver].bits != nil {
		bms = append(bms, sets[driver].bits)
	}
	costly := false // some candidates are checked through their terms
	for i := range sets {
		switch {
		case i == driver:
		case bms != nil && sets[i].bits != nil:
			bms = append(bms, sets[i].bits)
		default:
			checked = append(checked, sets[i])
			costly = costly || sets[i].bits == nil
		}
	}
	stopped := false
	last = -1
	check := func(d uint32) bool {
		if costly {
			if budget--; budget < 0 {
				return false
			}
		}
		last = int64(d)
		toks := func() []int32 { return ix.tokens(d) }
		for i := range checked {
			if !checked[i].contains(d, toks) {
				return true
			}
		}
		stopped = !fn(d)
		return !stopped
	}
	if bms != nil {
		eachAnd(bms, check)
	} else {
		m := newMerged(sets[driver].lists(ix.postStart, ix.post))
		for d, ok := m.next(); ok && check(d); d, ok = m.next() {
		}
	}
	return last, stopped || budget >= 0
}

// eachBitmap is each for words that match few books together. The set
// with the fewest postings gives the candidates: its list itself when it
// has one, else a bitmap of its lists. The next sets are ANDed in as
// bitmaps while that costs less than checking the remaining candidates one
// by one, and the candidates left are checked as in eachLazy, or by a bit
// test against a common word's bitmap.
func (ix *memoryIndex) eachBitmap(sets []termSet, sizes []int, fn func(doc uint32) bool) {
	order := make([]int, len(sets))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return sizes[a] - sizes[b] })

	var acc *docBitmap // the candidates as a bitmap, or
	var list []uint32  // as the one list of the rarest word
	first := &sets[order[0]]
	rest := order[1:]
	candidates := sizes[order[0]]
	switch {
	case first.bits == nil && first.terms() == 1:
		list = first.lists(ix.postStart, ix.post)[0]
	case first.bits != nil: // a copy costs less than setting its bits again
		acc = ix.bitmaps.Get().(*docBitmap)
		acc.copyFrom(first.bits)
	case len(rest) > 0 && sets[rest[0]].bits != nil:
		// The next word is common ("the mysterious"): only the docs it
		// holds are set (probe), rather than all and then most cleared by
		// an AND.
		acc = ix.bitmaps.Get().(*docBitmap)
		if candidates = ix.probe(sets[rest[0]].bits, first, acc); candidates == 0 {
			ix.release(acc)
			return
		}
		rest = rest[1:]
	default:
		acc = ix.bitmap(first)
	}
	defer func() {
		if acc != nil {
			ix.release(acc)
		}
	}()
	var filters []*docBitmap // checked by a bit test
	var checked []termSet
	for _, i := range rest {
		// ANDing costs about 1.5 ns a posting; testing a posting against a
		// bitmap, or checking a candidate against one, about 2 ns; checking
		// a candidate against its terms 20 to 100 ns.
		switch b := sets[i].bits; {
		case b != nil && acc != nil:
			if candidates = acc.and(b); candidates == 0 {
				return
			}
		case b != nil:
			filters = append(filters, b)
		case sizes[i] <= 64*candidates:
			// The candidates also in sets[i], found by testing its
			// postings against them: reading a bit per posting rather
			// than setting bits of its own to AND in. The rarest word's
			// list becomes a bitmap for that, a bit per candidate.
			if acc == nil {
				acc = ix.bitmaps.Get().(*docBitmap)
				for _, d := range list {
					acc.set(d)
				}
			}
			kept := ix.bitmaps.Get().(*docBitmap)
			candidates = ix.probe(acc, &sets[i], kept)
			ix.release(acc)
			if acc = kept; candidates == 0 {
				return
			}
		default:
			checked = append(checked, sets[i])
		}
	}
	check := func(d uint32) bool {
		for _, b := range filters {
			if !b.has(d) {
				return true
			}
		}
		toks := func() []int32 { return ix.tokens(d) }
		for i := range checked {
			if !checked[i].contains(d, toks) {
				return true
			}
		}
		return fn(d)
	}
	if acc != nil {
		acc.each(check)
		return
	}
	for _, d := range list {
		if !check(d) {
			return
		}
	}
}

// probe sets in out, which is clear, the docs of acc that s holds, and
// returns how many they are.
func (ix *memoryIndex) probe(acc *docBitmap, s *termSet, out *docBitmap) int {
	s.eachTerm(func(t int32) {
		if o := ix.denseOf(t); o != nil {
			out.orAnd(acc, o)
			return
		}
		for _, d := range ix.post[ix.postStart[t]:ix.postStart[t+1]] {
			if acc.has(d) {
				out.set(d)
			}
		}
	})
	return out.count()
}

// docBitmap is a set of docs, one bit each, with a summary: bit w of sum
// is set when words[w] may be non-zero. A search's bitmaps hold a few
// thousand docs among a million, so walking, ANDing and clearing them
// visits only the words that hold some, not all 15,625.
type docBitmap struct {
	words []uint64
	sum   []uint64
}

func newDocBitmap(docs int) *docBitmap {
	n := (docs + 63) / 64
	return &docBitmap{words: make([]uint64, n), sum: make([]uint64, (n+63)/64)}
}

// bitmap returns the docs of s's lists as a bitmap; release it after use.
func (ix *memoryIndex) bitmap(s *termSet) *docBitmap {
	return ix.setBits(ix.bitmaps.Get().(*docBitmap), s)
}

// newBitmap is bitmap outside the pool, to keep.
func (ix *memoryIndex) newBitmap(s *termSet) *docBitmap {
	return ix.setBits(newDocBitmap(ix.docs()), s)
}

func (ix *memoryIndex) setBits(b *docBitmap, s *termSet) *docBitmap {
	// Term by term rather than through s.lists, which would allocate. A
	// common term's bitmap is ORed in: a few thousand words rather than
	// tens of thousands of docs.
	s.eachTerm(func(t int32) {
		if o := ix.denseOf(t); o != nil {
			b.or(o)
			return
		}
		for _, d := range ix.post[ix.postStart[t]:ix.postStart[t+1]] {
			b.set(d)
		}
	})
	return b
}

// or adds o's docs to b.
func (b *docBitmap) or(o *docBitmap) {
	for i, x := range o.sum {
		b.sum[i] |= x
		for ; x != 0; x &= x - 1 {
			w := i<<6 + bits.TrailingZeros64(x)
			b.words[w] |= o.words[w]
		}
	}
}

// orAnd adds to b the docs in both x and y.
func (b *docBitmap) orAnd(x, y *docBitmap) {
	for i, sx := range x.sum {
		for sx &= y.sum[i]; sx != 0; sx &= sx - 1 {
			w := i<<6 + bits.TrailingZeros64(sx)
			if both := x.words[w] & y.words[w]; both != 0 {
				b.words[w] |= both
				b.sum[i] |= 1 << (w & 63)
			}
		}
	}
}

// count returns how many docs b holds.
func (b *docBitmap) count() int {
	n := 0
	for i, x := range b.sum {
		for ; x != 0; x &= x - 1 {
			n += bits.OnesCount64(b.words[i<<6+bits.TrailingZeros64(x)])
		}
	}
	return n
}

// copyFrom sets b, which is clear, to o.
func (b *docBitmap) copyFrom(o *docBitmap) {
	for i, x := range o.sum {
		b.sum[i] = x
		for ; x != 0; x &= x - 1 {
			w := i<<6 + bits.TrailingZeros64(x)
			b.words[w] = o.words[w]
		}
	}
}

func (b *docBitmap) has(d uint32) bool { return b.words[d>>6]&(1<<(d&63)) != 0 }

func (b *docBitmap) set(d uint32) {
	b.words[d>>6] |= 1 << (d & 63)
	b.sum[d>>12] |= 1 << ((d >> 6) & 63)
}

// release clears b and returns it to the pool.
func (ix *memoryIndex) release(b *docBitmap) {
	for i, x := range b.sum {
		for ; x != 0; x &= x - 1 {
			b.words[i<<6+bits.TrailingZeros64(x)] = 0
		}
		b.sum[i] = 0
	}
	ix.bitmaps.Put(b)
}

// and keeps in b only the docs also in o and returns how many are left.
func (b *docBitmap) and(o *docBitmap) int {
	n := 0
	for i, x := range b.sum {
		for ; x != 0; x &= x - 1 {
			w := i<<6 + bits.TrailingZeros64(x)
			b.words[w] &= o.words[w]
			if b.words[w] == 0 {
				b.sum[i] &^= 1 << (w & 63)
			}
			n += bits.OnesCount64(b.words[w])
		}
	}
	return n
}

// each calls fn with b's docs in order until it returns false.
func (b *docBitmap) each(fn func(d uint32) bool) {
	for i, x := range b.sum {
		for ; x != 0; x &= x - 1 {
			w := i<<6 + bits.TrailingZeros64(x)
			for y := b.words[w]; y != 0; y &= y - 1 {
				if !fn(uint32(w<<6 + bits.TrailingZeros64(y))) {
					return
				}
			}
		}
	}
}

// openingsBySecond returns the docs whose title starts with term t followed
// by a term in [lo, hi), ordered by that second term, then by doc, and
// their second terms.
func (ix *memoryIndex) openingsBySecond(t, lo, hi int32) (docs []uint32, seconds []int32) {
	from, to := int(ix.openStart[t]), int(ix.openStart[t+1])
	second := ix.second[from:to]
	i, _ := slices.BinarySearch(second, lo)
	j, _ := slices.BinarySearch(second, hi)
	return ix.bySecond[from+i : from+j], second[i:j]
}

// eachTitled calls fn with every doc whose title starts with words (see
// rankTitle; equal titles included), in order, until fn returns false.
// sets are the words' exact sets.
func (ix *memoryIndex) eachTitled(words []*wordTerms, sets []termSet, fn func(doc uint32) bool) {
	var lists [][]uint32
	if len(words) == 1 {
		lists = sets[0].lists(ix.openStart, ix.open)
	} else {
		// The titles opening with the first two words: one run of
		// bySecond per second term, each in doc order.
		w0, w1 := words[0], words[1]
		if !w0.exact {
			return
		}
		lo, hi := w1.id, w1.id+1
		if len(words) == 2 && w1.pref {
			lo, hi = w1.lo, w1.hi
		} else if !w1.exact {
			return
		}
		docs, seconds := ix.openingsBySecond(w0.id, lo, hi)
		start := 0
		for i := 1; i <= len(docs); i++ {
			if i == len(docs) || seconds[i] != seconds[start] {
				lists = append(lists, docs[start:i])
				start = i
			}
		}
	}
	// The lists of one or two words hold only titles that open with them.
	// Past two, each title's next terms are read and checked (rankTitle):
	// a read from anywhere in the index, for each doc.
	check := len(words) > 2
	m := newMerged(lists)
	for d, ok := m.next(); ok; d, ok = m.next() {
		if (!check || ix.rankTitle(d, words) != titleOther) && !fn(d) {
			return
		}
	}
}

// rankTitle is rankTitle (search.go) on doc d's title terms.
func (ix *memoryIndex) rankTitle(d uint32, words []*wordTerms) titleRank {
	info := &ix.info[d]
	title := ix.toks[info.tokStart : info.tokStart+uint32(info.titleLen)]
	if len(title) < len(words) {
		return titleOther
	}
	for i, w := range words {
		t := title[i]
		switch {
		case w.exact && t == w.id:
		case i == len(words)-1 && w.last && w.lo <= t && t < w.hi:
			return titlePrefix
		default:
			return titleOther
		}
	}
	if int(info.mainLen) == len(words) {
		return titleExact
	}
	return titlePrefix
}

// lastWordWhole is lastWordWhole (rank.go) on doc d's terms.
func (ix *memoryIndex) lastWordWhole(d uint32, words []*wordTerms) bool {
	w := words[len(words)-1]
	return w.exact && slices.Contains(ix.tokens(d), w.id)
}

// rankWindow is rankWindow (fts.go) on docs, popular and titled
// ascending, less all but its first keep.
//
// Only the first keep are scored where it matters: a doc can score at most
// its ratings times the largest boost, and with docs in popularity order
// (byRatings) the walk stops at the first whose best could not pass the
// keep-th score so far. For a first page that is usually a few dozen of up
// to 128, each a read of its record and its terms from anywhere in the
// index.
func (ix *memoryIndex) rankWindow(popular, titled []uint32, words []*wordTerms, keep int) []scored[uint32] {
	cands := make([]scored[uint32], 0, len(popular)+len(titled))
	for _, d := range popular {
		cands = append(cands, scored[uint32]{c: d})
	}
	for _, d := range titled {
		if _, found := slices.BinarySearch(popular, d); !found {
			cands = append(cands, scored[uint32]{c: d})
		}
	}
	slices.SortFunc(cands, func(a, b scored[uint32]) int { return cmp.Compare(a.c, b.c) })
	score := func(d uint32) float64 {
		return relevance(int64(ix.info[d].ratings), ix.lastWordWhole(d, words), ix.rankTitle(d, words))
	}
	if !ix.byRatings || keep >= len(cands) {
		for i := range cands {
			cands[i].score = score(cands[i].c)
		}
		sortByRelevance(cands)
		return cands[:min(keep, len(cands))]
	}
	// top holds the best so far in the order sortByRelevance gives: by
	// score, ties in popularity order, so a doc goes after its equals.
	top := make([]scored[uint32], 0, keep+1)
	for i, c := range cands {
		if i%touchAhead == 0 {
			touch(ix, cands[i:min(len(cands), i+touchAhead)], func(c scored[uint32]) uint32 { return c.c }, false)
		}
		ratings := int64(ix.info[c.c].ratings)
		if len(top) == keep && relevance(ratings, true, titleExact) <= top[keep-1].score {
			break // neither this doc nor any after it can be among the first keep
		}
		c.score = score(c.c)
		at, _ := slices.BinarySearchFunc(top, c.score, func(t scored[uint32], s float64) int {
			if t.score >= s {
				return -1
			}
			return 1
		})
		top = slices.Insert(top, at, c)
		if len(top) > keep {
			top = top[:keep]
		}
	}
	return top
}

// match is ftsEngine.match on the in-memory index: the same window and
// ranking, counts and flags.
func (ix *memoryIndex) match(_ context.Context, r *Results, words []*wordTerms) error {
	need := r.Offset() + PerPage + 1
	strict, hasVariants := kinds(words)
	docs := make([]uint32, 0, need)
	var seen map[uint32]struct{} // for a later page; the first's few docs are searched
	if need > 4*PerPage {
		seen = make(map[uint32]struct{}, need)
	}
	add := func(d uint32) {
		if len(docs) >= need {
			return
		}
		if seen == nil {
			if !slices.Contains(docs, d) {
				docs = append(docs, d)
			}
		} else if _, ok := seen[d]; !ok {
			seen[d] = struct{}{}
			docs = append(docs, d)
		}
	}
	// countAll walks sets for a count up to MaxCount+1, passing the docs
	// to each until it returns false, which it may do after want docs. A
	// single word matches at least as many books as its most common term:
	// when that is over MaxCount already, the first walk docs are all it
	// walks.
	countAll := func(sets []termSet, walk, want int, each func(d uint32, n int) bool) (n int) {
		capped := len(sets) == 1 && sets[0].longest(ix.postStart) > MaxCount
		if capped {
			want = min(want, walk)
		}
		ix.each(sets, want, func(d uint32) bool {
			n++
			return each(d, n) && n <= MaxCount && !(capped && n >= walk)
		})
		if capped {
			n = max(n, MaxCount+1)
		}
		return n
	}

	exactN, looseN := 0, 0 // matches counted, up to MaxCount+1
	if strict {
		// The window (see rank.go) by relevance, then the other exact
		// matches. When those are few, the titles starting with the query
		// are found among them; when many, they are looked up.
		sets := ix.termSets(words, false)
		window := max(need, titleWindow)
		exact := make([]uint32, 0, window)
		exactN = countAll(sets, window, MaxCount+1, func(d uint32, _ int) bool {
			if len(exact) < window {
				exact = append(exact, d)
			}
			return true
		})
		titled := make([]uint32, 0, titleWindow)
		if exactN <= len(exact) {
			for _, d := range exact {
				if len(titled) < titleWindow && ix.rankTitle(d, words) != titleOther {
					titled = append(titled, d)
				}
			}
		} else {
			ix.eachTitled(words, sets, func(d uint32) bool {
				titled = append(titled, d)
				return len(titled) < titleWindow
			})
		}
		for _, c := range ix.rankWindow(exact[:min(len(exact), titleWindow)], titled, words, need) {
			add(c.c)
		}
		for _, d := range exact {
			add(d)
		}
	}
	if hasVariants && exactN < need {
		// With exact matches the count is theirs (similar spellings
		// follow): a page, and knowing they are not all, is enough. The
		// exact matches are among the first need similar ones.
		want := MaxCount + 1
		if exactN > 0 {
			want = need
		}
		looseN = countAll(ix.termSets(words, true), need, want, func(d uint32, n int) bool {
			add(d)
			return exactN == 0 || len(docs) < need || n < need
		})
	}
	switch {
	case hasVariants && exactN <= PerPage && looseN <= PerPage:
		// Every match, exact and similar, fits on the first page: they are
		// the count. A later page may have walked more, but every page
		// gives the count the first one does.
		r.Total = int64(looseN)
	case exactN > 0:
		r.Total, r.TotalCapped = int64(min(exactN, MaxCount)), exactN > MaxCount
		r.Similar = hasVariants && !r.TotalCapped
	default:
		r.Total, r.TotalCapped = int64(min(looseN, MaxCount)), looseN > MaxCount
	}
	r.AllSimilar = exactN == 0 && r.Total > 0
	ix.fill(r, docs, words)
	return nil
}

// touchAhead is how many docs touch reads ahead of ranking them.
const touchAhead = 16

// touch reads the records of docs, then their first terms and, with
// text, the start of their text, and discards what it read, so that the
// reads after it find them in the CPU's caches. Each doc's reads depend on
// one another (its record says where its terms are), so reading doc by doc
// waited for memory twice or three times per doc; here the reads of
// different docs are independent and overlap. Ranking reads no text: its
// reads would be a miss a doc for nothing.
func touch[T any](ix *memoryIndex, docs []T, doc func(T) uint32, text bool) {
	var sink uint32
	for _, x := range docs {
		sink += ix.info[doc(x)].tokStart
	}
	for _, x := range docs {
		info := &ix.info[doc(x)]
		if int(info.tokStart) < len(ix.toks) {
			sink += uint32(ix.toks[info.tokStart])
		}
		if text && int(info.textStart) < len(ix.text) {
			sink += uint32(ix.text[info.textStart])
		}
	}
	if sink == math.MaxUint32 { // next to never: it only makes the reads count
		touchedSum.Add(1)
	}
}

// touchedSum keeps touch's reads from being optimized away: unused, the
// compiler would drop them.
var touchedSum atomic.Uint32

// popular fills r with a page of the most popular books.
func (ix *memoryIndex) popular(_ context.Context, r *Results) error {
	need := r.Offset() + PerPage + 1
	docs := make([]uint32, min(need, ix.docs()))
	for i := range docs {
		docs[i] = uint32(i) // docs are numbered by popularity
	}
	ix.fill(r, docs, nil)
	return nil
}

// fill is ftsEngine.fill from the in-memory index: r's page of docs, the
// ranked docs of every page up to this one, plus one. Its books carry what
// a result shows (not their ISBN or language).
func (ix *memoryIndex) fill(r *Results, docs []uint32, words []*wordTerms) {
	r.HasMore = len(docs) > r.Offset()+PerPage && r.Page < MaxPages
	if r.Offset() >= len(docs) {
		r.LastPage = lastPage(len(docs))
		return
	}
	page := docs[r.Offset():min(len(docs), r.Offset()+PerPage)]
	touch(ix, page, func(d uint32) uint32 { return d }, true)
	r.Hits = make([]Hit, len(page))
	// One array holds the segments of every hit. A title or author list
	// the forward index shows no matched term in is one segment, without
	// tokenizing it again.
	segs := make([]Segment, 0, 6*len(page))
	for i, d := range page {
		b := ix.book(d)
		toks := ix.tokens(d)
		n := min(int(ix.info[d].titleLen), len(toks))
		capped := ix.info[d].titleLen == math.MaxUint8 // more title terms than titleLen says
		titleTerms, authorTerms := toks[:n], toks[n:]  // the tokens' terms, in order
		if capped || !ix.aligned {
			authorTerms = nil
		}
		if !ix.aligned {
			titleTerms = nil
		}
		from := len(segs)
		if len(words) > 0 && (capped || anyCovered(toks[:n], words)) {
			segs = appendHighlightTerms(segs, b.Title, titleTerms, words)
		} else {
			segs = append(segs, Segment{Text: b.Title})
		}
		mid := len(segs)
		if len(words) > 0 && (capped || anyCovered(toks[n:], words)) {
			segs = appendHighlightTerms(segs, b.Authors, authorTerms, words)
		} else {
			segs = append(segs, Segment{Text: b.Authors})
		}
		r.Hits[i] = Hit{Book: b, TitleParts: segs[from:mid:mid], AuthorParts: segs[mid:len(segs):len(segs)]}
	}
}

// anyMatch reports whether some book matches every one of terms.
func (ix *memoryIndex) anyMatch(_ context.Context, terms []lookupTerm) (bool, error) {
	sets := make([]termSet, len(terms))
	for i, t := range terms {
		sets[i] = termSet{id: t.id}
		if t.prefix {
			sets[i] = termSet{id: -1, lo: t.lo, hi: t.hi}
		}
	}
	found := false
	// Not lazily for one doc: words that never meet would be walked through.
	ix.each(sets, MaxCount+1, func(uint32) bool { found = true; return false })
	return found, nil
}
