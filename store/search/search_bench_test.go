package search

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"shelf/store/catalog"
)

// benchWords and benchNames make generated catalogs look like real ones:
// a few hundred common title words and names, so terms repeat and typo or
// substring expansion has real work to do.
var benchWords = strings.Fields(`the of and a in to love night house girl life world last war time dark
	secret story lost city heart shadow moon king queen blood fire water stone garden book summer winter
	river road home dead child children man woman boy daughter son wife mother father sister brother
	little great new old black white red blue green golden silver light sea sky star stars wind rain
	snow storm island mountain forest wild kingdom empire throne crown sword dragon magic witch wizard
	ghost angel devil god gods heaven hell murder death kill killing mystery crime case detective spy
	game games hunger catching fire mockingjay harry potter hobbit rings lord chamber secrets prisoner
	azkaban goblet phoenix prince half deathly hallows sorcerer philosopher twilight moon eclipse dawn
	breaking new dune messiah children heretics chapterhouse foundation robot robots empire galaxy
	guide hitchhiker universe space time machine war worlds invisible brave animal farm nineteen
	solitude hundred years cholera autumn patriarch chronicle foretold general labyrinth memories
	pride prejudice sense sensibility emma persuasion mansfield park northanger abbey jane eyre
	wuthering heights great expectations oliver twist tale two cities christmas carol bleak
	house hard times little women good wives gone with wind kill mockingbird catcher rye gatsby
	grapes wrath mice men east eden pearl travels charley sun also rises farewell arms bell tolls
	old man sea islands stream moveable feast winter dreams beautiful damned tender night paradise
	road lonesome dove blood meridian pretty horses crossing plain cities outer dark child god
	orchard keeper suttree passenger stella maris song ice fire clash kings storm swords feast crows
	dance dragons winds winter dream spring name wind wise fear doors stone slow regard silent things
	way kings words radiance oathbringer rhythm war mistborn final well ascension hero ages alloy law
	shadows self bands mourning lost metal elantris warbreaker emperor soul tress emerald sea
	yumi nightmare painter sunlit man frankenstein dracula strange case jekyll hyde picture dorian
	gray importance being earnest ideal husband portrait artist young ulysses dubliners finnegans wake`)

var benchFirst = strings.Fields(`john mary james patricia robert jennifer michael linda william elizabeth david barbara richard
	susan joseph jessica thomas sarah charles karen gabriel jane stephen neil terry george ursula isaac
	arthur agatha ernest virginia toni margaret kurt ray philip frank brandon patrick robin j k r`)

var benchLast = strings.Fields(`smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez
	gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez
	clark ramirez lewis robinson walker young allen king wright scott torres nguyen hill flores green
	rowling tolkien king martin sanderson rothfuss herbert asimov bradbury orwell austen bronte dickens
	hemingway fitzgerald steinbeck mccarthy atwood vonnegut morrison woolf christie pratchett gaiman
	márquez garcía müller böll łukasz dvořák`)

// benchBooks generates n books deterministically, popularity heavy-tailed.
func benchBooks(n int) []catalog.Book {
	rng := rand.New(rand.NewPCG(42, 7))
	books := make([]catalog.Book, n)
	for i := range books {
		words := make([]string, 1+rng.IntN(5))
		for j := range words {
			words[j] = benchWords[rng.IntN(len(benchWords))]
		}
		words[0] = strings.ToUpper(words[0][:1]) + words[0][1:]
		authors := benchFirst[rng.IntN(len(benchFirst))] + " " + benchLast[rng.IntN(len(benchLast))]
		books[i] = catalog.Book{
			Title:         strings.Join(words, " "),
			Authors:       authors,
			Year:          1800 + rng.IntN(225),
			RatingsCount:  int64(rng.ExpFloat64() * rng.ExpFloat64() * 5000),
			AverageRating: 3 + rng.Float64()*2,
		}
	}
	return books
}

var benchQueries = []struct{ name, q string }{
	{"empty", ""},
	{"common word", "love"},
	{"two words any order", "king stephen"},
	{"prefix", "harry pot"},
	{"accents", "garcia marquez"},
	{"typo", "tolkein"},
	{"substring", "arry"},
	{"typo two words", "hary poter"},
	{"miss", "zzqqxx"},
	{"no result, suggestion", "drgaon wizzard"},
}

// BenchmarkSearch runs representative queries over a generated catalog of
// 100,000 books (built once; it takes a few seconds), on SQLite's FTS index
// and on the in-memory index.
func BenchmarkSearch(b *testing.B) {
	fts := newTestSearcher(b, benchBooks(100_000)...)
	mem, err := New(context.Background(), fts.db) // the same books
	if err != nil {
		b.Fatal(err)
	}
	if _, err := mem.BuildIndex(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Run("fts", func(b *testing.B) { benchmarkSearch(b, fts) })
	b.Run("memory", func(b *testing.B) { benchmarkSearch(b, mem) })
}

func benchmarkSearch(b *testing.B, c *Searcher) {
	// Measure the search itself: with the result cache every iteration
	// after the first would be a map lookup.
	c.SetResultCache(0)
	ctx := context.Background()
	for _, bq := range benchQueries {
		b.Run(bq.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Search(ctx, bq.q, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("page 5", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.Search(ctx, "love", 5); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("typo, cold cache", func(b *testing.B) {
		v := c.state().vocab
		for b.Loop() {
			v.expansions = newExpansions() // nothing else searches meanwhile
			if _, err := c.Search(ctx, "hary poter", 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel mix", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := c.Search(ctx, benchQueries[i%len(benchQueries)].q, 1); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}
