package migrate

import (
	"fmt"
	"strings"

	"rookery/internal/store"
)

// SourceMailbox is a mailbox as the source's LIST shows it.
type SourceMailbox struct {
	// Name is the source's name, decoded to UTF-8, with the source's
	// delimiter.
	Name  string
	Delim rune // 0 for a flat namespace
	// SpecialUse is the special-use attribute the source gives it
	// (`\Sent`...), "" if none.
	SpecialUse string
	Subscribed bool
	NoSelect   bool
}

// Planned is a source mailbox with the target mailbox it goes into.
type Planned struct {
	SourceMailbox
	// Target is the Rookery name ("/"-separated).
	Target string
	// TargetSpecialUse is the special-use the target mailbox gets when
	// the migration creates it: the source's, or one mapped from a
	// well-known name when the source gives none.
	TargetSpecialUse string
	// Err is why the mailbox cannot be migrated (an invalid name, two
	// source mailboxes onto one target); nil otherwise.
	Err error
}

// wellKnown maps well-known folder names (compared case-insensitively)
// to the special-use they usually have, for sources that do not say.
var wellKnown = map[string]string{
	"sent": `\Sent`, "sent items": `\Sent`, "sent messages": `\Sent`, "sent mail": `\Sent`,
	"drafts":        `\Drafts`,
	"trash":         `\Trash`,
	"deleted items": `\Trash`, "deleted messages": `\Trash`,
	"junk": `\Junk`, "spam": `\Junk`, "junk e-mail": `\Junk`, "junk email": `\Junk`,
	"archive": `\Archive`, "archives": `\Archive`,
}

// TargetName maps a source name with delimiter delim onto a Rookery
// name: each level kept, joined with "/". A "/" inside a level (possible
// when the source's delimiter is another character) becomes "_", as
// Rookery could only read it as a level boundary. INBOX (any case) is
// INBOX.
func TargetName(name string, delim rune) (string, error) {
	levels := []string{name}
	if delim != 0 {
		levels = strings.Split(name, string(delim))
	}
	for i, l := range levels {
		levels[i] = strings.ReplaceAll(l, string(store.Separator), "_")
	}
	if strings.EqualFold(levels[0], store.Inbox) {
		levels[0] = store.Inbox
	}
	out, err := store.CanonicalMailboxName(strings.Join(levels, string(store.Separator)))
	if err != nil {
		return "", fmt.Errorf("source mailbox %q: %w", name, err)
	}
	return out, nil
}

// Plan decides where each source mailbox goes in a target account whose
// mailboxes are target (as the store lists them), in the order of src.
//
// A source mailbox with a special-use (its own, or, when no source
// mailbox carries that special-use, one mapped from a well-known name at
// the top level or under INBOX: "Sent Items", "Deleted Items", "Spam"...)
// goes into the target mailbox that has that special-use already, if
// any and if no source mailbox has that name itself (a new account's
// "Sent" takes the source's "Sent Items", so that clients keep finding
// sent mail where the special-use points); every other mailbox goes to
// its own name, its levels joined with "/". A mailbox the migration
// creates gets the special-use unless another target mailbox has it.
// Two source mailboxes that would go into one target (names that differ
// only in a "/" made "_") are an error for the second.
func Plan(src []SourceMailbox, target []store.Mailbox) []Planned {
	bySpecial := map[string]string{} // special-use -> target name
	for _, m := range target {
		if m.SpecialUse != "" && !m.NoSelect {
			if _, ok := bySpecial[m.SpecialUse]; !ok {
				bySpecial[m.SpecialUse] = m.Name
			}
		}
	}
	out := make([]Planned, len(src))
	srcHas := map[string]bool{}
	ownNames := map[string]bool{}
	for i, m := range src {
		out[i].SourceMailbox = m
		if su, ok := store.SpecialUse(m.SpecialUse); ok {
			srcHas[su] = true
			out[i].TargetSpecialUse = su
		}
		own, err := TargetName(m.Name, m.Delim)
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i].Target = own
		ownNames[own] = true
	}
	mapped := map[string]bool{}
	for i := range out {
		p := &out[i]
		if p.Err != nil || p.TargetSpecialUse != "" {
			continue
		}
		if w, ok := wellKnown[strings.ToLower(wellKnownLevel(p.Target))]; ok && !srcHas[w] && !mapped[w] {
			p.TargetSpecialUse = w
			mapped[w] = true
		}
	}
	taken := map[string]string{} // target name -> source name
	for i := range out {
		p := &out[i]
		if p.Err != nil {
			continue
		}
		if su := p.TargetSpecialUse; su != "" {
			if t, ok := bySpecial[su]; ok && t != p.Target && !ownNames[t] && taken[t] == "" {
				p.Target = t
			}
		}
		if prev, ok := taken[p.Target]; ok {
			p.Err = fmt.Errorf("source mailboxes %q and %q both map to %q", prev, p.Name, p.Target)
			continue
		}
		taken[p.Target] = p.Name
		if su := p.TargetSpecialUse; su != "" {
			if t, ok := bySpecial[su]; ok && t != p.Target {
				p.TargetSpecialUse = "" // another target mailbox has it
			} else {
				bySpecial[su] = p.Target
			}
		}
	}
	return out
}

// wellKnownLevel is the level of a target name that a well-known name
// is looked for in: a top-level name, or a child of INBOX (servers that
// keep every folder under INBOX); "" for deeper names.
func wellKnownLevel(name string) string {
	if rest, ok := strings.CutPrefix(name, store.Inbox+string(store.Separator)); ok {
		name = rest
	}
	if strings.ContainsRune(name, store.Separator) {
		return ""
	}
	return name
}
