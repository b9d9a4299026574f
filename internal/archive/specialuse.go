package archive

import "strings"

// specialUseNames maps well-known mailbox names (lower case) to the
// special-use attribute (RFC 6154) that clients and other servers give
// mailboxes of that name.
var specialUseNames = map[string]string{
	"sent":             `\Sent`,
	"sent items":       `\Sent`,
	"sent messages":    `\Sent`,
	"sent mail":        `\Sent`,
	"drafts":           `\Drafts`,
	"draft":            `\Drafts`,
	"trash":            `\Trash`,
	"deleted items":    `\Trash`,
	"deleted messages": `\Trash`,
	"junk":             `\Junk`,
	"junk e-mail":      `\Junk`,
	"spam":             `\Junk`,
	"archive":          `\Archive`,
	"archives":         `\Archive`,
}

// SpecialUseByName returns the special-use attribute that a mailbox
// named name is known to have by its name alone ("Sent Items" is
// \Sent), comparing its last hierarchy level case-insensitively (so
// "INBOX/Sent" and "[Gmail]/Spam" count too), or "" for another name.
func SpecialUseByName(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	return specialUseNames[strings.ToLower(strings.TrimSpace(name))]
}
