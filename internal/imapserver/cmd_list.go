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
			get(s).subscribed = true
			for p := parentName(s); p != ""; p = parentName(p) {
				get(p).subscribedSub = true
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
	showSubscribed := a.ReturnSubscribed || a.SelectSubscribed
	tree, err := c.mailboxTree(ctx, showSubscribed)
	if err != nil {
		return err
	}
	patterns := make([]string, 0, len(a.Patterns))
	for _, p := range a.Patterns {
		patterns = append(patterns, c.listPattern(a.Reference, p))
	}
	matches := func(name string) bool {
		for _, p := range patterns {
			if matchPattern(p, name) {
				return true
			}
		}
		return false
	}
	names := make([]string, 0, len(tree))
	for name := range tree {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		e := tree[name]
		if !matches(name) {
			continue
		}
		childInfo := false
		switch {
		case a.SelectSubscribed:
			if a.SelectRecursiveMatch && e.subscribedSub && c.descendantUnmatched(tree, name, matches) {
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
// no pattern matches (RFC 5258 CHILDINFO).
func (c *conn) descendantUnmatched(tree map[string]*listEntry, name string, matches func(string) bool) bool {
	prefix := name + "/"
	for n, e := range tree {
		if e.subscribed && strings.HasPrefix(n, prefix) && !matches(n) {
			return true
		}
	}
	return false
}

func cmdLsub(ctx context.Context, c *conn, cmd *imapcmd.Command, a *imapcmd.Lsub) error {
	tree, err := c.mailboxTree(ctx, true)
	if err != nil {
		return err
	}
	pattern := c.listPattern(a.Reference, a.Pattern)
	if pattern == "" {
		c.enc.Raw(`* LSUB (\Noselect) "/" ""`).CRLF()
		return nil
	}
	names := make([]string, 0, len(tree))
	for name, e := range tree {
		if matchPattern(pattern, name) && (e.subscribed || (e.subscribedSub && strings.Contains(pattern, "%"))) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
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
