package search

import (
	"strings"

	"rookery/internal/anatomy"
)

// AddressText is the text that the FROM, TO, CC and BCC keys search in
// (OpAddress): the entries of an address list as ENVELOPE shows them,
// written back in RFC 5322 style without quoting or comments, entries
// separated by ", ":
//
//	Name <@route:mailbox@host>   a mailbox with a display name
//	mailbox@host                 one without
//	group: member, member;       a group ("group:;" when empty)
//
// A missing mailbox or host reads as ENVELOPE's placeholder
// (anatomy.MissingMailbox, MissingDomain), so the text is what the
// envelope structure's field holds (RFC 9051 §6.4.4), as in Dovecot's
// search of the normalised address. A needle finds a display name, a
// mailbox, a host, a whole addr-spec or a group name. The list's names are
// used as given: the accessors decode them (Message.Addresses).
func AddressText(list []anatomy.Address) string {
	var b strings.Builder
	sep := ""
	for _, a := range list {
		switch a.Kind {
		case anatomy.GroupStart:
			b.WriteString(sep)
			b.WriteString(a.Mailbox)
			b.WriteByte(':')
			sep = " "
		case anatomy.GroupEnd:
			b.WriteByte(';')
			sep = ", "
		default:
			b.WriteString(sep)
			if a.Name != "" || a.Route != "" {
				b.WriteString(a.Name + " <" + addrSpec(a, true) + ">")
			} else {
				b.WriteString(addrSpec(a, false))
			}
			sep = ", "
		}
	}
	return b.String()
}

// addrSpec returns [@route:]mailbox@host of a mailbox entry, with
// ENVELOPE's placeholders for missing parts.
func addrSpec(a anatomy.Address, route bool) string {
	s := a.MailboxOrMissing() + "@" + a.HostOrMissing()
	if route && a.Route != "" {
		s = a.Route + ":" + s
	}
	return s
}

// sortAddress is the value of a SORT address key for an address list:
// for FROM, TO and CC (RFC 5256 §3) the addr-mailbox of the first entry
// as ENVELOPE shows it (a group's name when the list starts with a group,
// MissingMailbox for an entry without one); for DISPLAYFROM and DISPLAYTO
// (RFC 5957 §3) its display name, or if it has none its addr-spec (a
// group's name for a group). "" for an empty list. Dovecot sorts alike.
func sortAddress(list []anatomy.Address, display bool) string {
	if len(list) == 0 {
		return ""
	}
	a := list[0]
	switch {
	case a.Kind == anatomy.GroupStart:
		return a.Mailbox
	case !display:
		return a.MailboxOrMissing()
	case a.Name != "":
		return a.Name
	}
	return addrSpec(a, false)
}
