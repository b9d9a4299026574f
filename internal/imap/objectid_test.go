package imap

import (
	"regexp"
	"testing"

	"rookery/internal/store"
)

func TestObjectIDs(t *testing.T) {
	objectid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`) // RFC 8474 §7
	blob := store.BlobID("152f17ac7a38f5d25376dd86328a96a17551fa061a49aa32649ee50c07d9c7c2")
	if got := EmailID(blob); got != "M152f17ac7a38f5d25376dd86" || !objectid.MatchString(got) {
		t.Errorf("EmailID = %q", got)
	}
	if got := EmailID("abc"); got != "Mabc" {
		t.Errorf("EmailID of a short id = %q", got)
	}
	m := store.Mailbox{ID: 7, UIDValidity: 1795453854}
	if got := MailboxID(m); got != "F7-1795453854" || !objectid.MatchString(got) {
		t.Errorf("MailboxID = %q", got)
	}
}
