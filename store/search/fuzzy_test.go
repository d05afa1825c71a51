package search

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestDamerau(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "abc", 0},
		{"tolkein", "tolkien", 1}, // adjacent swap is one edit
		{"hary", "harry", 1}, {"poter", "potter", 1}, {"harry", "hairy", 1},
		{"kitten", "sitting", 3}, {"ca", "abc", 3}, // optimal string alignment, not full Damerau
		{"garcía", "garcia", 1}, {"ñandú", "nandu", 2},
	}
	for _, tt := range tests {
		if got := damerau(tt.a, tt.b); got != tt.want {
			t.Errorf("damerau(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := damerau(tt.b, tt.a); got != tt.want {
			t.Errorf("damerau(%q, %q) = %d, want %d", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestTypoBudget(t *testing.T) {
	tests := []struct {
		word string
		want int
	}{{"cat", 0}, {"dune", 1}, {"tolkien", 1}, {"hitchhiker", 2}, {"sorcerer", 2}, {"1984", 0}, {"catch22x", 0}, {"ñandú", 1}}
	for _, tt := range tests {
		if got := typoBudget(tt.word, len([]rune(tt.word))); got != tt.want {
			t.Errorf("typoBudget(%q) = %d, want %d", tt.word, got, tt.want)
		}
	}
}

// TestFuzzyMatchesBruteForce compares the trie walk with computing every
// distance, in both modes, over a random vocabulary: a term (or prefix)
// whose first rune is not the word's pays firstRunePenalty on top.
func TestFuzzyMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("abcdeéñ")
	word := func() string {
		r := make([]rune, 1+rng.IntN(7))
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(r)
	}
	var terms []string
	var docs []int32
	for range 3000 {
		terms = append(terms, word())
		docs = append(docs, int32(rng.IntN(100)))
	}
	v := sortedVocabulary(0, terms, docs)
	for range 100 {
		w := word()
		for k := 1; k <= 2; k++ {
			for _, prefix := range []bool{false, true} {
				got := map[string]int{}
				v.fuzzy([]rune(w), k, prefix, func(i, d int) { got[v.terms[i]] = d })
				want := map[string]int{}
				for _, term := range v.terms {
					d := damerau(w, term)
					if prefix {
						tr := []rune(term)
						for n := 1; n <= len(tr); n++ {
							d = min(d, damerau(w, string(tr[:n])))
						}
					}
					if []rune(term)[0] != []rune(w)[0] {
						d += firstRunePenalty
					}
					if d <= k {
						want[term] = d
					}
				}
				if len(got) != len(want) {
					t.Fatalf("fuzzy(%q, %d, prefix %v): %d terms, want %d", w, k, prefix, len(got), len(want))
				}
				for term, d := range want {
					if got[term] != d {
						t.Fatalf("fuzzy(%q, %d, prefix %v)[%q] = %d, want %d", w, k, prefix, term, got[term], d)
					}
				}
			}
		}
	}
}

func TestExpand(t *testing.T) {
	v := sortedVocabulary(0,
		[]string{"harry", "hairy", "hary", "potter", "pottery", "poter", "tolkien", "charry", "arrow", "cat", "cot", "tolkiens", "the", "other", "mother"},
		[]int32{100, 20, 5, 90, 3, 1, 50, 2, 7, 40, 8, 1, 500, 300, 200})
	tests := []struct {
		word  string
		last  bool
		exact bool
		pref  bool
		extra []string
	}{
		{"harry", false, true, false, []string{"hairy", "hary", "charry"}}, // typo variants even of a known word: they rank after it
		{"poter", false, true, false, []string{"potter"}},                  // in one book only: may be a typo itself
		{"arry", false, false, false, []string{"harry", "charry"}},         // "hary" is two edits away
		{"cat", false, true, false, nil},                                   // no typos under four letters
		{"cat", true, true, true, nil},
		{"pot", true, false, true, nil}, // prefix: FTS matches "pot"* itself
		{"tolkein", false, false, false, []string{"tolkien"}},
		{"tolkein", true, false, false, []string{"tolkien", "tolkiens"}}, // prefix within one typo
		{"zzzz", true, false, false, nil},
	}
	for _, tt := range tests {
		kept := v.expansions.len()
		w := v.expand(tt.word, tt.last)
		extra := extraTerms(w)
		want := slices.Clone(tt.extra)
		sort.Strings(want)
		if w.exact != tt.exact || w.pref != tt.pref || !slices.Equal(extra, want) {
			t.Errorf("expand(%q, %v) = exact %v pref %v extra %q; want %v %v %q", tt.word, tt.last, w.exact, w.pref, extra, tt.exact, tt.pref, tt.extra)
		}
		if w.possible() != (tt.exact || tt.pref || len(tt.extra) > 0) {
			t.Errorf("expand(%q).possible() = %v", tt.word, w.possible())
		}
		again := v.expand(tt.word, tt.last)
		if v.expansions.len() != kept+1 {
			t.Errorf("expand(%q, %v) kept %d words, then %d", tt.word, tt.last, kept, v.expansions.len())
		}
		if !reflect.DeepEqual(again, w) {
			t.Errorf("expand(%q, %v) from the cache = %+v, computed %+v", tt.word, tt.last, again, w)
		}
	}
}

// extraTerms returns w's variants, sorted.
func extraTerms(w *wordTerms) []string {
	var terms []string
	for _, t := range w.extraIDs {
		terms = append(terms, w.terms[t])
	}
	sort.Strings(terms)
	return terms
}

func TestExpansionIsCapped(t *testing.T) {
	var terms []string
	var docs []int32
	for i := range 500 {
		terms = append(terms, "x"+string(rune('a'+i%26))+"book"+string(rune('a'+i/26)))
		docs = append(docs, int32(i))
	}
	v := sortedVocabulary(0, terms, docs)
	w := v.expand("book", false)
	// The most common ones are kept.
	want := slices.Clone(terms[len(terms)-maxSubstringTerms:])
	sort.Strings(want)
	if got := extraTerms(w); !slices.Equal(got, want) {
		t.Errorf("substring terms %q, want the %d most common %q", got, maxSubstringTerms, want)
	}
}

// TestTypoOnFirstLetterCostsTwo: words must start right to be corrected
// with one typo; long words may start wrong if that is their only typo.
func TestTypoOnFirstLetterCostsTwo(t *testing.T) {
	v := sortedVocabulary(0, []string{"tolkien", "hitchhiker", "harry", "potter"}, []int32{50, 40, 100, 90})
	tests := []struct {
		word string
		want []string
	}{
		{"tolkein", []string{"tolkien"}},       // a swap inside: one typo
		{"folkien", nil},                       // first letter wrong, 7 letters: refused
		{"gitchhiker", []string{"hitchhiker"}}, // first letter wrong, 10 letters: two typos' worth
		{"gitchhikr", nil},                     // first letter wrong and another typo
		{"ohtter", nil},
	}
	for _, tt := range tests {
		runes := []rune(tt.word)
		var got []string
		v.fuzzy(runes, typoBudget(tt.word, len(runes)), false, func(i, _ int) { got = append(got, v.terms[i]) })
		if !slices.Equal(got, tt.want) {
			t.Errorf("fuzzy(%q) = %v, want %v", tt.word, got, tt.want)
		}
	}
}

// TestContainingMatchesScan compares the trigram lookup with scanning
// every term.
func TestContainingMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := []rune("abcéñ")
	word := func(n int) string {
		r := make([]rune, n)
		for i := range r {
			r[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(r)
	}
	var terms []string
	var docs []int32
	for range 2000 {
		terms = append(terms, word(1+rng.IntN(8)))
		docs = append(docs, int32(rng.IntN(100)))
	}
	v := sortedVocabulary(0, terms, docs)
	for range 300 {
		sub := word(2 + rng.IntN(4))
		if len(sub) < 3 {
			continue
		}
		var got, want []int
		v.containingTerms(sub, func(i int) { got = append(got, i) })
		for i, term := range v.terms {
			if strings.Contains(term, sub) {
				want = append(want, i)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("containingTerms(%q) = %v, want %v", sub, got, want)
		}
	}
}
