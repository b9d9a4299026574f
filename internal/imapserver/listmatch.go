package imapserver

import "rookery/internal/store"

// A namePattern is a compiled LIST/LSUB pattern (RFC 9051 §6.3.9): '*'
// matches any run of characters, '%' any run without the hierarchy
// separator, and every other byte itself.
//
// Matching is bit-parallel: bit i of the state set means "the first i
// bytes of the pattern match the name read so far". Reading one byte of
// the name updates the whole set in ceil((n+1)/64) word operations, where
// n is the pattern's length after compilation, so one match costs at most
// len(name) × ceil((n+1)/64) word steps whatever the pattern (no
// backtracking), and stops early once no state is left.
//
// Compilation collapses each run of wildcards into one: a run holding a
// '*' matches exactly what '*' matches, a run of '%' what '%' matches. So
// "%*%*…%*X" costs what "*X" costs.
//
// A namePattern keeps scratch space: it is not safe for concurrent use.
type namePattern struct {
	n     int      // compiled length; states are 0..n
	words int      // uint64 words per state set
	star  []uint64 // bit i: byte i is '*'
	pct   []uint64 // bit i: byte i is '%'
	wild  []uint64 // star | pct
	// lit[idx[c]-1] has bit i set when byte i is the literal c; idx[c]
	// is 0 for a byte that is not in the pattern.
	idx [256]uint16
	lit [][]uint64

	cur, next []uint64 // scratch state sets
	// steps counts word operations of match (tests bound it).
	steps int
}

// compilePattern compiles a LIST pattern over store names.
func compilePattern(p string) *namePattern {
	// Collapse runs of wildcards.
	c := make([]byte, 0, len(p))
	for i := 0; i < len(p); i++ {
		b := p[i]
		if b != '*' && b != '%' {
			c = append(c, b)
			continue
		}
		j := i
		for j < len(p) && (p[j] == '*' || p[j] == '%') {
			if p[j] == '*' {
				b = '*'
			}
			j++
		}
		c = append(c, b)
		i = j - 1
	}
	m := &namePattern{n: len(c), words: (len(c) + 1 + 63) / 64}
	alloc := func() []uint64 { return make([]uint64, m.words) }
	m.star, m.pct, m.wild, m.cur, m.next = alloc(), alloc(), alloc(), alloc(), alloc()
	for i, b := range c {
		w, bit := i/64, uint64(1)<<(i%64)
		switch b {
		case '*':
			m.star[w] |= bit
			m.wild[w] |= bit
		case '%':
			m.pct[w] |= bit
			m.wild[w] |= bit
		default:
			if m.idx[b] == 0 {
				m.lit = append(m.lit, alloc())
				m.idx[b] = uint16(len(m.lit))
			}
			m.lit[m.idx[b]-1][w] |= bit
		}
	}
	return m
}

// len is the pattern's compiled length (runs of wildcards count as one).
func (m *namePattern) len() int { return m.n }

// cost is the number of word operations per byte of a name.
func (m *namePattern) cost() int { return m.words }

// closure adds, for every live state before a wildcard, the state after
// it (a wildcard may match nothing). Compiled patterns never have two
// wildcards in a row, so one shift suffices.
func (m *namePattern) closure(d []uint64) {
	var carry uint64
	for w := range d {
		x := d[w] & m.wild[w]
		d[w] |= x<<1 | carry
		carry = x >> 63
	}
}

// match reports whether name matches the pattern.
func (m *namePattern) match(name string) bool {
	d, nd := m.cur, m.next
	clear(d)
	d[0] = 1
	m.closure(d)
	for i := 0; i < len(name); i++ {
		c := name[i]
		var lit []uint64
		if k := m.idx[c]; k != 0 {
			lit = m.lit[k-1]
		}
		var carry, live uint64
		for w := range d {
			var adv uint64
			if lit != nil {
				adv = d[w] & lit[w]
			}
			x := adv<<1 | carry
			carry = adv >> 63
			x |= d[w] & m.star[w]
			if c != store.Separator {
				x |= d[w] & m.pct[w]
			}
			nd[w] = x
			live |= x
		}
		m.steps += m.words
		if live == 0 {
			return false
		}
		m.closure(nd)
		d, nd = nd, d
	}
	return d[m.n/64]&(1<<(m.n%64)) != 0
}

// patternSet is the compiled patterns of one LIST command; a name
// matches if any pattern matches it.
type patternSet []*namePattern

func (ps patternSet) match(name string) bool {
	for _, p := range ps {
		if p.match(name) {
			return true
		}
	}
	return false
}

// steps sums the word operations of every pattern's matches.
func (ps patternSet) steps() int {
	n := 0
	for _, p := range ps {
		n += p.steps
	}
	return n
}
