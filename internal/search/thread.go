package search

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"rookery/internal/anatomy"
)

// Thread is a node of a thread tree. Msg is nil for a dummy, which only
// appears at the top level (a thread whose root message is missing, or
// threads merged by subject).
type Thread struct {
	Msg      *Message
	Children []*Thread
}

// container is a node while threading: a message, or a dummy standing for
// a referenced Message-ID that is not in the set.
type container struct {
	msg    *Message
	parent *container
	// Children as a linked list while links change (step 1), then as kids.
	first, last, prev, next *container
	kids                    []*container

	date    int64  // sent date (Unix ns) of msg
	subject string // folded base subject of msg
	reply   bool   // msg's subject had a reply/forward marker
	merged  bool   // merged into another top-level thread by subject
	wrapped *container
}

// threadMessages reads what threading needs from each message.
func threadMessages(msgs []*Message) ([]*container, error) {
	cs := make([]*container, len(msgs))
	for i, m := range msgs {
		c := &container{msg: m}
		d, err := SentDate(m)
		if err != nil {
			return nil, err
		}
		c.date = d.UnixNano()
		vals, err := m.header("Subject")
		if err != nil {
			return nil, err
		}
		if len(vals) > 0 {
			var base string
			base, c.reply = BaseSubject(vals[0])
			c.subject = fold(base)
		}
		cs[i] = c
	}
	return cs, nil
}

// before orders containers by sent date, then sequence number; a dummy
// sorts as its first child.
func before(a, b *container) int {
	for a.msg == nil && len(a.kids) > 0 {
		a = a.kids[0]
	}
	for b.msg == nil && len(b.kids) > 0 {
		b = b.kids[0]
	}
	if r := cmp.Compare(a.date, b.date); r != 0 {
		return r
	}
	return cmp.Compare(seqOf(a), seqOf(b))
}

func seqOf(c *container) uint32 {
	if c.msg == nil {
		return 0
	}
	return c.msg.Seq
}

// ThreadOrderedSubject threads msgs by base subject (RFC 5256 §3,
// ORDEREDSUBJECT): one thread per base subject, its earliest message at
// the top and the others its children, threads in order of their first
// message's sent date. Messages compare by sent date, then sequence
// number.
func ThreadOrderedSubject(msgs []*Message) ([]*Thread, error) {
	cs, err := threadMessages(msgs)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cs, func(a, b *container) int {
		if r := strings.Compare(a.subject, b.subject); r != 0 {
			return r
		}
		return before(a, b)
	})
	var tops []*container
	var threads []*Thread
	for i := 0; i < len(cs); {
		j := i + 1
		for j < len(cs) && cs[j].subject == cs[i].subject {
			j++
		}
		t := &Thread{Msg: cs[i].msg}
		for _, c := range cs[i+1 : j] {
			t.Children = append(t.Children, &Thread{Msg: c.msg})
		}
		tops = append(tops, cs[i])
		threads = append(threads, t)
		i = j
	}
	order := make([]int, len(tops))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return before(tops[a], tops[b]) })
	out := make([]*Thread, len(order))
	for i, k := range order {
		out[i] = threads[k]
	}
	return out, nil
}

// ThreadReferences threads msgs by their References and In-Reply-To
// fields (RFC 5256 §3, REFERENCES): the algorithm of the RFC, steps 1 to 6,
// including dummy parents for missing messages, loop prevention, unique
// IDs for duplicate or missing Message-IDs (the first message in msgs
// keeps a duplicated ID, so msgs should be in sequence order), merging of
// top-level threads by base subject and sorting of siblings by sent date.
func ThreadReferences(msgs []*Message) ([]*Thread, error) {
	cs, err := threadMessages(msgs)
	if err != nil {
		return nil, err
	}
	all := make([]*container, 0, len(cs)*2) // every container, in creation order
	byID := make(map[string]*container, len(cs))
	get := func(id string) *container {
		c := byID[id]
		if c == nil {
			c = &container{}
			byID[id] = c
			all = append(all, c)
		}
		return c
	}
	// (1) Link messages by their references.
	var refs []string
	for _, mc := range cs {
		m := mc.msg
		c := mc
		ids, err := m.header("Message-ID")
		if err != nil {
			return nil, err
		}
		if id := firstMsgID(ids); id != "" {
			if old := byID[id]; old == nil {
				byID[id] = c
			} else if old.msg == nil {
				// A dummy made for an earlier reference becomes this message.
				old.msg, old.date, old.subject, old.reply = c.msg, c.date, c.subject, c.reply
				c = old
			}
			// else: a duplicate ID; c keeps a unique identity.
		}
		if c == mc {
			all = append(all, c)
		}
		if refs, err = references(m, refs[:0]); err != nil {
			return nil, err
		}
		// (1.A) Each reference is the parent of the next, unless that
		// child already has a parent or the link would make a loop.
		for i := 0; i+1 < len(refs); i++ {
			p, ch := get(refs[i]), get(refs[i+1])
			if ch.parent == nil && !descends(p, ch) {
				link(p, ch)
			}
		}
		// (1.B) The last reference is the message's parent. A link the
		// message already has (probably from a truncated References field
		// of another message) is broken first, even when the new link
		// would make a loop and is not made, as Dovecot does: with a;
		// b (References a c); c (References b), c is b's parent, and a
		// stays alone.
		unlink(c)
		if len(refs) > 0 {
			if p := get(refs[len(refs)-1]); !descends(p, c) {
				link(p, c)
			}
		}
	}
	var roots []*container
	for _, c := range all {
		for k := c.first; k != nil; k = k.next {
			c.kids = append(c.kids, k)
		}
		if c.parent == nil {
			roots = append(roots, c) // (2) the root set
		}
	}
	// (3) Prune dummies: children before parents (reverse pre-order).
	order := preorder(roots)
	for i := len(order) - 1; i >= 0; i-- {
		c := order[i]
		c.kids = prune(c, c.kids, false)
	}
	roots = prune(nil, roots, true)
	// (4) Sort the top level by sent date; a dummy by its first child.
	for _, r := range roots {
		if r.msg == nil {
			slices.SortFunc(r.kids, before)
		}
	}
	slices.SortFunc(roots, before)
	// (5) Merge top-level threads with the same base subject.
	roots = mergeSubjects(roots)
	// (6) Sort every set of siblings by sent date, children first.
	order = preorder(roots)
	for i := len(order) - 1; i >= 0; i-- {
		slices.SortFunc(order[i].kids, before)
	}
	slices.SortFunc(roots, before)
	return toThreads(roots), nil
}

// descends reports whether making p the parent of c would make a loop: p
// is c or one of c's descendants.
func descends(p, c *container) bool {
	for x := p; x != nil; x = x.parent {
		if x == c {
			return true
		}
	}
	return false
}

func link(p, c *container) {
	c.parent = p
	c.prev, c.next = p.last, nil
	if p.last == nil {
		p.first = c
	} else {
		p.last.next = c
	}
	p.last = c
}

func unlink(c *container) {
	p := c.parent
	if p == nil {
		return
	}
	if c.prev == nil {
		p.first = c.next
	} else {
		c.prev.next = c.next
	}
	if c.next == nil {
		p.last = c.prev
	} else {
		c.next.prev = c.prev
	}
	c.parent, c.prev, c.next = nil, nil, nil
}

// preorder lists the containers under roots, parents before children,
// without recursion.
func preorder(roots []*container) []*container {
	var out []*container
	stack := slices.Clone(roots)
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		out = append(out, c)
		stack = append(stack, c.kids...)
	}
	return out
}

// prune applies step (3) to one set of siblings whose own children are
// already pruned: a dummy without children goes, a dummy with children is
// replaced by them, except at the top level where it stays if it has
// more than one.
func prune(parent *container, kids []*container, top bool) []*container {
	out := kids[:0:0]
	for _, k := range kids {
		switch {
		case k.msg != nil:
			out = append(out, k)
		case len(k.kids) == 0:
		case top && len(k.kids) > 1:
			out = append(out, k)
		default:
			for _, g := range k.kids {
				g.parent = parent
			}
			out = append(out, k.kids...)
		}
	}
	return out
}

// threadSubject is the subject of a top-level container: its message's,
// or its first child's for a dummy.
func threadSubject(c *container) string {
	if c.msg == nil && len(c.kids) > 0 {
		c = c.kids[0]
	}
	return c.subject
}

// mergeSubjects is step (5).
func mergeSubjects(roots []*container) []*container {
	table := make(map[string]*container)
	// (5.B) One container per subject: prefer a dummy, then a message
	// that is not a reply.
	for _, r := range roots {
		s := threadSubject(r)
		if s == "" {
			continue
		}
		t := table[s]
		if t == nil || t.msg != nil && (r.msg == nil || t.reply && !r.reply) {
			table[s] = r
		}
	}
	// (5.C) Merge the others into it.
	for _, r := range roots {
		s := threadSubject(r)
		if s == "" || r.parent != nil || r.merged {
			continue
		}
		t := table[s]
		if t == r {
			continue
		}
		switch {
		case t.msg == nil && r.msg == nil:
			for _, k := range r.kids {
				k.parent = t
			}
			t.kids = append(t.kids, r.kids...)
			r.merged = true
		case t.msg == nil, r.reply && !t.reply:
			r.parent = t
			t.kids = append(t.kids, r)
			r.merged = true
		default:
			d := &container{kids: []*container{t, r}}
			t.parent, r.parent = d, d
			t.wrapped = d
			r.merged = true
			table[s] = d
		}
	}
	out := roots[:0:0]
	for _, r := range roots {
		switch {
		case r.merged:
		case r.wrapped != nil:
			out = append(out, r.wrapped)
		default:
			out = append(out, r)
		}
	}
	return out
}

// toThreads converts containers to the exported tree, without recursion.
func toThreads(roots []*container) []*Thread {
	type pair struct {
		c *container
		t *Thread
	}
	out := make([]*Thread, len(roots))
	var stack []pair
	for i, r := range roots {
		out[i] = &Thread{Msg: r.msg}
		stack = append(stack, pair{r, out[i]})
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if len(p.c.kids) == 0 {
			continue
		}
		p.t.Children = make([]*Thread, len(p.c.kids))
		for i, k := range p.c.kids {
			p.t.Children[i] = &Thread{Msg: k.msg}
			stack = append(stack, pair{k, p.t.Children[i]})
		}
	}
	return out
}

// firstMsgID returns the first valid msg-id of the values, "" if none.
func firstMsgID(vals []string) string {
	for _, v := range vals {
		var id string
		eachMsgID(v, func(s string) bool { id = s; return false })
		if id != "" {
			return id
		}
	}
	return ""
}

// references returns the message's references (RFC 5256 §3 REFERENCES
// step 1): the msg-ids of its References field, or if it has none, the
// first msg-id of its In-Reply-To field. They are appended to dst.
func references(m *Message, dst []string) ([]string, error) {
	vals, err := m.header("References")
	if err != nil {
		return dst, err
	}
	if len(vals) > 0 {
		eachMsgID(vals[0], func(id string) bool { dst = append(dst, id); return true })
		if len(dst) > 0 {
			return dst, nil
		}
	}
	vals, err = m.header("In-Reply-To")
	if err != nil {
		return dst, err
	}
	if id := firstMsgID(vals); id != "" {
		dst = append(dst, id)
	}
	return dst, nil
}

// eachMsgID calls fn with each valid msg-id "<left@right>" in s (with
// the angle brackets, CFWS inside removed), skipping comments and text
// around them, until fn returns false. IDs compare case-sensitively.
func eachMsgID(s string, fn func(id string) bool) {
	for {
		i := strings.IndexAny(s, "(<")
		if i < 0 {
			return
		}
		if s[i] == '(' {
			_, s = anatomy.Comment(s[i:])
			continue
		}
		end := strings.IndexByte(s[i:], '>')
		if end < 0 {
			return
		}
		if id, ok := cleanMsgID(s[i+1 : i+end]); ok {
			if !fn(id) {
				return
			}
			s = s[i+end+1:]
			continue
		}
		s = s[i+1:]
	}
}

// cleanMsgID validates the inside of "<...>": id-left "@" id-right, with
// whitespace removed (obsolete syntax allows CFWS around the parts).
func cleanMsgID(s string) (string, bool) {
	// Byte loops rather than strings.ContainsAny, which builds its set
	// on every call: THREAD over a large mailbox calls this per reference.
	space, bad := false, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			space = true
		case '<', '(', ')':
			bad = true
		}
	}
	if space {
		s = strings.Join(strings.Fields(s), "")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || bad {
		return "", false
	}
	return "<" + s + ">", true
}

// AppendThreads appends threads in the thread-list syntax of RFC 5256 §4
// ("(2)(3 6 (4 23)(44 7 96))") to dst, numbering messages by UID when uid
// is set, else by sequence number.
func AppendThreads(dst []byte, threads []*Thread, uid bool) []byte {
	for _, t := range threads {
		dst = appendThread(dst, t, uid)
	}
	return dst
}

// appendThread writes one thread-list: a chain of messages with one child
// each, then the nested lists of the first node with several children.
func appendThread(dst []byte, t *Thread, uid bool) []byte {
	dst = append(dst, '(')
	first := true
	for {
		if t.Msg != nil {
			if !first {
				dst = append(dst, ' ')
			}
			n := t.Msg.Seq
			if uid {
				n = t.Msg.UID
			}
			dst = strconv.AppendUint(dst, uint64(n), 10)
			first = false
		}
		if len(t.Children) == 1 {
			t = t.Children[0]
			continue
		}
		if len(t.Children) > 1 {
			if !first {
				dst = append(dst, ' ')
			}
			for _, c := range t.Children {
				dst = appendThread(dst, c, uid)
			}
		}
		return append(dst, ')')
	}
}
