package imapserver

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/imapnum"
	"rookery/internal/search"
	"rookery/internal/store"
)

// badCharset is the response code for a CHARSET the server does not know.
const badCharset = imap.CodeBadCharset + " (US-ASCII UTF-8)"

// checkCharset accepts the charsets search strings may be sent in: they
// are compared as UTF-8, of which US-ASCII is a subset.
func checkCharset(cs string) error {
	switch strings.ToUpper(cs) {
	case "", "US-ASCII", "UTF-8":
		return nil
	}
	return imap.Errorf(badCharset, "Charset %s is not supported", cs)
}

// keyConverter turns a parsed search program into a search.Key.
type keyConverter struct {
	sel *selected
	// modSeq is set when a MODSEQ key was used: the response then carries
	// the highest mod-sequence of the found messages (RFC 7162 §3.1.5).
	modSeq bool
}

// modSeqs returns the mod-sequences of msgs, in their order, if a MODSEQ
// key was used (the response then reports one, RFC 7162 §3.1.5), else nil.
func (kc *keyConverter) modSeqs(msgs []*search.Message) []store.ModSeq {
	if !kc.modSeq {
		return nil
	}
	out := make([]store.ModSeq, len(msgs))
	for i, m := range msgs {
		out[i] = m.ModSeq
	}
	return out
}

// highestModSeq is the highest of modseqs (0 for none).
func highestModSeq(modseqs []store.ModSeq) store.ModSeq {
	var h store.ModSeq
	for _, m := range modseqs {
		h = max(h, m)
	}
	return h
}

// eSearchModSeq is the MODSEQ of an ESEARCH or ESORT response (RFC 4731
// §3.2 with RFC 7162): with MIN or MAX alone, the mod-sequence of that
// message; with only MIN and MAX, the higher of those two; otherwise the
// highest of all messages found. modseqs parallels the found messages in
// response order (so MIN is the first and MAX the last).
func eSearchModSeq(ret *imapcmd.SearchReturn, modseqs []store.ModSeq) store.ModSeq {
	if len(modseqs) == 0 {
		return 0
	}
	if ret.All || ret.Count || !(ret.Min || ret.Max) {
		return highestModSeq(modseqs)
	}
	var h store.ModSeq
	if ret.Min {
		h = modseqs[0]
	}
	if ret.Max {
		h = max(h, modseqs[len(modseqs)-1])
	}
	return h
}

// sysFlagKeys maps flag search keys to their flags.
var sysFlagKeys = map[string]store.SysFlags{
	"ANSWERED": store.FlagAnswered, "DELETED": store.FlagDeleted, "DRAFT": store.FlagDraft,
	"FLAGGED": store.FlagFlagged, "SEEN": store.FlagSeen,
}

// dateOps maps date search keys to operations.
var dateOps = map[string]search.Op{
	"BEFORE": search.OpBefore, "ON": search.OpOn, "SINCE": search.OpSince,
	"SENTBEFORE": search.OpSentBefore, "SENTON": search.OpSentOn, "SENTSINCE": search.OpSentSince,
	"SAVEDBEFORE": search.OpSavedBefore, "SAVEDON": search.OpSavedOn, "SAVEDSINCE": search.OpSavedSince,
}

func (kc *keyConverter) convert(k imapcmd.SearchKey) (search.Key, error) {
	if f, ok := sysFlagKeys[k.Name]; ok {
		return search.Flag(f), nil
	}
	if strings.HasPrefix(k.Name, "UN") {
		if f, ok := sysFlagKeys[k.Name[2:]]; ok {
			return search.Not(search.Flag(f)), nil
		}
	}
	if op, ok := dateOps[k.Name]; ok {
		return search.Key{Op: op, Date: k.Date}, nil
	}
	switch k.Name {
	case "ALL":
		return search.All(), nil
	case imapcmd.SearchAnd, "OR", "NOT":
		sub := make([]search.Key, len(k.Sub))
		for i, s := range k.Sub {
			var err error
			if sub[i], err = kc.convert(s); err != nil {
				return search.Key{}, err
			}
		}
		switch k.Name {
		case "OR":
			return search.Or(sub...), nil
		case "NOT":
			if len(sub) != 1 {
				return search.Key{}, imap.BadRequest(imap.CodeClientBug, "NOT takes one key")
			}
			return search.Not(sub[0]), nil
		}
		return search.And(sub...), nil
	case "NEW":
		return search.And(search.Key{Op: search.OpRecent}, search.Not(search.Flag(store.FlagSeen))), nil
	case "OLD":
		return search.Not(search.Key{Op: search.OpRecent}), nil
	case "RECENT":
		return search.Key{Op: search.OpRecent}, nil
	case "KEYWORD":
		return search.Keyword(k.Value), nil
	case "UNKEYWORD":
		return search.Not(search.Keyword(k.Value)), nil
	case imapcmd.SearchSeqSet, "UID":
		if k.Saved {
			return uidKey(kc.sel.savedUIDs()), nil
		}
		if k.Name == "UID" {
			return search.Key{Op: search.OpUID, Set: k.Set}, nil
		}
		return search.Key{Op: search.OpSeq, Set: k.Set}, nil
	case "BCC", "CC", "FROM", "TO":
		return search.Address(k.Name, k.Value), nil
	case "SUBJECT":
		return search.Subject(k.Value), nil
	case "HEADER":
		return search.Header(k.Field, k.Value), nil
	case "BODY":
		return search.Key{Op: search.OpBody, Value: k.Value}, nil
	case "TEXT":
		return search.Key{Op: search.OpText, Value: k.Value}, nil
	case "LARGER":
		return search.Key{Op: search.OpLarger, N: k.Number}, nil
	case "SMALLER":
		return search.Key{Op: search.OpSmaller, N: k.Number}, nil
	case "OLDER":
		return search.Key{Op: search.OpOlder, N: k.Number}, nil
	case "YOUNGER":
		return search.Key{Op: search.OpYounger, N: k.Number}, nil
	case "MODSEQ":
		// Per-flag mod-sequences are not kept: a message's mod-sequence
		// is an upper bound of each of its entries' (RFC 7162 §3.1.5).
		kc.modSeq = true
		return search.Key{Op: search.OpModSeq, N: k.Number}, nil
	case "SAVEDATESUPPORTED":
		return search.Key{Op: search.OpSaveDateSupported}, nil
	}
	return search.Key{}, imap.BadRequest(imap.CodeClientBug, "Unknown search key %s", k.Name)
}

// searcher returns the searcher of the selected mailbox.
func (c *conn) searcher() *searcher {
	return &searcher{st: c.srv.opts.Store, mbox: c.sel.mailbox.ID, view: c.sel.view, log: c.log,
		cache: c.srv.sortCache, uidValidity: c.sel.mailbox.UIDValidity}
}

// runSearch converts and runs a search program.
func (c *conn) runSearch(ctx context.Context, charset string, key imapcmd.SearchKey, extra search.Needs, withMeta bool) ([]*search.Message, *keyConverter, error) {
	return c.runSearchWith(ctx, charset, key, extra, withMeta, false, 0)
}

// runSearchWith is runSearch for SORT and THREAD: sortFields says that
// extra is only about the fields of store.SortFields.
func (c *conn) runSearchWith(ctx context.Context, charset string, key imapcmd.SearchKey, extra search.Needs, withMeta, sortFields bool, want store.SortWant) ([]*search.Message, *keyConverter, error) {
	if err := checkCharset(charset); err != nil {
		return nil, nil, err
	}
	kc := &keyConverter{sel: c.sel}
	k, err := kc.convert(key)
	if err != nil {
		return nil, nil, err
	}
	s := c.searcher()
	if kc.modSeq {
		want |= store.SortMeta // the response carries the highest mod-sequence
	}
	s.sortFields, s.sortWant = sortFields, want
	msgs, err := s.find(ctx, k, extra, withMeta || kc.modSeq)
	if errors.Is(err, search.ErrBadKey) {
		return nil, nil, imap.BadRequest(imap.CodeClientBug, "%v", err)
	}
	return msgs, kc, err
}

func cmdSearch(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Search) error {
	msgs, kc, err := c.runSearch(ctx, args.Charset, args.Key, 0, false)
	if err != nil {
		if args.Return != nil && args.Return.Save {
			c.sel.saved = nil // RFC 5182 §2.1: a failed SEARCH empties $
		}
		return err
	}
	ret := args.Return
	if ret == nil && c.rev2 {
		ret = &imapcmd.SearchReturn{All: true} // RFC 9051 §7.3.4
	}
	if ret != nil && !(ret.Min || ret.Max || ret.All || ret.Count || ret.Save) {
		ret.All = true // RETURN () means ALL
	}
	modseqs := kc.modSeqs(msgs)
	if ret == nil {
		highest := highestModSeq(modseqs)
		e := c.enc
		e.Raw("* SEARCH")
		for _, m := range msgs {
			e.SP().Number(number(m, cmd.UID))
		}
		if highest > 0 {
			e.Raw(" (MODSEQ ").Number64(highest).Raw(")")
		}
		return e.CRLF()
	}
	if ret.Save {
		saved := msgs
		if (ret.Min || ret.Max) && !ret.All && !ret.Count && len(msgs) > 0 {
			// RFC 5182 §2.4: with only MIN and/or MAX, $ holds those.
			saved = nil
			if ret.Min {
				saved = append(saved, msgs[0])
			}
			if ret.Max && (len(saved) == 0 || saved[0] != msgs[len(msgs)-1]) {
				saved = append(saved, msgs[len(msgs)-1])
			}
		}
		c.sel.saved = make([]store.UID, len(saved))
		for i, m := range saved {
			c.sel.saved[i] = m.UID
		}
		if !ret.Min && !ret.Max && !ret.All && !ret.Count {
			return nil // SAVE alone: no ESEARCH response (RFC 5182 §2.1)
		}
	}
	nums := make([]uint32, len(msgs))
	for i, m := range msgs {
		nums[i] = number(m, cmd.UID)
	}
	c.writeESearch(cmd, ret, nums, true, eSearchModSeq(ret, modseqs))
	return c.enc.Err()
}

// number is a found message's number in the response: UID or sequence.
func number(m *search.Message, uid bool) uint32 {
	if uid {
		return m.UID
	}
	return m.Seq
}

// writeESearch writes an ESEARCH response (RFC 4731; RFC 5267 for ESORT,
// where nums are in sort order and ascending is false); modseq is its
// MODSEQ, 0 for none (eSearchModSeq).
func (c *conn) writeESearch(cmd *imapcmd.Command, ret *imapcmd.SearchReturn, nums []uint32, ascending bool, modseq store.ModSeq) {
	e := c.enc
	e.Raw("* ESEARCH (TAG ").Quoted(cmd.Tag).Raw(")")
	if cmd.UID {
		e.Raw(" UID")
	}
	if len(nums) > 0 {
		// Under ESORT, MIN and MAX are the first and last message in
		// sort order (RFC 5267 §3.2).
		if ret.Min {
			e.Raw(" MIN ").Number(nums[0])
		}
		if ret.Max {
			e.Raw(" MAX ").Number(nums[len(nums)-1])
		}
	}
	if ret.Count {
		e.Raw(" COUNT ").Number(uint32(len(nums)))
	}
	if ret.All && len(nums) > 0 {
		e.Raw(" ALL ")
		if ascending {
			e.Raw(imapnum.Compact(nums).String())
		} else {
			e.Raw(orderedSet(nums))
		}
	}
	if modseq > 0 && len(nums) > 0 {
		e.Raw(" MODSEQ ").Number64(modseq)
	}
	_ = e.CRLF()
}

// orderedSet writes numbers in their order as a sequence set, joining
// runs of consecutive ascending numbers into ranges.
func orderedSet(nums []uint32) string {
	var b []byte
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(nums[i]), 10)
		if j > i {
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(nums[j]), 10)
		}
		i = j + 1
	}
	return string(b)
}
