package tests

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"rookery/internal/pgtest"
)

// startPGNodes starts n `rookery serve` nodes on one fresh PostgreSQL
// database (pgtest: skipped without a server, failing in CI), each with
// its own data directory (for its certificate) and ports, after
// creating users through the same configuration.
func startPGNodes(t *testing.T, n int, users ...testUser) []*serverProc {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rookery.toml")
	body := fmt.Sprintf("[store]\nbackend = \"postgres\"\ndsn = %q\npool_size = 8\n\n[imap]\nplaintext_auth = \"always\"\n", dsn)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	pw := make(map[string]string)
	for _, u := range users {
		addUserConfig(t, cfg, filepath.Join(dir, "admin"), u)
		pw[u.name] = u.password
	}
	nodes := make([]*serverProc, n)
	for i := range nodes {
		s := &serverProc{
			t:         t,
			dataDir:   filepath.Join(dir, fmt.Sprintf("node%d", i)),
			logPath:   filepath.Join(dir, fmt.Sprintf("node%d.log", i)),
			users:     pw,
			extraArgs: []string{"--config", cfg},
		}
		if err := os.Mkdir(s.dataDir, 0o700); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			s.stop(false)
			s.checkLog()
			if t.Failed() {
				t.Logf("node %d log (%s):\n%s", i, s.logPath, s.logTail(80))
			}
		})
		s.start(true)
		nodes[i] = s
	}
	return nodes
}

// addUserConfig runs `rookery user add NAME --config CFG --data DIR
// --password-stdin`.
func addUserConfig(t *testing.T, cfg, dataDir string, u testUser) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), userAddTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, rookeryBin, "user", "add", u.name, "--config", cfg, "--data", dataDir, "--password-stdin")
	cmd.Stdin = strings.NewReader(u.password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rookery user add %s: %v\n%s", u.name, err, out)
	}
}

// idleWatcher is a session in IDLE on INBOX whose unilateral data
// arrives, time-stamped, on channels.
type idleWatcher struct {
	c        *imapclient.Client
	idle     *imapclient.IdleCommand
	exists   chan time.Time
	expunges chan time.Time
	fetches  chan time.Time
}

func newIdleWatcher(t *testing.T, s *serverProc, user string) *idleWatcher {
	t.Helper()
	w := &idleWatcher{exists: make(chan time.Time, 100), expunges: make(chan time.Time, 100), fetches: make(chan time.Time, 100)}
	w.c = login(t, s, implicitTLS, user, &imapclient.UnilateralDataHandler{
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				w.exists <- time.Now()
			}
		},
		Expunge: func(uint32) { w.expunges <- time.Now() },
		Fetch: func(msg *imapclient.FetchMessageData) {
			if _, err := msg.Collect(); err == nil {
				w.fetches <- time.Now()
			}
		},
	})
	_, err := w.c.Select("INBOX", nil).Wait()
	must(t, err, "watcher: SELECT INBOX")
	w.idle, err = w.c.Idle()
	must(t, err, "watcher: IDLE")
	return w
}

// crossNodeWait bounds how long a change made on one node may take to
// reach a session idling on another: a liveness bound (the latencies
// themselves are logged and measured by the benchmark, not asserted).
const crossNodeWait = 10 * time.Second

// await returns how long after since the next value of ch came, failing
// t after crossNodeWait.
func await(t *testing.T, ch chan time.Time, since time.Time, what string) time.Duration {
	t.Helper()
	select {
	case at := <-ch:
		return at.Sub(since)
	case <-time.After(crossNodeWait):
		t.Fatalf("%s: nothing within %v", what, crossNodeWait)
		return 0
	}
}

// TestMultiNodeIdle: a session idling on one node sees the APPEND, STORE
// and EXPUNGE a session on another node makes, for every pair of three
// nodes on one database.
func TestMultiNodeIdle(t *testing.T) {
	t.Parallel()
	nodes := startPGNodes(t, 3, testUser{"alice", "alice pass"})
	var lat []time.Duration
	for i := range nodes {
		from, to := nodes[i], nodes[(i+1)%len(nodes)]
		what := fmt.Sprintf("node %d -> node %d", i, (i+1)%len(nodes))
		w := newIdleWatcher(t, to, "alice")
		a := login(t, from, implicitTLS, "alice", nil)
		_, err := a.Select("INBOX", nil).Wait()
		must(t, err, "%s: SELECT", what)

		start := time.Now()
		d := appendMsg(t, a, "INBOX", testMessages(fmt.Sprintf("multinode-%d", i))[0])
		lat = append(lat, await(t, w.exists, start, what+": EXISTS after APPEND"))

		start = time.Now()
		_, err = a.Store(imap.UIDSetNum(d.UID), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect()
		must(t, err, "%s: STORE", what)
		lat = append(lat, await(t, w.fetches, start, what+": FETCH after STORE"))

		start = time.Now()
		_, err = a.UIDExpunge(imap.UIDSetNum(d.UID)).Collect()
		must(t, err, "%s: UID EXPUNGE", what)
		lat = append(lat, await(t, w.expunges, start, what+": EXPUNGE after UID EXPUNGE"))

		must(t, w.idle.Close(), "%s: DONE", what)
		must(t, w.idle.Wait(), "%s: IDLE", what)
		must(t, w.c.Logout().Wait(), "%s: watcher LOGOUT", what)
		must(t, a.Logout().Wait(), "%s: LOGOUT", what)
	}
	slices.Sort(lat)
	t.Logf("cross-node IDLE latency over %d changes: min %v, median %v, max %v", len(lat), lat[0], lat[len(lat)/2], lat[len(lat)-1])
}

// nodeWorker is one client of the consistency run: it changes only the
// messages it appended (each with a Message-ID of its own), so that what
// each message must look like at the end is known, whatever the others
// do at the same time.
type nodeWorker struct {
	id   int
	node int
	c    *imapclient.Client
	rnd  *rand.Rand
	// want maps a message's Message-ID to where it must be and its
	// flags; uncertain marks messages whose last change was in flight
	// when the connection broke.
	want      map[string]wantMsg
	uncertain map[string]bool
	acked     atomic.Int64 // acknowledged changes
}

type wantMsg struct {
	mailbox string // "" once expunged
	uid     imap.UID
	flagged bool
	seen    bool
}

// consistencyRounds is how many changes each worker makes.
const consistencyRounds = 40

// run makes up to consistencyRounds changes: APPEND, STORE, COPY, MOVE
// and EXPUNGE of its own messages. It stops at the first failure
// (a killed node), marking the change in flight uncertain.
func (w *nodeWorker) run() error {
	var live []string // Message-IDs of its messages that exist
	for r := range consistencyRounds {
		op := w.rnd.IntN(10)
		if len(live) == 0 || op < 4 {
			id := fmt.Sprintf("<w%d-r%d@multinode.test>", w.id, r)
			box := "INBOX"
			if w.rnd.IntN(3) == 0 {
				box = "Archive"
			}
			w.uncertain[id] = true
			msg := fmt.Sprintf("From: w%d@multinode.test\r\nMessage-ID: %s\r\nSubject: round %d\r\n\r\nbody of %s\r\n", w.id, id, r, id)
			cmd := w.c.Append(box, int64(len(msg)), nil)
			if _, err := cmd.Write([]byte(msg)); err != nil {
				return err
			}
			if err := cmd.Close(); err != nil {
				return err
			}
			d, err := cmd.Wait()
			if err != nil {
				return err
			}
			delete(w.uncertain, id)
			w.want[id] = wantMsg{mailbox: box, uid: d.UID}
			live = append(live, id)
			w.acked.Add(1)
			continue
		}
		k := w.rnd.IntN(len(live))
		id := live[k]
		m := w.want[id]
		if _, err := w.c.Select(m.mailbox, nil).Wait(); err != nil {
			return err
		}
		w.uncertain[id] = true
		switch {
		case op < 6: // flags
			m.flagged, m.seen = !m.flagged, w.rnd.IntN(2) == 0
			flags := []imap.Flag{}
			if m.flagged {
				flags = append(flags, imap.FlagFlagged)
			}
			if m.seen {
				flags = append(flags, imap.FlagSeen)
			}
			if _, err := w.c.Store(imap.UIDSetNum(m.uid), &imap.StoreFlags{Op: imap.StoreFlagsSet, Silent: true, Flags: flags}, nil).Collect(); err != nil {
				return err
			}
			w.want[id] = m
		case op < 8: // move to the other mailbox
			to := "Archive"
			if m.mailbox == "Archive" {
				to = "INBOX"
			}
			d, err := w.c.Move(imap.UIDSetNum(m.uid), to).Wait()
			if err != nil {
				return err
			}
			dst, ok := oneUID(d.DestUIDs)
			if !ok {
				return fmt.Errorf("MOVE of UID %d: COPYUID %v", m.uid, d.DestUIDs)
			}
			m.mailbox, m.uid = to, dst
			w.want[id] = m
		case op < 9: // copy: the copy gets an ID of its own by its place
			to := "Archive"
			if m.mailbox == "Archive" {
				to = "INBOX"
			}
			d, err := w.c.Copy(imap.UIDSetNum(m.uid), to).Wait()
			if err != nil {
				return err
			}
			dst, ok := oneUID(d.DestUIDs)
			if !ok {
				return fmt.Errorf("COPY of UID %d: COPYUID %v", m.uid, d.DestUIDs)
			}
			cid := id + "/copy"
			if _, dup := w.want[cid]; !dup { // copied once; later copies are not tracked
				w.want[cid] = wantMsg{mailbox: to, uid: dst, flagged: m.flagged, seen: m.seen}
			} else {
				w.want[fmt.Sprintf("%s/copy%d", id, r)] = wantMsg{mailbox: to, uid: dst, flagged: m.flagged, seen: m.seen}
			}
		default: // expunge
			if _, err := w.c.Store(imap.UIDSetNum(m.uid), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect(); err != nil {
				return err
			}
			if _, err := w.c.UIDExpunge(imap.UIDSetNum(m.uid)).Collect(); err != nil {
				return err
			}
			m.mailbox = ""
			w.want[id] = m
			live = slices.Delete(live, k, k+1)
		}
		delete(w.uncertain, id)
		w.acked.Add(1)
	}
	return nil
}

// seenMsg is one message as a node lists it.
type seenMsg struct {
	mailbox string
	uid     imap.UID
	flags   []imap.Flag
	msgID   string
}

// listAll reads every message of INBOX and Archive through node s.
func listAll(t *testing.T, s *serverProc, user string) []seenMsg {
	t.Helper()
	c := login(t, s, implicitTLS, user, nil)
	defer c.Logout()
	var out []seenMsg
	for _, box := range []string{"INBOX", "Archive"} {
		sel, err := c.Select(box, nil).Wait()
		must(t, err, "SELECT %s", box)
		if sel.NumMessages == 0 {
			continue
		}
		var all imap.SeqSet
		all.AddRange(1, sel.NumMessages)
		msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, Envelope: true}).Collect()
		must(t, err, "FETCH %s", box)
		for _, m := range msgs {
			out = append(out, seenMsg{mailbox: box, uid: m.UID, flags: m.Flags, msgID: "<" + m.Envelope.MessageID + ">"})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].mailbox != out[j].mailbox {
			return out[i].mailbox < out[j].mailbox
		}
		return out[i].uid < out[j].uid
	})
	return out
}

// TestMultiNodeConsistency: clients spread over three nodes on one
// database APPEND, STORE, COPY, MOVE and EXPUNGE at once; then one node
// is killed (SIGKILL) in the middle of the traffic. Every node must then
// show the same mailboxes, with every acknowledged message present
// exactly once, where and as its last acknowledged change left it, and
// UIDs unique in each mailbox.
func TestMultiNodeConsistency(t *testing.T) {
	t.Parallel()
	nodes := startPGNodes(t, 3, testUser{"alice", "alice pass"})
	checkConsistency(t, nodes, len(nodes)-1)
}

// TestConsistency is TestMultiNodeConsistency's traffic on one node of
// the embedded store, with no node killed.
func TestConsistency(t *testing.T) {
	t.Parallel()
	s := startServer(t, testUser{"alice", "alice pass"})
	checkConsistency(t, []*serverProc{s, s, s}, -1)
}

// checkConsistency runs two workers on each of nodes (which may repeat
// one server) and kills node killed (unless -1) in the middle of the
// traffic, then checks what every node left alive shows.
func checkConsistency(t *testing.T, nodes []*serverProc, killed int) {
	const perNode = 2
	var workers []*nodeWorker
	for n := range nodes {
		for k := range perNode {
			id := n*perNode + k
			workers = append(workers, &nodeWorker{id: id, node: n, c: login(t, nodes[n], implicitTLS, "alice", nil),
				rnd: rand.New(rand.NewPCG(uint64(id), 42)), want: map[string]wantMsg{}, uncertain: map[string]bool{}})
		}
	}
	errs := make([]error, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.run()
		}()
	}
	// Kill a node once its workers are under way.
	deadline := time.Now().Add(time.Minute)
	for killed >= 0 && time.Now().Before(deadline) {
		done := 0
		for _, w := range workers {
			if w.node == killed {
				done += int(w.acked.Load())
			}
		}
		if done >= perNode*consistencyRounds/4 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if killed >= 0 {
		if err := nodes[killed].stop(true); err == nil {
			t.Log("the node to kill had exited already")
		}
	}
	wg.Wait()
	for i, w := range workers {
		if w.node != killed && errs[i] != nil {
			t.Errorf("worker %d on node %d (alive): %v", w.id, w.node, errs[i])
		}
	}

	var views [][]seenMsg
	for n, s := range nodes {
		if n != killed {
			views = append(views, listAll(t, s, "alice"))
		}
	}
	for i := 1; i < len(views); i++ {
		if !slices.EqualFunc(views[0], views[i], func(a, b seenMsg) bool {
			return a.mailbox == b.mailbox && a.uid == b.uid && a.msgID == b.msgID && slices.Equal(stableFlags(a.flags), stableFlags(b.flags))
		}) {
			t.Errorf("two nodes show different mailboxes (%d and %d messages):\n%v\n%v", len(views[0]), len(views[i]), views[0], views[i])
		}
	}
	got := map[string][]seenMsg{}
	uids := map[string]map[imap.UID]bool{"INBOX": {}, "Archive": {}}
	for _, m := range views[0] {
		if uids[m.mailbox][m.uid] {
			t.Errorf("%s UID %d listed twice", m.mailbox, m.uid)
		}
		uids[m.mailbox][m.uid] = true
		got[m.msgID] = append(got[m.msgID], m)
	}
	checked := 0
	for _, w := range workers {
		for id, want := range w.want {
			base, _, isCopy := strings.Cut(id, "/")
			if w.uncertain[base] || (!isCopy && w.uncertain[id]) {
				continue
			}
			var at *seenMsg
			for i, m := range got[base] {
				if m.mailbox == want.mailbox && m.uid == want.uid {
					at = &got[base][i]
				}
			}
			switch {
			case want.mailbox == "" && at == nil:
			case want.mailbox == "":
				t.Errorf("worker %d: %s was expunged but is in %s UID %d", w.id, id, at.mailbox, at.uid)
			case at == nil:
				t.Errorf("worker %d: acknowledged %s is not in %s UID %d (listed: %v)", w.id, id, want.mailbox, want.uid, got[base])
			case !isCopy && (hasFlag(at.flags, imap.FlagFlagged) != want.flagged || hasFlag(at.flags, imap.FlagSeen) != want.seen):
				t.Errorf("worker %d: %s has flags %v, want flagged %v seen %v", w.id, id, at.flags, want.flagged, want.seen)
			}
			checked++
		}
	}
	// Every listed message is one a worker appended or copied, and a
	// message whose changes were all acknowledged is listed as often as
	// it and its copies exist (no duplicate from a retried commit).
	live := map[string]int{}
	uncertain := map[string]bool{}
	for _, w := range workers {
		for id, want := range w.want {
			base, _, _ := strings.Cut(id, "/")
			if want.mailbox != "" {
				live[base]++
			}
		}
		for id := range w.uncertain {
			uncertain[id] = true
		}
	}
	for id, ms := range got {
		switch {
		case !strings.HasSuffix(id, "@multinode.test>"):
			t.Errorf("unknown message %s listed: %v", id, ms)
		case !uncertain[id] && len(ms) != live[id]:
			t.Errorf("%s listed %d times, want %d: %v", id, len(ms), live[id], ms)
		}
	}
	t.Logf("%d messages listed, %d acknowledged states checked", len(views[0]), checked)
}

// stableFlags are the flags sorted, without \Recent (which one session
// sees and the others do not).
func stableFlags(f []imap.Flag) []imap.Flag {
	f = slices.DeleteFunc(slices.Clone(f), func(x imap.Flag) bool { return x == "\\Recent" })
	slices.Sort(f)
	return f
}

// oneUID is the UID of a COPYUID destination set of one message.
func oneUID(s imap.NumSet) (imap.UID, bool) {
	us, ok := s.(imap.UIDSet)
	if !ok {
		return 0, false
	}
	nums, ok := us.Nums()
	if !ok || len(nums) != 1 {
		return 0, false
	}
	return nums[0], true
}
