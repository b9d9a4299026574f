package imapserver

import (
	"context"
	"sort"
	"strings"

	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/store"
)

// listEntry is one name LIST may report.
type listEntry struct {
	mb            *store.Mailbox // nil when the name does not exist
	subscribed    bool
	hasChildren   bool
	subscribedSub bool // some descendant is subscribed
}

// mailboxTree gathers an account's mailboxes and subscriptions by name.
func (c *conn) mailboxTree(ctx context.Context, withSubs bool) (map[string]*listEntry, error) {
	boxes, err := c.srv.opts.Store.Mailboxes(ctx, c.acct.ID)
	if err != nil {
		return nil, err
	}
	tree := make(map[string]*listEntry, len(boxes))
	get := func(name string) *listEntry {
		e := tree[name]
		if e == nil {
			e = &listEntry{}
			tree[name] = e
		}
		return e
	}
	for i := range boxes {
		get(boxes[i].Name).mb = &boxes[i]
	}
	for i := range boxes {
		if p := parentName(boxes[i].Name); p != "" {
			get(p).hasChildren = true
		}
	}
	if withSubs {
		subs, err := c.srv.opts.Store.Subscriptions(ctx, c.acct.ID)
		if err != nil {
			return nil, err
		}
		for _, s := range subs {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			get(s).subscribed = true
			// A parent already marked has its own parents marked: each
			// prefix is visited once, however deep the names.
			for p := parentName(s); p != ""; p = parentName(p) {
				e := get(p)
				if e.subscribedSub {
					break
				}
				e.subscribedSub = true
			}
		}
	}
	return tree, nil
}

func parentName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i > 0 {
		return name[:i]
	}
	return ""
}

// listPattern combines reference and pattern into a pattern over store
// names (RFC 9051 §6.3.9).
func (c *conn) listPattern(ref, pat string) string {
	full := ref + pat
	if !c.utf8 && isASCII(full) {
		if dec, err := c.mailboxName(full); err == nil {
			return dec
		}
		return full
	}
	return canonicalInbox(full)
}

// Bounds of LIST and LSUB (issue 12). A pattern is matched against each
// name in len(name) × ceil((n+1)/64) word steps, n being its length after
// runs of wildcards are collapsed (listmatch.go), and the names of an
// account are bounded by MailboxLimits (count × length), so these bounds
// on n bound a command's work: a pattern may be as long as the longest
// name allowed (at least 1,024 bytes) plus 64 bytes of wildcards, and the
// at most maxListPatterns patterns of a LIST together twice that. Longer
// patterns are refused with NO [LIMIT]. The walk over the names checks
// the command's context before each name, so it stops when the client
// leaves.
const maxListPatterns = 32

// maxPatternLen is the longest pattern (reference and pattern, in the
// store's form, runs of wildcards collapsed) LIST and LSUB accept.
func (c *conn) maxPatternLen() int {
	return max(c.srv.opts.MailboxLimits.MaxNameBytes, 1024) + 64
}

// compilePatterns compiles the patterns of one command (already combined
// with the reference), refusing them beyond the bounds above.
func (c *conn) compilePatterns(pats []string) (patternSet, error) {
	if len(pats) > maxListPatterns {
		return nil, imap.Errorf(imap.CodeLimit, "At most %d patterns", maxListPatterns)
	}
	limit := c.maxPatternLen()
	total := 0
	ps := make(patternSet, 0, len(pats))
	for _, p := range pats {
		m := compilePattern(p)
		total += m.len()
		if m.len() > limit || total > 2*limit {
			return nil, imap.Errorf(imap.CodeLimit, "Pattern too long (at most %d bytes, a run of wildcards counting as one)", limit)
		}
		ps = append(ps, m)
	}
	return ps, nil
}

// sortedNames returns the names of tree in order.
func sortedNames(tree map[string]*listEntry) []string {
	names := make([]string, 0, len(tree))
	for name := range tree {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// matchNames reports which names match, checking ctx before each name.
func matchNames(ctx context.Context, names []string, ps patternSet) ([]bool, error) {
	matched := make([]bool, len(names))
	for i, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		matched[i] = ps.match(name)
	}
	return matched, nil
}

func cmdList(ctx context.Context, c *conn, cmd *imapcmd.Command, a *imapcmd.List) error {
	if !a.Extended && len(a.Patterns) == 1 && a.Patterns[0] == "" {
		// The hierarchy delimiter and root of the reference.
		c.enc.Raw(`* LIST (\Noselect) "/" ""`).CRLF()
		return nil
	}
	if a.SelectRecursiveMatch && !a.SelectSubscribed {
		// RFC 5258 §3: RECURSIVEMATCH needs another selection option.
		return imap.BadRequest(imap.CodeClientBug, "RECURSIVEMATCH requires SUBSCRIBED")
	}
	pats := make([]string, 0, len(a.Patterns))
	for _, p := range a.Patterns {
		pats = append(pats, c.listPattern(a.Reference, p))
	}
	patterns, err := c.compilePatterns(pats)
	if err != nil {
		return err
	}
	showSubscribed := a.ReturnSubscribed || a.SelectSubscribed
	tree, err := c.mailboxTree(ctx, showSubscribed)
	if err != nil {
		return err
	}
	names := sortedNames(tree)
	matched, err := matchNames(ctx, names, patterns)
	if err != nil {
		return err
	}
	var unmatchedSubs []int
	if a.SelectRecursiveMatch {
		// unmatchedSubs[i]: subscribed names among names[:i] that no
		// pattern matches, so that a subtree (a range of the sorted
		// names) is asked about in constant time.
		unmatchedSubs = make([]int, len(names)+1)
		for i, name := range names {
			unmatchedSubs[i+1] = unmatchedSubs[i]
			if tree[name].subscribed && !matched[i] {
				unmatchedSubs[i+1]++
			}
		}
	}
	for i, name := range names {
		if !matched[i] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		e := tree[name]
		childInfo := false
		switch {
		case a.SelectSubscribed:
			if a.SelectRecursiveMatch && e.subscribedSub && descendantUnmatched(names, unmatchedSubs, name) {
				childInfo = true
			}
			if !e.subscribed && !childInfo {
				continue
			}
		case e.mb == nil:
			continue
		}
		if a.SelectSpecialUse && (e.mb == nil || e.mb.SpecialUse == "") {
			continue
		}
		var attrs []string
		switch {
		case e.mb == nil:
			attrs = append(attrs, `\NonExistent`)
		case e.mb.NoSelect:
			attrs = append(attrs, `\Noselect`)
		}
		if e.mb != nil {
			if e.hasChildren {
				attrs = append(attrs, `\HasChildren`)
			} else {
				attrs = append(attrs, `\HasNoChildren`)
			}
			if e.mb.SpecialUse != "" {
				attrs = append(attrs, e.mb.SpecialUse)
			}
		}
		if showSubscribed && e.subscribed {
			attrs = append(attrs, `\Subscribed`)
		}
		c.enc.Raw("* LIST ")
		writeFlags(c.enc, attrs)
		c.enc.Raw(` "/" `)
		c.writeName(name)
		if childInfo {
			c.enc.Raw(` ("CHILDINFO" ("SUBSCRIBED"))`)
		}
		c.enc.CRLF()
		if a.ReturnStatus != nil && e.mb != nil && !e.mb.NoSelect {
			if err := c.writeStatus(ctx, e.mb.ID, a.ReturnStatus); err != nil {
				return err
			}
		}
	}
	return nil
}

// descendantUnmatched reports whether name has a subscribed descendant that
// no pattern matches (RFC 5258 CHILDINFO). The descendants of name are the
// sorted names from name+"/" up to name+"0" ('0' follows '/').
func descendantUnmatched(names []string, unmatchedSubs []int, name string) bool {
	lo := sort.SearchStrings(names, name+"/")
	hi := sort.SearchStrings(names, name+"0")
	return unmatchedSubs[hi] > unmatchedSubs[lo]
}

func cmdLsub(ctx context.Context, c *conn, cmd *imapcmd.Command, a *imapcmd.Lsub) error {
	pattern := c.listPattern(a.Reference, a.Pattern)
	if pattern == "" {
		c.enc.Raw(`* LSUB (\Noselect) "/" ""`).CRLF()
		return nil
	}
	patterns, err := c.compilePatterns([]string{pattern})
	if err != nil {
		return err
	}
	tree, err := c.mailboxTree(ctx, true)
	if err != nil {
		return err
	}
	names, err := lsubNames(ctx, tree, patterns, strings.Contains(pattern, "%"))
	if err != nil {
		return err
	}
	for _, name := range names {
		e := tree[name]
		var attrs []string
		if !e.subscribed || e.mb == nil || e.mb.NoSelect {
			// RFC 3501 §6.3.9: a parent shown for '%' only, or a name
			// that cannot be selected.
			attrs = append(attrs, `\Noselect`)
		}
		c.enc.Raw("* LSUB ")
		writeFlags(c.enc, attrs)
		c.enc.Raw(` "/" `)
		c.writeName(name)
		c.enc.CRLF()
	}
	return nil
}

// lsubNames returns, sorted, the names LSUB reports: subscribed names
// that match, and with '%' in the pattern the parents of subscribed names
// (RFC 3501 §6.3.9). It checks ctx before each name.
func lsubNames(ctx context.Context, tree map[string]*listEntry, ps patternSet, pct bool) ([]string, error) {
	var names []string
	for name, e := range tree {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if (e.subscribed || (e.subscribedSub && pct)) && ps.match(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}
