// Package trainedgzip writes gzip streams whose Huffman code was built once,
// from samples of what will be compressed, rather than once per stream.
//
// A general compressor counts each stream's symbols and builds, encodes
// and writes a code fitted to them. For a page of search results (8 KB of
// HTML that compresses to 1.4 KB) that bookkeeping cost more than finding
// the repeats, and the page's code hardly differs from the next page's.
// Here the code, and the block header that describes it, are made once;
// compressing is finding repeats (LZ77, greedy, as the fastest levels do)
// and writing each symbol's code from a table.
//
// Every symbol has a code, so any input compresses correctly; inputs unlike
// the samples just compress less well.
package trainedgzip

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"
	"slices"
	"sync"
)

// Encoder compresses with one trained code. It is safe for concurrent use.
type Encoder struct {
	lit  [numLit]code // literal bytes, end of block, match lengths
	dist [numDist]code
	// head is the deflate block's header (final block, dynamic code, the
	// code lengths), whole bytes then tailBits bits in tail.
	head     []byte
	tail     uint64
	tailBits uint
}

// code is a Huffman code, bit-reversed: deflate writes codes from their
// most significant bit, into a stream filled from each byte's least.
type code struct {
	bits uint16
	len  uint8
}

const (
	numLit    = 286 // 0-255 bytes, 256 end of block, 257-285 lengths
	numDist   = 30
	endBlock  = 256
	minMatch  = 4 // shorter repeats are not looked for
	maxMatch  = 258
	window    = 32 << 10
	hashBits  = 12
	maxLitLen = 15 // longest code deflate allows
	maxCLLen  = 7  // longest code of the code-length alphabet
)

// New trains an Encoder on samples, which should look like what it will
// compress (at least one, a few kilobytes is plenty).
func New(samples ...[]byte) *Encoder {
	var litFreq [numLit]int
	var distFreq [numDist]int
	for i := range litFreq {
		litFreq[i] = 1 // every symbol gets a code
	}
	for i := range distFreq {
		distFreq[i] = 1
	}
	for _, s := range samples {
		countSymbols(s, &litFreq, &distFreq)
	}

	e := &Encoder{}
	litLens := codeLengths(litFreq[:], maxLitLen)
	distLens := codeLengths(distFreq[:], maxLitLen)
	assign(e.lit[:], litLens)
	assign(e.dist[:], distLens)
	e.writeHeader(append(litLens, distLens...))
	return e
}

// writeHeader makes the block header for the code lengths lens (the
// literal/length code's, then the distance code's).
func (e *Encoder) writeHeader(lens []uint8) {
	// The lengths, run-length encoded with the code-length alphabet:
	// 0-15 a length, 16 the previous one 3-6 times, 17 zero 3-10 times, 18
	// zero 11-138 times.
	type clSym struct{ sym, extra, extraBits uint8 }
	var syms []clSym
	for i := 0; i < len(lens); {
		l := lens[i]
		run := 1
		for i+run < len(lens) && lens[i+run] == l {
			run++
		}
		i += run
		if l == 0 {
			for run >= 11 {
				n := min(run, 138)
				syms = append(syms, clSym{18, uint8(n - 11), 7})
				run -= n
			}
			if run >= 3 {
				syms = append(syms, clSym{17, uint8(run - 3), 3})
				run = 0
			}
		} else {
			syms = append(syms, clSym{l, 0, 0})
			run--
			for run >= 3 {
				n := min(run, 6)
				syms = append(syms, clSym{16, uint8(n - 3), 2})
				run -= n
			}
		}
		for ; run > 0; run-- {
			syms = append(syms, clSym{l, 0, 0})
		}
	}
	clFreq := make([]int, 19)
	for _, s := range syms {
		clFreq[s.sym]++
	}
	clLens := codeLengths(clFreq, maxCLLen)
	clCodes := make([]code, 19)
	assign(clCodes, clLens)
	order := [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	numCL := 19
	for numCL > 4 && clLens[order[numCL-1]] == 0 {
		numCL--
	}

	w := bitWriter{}
	w.put(1, 1) // the final block
	w.put(2, 2) // with a dynamic code
	w.put(numLit-257, 5)
	w.put(numDist-1, 5)
	w.put(uint64(numCL-4), 4)
	for _, s := range order[:numCL] {
		w.put(uint64(clLens[s]), 3)
	}
	for _, s := range syms {
		c := clCodes[s.sym]
		w.put(uint64(c.bits), uint(c.len))
		w.put(uint64(s.extra), uint(s.extraBits))
	}
	w.wholeBytes()
	e.head, e.tail, e.tailBits = w.dst, w.acc, w.n
}

// gzipHeader: no name, no time, compressed with the fastest method, on an
// unknown system.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255}

// tables are LZ77 hash tables: one more than the last position each hash
// of four bytes was seen at, 0 for none. They are cleared for each input
// (16 KB, a fraction of a microsecond): left over from the previous one,
// nearly every look-up found a stale candidate whose bytes had to be read
// and compared, which cost more.
var tables = sync.Pool{New: func() any { return new([1 << hashBits]int32) }}

// countSymbols adds the symbols src compresses to (as Append finds them)
// to the frequencies.
func countSymbols(src []byte, litFreq *[numLit]int, distFreq *[numDist]int) {
	m := newMatcher(src)
	defer m.release()
	for {
		lits, length, dist := m.next()
		for _, b := range lits {
			litFreq[b]++
		}
		if length == 0 {
			break
		}
		litFreq[257+int(lengthSym[length])]++
		distFreq[distSym(dist)]++
	}
	litFreq[endBlock]++
}

// matcher finds the repeats in src, greedily taking the first of at least
// minMatch bytes that its hash table offers, as the fastest levels do.
type matcher struct {
	src    []byte
	t      *[1 << hashBits]int32
	i, lit int // where to look next; where the literal bytes before it start
}

func newMatcher(src []byte) matcher {
	t := tables.Get().(*[1 << hashBits]int32)
	clear(t[:])
	return matcher{src: src, t: t}
}

func (m *matcher) release() { tables.Put(m.t) }

// next returns the literal bytes before the next repeat, and its length
// and distance back; after the last repeat, the literal bytes left and
// length 0.
func (m *matcher) next() (lits []byte, length, dist int) {
	src, t, n := m.src, m.t, len(m.src)
	// Two positions a step, from one load: i, and i+1 when i finds
	// nothing.
	for i := m.i; i+9 <= n; {
		v := binary.LittleEndian.Uint64(src[i:])
		c0, c1 := uint32(v), uint32(v>>8)
		h0, h1 := hash4(c0), hash4(c1)
		cand := int(t[h0]) - 1
		t[h0] = int32(i + 1)
		if cand < 0 || binary.LittleEndian.Uint32(src[cand:]) != c0 {
			cand = int(t[h1]) - 1
			t[h1] = int32(i + 2)
			i++
			if cand < 0 || binary.LittleEndian.Uint32(src[cand:]) != c1 {
				// Unmatched data is skipped faster the longer it goes on.
				i += 1 + (i-m.lit)>>6
				continue
			}
		}
		if i-cand >= window {
			i++
			continue
		}
		length = minMatch + commonPrefix(src[cand+minMatch:], src[i+minMatch:min(n, i+maxMatch)])
		lits, dist = src[m.lit:i], i-cand
		i += length
		m.i, m.lit = i, i
		if i+8 <= n { // the end of a repeat often starts the next one
			t[hash4(binary.LittleEndian.Uint32(src[i-2:]))] = int32(i - 1)
		}
		return lits, length, dist
	}
	lits = src[m.lit:]
	m.i, m.lit = n, n
	return lits, 0, 0
}

// commonPrefix returns how many bytes a and b start with in common, at
// most len(b); a is at least as long as b.
func commonPrefix(a, b []byte) int {
	n := 0
	for len(b)-n >= 8 {
		if x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:]); x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func hash4(u uint32) uint32 { return (u * 0x1e35a7bd) >> (32 - hashBits) }

// bitWriter appends bits to dst, least significant first.
type bitWriter struct {
	dst []byte
	acc uint64
	n   uint // bits held in acc, under 32 between calls
}

// put writes the low n bits of b, n at most 32.
func (w *bitWriter) put(b uint64, n uint) {
	w.acc |= b << w.n
	w.n += n
	if w.n >= 32 {
		w.dst = binary.LittleEndian.AppendUint32(w.dst, uint32(w.acc))
		w.acc >>= 32
		w.n -= 32
	}
}

// wholeBytes writes the whole bytes held, leaving fewer than 8 bits.
func (w *bitWriter) wholeBytes() {
	for w.n >= 8 {
		w.dst = append(w.dst, byte(w.acc))
		w.acc >>= 8
		w.n -= 8
	}
}

// Lengths 3-258 and distances 1-32768 as deflate codes them: a symbol and
// extra bits added to its base (RFC 1951, 3.2.5).
var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	lengthSym   [maxMatch + 1]uint8 // length -> index into lengthBase
)

func init() {
	for s := range lengthBase {
		for l := int(lengthBase[s]); l <= maxMatch && (s == len(lengthBase)-1 || l < int(lengthBase[s+1])); l++ {
			lengthSym[l] = uint8(s)
		}
	}
	lengthSym[maxMatch] = uint8(len(lengthBase) - 1) // 258 has a symbol of its own
}

// distSym returns the symbol of distance d.
func distSym(d int) int {
	x := uint32(d - 1)
	if x < 4 {
		return int(x)
	}
	nb := bits.Len32(x) - 1
	return 2*nb + int(x>>(nb-1)&1)
}

// codeLengths returns Huffman code lengths for freq, none over limit: the
// frequencies are halved (keeping every used symbol used) until the
// tree's depth allows it. Unused symbols get no code.
func codeLengths(freq []int, limit int) []uint8 {
	f := slices.Clone(freq)
	for {
		lens := huffmanLengths(f)
		if slices.Max(lens) <= uint8(limit) {
			return lens
		}
		for i, x := range f {
			if x > 0 {
				f[i] = (x + 1) / 2
			}
		}
	}
}

// huffmanLengths returns the depth of each used symbol in a Huffman tree of
// freq (0 for unused ones; 1 when only one is used).
func huffmanLengths(freq []int) []uint8 {
	type node struct {
		weight      int
		left, right int // children, -1 for a leaf
		sym         int
	}
	var nodes []node
	for s, f := range freq {
		if f > 0 {
			nodes = append(nodes, node{f, -1, -1, s})
		}
	}
	lens := make([]uint8, len(freq))
	if len(nodes) == 1 {
		lens[nodes[0].sym] = 1
		return lens
	}
	slices.SortStableFunc(nodes, func(a, b node) int { return a.weight - b.weight })
	// Two queues: the leaves by weight, and the joined nodes, which come
	// out in weight order by construction.
	leaves := len(nodes)
	li, ji := 0, leaves
	lightest := func() int {
		if li < leaves && (ji >= len(nodes) || nodes[li].weight <= nodes[ji].weight) {
			li++
			return li - 1
		}
		ji++
		return ji - 1
	}
	for range leaves - 1 {
		a, b := lightest(), lightest()
		nodes = append(nodes, node{nodes[a].weight + nodes[b].weight, a, b, -1})
	}
	var walk func(i int, depth uint8)
	walk = func(i int, depth uint8) {
		if nodes[i].left < 0 {
			lens[nodes[i].sym] = depth
			return
		}
		walk(nodes[i].left, depth+1)
		walk(nodes[i].right, depth+1)
	}
	walk(len(nodes)-1, 0)
	return lens
}

// assign gives codes the canonical Huffman codes of lens (RFC 1951,
// 3.2.2), bit-reversed for writing.
func assign(codes []code, lens []uint8) {
	var count [16]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]int
	c := 0
	for l := 1; l < 16; l++ {
		c = (c + count[l-1]) << 1
		next[l] = c
	}
	for s, l := range lens {
		if l > 0 {
			codes[s] = code{bits.Reverse16(uint16(next[l])) >> (16 - l), l}
			next[l]++
		}
	}
}

// Append appends src, gzipped, to dst.
func (e *Encoder) Append(dst, src []byte) []byte {
	dst = append(dst, gzipHeader...)
	dst = append(dst, e.head...)
	// Room for the worst case (every byte a literal of the longest code),
	// so bits are stored 8 bytes at a time without checking for room.
	start := len(dst)
	dst = slices.Grow(dst, len(src)*maxLitLen/8+64)
	buf := dst[:cap(dst)]
	pos, acc, n := start, e.tail, e.tailBits
	// flush stores acc's whole bytes; fewer than 8 bits stay.
	flush := func() {
		binary.LittleEndian.PutUint64(buf[pos:], acc)
		k := n >> 3
		pos += int(k)
		acc >>= k << 3
		n &= 7
	}
	m := newMatcher(src)
	for {
		lits, length, dist := m.next()
		// Three literals (45 bits at most) fit with the 7 left over.
		for len(lits) >= 3 {
			c0, c1, c2 := e.lit[lits[0]], e.lit[lits[1]], e.lit[lits[2]]
			acc |= uint64(c0.bits) << n
			n += uint(c0.len)
			acc |= uint64(c1.bits) << n
			n += uint(c1.len)
			acc |= uint64(c2.bits) << n
			n += uint(c2.len)
			flush()
			lits = lits[3:]
		}
		for _, b := range lits {
			c := e.lit[b]
			acc |= uint64(c.bits) << n
			n += uint(c.len)
		}
		flush()
		if length == 0 {
			break
		}
		// A length and a distance with their extra bits: 48 bits at most.
		ls := lengthSym[length]
		c := e.lit[257+int(ls)]
		acc |= (uint64(c.bits) | uint64(length-int(lengthBase[ls]))<<c.len) << n
		n += uint(c.len) + uint(lengthExtra[ls])
		ds := distSym(dist)
		c = e.dist[ds]
		acc |= (uint64(c.bits) | uint64(dist-int(distBase[ds]))<<c.len) << n
		n += uint(c.len) + uint(distExtra[ds])
		flush()
	}
	m.release()
	c := e.lit[endBlock]
	acc |= uint64(c.bits) << n
	n += uint(c.len)
	flush()
	if n > 0 { // the last bits, padded to a byte
		buf[pos] = byte(acc)
		pos++
	}
	dst = binary.LittleEndian.AppendUint32(buf[:pos], crc32.ChecksumIEEE(src))
	return binary.LittleEndian.AppendUint32(dst, uint32(len(src)))
}
