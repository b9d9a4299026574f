package imapserver

import (
	"context"
	"slices"

	"rookery/internal/imap"
	"rookery/internal/imapcmd"
	"rookery/internal/search"
	"rookery/internal/store"
)

// sortKeys maps SORT criteria (RFC 5256 §3, RFC 5957) to search.SortKey.
var sortKeys = map[string]search.SortKey{
	imapcmd.SortArrival: search.SortArrival, imapcmd.SortCc: search.SortCc, imapcmd.SortDate: search.SortDate,
	imapcmd.SortFrom: search.SortFrom, imapcmd.SortSize: search.SortSize, imapcmd.SortSubject: search.SortSubject,
	imapcmd.SortTo: search.SortTo, imapcmd.SortDisplayFrom: search.SortDisplayFrom, imapcmd.SortDisplayTo: search.SortDisplayTo,
}

// sortNeeds says what message parts the criteria read.
func sortNeeds(crit []search.SortCriterion) search.Needs {
	for _, c := range crit {
		switch c.Key {
		case search.SortArrival, search.SortSize:
		default:
			return search.NeedsHeader
		}
	}
	return 0
}

func cmdSort(ctx context.Context, c *conn, cmd *imapcmd.Command, args *imapcmd.Sort) error {
	crit := make([]search.SortCriterion, len(args.Criteria))
	for i, sc := range args.Criteria {
		k, ok := sortKeys[sc.Key]
		if !ok {
			return imap.BadRequest(imap.CodeClientBug, "Unknown sort key %s", sc.Key)
		}
		crit[i] = search.SortCriterion{Key: k, Reverse: sc.Reverse}
	}
	want, only := sortFieldsOnly(crit)
	msgs, kc, err := c.runSearchWith(ctx, args.Charset, args.Key, sortNeeds(crit), true, only, want)
	if err != nil {
		return err
	}
	if err := search.Sort(msgs, crit); err != nil {
		return err
	}
	modseqs := kc.modSeqs(msgs)
	nums := make([]uint32, len(msgs))
	for i, m := range msgs {
		nums[i] = number(m, cmd.UID)
	}
	if ret := args.Return; ret != nil {
		if ret.Save {
			// SEARCHRES with ESORT (RFC 5182 §2.1): $ is the found set.
			c.sel.saved = make([]uint32, len(msgs))
			for i, m := range msgs {
				c.sel.saved[i] = m.UID
			}
			slices.Sort(c.sel.saved)
			if !(ret.Min || ret.Max || ret.All || ret.Count) {
				return nil
			}
		}
		if !(ret.Min || ret.Max || ret.All || ret.Count) {
			ret.All = true
		}
		c.writeESearch(cmd, ret, nums, false, eSearchModSeq(ret, modseqs))
		return c.enc.Err()
	}
	e := c.enc
	e.Raw("* SORT")
	for _, n := range nums {
		e.SP().Number(n)
	}
	if highest := highestModSeq(modseqs); highest > 0 {
		e.Raw(" (MODSEQ ").Number64(highest).Raw(")")
	}
	return e.CRLF()
}

// sortFieldsOnly reports whether the criteria read only the fields of
// store.SortFields (besides the internal date and size), and which.
func sortFieldsOnly(crit []search.SortCriterion) (store.SortWant, bool) {
	var want store.SortWant
	for _, c := range crit {
		switch c.Key {
		case search.SortArrival, search.SortSize:
		case search.SortDate:
			want |= store.SortDate
		case search.SortSubject:
			want |= store.SortSubject
		default:
			return 0, false
		}
	}
	return want, true
}
