package search

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// Ranking. The exact matches of a search (every word as typed, the last
// also as a prefix) are ranked by relevance over a window of candidates:
// the titleWindow most popular of them, and the titleWindow most popular
// whose title starts with the query. The other exact matches follow by
// popularity, then the matches with typos or inside longer words, by
// popularity too. Both engines pick the same window and rank it with the
// same relevance, so they give the same order.

// titleWindow is how many exact matches, and how many titles starting with
// the query, a search ranks by relevance.
const titleWindow = 64

// Relevance is popularity, log10 of the ratings count, plus what the match
// adds. Each 1.0 weighs as much as ten times the ratings: a whole-word
// match beats a prefix-only one unless that book has 10× the ratings; a
// title equal to the query beats another whole-word match unless that has
// 10× the ratings too (so both together give way only to 100×); a title
// that merely starts with the query only settles near ties (2×).
const (
	wholeWordBoost   = 1.0
	titleEqualBoost  = 1.0
	titleStartsBoost = 0.3
)

// relevance scores an exact match of a book with ratings: whole when the
// query's last word is a whole word of its title or authors (not only the
// start of one), and where its title stands. It is 10 to the power of the
// relevance above, (1 + ratings) × 10^boost, which orders books the same
// without a logarithm per book.
func relevance(ratings int64, whole bool, title titleRank) float64 {
	w := 0
	if whole {
		w = 1
	}
	return float64(1+max(ratings, 0)) * boostFactors[w][title]
}

// boostFactors are 10^boost for each match: [1] with the last word whole,
// then by titleRank.
var boostFactors = func() (f [2][3]float64) {
	for w := range f {
		for title := range f[w] {
			boost := float64(w) * wholeWordBoost
			switch titleRank(title) {
			case titleExact:
				boost += titleEqualBoost
			case titlePrefix:
				boost += titleStartsBoost
			}
			f[w][title] = math.Pow(10, boost)
		}
	}
	return f
}()

// scored is a candidate for ranking with its relevance.
type scored[T any] struct {
	c     T
	score float64
}

// sortByRelevance orders candidates, given most popular first, by their
// scores, highest first; ties keep popularity order. Both engines rank
// with it.
func sortByRelevance[T any](cands []scored[T]) {
	slices.SortStableFunc(cands, func(a, b scored[T]) int { return cmp.Compare(b.score, a.score) })
}

type titleRank int

const (
	titleExact  titleRank = iota // the title, less any series note, is the query
	titlePrefix                  // the title starts with the query (its last word as a prefix)
	titleOther
)

// rankTitle places a title in Search's title tiers for words.
func rankTitle(title string, words []*wordTerms) titleRank {
	tw := foldWords(title)
	if len(tw) < len(words) {
		return titleOther
	}
	for i, w := range words {
		switch {
		case tw[i] == w.word:
		case i == len(words)-1 && w.last && strings.HasPrefix(tw[i], w.word):
			return titlePrefix
		default:
			return titleOther
		}
	}
	if len(foldWords(mainTitle(title))) == len(words) {
		return titleExact
	}
	return titlePrefix
}

// lastWordWhole reports whether the last of words is a whole word of title
// or authors.
func lastWordWhole(title, authors string, words []*wordTerms) bool {
	last := words[len(words)-1].word
	found := false
	check := func(_, _ int, folded []byte) { found = found || string(folded) == last }
	tokenize(title, check)
	if !found {
		tokenize(authors, check)
	}
	return found
}

// mainTitle is title without a trailing series note, as in "The Giver
// (The Giver, #1)": the note does not count against a title's exactness.
func mainTitle(title string) string {
	if !strings.HasSuffix(title, ")") {
		return title
	}
	if i := strings.LastIndex(title, " ("); i > 0 {
		return strings.TrimSpace(title[:i])
	}
	return title
}
