package trainedgzip

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// page is HTML shaped like a page of search results, different for each
// seed.
func page(seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	words := strings.Fields("the of and a in to love harry potter stand fire games help night dark house war peace king")
	var b strings.Builder
	fmt.Fprintf(&b, `<p id="result-count" hx-swap-oob="innerHTML">%d books match “%s”</p><ol class="results" id="result-list">`, rng.IntN(1000), words[rng.IntN(len(words))])
	for range 10 {
		id := rng.IntN(1_000_000)
		fmt.Fprintf(&b, `<li class="result" data-book-id="%d"><a href="/books/%d"><span class="title" id="title-%d">`, id, id, id)
		for range 1 + rng.IntN(6) {
			b.WriteString(words[rng.IntN(len(words))] + " ")
		}
		fmt.Fprintf(&b, `</span> <span class="meta">by <span class="authors">%s <mark>%s</mark></span> <span class="details">· %d · ★ %.2f (%d ratings)</span></span></a>`,
			words[rng.IntN(len(words))], words[rng.IntN(len(words))], 1800+rng.IntN(225), 1+4*rng.Float64(), rng.IntN(3_000_000))
		fmt.Fprintf(&b, `<form class="shelf" id="shelf-%d" action="/shelves/sign-in" role="group" aria-labelledby="title-%d"><input type="hidden" name="book" value="%d"><button name="shelf" value="read">Read</button></form></li>`, id, id, id)
	}
	b.WriteString("</ol>")
	return []byte(b.String())
}

func gunzip(t testing.TB, gz []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("gzip header: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("inflating: %v", err)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	e := New(page(1), page(2))
	rng := rand.New(rand.NewPCG(7, 7))
	random := make([]byte, 70_000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	every := make([]byte, 0, 256*3)
	for i := range 256 * 3 {
		every = append(every, byte(i))
	}
	var long []byte // repeats farther back than the window, and some within
	for len(long) < 200_000 {
		long = append(long, page(uint64(len(long)))...)
		long = append(long, random[:rng.IntN(40_000)]...)
	}
	// The largest output per byte: only bytes of the longest code, in an
	// order that never repeats four of them.
	longest := uint8(0)
	for b := range 256 {
		longest = max(longest, e.lit[b].len)
	}
	var rare []byte
	for b := range 256 {
		if e.lit[b].len == longest {
			rare = append(rare, byte(b))
		}
	}
	if len(rare) < 16 {
		t.Fatalf("only %d bytes have the longest code, %d bits", len(rare), longest)
	}
	var worst []byte
	for i := range min(len(rare)*len(rare)*len(rare), 100_000) {
		worst = append(worst, rare[i%len(rare)], rare[i/len(rare)%len(rare)], rare[i/len(rare)/len(rare)])
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"bytes of the longest code only", worst},
		{"empty", nil},
		{"one byte", []byte("x")},
		{"seven bytes", []byte("abcdefg")},
		{"eight bytes", []byte("abcdabcd")},
		{"a run of one byte", bytes.Repeat([]byte("a"), 1000)},
		{"every byte value", every},
		{"random", random},
		{"a page unlike the samples", page(99)},
		{"longer than the window", long},
		{"the longest repeats", bytes.Repeat([]byte("0123456789"), 300)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gz := e.Append([]byte("prefix"), tt.in)
			if !bytes.HasPrefix(gz, []byte("prefix")) {
				t.Fatal("dst was not appended to")
			}
			if got := gunzip(t, gz[len("prefix"):]); !bytes.Equal(got, tt.in) {
				t.Fatalf("got %d bytes back, want the %d given", len(got), len(tt.in))
			}
		})
	}
}

// A trained encoder compresses pages like its samples about as well as a
// general compressor at its fastest level, which fits a code to each.
func TestCompressesLikeAGeneralCompressor(t *testing.T) {
	e := New(page(1), page(2), page(3))
	for seed := uint64(10); seed < 20; seed++ {
		in := page(seed)
		ours := len(e.Append(nil, in))
		var general bytes.Buffer
		w, _ := kgzip.NewWriterLevel(&general, kgzip.BestSpeed)
		w.Write(in)
		w.Close()
		if ours > general.Len()*115/100 || ours > len(in)/3 {
			t.Errorf("page %d: %d bytes gzipped to %d, against %d at the fastest general level", seed, len(in), ours, general.Len())
		}
	}
}

// A code must be complete and within deflate's limits whatever the
// frequencies: skewed ones need the length limit.
func TestCodeLengths(t *testing.T) {
	fib := make([]int, 40) // the most skewed frequencies: a Fibonacci tree is as deep as it gets
	fib[0], fib[1] = 1, 1
	for i := 2; i < len(fib); i++ {
		fib[i] = fib[i-1] + fib[i-2]
	}
	for _, tt := range []struct {
		name  string
		freq  []int
		limit int
	}{
		{"fibonacci", fib, 15},
		{"fibonacci, short", fib, 7},
		{"even", []int{5, 5, 5, 5, 5, 5, 5, 5}, 15},
		{"some unused", []int{0, 3, 0, 1, 9, 0}, 15},
		{"one used", []int{0, 0, 4}, 7},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lens := codeLengths(tt.freq, tt.limit)
			kraft, used := 0.0, 0
			for s, l := range lens {
				if (l > 0) != (tt.freq[s] > 0) {
					t.Errorf("symbol %d (frequency %d) has length %d", s, tt.freq[s], l)
				}
				if int(l) > tt.limit {
					t.Errorf("symbol %d has length %d, over %d", s, l, tt.limit)
				}
				if l > 0 {
					kraft += 1 / float64(uint(1)<<l)
					used++
				}
			}
			if used > 1 && kraft != 1 {
				t.Errorf("Kraft sum %v: the code is not complete", kraft)
			}
		})
	}
}

func FuzzRoundTrip(f *testing.F) {
	e := New(page(1))
	f.Add(page(3))
	f.Add([]byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if got := gunzip(t, e.Append(nil, in)); !bytes.Equal(got, in) {
			t.Fatalf("got %q back, want %q", got, in)
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	e := New(page(1), page(2), page(3))
	in := page(4)
	b.SetBytes(int64(len(in)))
	var out []byte
	for b.Loop() {
		out = e.Append(out[:0], in)
	}
	b.ReportMetric(float64(len(out)), "bytes-out")
}

func BenchmarkGeneralFastest(b *testing.B) {
	in := page(4)
	b.SetBytes(int64(len(in)))
	var out bytes.Buffer
	w, _ := kgzip.NewWriterLevel(&out, kgzip.BestSpeed)
	for b.Loop() {
		out.Reset()
		w.Reset(&out)
		w.Write(in)
		w.Close()
	}
	b.ReportMetric(float64(out.Len()), "bytes-out")
}
