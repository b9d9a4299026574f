package search

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"rookery/internal/imapnum"
	"rookery/internal/store"
)

// ErrBadKey is returned (wrapped) by Compile and NewPlan for a malformed
// key tree (a NOT without exactly one key, an OpFlag without exactly one
// flag, an unknown Op). Keys converted from a parsed command never are.
var ErrBadKey = errors.New("malformed search key")

// MaxDepth bounds the nesting of a key tree (the parser in imapcmd allows
// 100 levels; conversion may add one or two).
const MaxDepth = 128

// Options are the session facts that a search needs besides the messages.
type Options struct {
	// MaxSeq and MaxUID resolve "*" in sequence and UID sets: the number
	// of messages in the mailbox and the highest UID in it (0 if empty).
	MaxSeq uint32
	MaxUID store.UID
	// Now is the time OLDER and YOUNGER count back from; zero means
	// time.Now() at Compile.
	Now time.Time
	// SaveDateSupported tells whether the mailbox keeps save dates
	// (SAVEDATESUPPORTED, RFC 8514).
	SaveDateSupported bool
}

// Matcher decides whether messages match a compiled key. It is immutable
// and safe for concurrent use.
type Matcher struct {
	root node
}

// node is a compiled Key: needles folded, sets resolved, dates reduced to
// calendar numbers, children ordered cheapest first.
type node struct {
	op    Op
	sub   []node
	flag  store.SysFlags
	field string
	env   bool   // OpHeader: the envelope's occurrence only
	value string // folded needle; keyword as given
	set   imapnum.Set
	day   int   // civil date of date keys
	n     int64 // sizes, modseq
	t     time.Time
	cost  int
}

// Compile checks k and prepares it for Match.
func Compile(k Key, opts Options) (*Matcher, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	n, err := compile(&k, &opts, 0)
	if err != nil {
		return nil, err
	}
	return &Matcher{root: n}, nil
}

// Cost classes: metadata, header, body.
const (
	costMeta   = 1
	costHeader = 10
	costBody   = 100
)

func compile(k *Key, opts *Options, depth int) (node, error) {
	if depth > MaxDepth {
		return node{}, fmt.Errorf("%w: nested more than %d levels", ErrBadKey, MaxDepth)
	}
	n := node{op: k.Op, cost: costMeta}
	switch k.Op {
	case OpAll, OpRecent:
	case OpAnd, OpOr:
		n.sub = make([]node, len(k.Sub))
		n.cost = 0
		for i := range k.Sub {
			s, err := compile(&k.Sub[i], opts, depth+1)
			if err != nil {
				return node{}, err
			}
			n.sub[i] = s
			n.cost += s.cost
		}
		// Evaluation order does not change the result: cheap keys first
		// spare loading headers and bodies.
		slices.SortStableFunc(n.sub, func(a, b node) int { return a.cost - b.cost })
	case OpNot:
		if len(k.Sub) != 1 {
			return node{}, fmt.Errorf("%w: NOT with %d keys", ErrBadKey, len(k.Sub))
		}
		s, err := compile(&k.Sub[0], opts, depth+1)
		if err != nil {
			return node{}, err
		}
		n.sub = []node{s}
		n.cost = s.cost
	case OpFlag:
		if k.Flag == 0 || k.Flag&(k.Flag-1) != 0 {
			return node{}, fmt.Errorf("%w: flag key with flags %b", ErrBadKey, k.Flag)
		}
		n.flag = k.Flag
	case OpKeyword:
		n.value = k.Value
	case OpSeq:
		n.set = k.Set.Resolve(opts.MaxSeq)
	case OpUID:
		n.set = k.Set.Resolve(opts.MaxUID)
	case OpHeader, OpAddress:
		if k.Field == "" {
			return node{}, fmt.Errorf("%w: %v without field name", ErrBadKey, k.Op)
		}
		n.field, n.value, n.cost = k.Field, fold(k.Value), costHeader
		n.env = k.Op == OpHeader && k.Envelope
	case OpBody, OpText:
		n.value, n.cost = fold(k.Value), costBody
	case OpLarger, OpSmaller, OpModSeq:
		n.n = int64(min(k.N, 1<<63-1))
	case OpBefore, OpOn, OpSince, OpSavedBefore, OpSavedOn, OpSavedSince:
		n.day = civil(k.Date)
	case OpSentBefore, OpSentOn, OpSentSince:
		n.day, n.cost = civil(k.Date), costHeader
	case OpSaveDateSupported:
		n.op = OpAll
		if !opts.SaveDateSupported {
			n.op = OpOr // an empty OR matches nothing
		}
	case OpOlder, OpYounger:
		n.t = opts.Now.Add(-time.Duration(min(k.N, uint64(1<<62/time.Second))) * time.Second)
	default:
		return node{}, fmt.Errorf("%w: unknown op %d", ErrBadKey, k.Op)
	}
	return n, nil
}

// Match reports whether m matches the compiled key. The error is the
// first error of one of m's accessors.
func (mt *Matcher) Match(m *Message) (bool, error) {
	return mt.root.match(m)
}

func (n *node) match(m *Message) (bool, error) {
	switch n.op {
	case OpAll:
		return true, nil
	case OpAnd:
		for i := range n.sub {
			if ok, err := n.sub[i].match(m); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case OpOr:
		for i := range n.sub {
			if ok, err := n.sub[i].match(m); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case OpNot:
		ok, err := n.sub[0].match(m)
		return !ok && err == nil, err
	case OpFlag:
		return m.Flags.Sys&n.flag != 0, nil
	case OpKeyword:
		for _, kw := range m.Flags.Keywords {
			if strings.EqualFold(kw, n.value) {
				return true, nil
			}
		}
		return false, nil
	case OpRecent:
		return m.Recent, nil
	case OpSeq:
		return n.set.Contains(m.Seq), nil
	case OpUID:
		return n.set.Contains(m.UID), nil
	case OpHeader:
		header := m.header
		if n.env {
			header = m.envelope
		}
		vals, err := header(n.field)
		if err != nil {
			return false, err
		}
		for _, v := range vals {
			if containsFold(v, n.value) {
				return true, nil
			}
		}
		return false, nil
	case OpAddress:
		list, err := m.addresses(n.field)
		return err == nil && containsFold(AddressText(list), n.value), err
	case OpBody:
		if m.Body == nil {
			return n.value == "", nil
		}
		body, err := m.Body()
		return err == nil && containsFold(body, n.value), err
	case OpText:
		return matchText(m, n.value)
	case OpLarger:
		return m.Size > n.n, nil
	case OpSmaller:
		return m.Size < n.n, nil
	case OpModSeq:
		return m.ModSeq >= uint64(n.n), nil
	case OpBefore:
		return civil(m.InternalDate) < n.day, nil
	case OpOn:
		return civil(m.InternalDate) == n.day, nil
	case OpSince:
		return civil(m.InternalDate) >= n.day, nil
	case OpSavedBefore, OpSavedOn, OpSavedSince:
		d := m.SaveDate
		if d.IsZero() {
			d = m.InternalDate
		}
		return compareDay(n.op-OpSavedBefore, civil(d), n.day), nil
	case OpSentBefore, OpSentOn, OpSentSince:
		d, err := sentHeaderDate(m)
		if err != nil {
			return false, err
		}
		return compareDay(n.op-OpSentBefore, civil(d), n.day), nil
	case OpOlder:
		return m.InternalDate.Before(n.t), nil
	case OpYounger:
		return !m.InternalDate.Before(n.t), nil
	}
	return false, fmt.Errorf("%w: op %v", ErrBadKey, n.op)
}

// compareDay applies BEFORE (0), ON (1) or SINCE (2) to calendar days.
func compareDay(rel Op, day, key int) bool {
	switch rel {
	case 0:
		return day < key
	case 1:
		return day == key
	}
	return day >= key
}

// textFields are the header fields TEXT looks in when a Message has no
// Text accessor.
var textFields = []string{"Subject", "From", "To", "Cc", "Bcc", "Reply-To", "Sender", "Date", "Message-ID", "In-Reply-To", "References"}

func matchText(m *Message, needle string) (bool, error) {
	if m.Text != nil {
		text, err := m.Text()
		return err == nil && containsFold(text, needle), err
	}
	if needle == "" {
		return true, nil
	}
	for _, f := range textFields {
		vals, err := m.header(f)
		if err != nil {
			return false, err
		}
		for _, v := range vals {
			if containsFold(v, needle) {
				return true, nil
			}
		}
	}
	if m.Body == nil {
		return false, nil
	}
	body, err := m.Body()
	return err == nil && containsFold(body, needle), err
}
