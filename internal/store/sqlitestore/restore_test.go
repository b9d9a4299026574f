package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
	"time"

	"rookery/internal/ingest"
	"rookery/internal/store"
	"rookery/internal/store/storetest"
)

// copyAll copies src into dst through store.Dumper and store.Restorer as
// `rookery store copy` does (without its checks), batch messages per
// RestoreMessages call, and returns how many messages it restored.
func copyAll(t *testing.T, src, dst *Store, batch int) int {
	t.Helper()
	ctx := context.Background()
	inst, err := src.DumpInstallation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := dst.RestoreInstallation(ctx, inst); err != nil {
		t.Fatal(err)
	}
	accts, err := src.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	added := 0
	for _, a := range accts {
		d, err := src.DumpAccount(ctx, a.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dst.RestoreAccount(ctx, d); err != nil && !errors.Is(err, store.ErrAccountExists) {
			t.Fatal(err)
		}
		for _, m := range d.Mailboxes {
			if m.NoSelect {
				continue
			}
			for after := store.UID(0); ; {
				page, err := src.DumpMessages(ctx, m.ID, after, batch)
				if err != nil {
					t.Fatal(err)
				}
				var rs []store.RestoreMessage
				for _, msg := range page {
					rs = append(rs, restoreMessage(t, src, dst, msg))
					after = msg.UID
				}
				if len(rs) > 0 {
					n, err := dst.RestoreMessages(ctx, m.ID, rs)
					if err != nil {
						t.Fatal(err)
					}
					added += n
				}
				if len(page) < batch {
					break
				}
			}
			exp, err := src.DumpExpunged(ctx, m.ID, 0, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if err := dst.RestoreExpunged(ctx, m.ID, exp); err != nil {
				t.Fatal(err)
			}
		}
	}
	return added
}

// restoreMessage writes the content of msg into dst and returns it to
// restore, with its text extracted again (the embedded store gives none
// back).
func restoreMessage(t *testing.T, src, dst *Store, msg store.MessageDump) store.RestoreMessage {
	t.Helper()
	ctx := context.Background()
	b, err := src.OpenBlob(ctx, msg.Blob)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ref, err := dst.WriteBlob(ctx, io.NewSectionReader(b, 0, b.Size()), -1)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Text != nil {
		t.Errorf("UID %d: the embedded store gave a text back", msg.UID)
	}
	text, parsed, err := ingest.ContentText(b, b.Size(), msg.Anatomy)
	if err != nil {
		t.Fatal(err)
	}
	if parsed != nil {
		t.Errorf("UID %d: anatomy parsed again although it was dumped", msg.UID)
	}
	ref.Anatomy, ref.Text = msg.Anatomy, text
	return store.RestoreMessage{Blob: ref, UID: msg.UID, ModSeq: msg.ModSeq, Flags: msg.Flags, InternalDate: msg.InternalDate, SaveDate: msg.SaveDate}
}

func openStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// checkClean fails unless Check finds nothing at all in s (no problem
// and no notice: every content indexed).
func checkClean(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check(ctx, store.CheckOptions{Contents: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		t.Errorf("check: %s %s: %s (problem %v)", f.Kind, f.Subject, f.Detail, f.Problem)
	}
}

// TestDumpRestore copies an installation that has everything a copy must
// keep, in batches of several sizes, and compares the two as clients
// see them and as dumped; the destination passes Check, a second copy
// adds nothing, and the destination goes on giving UIDVALIDITYs and
// MailboxIDs that the source never gave.
func TestDumpRestore(t *testing.T) {
	ctx := context.Background()
	src := openStore(t, Options{})
	storetest.CopyFixture(t, src)
	if err := src.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	srcInst, err := src.DumpInstallation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range []int{1, 7, 1000} {
		t.Run(fmt.Sprintf("batch %d", batch), func(t *testing.T) {
			// Limits and quotas that the data exceed: a restore is not
			// refused for them.
			dst := openStore(t, Options{DefaultQuota: DefaultQuota{Messages: 1},
				MailboxLimits: store.MailboxLimits{MaxKeywords: 1, MaxMailboxes: 2, MaxNameBytes: 4}})
			n := copyAll(t, src, dst, batch)
			storetest.SameInstallation(t, src, dst)
			accts, err := src.Accounts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, a := range accts {
				total += int(a.Messages)
				ds, err := src.DumpAccount(ctx, a.Name)
				if err != nil {
					t.Fatal(err)
				}
				dd, err := dst.DumpAccount(ctx, a.Name)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range []*store.AccountDump{&ds, &dd} {
					for i := range d.Mailboxes {
						d.Mailboxes[i].Account = 0
					}
				}
				if !reflect.DeepEqual(ds, dd) {
					t.Errorf("account %s dumped:\n  %+v\n  %+v", a.Name, ds, dd)
				}
			}
			if n != total {
				t.Errorf("restored %d messages, want %d", n, total)
			}
			inst, err := dst.DumpInstallation(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(inst, srcInst) {
				t.Errorf("installation dumped:\n  %+v\n  %+v", srcInst, inst)
			}
			checkClean(t, dst)
			// The texts extracted again are in the index: a needle
			// narrows to its message (UID 8 of INBOX holds message 7).
			alice, err := dst.Account(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			inbox, err := dst.Mailbox(ctx, alice.ID, "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			for needle, want := range map[string][]store.UID{"copyword7": {8}, "bigword": {41}} {
				got, err := dst.SearchCandidates(ctx, inbox.ID, store.IndexKey{Op: store.IndexNeedle, Field: store.TextBody, Value: needle})
				if err != nil || !reflect.DeepEqual(got, want) {
					t.Errorf("search %q: %v, %v; want %v", needle, got, err, want)
				}
			}
			if again := copyAll(t, src, dst, batch); again != 0 {
				t.Errorf("a second copy restored %d messages", again)
			}
			storetest.SameInstallation(t, src, dst)
			checkClean(t, dst)
		})
	}

	// Going on in the destination: a name the source retired gets a
	// greater UIDVALIDITY, a new mailbox an ID above every one the
	// source gave, and dave (deleted in the source) comes back above
	// his old values.
	dst := openStore(t, Options{})
	copyAll(t, src, dst, 100)
	dst.now = func() time.Time { return time.Unix(1, 0) } // the clock gives nothing away
	alice, err := dst.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	da, err := dst.DumpAccount(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	retired := map[string]uint32{}
	for _, r := range da.RetiredNames {
		retired[r.Name] = max(retired[r.Name], r.UIDValidity)
	}
	if retired["Tmp"] == 0 {
		t.Fatalf("no retired UIDVALIDITY of Tmp in %+v", da.RetiredNames)
	}
	tmp, err := dst.CreateMailbox(ctx, alice.ID, "Tmp", "")
	if err != nil {
		t.Fatal(err)
	}
	if tmp.UIDValidity <= retired["Tmp"] || tmp.ID <= srcInst.MailboxIDFloor {
		t.Errorf("Tmp created again: UIDVALIDITY %d (retired %d), ID %d (source gave up to %d)", tmp.UIDValidity, retired["Tmp"], tmp.ID, srcInst.MailboxIDFloor)
	}
	dave, err := dst.CreateAccount(ctx, "dave", "x")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := dst.Mailbox(ctx, dave.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	var old uint32
	for _, r := range srcInst.RetiredAccounts {
		if r.Name == "dave" {
			old = r.UIDValidity
		}
	}
	if old == 0 || inbox.UIDValidity <= old {
		t.Errorf("dave's INBOX created again with UIDVALIDITY %d, his old ones up to %d", inbox.UIDValidity, old)
	}
}

// TestRestoreRefused: what a restore refuses, and that it leaves the
// destination as it was.
func TestRestoreRefused(t *testing.T) {
	ctx := context.Background()
	src := openStore(t, Options{})
	storetest.CopyFixture(t, src)
	alice, err := src.DumpAccount(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	mbox := func(d store.AccountDump, name string) store.MailboxDump {
		for _, m := range d.Mailboxes {
			if m.Name == name {
				return m
			}
		}
		t.Fatalf("no mailbox %s", name)
		return store.MailboxDump{}
	}
	inbox := mbox(alice, "INBOX")
	page, err := src.DumpMessages(ctx, inbox.ID, 0, 2)
	if err != nil || len(page) != 2 {
		t.Fatal(page, err)
	}
	// restored returns a destination holding alice with the first
	// message of her INBOX.
	restored := func(t *testing.T) *Store {
		dst := openStore(t, Options{})
		if _, err := dst.RestoreAccount(ctx, alice); err != nil {
			t.Fatal(err)
		}
		if _, err := dst.RestoreMessages(ctx, inbox.ID, []store.RestoreMessage{restoreMessage(t, src, dst, page[0])}); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	withMailbox := func(f func(m *store.MailboxDump)) store.AccountDump {
		d := alice
		d.Name = "other"
		d.Mailboxes = []store.MailboxDump{inbox}
		d.Mailboxes[0].ID = 999999
		f(&d.Mailboxes[0])
		return d
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, dst *Store) error
		want error
	}{
		{"account exists", func(t *testing.T, dst *Store) error {
			_, err := dst.RestoreAccount(ctx, alice)
			return err
		}, store.ErrAccountExists},
		{"mailbox ID in use", func(t *testing.T, dst *Store) error {
			d := alice
			d.Name = "other"
			_, err := dst.RestoreAccount(ctx, d)
			return err
		}, store.ErrRestoreConflict},
		{"invalid mailbox name", func(t *testing.T, dst *Store) error {
			_, err := dst.RestoreAccount(ctx, withMailbox(func(m *store.MailboxDump) { m.Name = "a//b" }))
			return err
		}, store.ErrInvalidName},
		{"mailbox name not canonical", func(t *testing.T, dst *Store) error {
			_, err := dst.RestoreAccount(ctx, withMailbox(func(m *store.MailboxDump) { m.Name = "inbox" }))
			return err
		}, store.ErrInvalidName},
		{"unknown special-use", func(t *testing.T, dst *Store) error {
			_, err := dst.RestoreAccount(ctx, withMailbox(func(m *store.MailboxDump) { m.SpecialUse = `\Bogus` }))
			return err
		}, store.ErrSpecialUseInvalid},
		{"UID at UIDNEXT", func(t *testing.T, dst *Store) error {
			m := restoreMessage(t, src, dst, page[0])
			m.UID = inbox.UIDNext
			_, err := dst.RestoreMessages(ctx, inbox.ID, []store.RestoreMessage{m})
			return err
		}, store.ErrRestoreConflict},
		{"mod-sequence above HIGHESTMODSEQ", func(t *testing.T, dst *Store) error {
			m := restoreMessage(t, src, dst, page[1])
			m.ModSeq = inbox.HighestModSeq + 1
			_, err := dst.RestoreMessages(ctx, inbox.ID, []store.RestoreMessage{restoreMessage(t, src, dst, page[0]), m})
			return err
		}, store.ErrRestoreConflict},
		{"into a NoSelect mailbox", func(t *testing.T, dst *Store) error {
			_, err := dst.RestoreMessages(ctx, mbox(alice, "Work/Projects").ID, []store.RestoreMessage{restoreMessage(t, src, dst, page[0])})
			return err
		}, store.ErrMailboxNoSelect},
		{"into a missing mailbox", func(t *testing.T, dst *Store) error {
			_, err := dst.RestoreMessages(ctx, 999999, []store.RestoreMessage{restoreMessage(t, src, dst, page[0])})
			return err
		}, store.ErrNoSuchMailbox},
		{"expunged UID that is a message", func(t *testing.T, dst *Store) error {
			return dst.RestoreExpunged(ctx, inbox.ID, []store.ExpungedUID{{UID: page[0].UID, ModSeq: 1}})
		}, store.ErrRestoreConflict},
		{"expunged UID at UIDNEXT", func(t *testing.T, dst *Store) error {
			return dst.RestoreExpunged(ctx, inbox.ID, []store.ExpungedUID{{UID: inbox.UIDNext, ModSeq: 1}})
		}, store.ErrRestoreConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := restored(t)
			before, err := dst.DumpAccount(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.run(t, dst); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			after, err := dst.DumpAccount(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := dst.DumpMessages(ctx, inbox.ID, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(before, after) || len(msgs) != 1 {
				t.Errorf("the refused restore changed the destination: %d messages\n  %+v\n  %+v", len(msgs), before, after)
			}
			if _, err := dst.Account(ctx, "other"); !errors.Is(err, store.ErrNoSuchAccount) {
				t.Errorf("account other after a refused restore: %v", err)
			}
		})
	}

	// Restoring what is there already adds nothing.
	dst := restored(t)
	rs := []store.RestoreMessage{restoreMessage(t, src, dst, page[0]), restoreMessage(t, src, dst, page[1])}
	for i, want := range []int{1, 0} {
		if n, err := dst.RestoreMessages(ctx, inbox.ID, rs); err != nil || n != want {
			t.Errorf("restore %d: %d, %v; want %d", i, n, err, want)
		}
	}
	checkClean(t, dst)
}
