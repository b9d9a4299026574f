package imapserver

import "testing"

func TestCanonicalInbox(t *testing.T) {
	for in, want := range map[string]string{
		"inbox": "INBOX", "InBox/x": "INBOX/x", "INBOXES": "INBOXES", "in": "in", "Inbox/": "INBOX/",
	} {
		if got := canonicalInbox(in); got != want {
			t.Errorf("canonicalInbox(%q) = %q, want %q", in, got, want)
		}
	}
}
