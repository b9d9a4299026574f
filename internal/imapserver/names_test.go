package imapserver

import "testing"

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"*", "INBOX", true},
		{"*", "a/b/c", true},
		{"%", "a", true},
		{"%", "a/b", false},
		{"a/%", "a/b", true},
		{"a/%", "a/b/c", false},
		{"a/*", "a/b/c", true},
		{"a*", "a", true},
		{"a*c", "abc", true},
		{"a%c", "a/c", false},
		{"", "", true},
		{"", "a", false},
		{"INBOX", "INBOX", true},
		{"Sent", "Sent Items", false},
		{"*%*%*%*%*%*%*%*%*%*%*%*x", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	}
	for _, tt := range tests {
		if got := matchPattern(tt.pattern, tt.name); got != tt.want {
			t.Errorf("matchPattern(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestCanonicalInbox(t *testing.T) {
	for in, want := range map[string]string{
		"inbox": "INBOX", "InBox/x": "INBOX/x", "INBOXES": "INBOXES", "in": "in", "Inbox/": "INBOX/",
	} {
		if got := canonicalInbox(in); got != want {
			t.Errorf("canonicalInbox(%q) = %q, want %q", in, got, want)
		}
	}
}
