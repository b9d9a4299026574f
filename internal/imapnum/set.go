package imapnum

import (
	"errors"
	"strconv"
	"strings"
)

// ErrSyntax is returned (wrapped) by Parse for a malformed sequence-set.
var ErrSyntax = errors.New("imapnum: bad sequence-set")

// Normalize returns r with Start <= Stop. Star counts as the largest value.
func (r Range) Normalize() Range {
	if r.Start == Star || (r.Stop != Star && r.Start > r.Stop) {
		r.Start, r.Stop = r.Stop, r.Start
	}
	return r
}

// String formats r as "n", "n:m", "*" or "n:*".
func (r Range) String() string {
	if r.Start == r.Stop {
		return numString(r.Start)
	}
	return numString(r.Start) + ":" + numString(r.Stop)
}

func numString(n uint32) string {
	if n == Star {
		return "*"
	}
	return strconv.FormatUint(uint64(n), 10)
}

// Parse parses an RFC 9051 sequence-set: seq-number / seq-range, separated
// by commas, where seq-number is nz-number or "*". Ranges are kept as sent
// ("4:2" stays {4, 2}).
func Parse(s string) (Set, error) {
	if s == "" {
		return nil, syntaxErr(s, "empty")
	}
	set := make(Set, 0, strings.Count(s, ",")+1)
	for part := range strings.SplitSeq(s, ",") {
		var r Range
		var err error
		if i := strings.IndexByte(part, ':'); i >= 0 {
			if r.Start, err = parseSeqNumber(part[:i]); err != nil {
				return nil, syntaxErr(s, err.Error())
			}
			if r.Stop, err = parseSeqNumber(part[i+1:]); err != nil {
				return nil, syntaxErr(s, err.Error())
			}
		} else {
			if r.Start, err = parseSeqNumber(part); err != nil {
				return nil, syntaxErr(s, err.Error())
			}
			r.Stop = r.Start
		}
		set = append(set, r)
	}
	return set, nil
}

func syntaxErr(s, msg string) error {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return &parseError{set: s, msg: msg}
}

type parseError struct{ set, msg string }

func (e *parseError) Error() string {
	return "imapnum: bad sequence-set " + strconv.Quote(e.set) + ": " + e.msg
}

func (e *parseError) Unwrap() error { return ErrSyntax }

// parseSeqNumber parses nz-number / "*".
func parseSeqNumber(s string) (uint32, error) {
	if s == "*" {
		return Star, nil
	}
	if s == "" {
		return 0, errors.New("missing number")
	}
	if s[0] == '0' {
		return 0, errors.New("number must be non-zero without leading zeros")
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errors.New("unexpected character " + strconv.QuoteRune(rune(c)))
		}
		n = n*10 + uint64(c-'0')
		if n > 1<<32-1 {
			return 0, errors.New("number too large")
		}
	}
	return uint32(n), nil
}

// String formats s in sequence-set syntax ("1:3,7,9:*"). An empty set
// formats as "".
func (s Set) String() string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(r.String())
	}
	return b.String()
}

// Dynamic reports whether s contains "*".
func (s Set) Dynamic() bool {
	for _, r := range s {
		if r.Start == Star || r.Stop == Star {
			return true
		}
	}
	return false
}

// Resolve returns a copy of s with Star replaced by max and every range
// ordered so that Start <= Stop ("5:*" with max 3 becomes 3:5, as RFC 9051
// §9 requires). The order of the ranges is kept. With max 0 (an empty
// mailbox) "*" resolves to 0, which Contains never matches for real numbers.
func (s Set) Resolve(max uint32) Set {
	out := make(Set, len(s))
	for i, r := range s {
		if r.Start == Star {
			r.Start = max
		}
		if r.Stop == Star {
			r.Stop = max
		}
		if r.Start > r.Stop {
			r.Start, r.Stop = r.Stop, r.Start
		}
		out[i] = r
	}
	return out
}

// Contains reports whether n is in the resolved set s (Start <= Stop, no
// Star). Star in an unresolved set matches nothing.
func (s Set) Contains(n uint32) bool {
	for _, r := range s {
		if r.Start <= n && n <= r.Stop && r.Start != Star {
			return true
		}
	}
	return false
}

// Compact builds a Set from nums, merging runs of consecutive numbers:
// ascending input [1 2 3 7] gives "1:3,7", the minimal sorted form used in
// COPYUID and APPENDUID. Input that is not ascending keeps its order (runs
// are merged only when ascending by one), so that two Sets built from
// parallel lists still pair up element by element. Duplicates are dropped
// when adjacent. Zero values are skipped.
func Compact(nums []uint32) Set {
	var out Set
	for _, n := range nums {
		if n == 0 {
			continue
		}
		if k := len(out); k > 0 {
			last := &out[k-1]
			if n == last.Stop {
				continue
			}
			if last.Stop != 1<<32-1 && n == last.Stop+1 {
				last.Stop = n
				continue
			}
		}
		out = append(out, Range{n, n})
	}
	return out
}
