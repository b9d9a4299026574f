package imap

import (
	"strconv"

	"rookery/internal/store"
)

// Object identifiers (RFC 8474 OBJECTID). Both are objectid atoms:
// 1*255(ALPHA / DIGIT / "_" / "-").

// EmailID returns the EMAILID of a message stored as blob: "M" and the
// first 24 hex digits (96 bits) of the content's SHA-256. It depends only
// on the content, so a message keeps it through COPY and MOVE (RFC 8474
// §5.1: the EMAILID SHOULD stay the same), and identical content
// appended twice shares it (the RFC allows equal EMAILIDs for identical
// messages). A blob id too short (not from a SHA-256 store) is used whole.
func EmailID(blob store.BlobID) string {
	s := string(blob)
	if len(s) > 24 {
		s = s[:24]
	}
	return "M" + s
}

// MailboxID returns the MAILBOXID of a mailbox: "F", its store id, "-"
// and its UIDVALIDITY. Both are fixed for the life of the mailbox and kept
// by RENAME (RFC 8474 §4: the MAILBOXID survives RENAME), and a store
// never gives an id to another mailbox (store.MailboxID), so a mailbox
// created again under the same name gets a new MAILBOXID (RFC 8474 §4:
// never reused for a different mailbox). A rename the store turns into
// a new incarnation (store.Store.RenameMailbox) changes both.
func MailboxID(m store.Mailbox) string {
	return "F" + strconv.FormatInt(int64(m.ID), 10) + "-" + strconv.FormatUint(uint64(m.UIDValidity), 10)
}
