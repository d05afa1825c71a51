package search

import (
	"slices"
	"strings"
)

// termTrie is the vocabulary's terms as a trie of runes, for typo
// expansion (vocabulary.fuzzy): the rows of an edit-distance table are
// computed once per shared prefix, and a prefix too far from the word
// prunes everything below it without visiting it. Node 0 is the root (the
// empty prefix); a node's children are in rune order, so a walk meets the
// terms in the vocabulary's order.
type termTrie struct {
	r      []rune  // the rune leading into each node
	child  []int32 // a node's first child, -1 for none
	next   []int32 // its next sibling, -1 for none
	lo, hi []int32 // the terms below a node (and at it) are terms[lo:hi]
	end    []bool  // a term ends at this node: it is terms[lo]
	depth  int     // the longest term, in runes
}

// newTermTrie builds the trie of terms, which are sorted and distinct.
func newTermTrie(terms []string) *termTrie {
	t := &termTrie{}
	t.add(0, len(terms))
	path := []int32{0}  // nodes from the root to the last term's end
	last := []int32{-1} // last[n]: n's last child so far, -1 for none
	var prev []rune
	for i, term := range terms {
		runes := []rune(term)
		shared := 0
		for shared < len(prev) && shared < len(runes) && prev[shared] == runes[shared] {
			shared++
		}
		for _, n := range path[shared+1:] {
			t.hi[n] = int32(i)
		}
		path = path[:shared+1]
		for _, r := range runes[shared:] {
			parent := path[len(path)-1]
			n := t.add(i, len(terms))
			t.r[n] = r
			last = append(last, -1)
			if l := last[parent]; l >= 0 {
				t.next[l] = n
			} else {
				t.child[parent] = n
			}
			last[parent] = n
			path = append(path, n)
		}
		t.end[path[len(path)-1]] = len(runes) > 0
		t.depth = max(t.depth, len(runes))
		prev = runes
	}
	for _, n := range path[1:] {
		t.hi[n] = int32(len(terms))
	}
	return t
}

// add appends a node whose terms start at lo (hi is fixed when the build
// leaves it) and returns it.
func (t *termTrie) add(lo, hi int) int32 {
	t.r = append(t.r, 0)
	t.child = append(t.child, -1)
	t.next = append(t.next, -1)
	t.lo = append(t.lo, int32(lo))
	t.hi = append(t.hi, int32(hi))
	t.end = append(t.end, false)
	return int32(len(t.r) - 1)
}

// bytes is the memory the trie holds.
func (t *termTrie) bytes() int64 { return int64(len(t.r)) * (4*5 + 1) }

// fuzzyWalk is one run of vocabulary.fuzzy over the trie.
type fuzzyWalk struct {
	t      *termTrie
	word   []rune
	k      int
	prefix bool
	fn     func(term, dist int)
	// Within the subtree of one first rune: the edits still allowed, and
	// what a term there pays on top of its distance (see firstRunePenalty).
	budget, penalty int
	rows            [][]int // rows[d]: distances after d runes of the current prefix
	path            []rune  // the runes of the current prefix
}

func (v *vocabulary) walkFuzzy(word []rune, k int, prefix bool, fn func(term, dist int)) {
	t := v.trie
	if t.child[0] < 0 {
		return // no terms
	}
	m := len(word)
	w := &fuzzyWalk{t: t, word: word, k: k, prefix: prefix, fn: fn,
		rows: make([][]int, t.depth+1), path: make([]rune, t.depth+1)}
	cells := make([]int, (t.depth+1)*(m+1))
	for d := range w.rows {
		w.rows[d] = cells[d*(m+1) : (d+1)*(m+1)]
	}
	for j := range w.rows[0] {
		w.rows[0][j] = j
	}
	w.walk(0, 1, m+k+1)
}

// firstRunePenalty is what a term whose first rune is not the word's pays
// on top of its edit distance: people rarely get a word's first letter
// wrong, and letting them costs a walk of the whole vocabulary for every
// typo. So a first-letter typo counts as two, as in Meilisearch: words of
// 4–7 runes must start right, longer ones may start wrong and have no other
// typo.
const firstRunePenalty = 1

// walk visits the children of node n, which sit at depth d (in runes);
// best is the closest any shorter prefix came to the whole word.
func (w *fuzzyWalk) walk(n int32, d int, best int) {
	t, word, m := w.t, w.word, len(w.word)
	up, row := w.rows[d-1], w.rows[d]
	for c := t.child[n]; c >= 0; c = t.next[c] {
		r := t.r[c]
		if d == 1 {
			w.budget, w.penalty = w.k, 0
			if r != word[0] {
				w.budget, w.penalty = w.k-firstRunePenalty, firstRunePenalty
				if w.budget < 0 {
					continue
				}
			}
		}
		k := w.budget
		w.path[d-1] = r
		row[0] = d
		rowMin := d
		for j := 1; j <= m; j++ {
			cost := 1
			if word[j-1] == r {
				cost = 0
			}
			x := min(up[j]+1, row[j-1]+1, up[j-1]+cost)
			if d > 1 && j > 1 && r == word[j-2] && w.path[d-2] == word[j-1] {
				x = min(x, w.rows[d-2][j-2]+1)
			}
			row[j] = x
			rowMin = min(rowMin, x)
		}
		b := min(best, row[m])
		if rowMin > k {
			// Longer prefixes only get further away. In prefix mode every
			// term below a prefix that matched still counts.
			if w.prefix && b <= k {
				for i := t.lo[c]; i < t.hi[c]; i++ {
					w.fn(int(i), b+w.penalty)
				}
			}
			continue
		}
		if t.end[c] {
			if w.prefix {
				if b <= k {
					w.fn(int(t.lo[c]), b+w.penalty)
				}
			} else if row[m] <= k {
				w.fn(int(t.lo[c]), row[m]+w.penalty)
			}
		}
		if t.child[c] >= 0 {
			w.walk(c, d+1, b)
		}
	}
}

// gramIndex lists, for each three-byte sequence, the terms containing it,
// so the terms containing a word (vocabulary.containing) are found among
// the few holding its rarest trigram instead of by scanning every term.
type gramIndex struct {
	grams  []uint32 // sorted
	starts []int32  // the terms holding grams[i] are ids[starts[i]:starts[i+1]]
	ids    []int32  // ascending within each gram
}

func gramAt(s string, i int) uint32 {
	return uint32(s[i])<<16 | uint32(s[i+1])<<8 | uint32(s[i+2])
}

func newGramIndex(terms []string) *gramIndex {
	var pairs []uint64 // gram << 32 | term
	for id, term := range terms {
		for i := 0; i+3 <= len(term); i++ {
			pairs = append(pairs, uint64(gramAt(term, i))<<32|uint64(id))
		}
	}
	slices.Sort(pairs)
	pairs = slices.Compact(pairs)
	g := &gramIndex{ids: make([]int32, len(pairs))}
	for i, p := range pairs {
		gram := uint32(p >> 32)
		if len(g.grams) == 0 || g.grams[len(g.grams)-1] != gram {
			g.grams = append(g.grams, gram)
			g.starts = append(g.starts, int32(i))
		}
		g.ids[i] = int32(uint32(p))
	}
	g.starts = append(g.starts, int32(len(pairs)))
	return g
}

// terms returns the terms holding gram.
func (g *gramIndex) terms(gram uint32) []int32 {
	i, ok := slices.BinarySearch(g.grams, gram)
	if !ok {
		return nil
	}
	return g.ids[g.starts[i]:g.starts[i+1]]
}

// bytes is the memory the index holds.
func (g *gramIndex) bytes() int64 { return 4 * int64(len(g.grams)+len(g.starts)+len(g.ids)) }

// containingTerms calls fn with every term that contains sub (at least
// three bytes long), in ascending order.
func (v *vocabulary) containingTerms(sub string, fn func(term int)) {
	var rarest []int32
	for i := 0; i+3 <= len(sub); i++ {
		l := v.grams.terms(gramAt(sub, i))
		if len(l) == 0 {
			return
		}
		if rarest == nil || len(l) < len(rarest) {
			rarest = l
		}
	}
	for _, id := range rarest {
		if term := v.terms[id]; len(term) >= len(sub) && (len(sub) == 3 || strings.Contains(term, sub)) {
			fn(int(id))
		}
	}
}
