package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"rookery/internal/imapnum"
	"rookery/internal/ingest"
	"rookery/internal/store"
)

// TestKeywordOps checks keyword normalisation and flag operations:
// keywords compare case-insensitively, the first spelling wins.
func TestKeywordOps(t *testing.T) {
	for _, tc := range []struct {
		name string
		cur  []string
		op   store.FlagOp
		f    []string
		want []string
	}{
		{"add new", []string{"a"}, store.FlagsAdd, []string{"B"}, []string{"a", "B"}},
		{"add existing other case", []string{"Foo"}, store.FlagsAdd, []string{"foo", "FOO"}, []string{"Foo"}},
		{"add nothing", []string{"x"}, store.FlagsAdd, nil, []string{"x"}},
		{"remove other case", []string{"Foo", "bar"}, store.FlagsRemove, []string{"FOO"}, []string{"bar"}},
		{"remove absent", []string{"a"}, store.FlagsRemove, []string{"b"}, []string{"a"}},
		{"replace", []string{"a"}, store.FlagsReplace, []string{"c", "b"}, []string{"c", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := store.ApplyFlags(store.Flags{Keywords: tc.cur}, tc.op, store.Flags{Keywords: tc.f})
			if !slices.Equal(got.Keywords, tc.want) {
				t.Errorf("got %q, want %q", got.Keywords, tc.want)
			}
		})
	}
	got, err := store.NormalizeKeywords([]string{"b", "A", "a", "B", "c"})
	if err != nil || !slices.Equal(got, []string{"A", "b", "c"}) {
		t.Errorf("normKeywords: %q, %v", got, err)
	}
	if _, err := store.NormalizeKeywords([]string{"a b"}); err == nil {
		t.Error("normKeywords accepted a space")
	}
}

// TestManyKeywords runs the keyword operations over 200,000 keywords, as
// a hostile client's STOREs pile them up. They compared every keyword with
// every other (strings.EqualFold in a loop, 2·10¹⁰ comparisons here:
// minutes, so this test ran into go test's timeout, and a SELECT of a
// mailbox with 30,000 keywords took 10 s of CPU); with sets they are
// linear.
func TestManyKeywords(t *testing.T) {
	const n = 200_000
	kws := make([]string, n)
	for i := range kws {
		kws[i] = fmt.Sprintf("Kw%d", i)
	}
	norm, err := store.NormalizeKeywords(kws)
	if err != nil || len(norm) != n {
		t.Fatalf("normKeywords: %d keywords, %v", len(norm), err)
	}
	more := make([]string, n)
	for i := range more {
		more[i] = fmt.Sprintf("kW%d", i+n/2) // half of them already there
	}
	added := store.ApplyFlags(store.Flags{Keywords: norm}, store.FlagsAdd, store.Flags{Keywords: more})
	if len(added.Keywords) != n+n/2 {
		t.Errorf("add: %d keywords, want %d", len(added.Keywords), n+n/2)
	}
	removed := store.ApplyFlags(added, store.FlagsRemove, store.Flags{Keywords: kws})
	if len(removed.Keywords) != n/2 {
		t.Errorf("remove: %d keywords, want %d", len(removed.Keywords), n/2)
	}
}

// TestMailboxKeywordsMigration checks migration 17 on a data directory
// whose messages carry keywords (in several spellings, non-ASCII
// included) from before the keyword sets: each mailbox gets the keywords
// of its messages, the first spelling in stored order, and a mailbox
// holding more than a limit set since keeps them all, new ones refused.
func TestMailboxKeywordsMigration(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, inbox := openAlice(t, dir, Options{})
	other, err := s.CreateMailbox(ctx, inbox.Account, "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range []struct {
		mbox store.MailboxID
		kws  []string
	}{
		{inbox.ID, []string{"Work", "$Label1"}},
		{inbox.ID, []string{"work", "Ünï"}},
		{inbox.ID, []string{"ÜNÏ", "gone"}},
		{inbox.ID, nil},
		{other.ID, []string{"solo"}},
	} {
		ref, err := ingest.Write(ctx, s, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, f.mbox, []store.NewMessage{{Blob: ref, Flags: store.Flags{Keywords: f.kws}}}); err != nil {
			t.Fatal(err)
		}
	}
	// A keyword removed from its last message before the migration:
	// nothing remembers it.
	if _, err := s.StoreFlags(ctx, inbox.ID, imapnum.Set{{Start: 3, Stop: 3}}, store.FlagsRemove, store.Flags{Keywords: []string{"gone"}}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	undoMigration(t, dir, 17, `DROP TABLE mailbox_keywords`)

	s, err = Open(ctx, dir, Options{MailboxLimits: store.MailboxLimits{MaxKeywords: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		mbox store.MailboxID
		want []string
	}{
		{inbox.ID, []string{"$Label1", "Work", "Ünï"}},
		{other.ID, []string{"solo"}},
	} {
		snap, err := s.Snapshot(ctx, tc.mbox)
		if err != nil || !slices.Equal(snap.Keywords, tc.want) {
			t.Errorf("keywords of mailbox %d after the migration: %q, %v; want %q", tc.mbox, snap.Keywords, err, tc.want)
		}
	}
	all := imapnum.Set{{Start: 1, Stop: 10}}
	if _, err := s.StoreFlags(ctx, inbox.ID, all, store.FlagsAdd, store.Flags{Keywords: []string{"$label1", "üNï"}}, 0); err != nil {
		t.Errorf("STORE of keywords a mailbox above the limit has: %v", err)
	}
	if _, err := s.StoreFlags(ctx, inbox.ID, all, store.FlagsAdd, store.Flags{Keywords: []string{"gone"}}, 0); !errors.Is(err, store.ErrTooManyKeywords) {
		t.Errorf("STORE of a new keyword above the limit: %v, want ErrTooManyKeywords", err)
	}
	if _, err := s.StoreFlags(ctx, other.ID, all, store.FlagsAdd, store.Flags{Keywords: []string{"second"}}, 0); err != nil {
		t.Errorf("STORE of a second keyword (the limit): %v", err)
	}
	rep, err := s.Check(ctx, store.CheckOptions{})
	if err != nil || rep.Problems() != 0 {
		t.Errorf("check after the migration: %v%s", err, dump(rep))
	}
}
