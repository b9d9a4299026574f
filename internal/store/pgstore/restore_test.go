package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"rookery/internal/ingest"
	"rookery/internal/pgtest"
	"rookery/internal/store"
	"rookery/internal/store/sqlitestore"
	"rookery/internal/store/storetest"
)

// backend is a store that can be copied out of and into.
type backend interface {
	store.Store
	store.Dumper
	store.Restorer
	store.Checker
}

// copyRun is a copy from src to dst through store.Dumper and
// store.Restorer as `rookery store copy` drives it (without its checks),
// batch messages per RestoreMessages call. With stopAfter > 0 it stops
// after that many RestoreMessages calls that added messages, and makes
// one more with a cancelled context (a copy killed in a transaction).
type copyRun struct {
	src, dst  backend
	batch     int
	stopAfter int
}

// run copies and returns how many messages it restored.
func (c copyRun) run(t *testing.T) int {
	t.Helper()
	inst, err := c.src.DumpInstallation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.dst.RestoreInstallation(ctx, inst); err != nil {
		t.Fatal(err)
	}
	accts, err := c.src.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	added, calls := 0, 0
	for _, a := range accts {
		d, err := c.src.DumpAccount(ctx, a.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.dst.RestoreAccount(ctx, d); err != nil && !errors.Is(err, store.ErrAccountExists) {
			t.Fatal(err)
		}
		for _, m := range d.Mailboxes {
			if m.NoSelect {
				continue
			}
			for after := store.UID(0); ; {
				page, err := c.src.DumpMessages(ctx, m.ID, after, c.batch)
				if err != nil {
					t.Fatal(err)
				}
				var rs []store.RestoreMessage
				for _, msg := range page {
					rs = append(rs, restoreMessage(t, c.src, c.dst, msg))
					after = msg.UID
				}
				if len(rs) > 0 {
					if c.stopAfter > 0 && calls == c.stopAfter {
						killed, cancel := context.WithCancel(ctx)
						cancel()
						if _, err := c.dst.RestoreMessages(killed, m.ID, rs); !errors.Is(err, context.Canceled) {
							t.Fatalf("restore with a cancelled context: %v", err)
						}
						return added
					}
					n, err := c.dst.RestoreMessages(ctx, m.ID, rs)
					if err != nil {
						t.Fatal(err)
					}
					if n > 0 {
						calls++
					}
					added += n
				}
				if len(page) < c.batch {
					break
				}
			}
			exp, err := c.src.DumpExpunged(ctx, m.ID, 0, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.dst.RestoreExpunged(ctx, m.ID, exp); err != nil {
				t.Fatal(err)
			}
		}
	}
	return added
}

// restoreMessage writes the content of msg into dst and returns it to
// restore, with the source's text, or one extracted again when the
// source gives none back.
func restoreMessage(t *testing.T, src, dst backend, msg store.MessageDump) store.RestoreMessage {
	t.Helper()
	b, err := src.OpenBlob(ctx, msg.Blob)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ref, err := dst.WriteBlob(ctx, io.NewSectionReader(b, 0, b.Size()), -1)
	if err != nil {
		t.Fatal(err)
	}
	if ref.ID != msg.Blob || ref.Size != msg.Size {
		t.Fatalf("UID %d: content %s of %d bytes written as %s of %d", msg.UID, msg.Blob, msg.Size, ref.ID, ref.Size)
	}
	ref.Anatomy, ref.Text = msg.Anatomy, msg.Text
	if _, isPG := src.(*Store); isPG != (msg.Text != nil) {
		t.Errorf("UID %d: text given back %v by %T", msg.UID, msg.Text != nil, src)
	}
	if ref.Text == nil {
		text, parsed, err := ingest.ContentText(b, b.Size(), msg.Anatomy)
		if err != nil {
			t.Fatal(err)
		}
		if parsed != nil {
			t.Errorf("UID %d: anatomy parsed again although it was dumped", msg.UID)
		}
		ref.Text = text
	}
	return store.RestoreMessage{Blob: ref, UID: msg.UID, ModSeq: msg.ModSeq, Flags: msg.Flags, InternalDate: msg.InternalDate, SaveDate: msg.SaveDate}
}

// openPG opens a new database with opts.
func openPG(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(ctx, pgtest.NewDatabase(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openSQLite opens a new data directory with opts.
func openSQLite(t *testing.T, opts sqlitestore.Options) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(ctx, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// checkClean fails unless Check finds nothing at all in s (no problem
// and no notice: every content indexed, none unreferenced).
func checkClean(t *testing.T, s backend) {
	t.Helper()
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Check(ctx, store.CheckOptions{Contents: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		t.Errorf("check of %T: %s %s: %s (problem %v)", s, f.Kind, f.Subject, f.Detail, f.Problem)
	}
}

// sameDumps fails unless src and dst dump the same installation and
// accounts (account IDs aside) and, messages included, the same
// messages (texts too when both give them back).
func sameDumps(t *testing.T, src, dst backend) {
	t.Helper()
	si, err := src.DumpInstallation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	di, err := dst.DumpInstallation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(si, di) {
		t.Errorf("installation dumped:\n  %+v\n  %+v", si, di)
	}
	accts, err := src.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accts {
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
		for _, m := range ds.Mailboxes {
			if m.NoSelect {
				continue
			}
			ms, err := src.DumpMessages(ctx, m.ID, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			md, err := dst.DumpMessages(ctx, m.ID, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != len(md) {
				t.Errorf("%s/%s: %d and %d messages dumped", a.Name, m.Name, len(ms), len(md))
				continue
			}
			for i := range ms {
				x, y := ms[i], md[i]
				if x.Text == nil || y.Text == nil {
					x.Text, y.Text = nil, nil
				}
				_, offX := x.InternalDate.Zone()
				_, offY := y.InternalDate.Zone()
				x.InternalDate, y.InternalDate = x.InternalDate.UTC(), y.InternalDate.UTC()
				if offX != offY || !reflect.DeepEqual(x, y) {
					t.Errorf("%s/%s UID %d dumped:\n  %+v %+v\n  %+v %+v", a.Name, m.Name, x.UID, x, x.Text, y, y.Text)
				}
			}
			es, err := src.DumpExpunged(ctx, m.ID, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			ed, err := dst.DumpExpunged(ctx, m.ID, 0, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(es, ed) {
				t.Errorf("%s/%s expunged:\n  %v\n  %v", a.Name, m.Name, es, ed)
			}
		}
	}
}

// total is the number of messages of s.
func total(t *testing.T, s store.Store) int {
	t.Helper()
	accts, err := s.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range accts {
		n += int(a.Messages)
	}
	return n
}

// searchable fails unless the needles of the fixture find their
// messages in s (the texts reached its index).
func searchable(t *testing.T, s backend) {
	t.Helper()
	alice, err := s.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.Mailbox(ctx, alice.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	si, ok := s.(store.SearchIndex)
	if !ok {
		t.Fatalf("%T has no search index", s)
	}
	// UID 8 of INBOX holds message 7, UID 41 the big one; texts are
	// folded to upper case (package searchtext).
	for needle, want := range map[string][]store.UID{"COPYWORD7": {8}, "BIGWORD": {41}} {
		got, err := si.SearchCandidates(ctx, inbox.ID, store.IndexKey{Op: store.IndexNeedle, Field: store.TextBody, Value: needle})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("search %q in %T: %v, %v; want %v", needle, s, got, err, want)
		}
	}
}

// TestDumpRestore copies an installation that has everything a copy must
// keep between the backends (the embedded one into this one, in batches
// of one message and of many, this one into the embedded one and into
// itself) and compares the two as clients see them and as dumped; the
// destination passes Check, its index finds the texts, a second copy
// adds nothing, and it goes on giving identities the source never gave.
func TestDumpRestore(t *testing.T) {
	// Limits and quotas that the data exceed: a restore is not refused
	// for them.
	limits := store.MailboxLimits{MaxKeywords: 1, MaxMailboxes: 2, MaxNameBytes: 4}
	newPG := func(t *testing.T) backend {
		return openPG(t, Options{DefaultQuota: DefaultQuota{Messages: 1}, MailboxLimits: limits})
	}
	newSQLite := func(t *testing.T) backend {
		return openSQLite(t, sqlitestore.Options{DefaultQuota: sqlitestore.DefaultQuota{Messages: 1}, MailboxLimits: limits})
	}
	sqliteSrc := openSQLite(t, sqlitestore.Options{})
	storetest.CopyFixture(t, sqliteSrc)
	pgSrc := openPG(t, Options{})
	storetest.CopyFixture(t, pgSrc)
	for _, tc := range []struct {
		name  string
		src   backend
		dst   func(t *testing.T) backend
		batch int
	}{
		{"sqlite to pg, batch 1", sqliteSrc, newPG, 1},
		{"sqlite to pg, batch 1000", sqliteSrc, newPG, 1000},
		{"pg to sqlite, batch 7", pgSrc, newSQLite, 7},
		{"pg to pg, batch 1000", pgSrc, newPG, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := tc.dst(t)
			want := total(t, tc.src)
			if n := (copyRun{src: tc.src, dst: dst, batch: tc.batch}).run(t); n != want {
				t.Errorf("restored %d messages, want %d", n, want)
			}
			storetest.SameInstallation(t, tc.src, dst)
			sameDumps(t, tc.src, dst)
			checkClean(t, dst)
			searchable(t, dst)
			if again := (copyRun{src: tc.src, dst: dst, batch: tc.batch}).run(t); again != 0 {
				t.Errorf("a second copy restored %d messages", again)
			}
			storetest.SameInstallation(t, tc.src, dst)
			checkClean(t, dst)
		})
	}
	// Going on in a destination without limits.
	for _, src := range []backend{sqliteSrc, pgSrc} {
		dst := openPG(t, Options{})
		copyRun{src: src, dst: dst, batch: 100}.run(t)
		goOn(t, src, dst)
	}
}

// goOn checks that dst, a copy of src, goes on giving UIDVALIDITYs and
// MailboxIDs that src never gave: to Tmp (retired in src) created
// again, and to dave (deleted in src) created again.
func goOn(t *testing.T, src, dst backend) {
	t.Helper()
	inst, err := src.DumpInstallation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	da, err := src.DumpAccount(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	var retired uint32
	for _, r := range da.RetiredNames {
		if r.Name == "Tmp" {
			retired = max(retired, r.UIDValidity)
		}
	}
	var dave uint32
	for _, r := range inst.RetiredAccounts {
		if r.Name == "dave" {
			dave = r.UIDValidity
		}
	}
	if retired == 0 || dave == 0 {
		t.Fatalf("no retired UIDVALIDITY of Tmp in %+v or of dave in %+v", da.RetiredNames, inst.RetiredAccounts)
	}
	alice, err := dst.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	tmp, err := dst.CreateMailbox(ctx, alice.ID, "Tmp", "")
	if err != nil {
		t.Fatal(err)
	}
	if tmp.UIDValidity <= retired || tmp.ID <= inst.MailboxIDFloor {
		t.Errorf("Tmp created again: UIDVALIDITY %d (retired %d), ID %d (source gave up to %d)", tmp.UIDValidity, retired, tmp.ID, inst.MailboxIDFloor)
	}
	a, err := dst.CreateAccount(ctx, "dave", "x")
	if err != nil {
		t.Fatal(err)
	}
	in, err := dst.Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if in.UIDValidity <= dave || in.ID <= inst.MailboxIDFloor {
		t.Errorf("dave's INBOX created again: UIDVALIDITY %d (his old ones up to %d), ID %d", in.UIDValidity, dave, in.ID)
	}
}

// TestRestoreResumed: copies interrupted at several points, one of them
// inside a transaction, are completed by running the copy again, without
// duplicates.
func TestRestoreResumed(t *testing.T) {
	src := openSQLite(t, sqlitestore.Options{})
	storetest.CopyFixture(t, src)
	want := total(t, src)
	dst := openPG(t, Options{})
	had := 0
	for _, stop := range []int{1, 2, 3} {
		had += copyRun{src: src, dst: dst, batch: 3, stopAfter: stop}.run(t)
	}
	if had == 0 || had >= want {
		t.Fatalf("the interrupted copies restored %d of %d messages", had, want)
	}
	if n := (copyRun{src: src, dst: dst, batch: 3}).run(t); n != want-had {
		t.Errorf("the resumed copy restored %d messages, want %d", n, want-had)
	}
	storetest.SameInstallation(t, src, dst)
	sameDumps(t, src, dst)
	checkClean(t, dst)
}

// TestRestoreRefused: what a restore refuses, and that it leaves the
// destination as it was.
func TestRestoreRefused(t *testing.T) {
	src := openSQLite(t, sqlitestore.Options{})
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
	exp, err := src.DumpExpunged(ctx, inbox.ID, 0, 1)
	if err != nil || len(exp) != 1 {
		t.Fatal(exp, err)
	}
	// restored returns a destination holding alice with the first
	// message of her INBOX and its first expunged UID.
	restored := func(t *testing.T) *Store {
		dst := openPG(t, Options{})
		if _, err := dst.RestoreAccount(ctx, alice); err != nil {
			t.Fatal(err)
		}
		if _, err := dst.RestoreMessages(ctx, inbox.ID, []store.RestoreMessage{restoreMessage(t, src, dst, page[0])}); err != nil {
			t.Fatal(err)
		}
		if err := dst.RestoreExpunged(ctx, inbox.ID, exp); err != nil {
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
		{"mailbox ID twice", func(t *testing.T, dst *Store) error {
			d := withMailbox(func(*store.MailboxDump) {})
			second := d.Mailboxes[0]
			second.Name = "Second"
			d.Mailboxes = append(d.Mailboxes, second)
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
		{"invalid account name", func(t *testing.T, dst *Store) error {
			d := withMailbox(func(*store.MailboxDump) {})
			d.Name = ""
			_, err := dst.RestoreAccount(ctx, d)
			return err
		}, store.ErrInvalidAccountName},
		{"UID at UIDNEXT", func(t *testing.T, dst *Store) error {
			m := restoreMessage(t, src, dst, page[1])
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
		{"message UID that is expunged", func(t *testing.T, dst *Store) error {
			m := restoreMessage(t, src, dst, page[1])
			m.UID = exp[0].UID
			_, err := dst.RestoreMessages(ctx, inbox.ID, []store.RestoreMessage{m})
			return err
		}, store.ErrRestoreConflict},
		{"content never written", func(t *testing.T, dst *Store) error {
			m := restoreMessage(t, src, dst, page[1])
			m.Blob.Content = nil
			_, err := dst.RestoreMessages(ctx, inbox.ID, []store.RestoreMessage{m})
			return err
		}, store.ErrNoSuchMessage},
		{"into a NoSelect mailbox", func(t *testing.T, dst *Store) error {
			_, err := dst.RestoreMessages(ctx, mbox(alice, "Work/Projects").ID, []store.RestoreMessage{restoreMessage(t, src, dst, page[1])})
			return err
		}, store.ErrMailboxNoSelect},
		{"into a missing mailbox", func(t *testing.T, dst *Store) error {
			_, err := dst.RestoreMessages(ctx, 999999, []store.RestoreMessage{restoreMessage(t, src, dst, page[1])})
			return err
		}, store.ErrNoSuchMailbox},
		{"expunged UID that is a message", func(t *testing.T, dst *Store) error {
			return dst.RestoreExpunged(ctx, inbox.ID, []store.ExpungedUID{{UID: page[1].UID, ModSeq: 1}, {UID: page[0].UID, ModSeq: 1}})
		}, store.ErrRestoreConflict},
		{"expunged UID at UIDNEXT", func(t *testing.T, dst *Store) error {
			return dst.RestoreExpunged(ctx, inbox.ID, []store.ExpungedUID{{UID: inbox.UIDNext, ModSeq: 1}})
		}, store.ErrRestoreConflict},
		{"expunged above HIGHESTMODSEQ", func(t *testing.T, dst *Store) error {
			return dst.RestoreExpunged(ctx, inbox.ID, []store.ExpungedUID{{UID: page[1].UID, ModSeq: inbox.HighestModSeq + 1}})
		}, store.ErrRestoreConflict},
		{"expunged in a missing mailbox", func(t *testing.T, dst *Store) error {
			return dst.RestoreExpunged(ctx, 999999, []store.ExpungedUID{{UID: 1, ModSeq: 1}})
		}, store.ErrNoSuchMailbox},
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
			gone, err := dst.DumpExpunged(ctx, inbox.ID, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(before, after) || len(msgs) != 1 || !reflect.DeepEqual(gone, exp) {
				t.Errorf("the refused restore changed the destination: %d messages, expunged %v\n  %+v\n  %+v", len(msgs), gone, before, after)
			}
			if _, err := dst.Account(ctx, "other"); !errors.Is(err, store.ErrNoSuchAccount) {
				t.Errorf("account other after a refused restore: %v", err)
			}
			checkClean(t, dst)
		})
	}

	// Restoring what is there already adds nothing; a batch holding a
	// UID twice adds it once.
	dst := restored(t)
	rs := []store.RestoreMessage{restoreMessage(t, src, dst, page[0]), restoreMessage(t, src, dst, page[1]), restoreMessage(t, src, dst, page[1])}
	for i, want := range []int{1, 0} {
		if n, err := dst.RestoreMessages(ctx, inbox.ID, rs); err != nil || n != want {
			t.Errorf("restore %d: %d, %v; want %d", i, n, err, want)
		}
	}
	if err := dst.RestoreExpunged(ctx, inbox.ID, exp); err != nil {
		t.Errorf("restoring expunged UIDs again: %v", err)
	}
	checkClean(t, dst)
}

// TestRestoreFloors: after a restore the destination gives no
// UIDVALIDITY or MailboxID that the source gave, whatever the clock
// says (the values restored lie far ahead of it): not to a name
// retired in the source, nor to an account created again or anew, nor
// to a new mailbox; a mailbox marked for renewal gets a new UIDVALIDITY
// and ID when renamed. Restoring lower floors lowers nothing.
func TestRestoreFloors(t *testing.T) {
	far := uint32(time.Now().Unix()) + 100_000_000
	s := openPG(t, Options{})
	inst := store.InstallationDump{MailboxIDFloor: 5000, UIDValidityFloor: far,
		RetiredAccounts: []store.RetiredAccount{{Name: "dave", UIDValidity: far + 10}}}
	if err := s.RestoreInstallation(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if err := s.RestoreInstallation(ctx, store.InstallationDump{MailboxIDFloor: 10, UIDValidityFloor: 1,
		RetiredAccounts: []store.RetiredAccount{{Name: "dave", UIDValidity: 1}}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.DumpInstallation(ctx)
	if err != nil || !reflect.DeepEqual(got, inst) {
		t.Errorf("installation after restores: %+v, %v; want %+v", got, err, inst)
	}
	mb := func(id store.MailboxID, name string, uv uint32, renew bool) store.MailboxDump {
		return store.MailboxDump{Mailbox: store.Mailbox{ID: id, Name: name, UIDValidity: uv, UIDNext: 1, HighestModSeq: 1},
			RecentFrom: 1, RenewOnRename: renew}
	}
	d := store.AccountDump{Name: "alice", PasswordHash: "h", Created: time.Unix(1_700_000_000, 0), UIDValidityFloor: far + 20,
		RetiredNames: []store.RetiredName{{Name: "Tmp", UIDValidity: far + 30}},
		Mailboxes:    []store.MailboxDump{mb(4000, "INBOX", far+1, false), mb(4002, "Keep", far+3, false), mb(4001, "Old", far+2, true)}}
	alice, err := s.RestoreAccount(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.DumpAccount(ctx, "alice"); err != nil || fmt.Sprint(got.Mailboxes) != fmt.Sprint(withAccount(d.Mailboxes, alice.ID)) {
		t.Errorf("alice dumped: %+v, %v", got, err)
	}
	check := func(what string, m store.Mailbox, above uint32) {
		t.Helper()
		if m.UIDValidity <= above || m.ID <= inst.MailboxIDFloor {
			t.Errorf("%s: UIDVALIDITY %d (must exceed %d), ID %d (must exceed %d)", what, m.UIDValidity, above, m.ID, inst.MailboxIDFloor)
		}
	}
	tmp, err := s.CreateMailbox(ctx, alice.ID, "Tmp", "")
	if err != nil {
		t.Fatal(err)
	}
	check("Tmp created again", tmp, far+30)
	other, err := s.CreateMailbox(ctx, alice.ID, "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	check("a new mailbox", other, far+20)
	for name, above := range map[string]uint32{"dave": far + 10, "erin": far} {
		a, err := s.CreateAccount(ctx, name, "x")
		if err != nil {
			t.Fatal(err)
		}
		in, err := s.Mailbox(ctx, a.ID, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		check("INBOX of "+name, in, above)
	}
	if err := s.RenameMailbox(ctx, alice.ID, "Old", "Old2"); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameMailbox(ctx, alice.ID, "Keep", "Keep2"); err != nil {
		t.Fatal(err)
	}
	old2, err := s.Mailbox(ctx, alice.ID, "Old2")
	if err != nil {
		t.Fatal(err)
	}
	check("a mailbox renewed on rename", old2, far+20)
	keep2, err := s.Mailbox(ctx, alice.ID, "Keep2")
	if err != nil {
		t.Fatal(err)
	}
	if keep2.ID != 4002 || keep2.UIDValidity != far+3 {
		t.Errorf("a mailbox renamed: ID %d, UIDVALIDITY %d; want 4002, %d", keep2.ID, keep2.UIDValidity, far+3)
	}
	checkClean(t, s)
}

// withAccount returns ms with their Account set to acct.
func withAccount(ms []store.MailboxDump, acct store.AccountID) []store.MailboxDump {
	out := make([]store.MailboxDump, len(ms))
	for i, m := range ms {
		m.Account = acct
		out[i] = m
	}
	// Dumped sorted by name.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && strings.Compare(out[j-1].Name, out[j].Name) > 0; j-- {
			out[j-1], out[j] = out[j], out[j-1]
		}
	}
	return out
}
