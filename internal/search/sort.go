package search

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// SortKey is a SORT criterion (RFC 5256 §3, RFC 5957).
type SortKey uint8

// Sort keys.
const (
	SortArrival     SortKey = iota // internal date
	SortCc                         // addr-mailbox of the first Cc address (a group's name for a group)
	SortDate                       // sent date (SentDate)
	SortFrom                       // addr-mailbox of the first From address
	SortSize                       // RFC822.SIZE
	SortSubject                    // base subject
	SortTo                         // addr-mailbox of the first To address
	SortDisplayFrom                // decoded display name of the first From address, else its addr-spec (a group's name for a group)
	SortDisplayTo                  // decoded display name of the first To address, else its addr-spec (a group's name for a group)
)

// SortCriterion is one criterion; Reverse reverses it alone.
type SortCriterion struct {
	Key     SortKey
	Reverse bool
}

// sortEntry is a message with the values of its sort keys: ints for
// dates and sizes, folded strings for addresses and subjects.
type sortEntry struct {
	m    *Message
	ints []int64
	strs []string
}

// Sort orders msgs in place by the criteria (RFC 5256): strings compare
// under simple case folding (i;ascii-casemap on ASCII), dates as instants,
// and messages equal under every criterion by sequence number, ascending
// whatever REVERSE says. It reads each message's header at most once per
// criterion; the error is the first accessor error.
func Sort(msgs []*Message, crit []SortCriterion) error {
	if len(crit) == 0 {
		return fmt.Errorf("search: no sort criteria")
	}
	entries := make([]sortEntry, len(msgs))
	ints := make([]int64, len(msgs)*len(crit))
	strs := make([]string, len(msgs)*len(crit))
	for i, m := range msgs {
		e := sortEntry{m: m, ints: ints[i*len(crit) : (i+1)*len(crit)], strs: strs[i*len(crit) : (i+1)*len(crit)]}
		for j, c := range crit {
			var err error
			e.ints[j], e.strs[j], err = sortValue(m, c.Key)
			if err != nil {
				return err
			}
		}
		entries[i] = e
	}
	slices.SortFunc(entries, func(a, b sortEntry) int {
		for j, c := range crit {
			r := cmp.Compare(a.ints[j], b.ints[j])
			if r == 0 {
				r = strings.Compare(a.strs[j], b.strs[j])
			}
			if c.Reverse {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return cmp.Compare(a.m.Seq, b.m.Seq)
	})
	for i := range entries {
		msgs[i] = entries[i].m
	}
	return nil
}

// sortValue returns the value of one sort key of m.
func sortValue(m *Message, k SortKey) (int64, string, error) {
	switch k {
	case SortArrival:
		return m.InternalDate.UnixNano(), "", nil
	case SortDate:
		t, err := SentDate(m)
		return t.UnixNano(), "", err
	case SortSize:
		return m.Size, "", nil
	case SortSubject:
		vals, err := m.header("Subject")
		if err != nil || len(vals) == 0 {
			return 0, "", err
		}
		base, _ := BaseSubject(vals[0])
		return 0, fold(base), nil
	case SortFrom, SortTo, SortCc, SortDisplayFrom, SortDisplayTo:
		field := "From"
		switch k {
		case SortTo, SortDisplayTo:
			field = "To"
		case SortCc:
			field = "Cc"
		}
		addrs, err := m.addresses(field)
		if err != nil {
			return 0, "", err
		}
		return 0, fold(sortAddress(addrs, k == SortDisplayFrom || k == SortDisplayTo)), nil
	}
	return 0, "", fmt.Errorf("search: unknown sort key %d", k)
}
