package cli

import (
	"context"
	"errors"
	"strings"
	"testing"

	"rookery/internal/config"
	"rookery/internal/events"
	"rookery/internal/store"
)

// TestMailboxLimitsWired: the [limits] mailbox keys reach the store that
// enforces them and the server options.
func TestMailboxLimitsWired(t *testing.T) {
	ctx := context.Background()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Limits.MaxMailboxName, cfg.Limits.MaxMailboxDepth, cfg.Limits.MaxMailboxes = 64, 2, 7
	cfg.Limits.MaxKeywordsPerMailbox, cfg.Limits.MaxKeywordLength = 1, 16
	want := store.MailboxLimits{MaxNameBytes: 64, MaxDepth: 2, MaxMailboxes: 7, MaxKeywords: 1, MaxKeywordBytes: 16}
	if got := serverOptions(cfg, nil, nil, nil, nil, nil).MailboxLimits; got != want {
		t.Errorf("server MailboxLimits = %+v, want %+v", got, want)
	}
	st, err := openStore(ctx, cfg, events.NewMemory(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.CreateAccount(ctx, "alice", "x")
	if err != nil {
		t.Fatal(err)
	}
	for name, wantErr := range map[string]error{
		strings.Repeat("n", 65): store.ErrNameTooLong,
		"a/b/c":                 store.ErrNameTooDeep,
		"a/b":                   store.ErrTooManyMailboxes, // 6 + 2
	} {
		if _, err := st.CreateMailbox(ctx, a.ID, name, ""); !errors.Is(err, wantErr) {
			t.Errorf("CreateMailbox(%.10q…) = %v, want %v", name, err, wantErr)
		}
	}
	if u, err := st.Quota(ctx, a.ID); err != nil || u.MailboxLimit != 7 {
		t.Errorf("Quota = %+v, %v; want a MAILBOX limit of 7", u, err)
	}
	inbox, err := st.Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := st.WriteBlob(ctx, strings.NewReader("Subject: x\r\n\r\nx\r\n"), -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kws     []string
		wantErr error
	}{
		{[]string{strings.Repeat("k", 17)}, store.ErrKeywordTooLong},
		{[]string{"one", "two"}, store.ErrTooManyKeywords},
		{[]string{"one"}, nil},
	} {
		_, err := st.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref, Flags: store.Flags{Keywords: tc.kws}}})
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("Append with keywords %.20q = %v, want %v", tc.kws, err, tc.wantErr)
		}
	}
}
