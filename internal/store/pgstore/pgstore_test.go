package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"rookery/internal/events"
	"rookery/internal/imapnum"
	"rookery/internal/pgtest"
	"rookery/internal/store"
	"rookery/internal/store/storetest"
)

// dsns maps a conformance Env's Dir to its database, so that a reopen
// opens the same data.
type dsns struct {
	mu sync.Mutex
	m  map[string]string
}

func (d *dsns) get(t *testing.T, dir string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dsn, ok := d.m[dir]; ok {
		return dsn
	}
	dsn := pgtest.NewDatabase(t)
	d.m[dir] = dsn
	return dsn
}

func TestConformance(t *testing.T) {
	d := &dsns{m: map[string]string{}}
	storetest.Run(t, func(t *testing.T, env storetest.Env) store.Store {
		s, err := Open(context.Background(), d.get(t, env.Dir), Options{Bus: env.Bus, MailboxLimits: env.Limits})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

var ctx = context.Background()

func open(t *testing.T, dsn string, bus events.Bus) *Store {
	t.Helper()
	s, err := Open(ctx, dsn, Options{Bus: bus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestConcurrentMigrations: nodes starting together on a fresh database
// apply each migration once and all open.
func TestConcurrentMigrations(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	var wg sync.WaitGroup
	applied := make([][]string, 6)
	errs := make([]error, 6)
	for i := range 6 {
		wg.Go(func() {
			if i%2 == 0 {
				applied[i], errs[i] = Migrate(ctx, dsn)
				return
			}
			s, err := Open(ctx, dsn, Options{})
			if err == nil {
				err = s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n, distinct int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT name) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != len(names) || distinct != len(names) {
		t.Fatalf("schema_migrations has %d rows (%d names), want %d", n, distinct, len(names))
	}
	if again, err := Migrate(ctx, dsn); err != nil || len(again) != 0 {
		t.Fatalf("Migrate on a migrated database applied %v, %v", again, err)
	}
}

// waitEvent waits until sub has had, for each of oks, an event it
// accepts.
func waitEvent(t *testing.T, sub events.Subscription, what string, oks ...func(events.Event) bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	seen := make([]bool, len(oks))
	for !allTrue(seen) {
		select {
		case <-sub.C():
			evs, _ := sub.Drain()
			for _, ev := range evs {
				for i, ok := range oks {
					if ok(ev) {
						seen[i] = true
					}
				}
			}
		case <-deadline:
			t.Fatalf("%s: no event (of each kind: %v)", what, seen)
		}
	}
}

func allTrue(bs []bool) bool {
	for _, b := range bs {
		if !b {
			return false
		}
	}
	return true
}

func message(i int) string {
	return fmt.Sprintf("From: a@example.org\r\nSubject: message %d\r\n\r\nbody %d\r\n", i, i)
}

func mustWrite(t *testing.T, s *Store, content string) store.BlobRef {
	t.Helper()
	ref, err := s.WriteBlob(ctx, strings.NewReader(content), -1)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func appendOne(t *testing.T, s *Store, mbox store.MailboxID, i int) store.AppendResult {
	t.Helper()
	ref, err := s.WriteBlob(ctx, strings.NewReader(message(i)), -1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Append(ctx, mbox, []store.NewMessage{{Blob: ref}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestTwoNodes: a change on one node wakes subscribers on another, and
// a listener whose connection is killed reconnects and catches up.
func TestTwoNodes(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	busA, busB := events.NewMemory(), events.NewMemory()
	a, b := open(t, dsn, busA), open(t, dsn, busB)
	acct, err := a.CreateAccount(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := b.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	sub := busB.Subscribe(int64(acct.ID))
	defer sub.Close()
	res := appendOne(t, a, inbox.ID, 1)
	waitEvent(t, sub, "append on the other node", func(ev events.Event) bool {
		return ev.Account == int64(acct.ID) && ev.Mailbox == int64(inbox.ID) && ev.ModSeq == res.ModSeq
	})
	if _, err := a.CreateMailbox(ctx, acct.ID, "new", ""); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, sub, "create on the other node", func(ev events.Event) bool { return ev.ModSeq == 0 && ev.Mailbox != 0 })

	// Kill B's listener connection: it reconnects and publishes the
	// current state of every mailbox of the account.
	for b.lis.sessions.Load() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	sessions := b.lis.sessions.Load()
	pid := b.lis.pid.Load()
	sub.Drain()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var killed bool
	if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int32(pid)).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate listener backend %d: %v %v", pid, killed, err)
	}
	waitEvent(t, sub, "catch-up", func(ev events.Event) bool {
		return ev.Mailbox == int64(inbox.ID) && ev.ModSeq == res.ModSeq
	}, func(ev events.Event) bool { return ev.Mailbox == 0 && ev.ModSeq == 0 })
	if b.lis.sessions.Load() <= sessions || b.lis.pid.Load() == pid {
		t.Fatalf("listener did not reconnect: sessions %d → %d, pid %d → %d", sessions, b.lis.sessions.Load(), pid, b.lis.pid.Load())
	}
	// And events flow again.
	res = appendOne(t, a, inbox.ID, 2)
	waitEvent(t, sub, "append after the reconnect", func(ev events.Event) bool {
		return ev.Mailbox == int64(inbox.ID) && ev.ModSeq == res.ModSeq
	})
	// A node without a bus (a delivery process) still announces its
	// changes.
	c := open(t, dsn, nil)
	res, err = c.Append(ctx, inbox.ID, []store.NewMessage{{Blob: mustWrite(t, c, message(4))}})
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, sub, "append on a node without a bus", func(ev events.Event) bool {
		return ev.Mailbox == int64(inbox.ID) && ev.ModSeq == res.ModSeq
	})
	// A node does not hear its own events twice through NOTIFY.
	subA := busA.Subscribe(int64(acct.ID))
	defer subA.Close()
	res = appendOne(t, a, inbox.ID, 3)
	time.Sleep(200 * time.Millisecond)
	evs, _ := subA.Drain()
	own := 0
	for _, ev := range evs {
		if ev.ModSeq == res.ModSeq {
			own++
		}
	}
	if own != 1 {
		t.Fatalf("own events on node A: %+v, want one with mod-sequence %d", evs, res.ModSeq)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestTwoNodesUIDs: two nodes appending to one mailbox at once never
// give a UID twice, and each sees its own UIDs increase.
func TestTwoNodesUIDs(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	nodes := []*Store{open(t, dsn, nil), open(t, dsn, nil)}
	acct, err := nodes[0].CreateAccount(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := nodes[1].Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	const workers, per = 4, 15
	var wg sync.WaitGroup
	got := make([][]store.UID, workers)
	for w := range workers {
		wg.Go(func() {
			s := nodes[w%2]
			for i := range per {
				ref, err := s.WriteBlob(ctx, strings.NewReader(message(w*1000+i)), -1)
				if err != nil {
					t.Error(err)
					return
				}
				res, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}, {Blob: ref}})
				if err != nil {
					t.Error(err)
					return
				}
				got[w] = append(got[w], res.UIDs...)
			}
		})
	}
	wg.Wait()
	seen := map[store.UID]bool{}
	for w, uids := range got {
		if !slices.IsSorted(uids) {
			t.Fatalf("worker %d: UIDs not increasing: %v", w, uids)
		}
		for _, u := range uids {
			if seen[u] {
				t.Fatalf("UID %d given twice", u)
			}
			seen[u] = true
		}
	}
	st, err := nodes[0].Status(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != workers*per*2 || st.Messages != workers*per*2 || st.UIDNext != workers*per*2+1 {
		t.Fatalf("%d UIDs, status %+v", len(seen), st)
	}
}

// TestLargeContent: a content of several chunks round-trips, read at
// and across chunk boundaries, and a written content survives the
// expunge of its last reference until its own Append.
func TestLargeContent(t *testing.T) {
	s := open(t, pgtest.NewDatabase(t), nil)
	body := make([]byte, 3<<20+12345)
	for i := range body {
		body[i] = byte(i*7 + i/chunkSize)
	}
	ref, err := s.WriteBlob(ctx, bytes.NewReader(body), -1)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Content != nil || ref.Size != int64(len(body)) {
		t.Fatalf("ref: size %d, inline %v", ref.Size, ref.Content != nil)
	}
	if _, err := s.WriteBlob(ctx, bytes.NewReader(body), int64(len(body)-1)); !errors.Is(err, store.ErrTooBig) {
		t.Fatalf("over maxSize: %v", err)
	}
	b, err := s.OpenBlob(ctx, ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Size() != int64(len(body)) {
		t.Fatalf("Size = %d", b.Size())
	}
	all, err := io.ReadAll(io.NewSectionReader(b, 0, b.Size()))
	if err != nil || !bytes.Equal(all, body) {
		t.Fatalf("read back %d bytes (%v), equal %v", len(all), err, bytes.Equal(all, body))
	}
	for _, r := range []struct{ off, n int64 }{
		{0, 1}, {chunkSize - 1, 2}, {chunkSize, chunkSize}, {chunkSize - 10, 2*chunkSize + 20},
		{3 * chunkSize, 1}, {int64(len(body)) - 5, 5}, {0, int64(len(body))},
	} {
		p := make([]byte, r.n)
		n, err := b.ReadAt(p, r.off)
		if err != nil || n != int(r.n) || !bytes.Equal(p, body[r.off:r.off+r.n]) {
			t.Fatalf("ReadAt(%d, %d) = %d, %v", r.off, r.n, n, err)
		}
	}
	p := make([]byte, 10)
	if n, err := b.ReadAt(p, int64(len(body))-4); n != 4 || err != io.EOF || !bytes.Equal(p[:4], body[len(body)-4:]) {
		t.Fatalf("ReadAt past the end = %d, %v", n, err)
	}

	// Another message with the same content comes and goes before the
	// Append of ref: the pinned content survives.
	acct, err := s.CreateAccount(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.WriteBlob(ctx, bytes.NewReader(body), -1)
	if err != nil || again.ID != ref.ID {
		t.Fatalf("second write: %v %v", again.ID, err)
	}
	if _, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: again, Flags: store.Flags{Sys: store.FlagDeleted}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Expunge(ctx, inbox.ID, nil); err != nil {
		t.Fatal(err)
	}
	res, err := s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref}})
	if err != nil {
		t.Fatalf("append after the expunge of the same content: %v", err)
	}
	var n int
	if err := s.FetchContent(ctx, inbox.ID, imapnum.Set{{Start: res.UIDs[0], Stop: res.UIDs[0]}}, func(m store.Message) error {
		n++
		if m.Content != nil || m.Size != int64(len(body)) {
			t.Errorf("FetchContent of a large content: %d bytes inline, size %d", len(m.Content), m.Size)
		}
		return nil
	}); err != nil || n != 1 {
		t.Fatalf("FetchContent: %d messages, %v", n, err)
	}
	// Only one copy of the chunks is kept.
	var chunks int
	if err := s.pool.QueryRow(ctx, `SELECT count(DISTINCT chunks) FROM blob_chunks`).Scan(&chunks); err != nil || chunks != 1 {
		t.Fatalf("%d stored copies of the content, %v", chunks, err)
	}
}

// TestAppendBatchFailures: appends that share a transaction (group
// commit) fail alone: the others are stored, with consecutive UIDs and
// one mod-sequence step each, and the counters stay right.
func TestAppendBatchFailures(t *testing.T) {
	s := open(t, pgtest.NewDatabase(t), events.NewMemory())
	acct, err := s.CreateAccount(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := s.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	errs := make([]error, n)
	results := make([]store.AppendResult, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			ref, err := s.WriteBlob(ctx, strings.NewReader(message(i)), -1)
			if err != nil {
				errs[i] = err
				return
			}
			if i%4 == 3 {
				ref = store.BlobRef{ID: store.BlobID(strings.Repeat(fmt.Sprintf("%x", i%16), 64)), Size: 5}
			}
			<-start
			results[i], errs[i] = s.Append(ctx, inbox.ID, []store.NewMessage{{Blob: ref, Flags: store.Flags{Keywords: []string{fmt.Sprintf("k%d", i)}}}})
		})
	}
	close(start)
	wg.Wait()
	var uids []store.UID
	var modseqs []store.ModSeq
	for i, err := range errs {
		if i%4 == 3 {
			if !errors.Is(err, store.ErrNoSuchMessage) {
				t.Errorf("append %d with a missing content: %v", i, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		uids = append(uids, results[i].UIDs...)
		modseqs = append(modseqs, results[i].ModSeq)
	}
	slices.Sort(uids)
	slices.Sort(modseqs)
	if len(uids) != n-n/4 || len(slices.Compact(slices.Clone(uids))) != len(uids) || len(slices.Compact(slices.Clone(modseqs))) != len(modseqs) {
		t.Fatalf("UIDs %v, mod-sequences %v", uids, modseqs)
	}
	snap, err := s.Snapshot(ctx, inbox.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(snap.UIDs, uids) || len(snap.Keywords) != len(uids) || snap.HighestModSeq != modseqs[len(modseqs)-1] {
		t.Fatalf("snapshot %+v, want UIDs %v", snap, uids)
	}
	rep, err := s.Check(ctx, store.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Problem {
			t.Errorf("Check: %+v", f)
		}
	}
}

// TestTwoNodesMixedWriters: appends, flag changes, copies, moves and
// expunges between two mailboxes from two nodes at once leave a sound
// store (counters, reference counts, usage: Check finds nothing) and
// unique UIDs.
func TestTwoNodesMixedWriters(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	nodes := []*Store{open(t, dsn, events.NewMemory()), open(t, dsn, events.NewMemory())}
	acct, err := nodes[0].CreateAccount(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	var boxes []store.MailboxID
	for _, n := range []string{"INBOX", "Archive"} {
		m, err := nodes[1].Mailbox(ctx, acct.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		boxes = append(boxes, m.ID)
	}
	shared := mustWrite(t, nodes[0], message(-1))
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			s := nodes[w%2]
			src, dst := boxes[w%2], boxes[(w+1)%2]
			all := imapnum.Set{{Start: 1, Stop: ^uint32(0)}}
			for i := range 12 {
				var err error
				switch i % 6 {
				case 0, 3:
					ref := shared
					if i == 3 {
						ref = mustWrite(t, s, message(w*100+i))
					}
					_, err = s.Append(ctx, src, []store.NewMessage{{Blob: ref}, {Blob: shared}})
				case 1:
					_, err = s.Copy(ctx, src, all, dst)
				case 2:
					_, err = s.StoreFlags(ctx, dst, imapnum.Set{{Start: 1, Stop: 5}}, store.FlagsAdd, store.Flags{Sys: store.FlagDeleted}, 0)
				case 4:
					_, err = s.Move(ctx, dst, imapnum.Set{{Start: 1, Stop: 3}}, src)
				case 5:
					_, err = s.Expunge(ctx, dst, nil)
				}
				if err != nil {
					t.Errorf("worker %d step %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	rep, err := nodes[0].Check(ctx, store.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Findings {
		if f.Problem {
			t.Errorf("Check: %+v", f)
		}
	}
	for _, b := range boxes {
		snap, err := nodes[1].Snapshot(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSorted(snap.UIDs) || len(slices.Compact(slices.Clone(snap.UIDs))) != len(snap.UIDs) ||
			(len(snap.UIDs) > 0 && snap.UIDs[len(snap.UIDs)-1] >= snap.UIDNext) {
			t.Errorf("mailbox %d: UIDs %v, UIDNEXT %d", b, snap.UIDs, snap.UIDNext)
		}
	}
}

// TestLostNotification: a change whose notification never came (a node
// that died between its commit and its NOTIFY) still reaches the
// subscribers of another node, through the sweeper, and the sweeper is
// quiet while nothing changes.
func TestLostNotification(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	bus := events.NewMemory()
	b := open(t, dsn, bus)
	b.lis.every.Store(int64(20 * time.Millisecond))
	// The listener's catch-up after it connects announces every mailbox
	// of the subscribed accounts: let it pass before subscribing.
	for deadline := time.Now().Add(time.Minute); b.lis.sessions.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the listener did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	acct, err := b.CreateAccount(ctx, "alice", "hash")
	if err != nil {
		t.Fatal(err)
	}
	inbox, err := b.Mailbox(ctx, acct.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	sub := bus.Subscribe(int64(acct.ID))
	defer sub.Close()
	// The first sweep announces the mailboxes it did not know.
	waitEvent(t, sub, "first sweep", func(ev events.Event) bool { return ev.Mailbox == int64(inbox.ID) })
	// (with the listener's catch-up, which may come at the same time);
	// then nothing, while nothing changes.
	time.Sleep(100 * time.Millisecond)
	sub.Drain()
	time.Sleep(200 * time.Millisecond)
	if evs, _ := sub.Drain(); len(evs) != 0 {
		t.Fatalf("sweeps of an unchanged account published %+v", evs)
	}
	// A commit elsewhere whose NOTIFY was lost.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var hms int64
	if err := conn.QueryRow(ctx, `UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = $1 RETURNING highestmodseq`, int64(inbox.ID)).Scan(&hms); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, sub, "change without a notification", func(ev events.Event) bool {
		return ev.Mailbox == int64(inbox.ID) && ev.ModSeq == uint64(hms)
	})
	// The node's own commits are not announced again by the sweeper.
	res := appendOne(t, b, inbox.ID, 1)
	time.Sleep(200 * time.Millisecond)
	evs, _ := sub.Drain()
	own := 0
	for _, ev := range evs {
		if ev.ModSeq == res.ModSeq {
			own++
		}
	}
	if own != 1 {
		t.Fatalf("events after an append: %+v, want one with mod-sequence %d", evs, res.ModSeq)
	}
}
