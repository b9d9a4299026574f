package search

import (
	"fmt"
	"unicode/utf8"
)

// Plan is a search split between a store's index and per-message
// evaluation. The messages matching the search are exactly those that
// match Index (as the store evaluates it) and then Residual (evaluated
// with Compile and Match on each such candidate).
//
// Index holds only these operations, combined with And, Or and Not:
//
//   - exact (IndexExact): OpAll, OpFlag, OpKeyword, OpUID (sets already
//     resolved), OpLarger, OpSmaller, OpModSeq. The store answers them
//     exactly; they do not reappear in Residual.
//   - prefilters: OpHeader, OpAddress, OpBody and OpText with a needle of at least
//     MinIndexedNeedle runes, and OpBefore, OpOn, OpSince, OpSavedBefore,
//     OpSavedOn, OpSavedSince. The store may answer them with any
//     superset: a trigram index for the text (folding case at least as
//     much as Unicode simple case folding, or treating the key as true
//     for needles it cannot fold), a UTC date range widened by a day for
//     the dates (the exact test is on the date's own zone). Every
//     prefilter also stays in Residual.
//
// Not appears in Index only above exact keys (the complement of a
// superset is not a superset). Everything else (sequence numbers,
// RECENT, sent dates, short needles, "header exists", OLDER/YOUNGER)
// is left to Residual: a session may first rewrite OpSeq and OpRecent
// into OpUID sets to make them indexable.
type Plan struct {
	Index    Key
	Residual Key
}

// MinIndexedNeedle is the shortest needle (in runes) that a text
// prefilter handles: a trigram index cannot look up shorter ones.
const MinIndexedNeedle = 3

// IndexExact reports whether a store must answer op exactly when it
// appears in Plan.Index (see Plan).
func IndexExact(op Op) bool {
	switch op {
	case OpAll, OpFlag, OpKeyword, OpUID, OpLarger, OpSmaller, OpModSeq:
		return true
	}
	return false
}

// NewPlan splits k (see Plan). opts resolves "*" in UID sets and
// SAVEDATESUPPORTED.
func NewPlan(k Key, opts Options) (Plan, error) {
	if _, err := Compile(k, opts); err != nil { // validate once
		return Plan{}, err
	}
	k = normalize(k, &opts)
	idx, restricted, exact := approx(k)
	if !restricted {
		idx = All()
	}
	p := Plan{Index: idx, Residual: All()}
	switch {
	case exact:
	case k.Op == OpAnd:
		var rest []Key
		for _, s := range k.Sub {
			if _, _, ex := approx(s); !ex {
				rest = append(rest, s)
			}
		}
		p.Residual = andOf(rest)
	default:
		p.Residual = k
	}
	return p, nil
}

// normalize flattens nested Ands, drops All from Ands, resolves UID sets
// and SAVEDATESUPPORTED.
func normalize(k Key, opts *Options) Key {
	switch k.Op {
	case OpAnd:
		var sub []Key
		for _, s := range k.Sub {
			s = normalize(s, opts)
			switch s.Op {
			case OpAll:
			case OpAnd:
				sub = append(sub, s.Sub...)
			default:
				sub = append(sub, s)
			}
		}
		return andOf(sub)
	case OpOr, OpNot:
		sub := make([]Key, len(k.Sub))
		for i, s := range k.Sub {
			sub[i] = normalize(s, opts)
		}
		k.Sub = sub
	case OpUID:
		k.Set = k.Set.Resolve(opts.MaxUID)
	case OpSaveDateSupported:
		if opts.SaveDateSupported {
			return All()
		}
		return Or()
	}
	return k
}

// andOf returns the And of keys, simplified for zero or one key.
func andOf(keys []Key) Key {
	switch len(keys) {
	case 0:
		return All()
	case 1:
		return keys[0]
	}
	return And(keys...)
}

// approx returns a key over index operations that every message matching
// k matches (restricted false: no such restriction, every message is a
// candidate), and whether that key is equivalent to k.
func approx(k Key) (idx Key, restricted, exact bool) {
	switch k.Op {
	case OpAll:
		return Key{}, false, true
	case OpFlag, OpKeyword, OpUID, OpLarger, OpSmaller, OpModSeq:
		return k, true, true
	case OpBefore, OpOn, OpSince, OpSavedBefore, OpSavedOn, OpSavedSince:
		return k, true, false
	case OpHeader, OpAddress, OpBody, OpText:
		if utf8.RuneCountInString(k.Value) >= MinIndexedNeedle {
			return k, true, false
		}
		return Key{}, false, false
	case OpAnd:
		var sub []Key
		exact = true
		for _, s := range k.Sub {
			i, r, e := approx(s)
			if r {
				sub = append(sub, i)
			}
			exact = exact && e
		}
		return andOf(sub), len(sub) > 0, exact
	case OpOr:
		var sub []Key
		exact = true
		for _, s := range k.Sub {
			i, r, e := approx(s)
			if !r {
				// This branch admits every message (exactly so if it is
				// equivalent to All): so does the Or.
				return Key{}, false, e
			}
			sub = append(sub, i)
			exact = exact && e
		}
		if len(sub) == 1 {
			return sub[0], true, exact
		}
		return Or(sub...), true, exact
	case OpNot:
		i, r, e := approx(k.Sub[0])
		switch {
		case !e:
			return Key{}, false, false
		case !r: // NOT ALL
			return Or(), true, true
		}
		return Not(i), true, true
	}
	return Key{}, false, false
}

// String formats a plan for tests and logs.
func (p Plan) String() string { return fmt.Sprintf("index %v residual %v", p.Index, p.Residual) }
