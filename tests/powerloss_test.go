package tests

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Bounds of TestPowerLoss.
const (
	powerMaxRounds = 5                // rounds at most
	powerMinRounds = 3                // rounds at least, whatever the time
	powerBudget    = 30 * time.Second // no round starts after this
	powerAppenders = 3                // IMAP connections appending
	powerMaxLoad   = 5 * time.Second  // the longest load before a cut
	powerLargeMin  = 300 << 10        // large messages: stored as blob files
	powerLargeMax  = 1 << 20
)

// powerDataDir is the data directory's name in the mounted directory.
const powerDataDir = "data"

// powerMailboxes are the mailboxes loaded; LMTP delivers into INBOX.
var powerMailboxes = []string{"INBOX", "Archive"}

// TestPowerLoss cuts the power under a running server: the data directory
// is a crashFS mount (crashfs_test.go, where the model of what a power cut
// loses is written down), the server takes APPENDs over several IMAP
// connections and LMTP deliveries at once, small messages (kept in SQLite)
// and large ones (blob files), and at a random moment it is killed with
// SIGKILL and the file system's unsynced changes are dropped: all of them
// in odd rounds, a random part of them (page by page, seeded) in even
// rounds. The directory so rolled back must then pass `rookery check`
// (notices, such as a blob file whose message was never committed, are
// fine: `check --repair` removes those once old, and they cost only disk
// space), and a server started on it must hold every message any client
// was told was stored (APPEND OK, LMTP 250) or saw (an observing session
// fetching new UIDs), exactly once, byte for byte, under the UID the
// client was given, with UIDVALIDITY unchanged and UIDNEXT above every UID
// a client saw (a new APPEND gets a higher UID). A message whose fate the
// client never learnt may be there or not, but if it is there it is
// intact; once a check has found it there (or not), later rounds must
// agree. Several rounds run on the same data, each mounting the previous
// round's result. In the first, `rookery user add` creates the data
// directory inside the mount, so that its creation is part of what a cut
// may lose (it was: the directory was not synced into its parent, and a
// cut took the whole data directory away).
//
// It needs root and /dev/fuse (skipped otherwise) and is skipped with
// -short. ROOKERY_POWER_SEED=N repeats a run's choices (rollback, sizes,
// moment of the cut; the server's timing still varies).
func TestPowerLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the power-loss test runs a server on a FUSE mount for about half a minute")
	}
	fuseUsable(t)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ROOKERY_POWER_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ROOKERY_POWER_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("seed %d", seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("TestPowerLoss failed with ROOKERY_POWER_SEED=%d", seed)
		}
	})
	p := &powerRig{
		t:    t,
		rng:  rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		seed: seed,
		base: t.TempDir(),
		user: testUser{"power", "power secret"},
		led:  newPowerLedger(),
	}
	p.mnt = filepath.Join(p.base, "mnt")
	p.backing = filepath.Join(p.base, "data-0")
	for _, d := range []string{p.mnt, p.backing} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for round := 1; round <= powerMaxRounds; round++ {
		if round > powerMinRounds && time.Since(start) > powerBudget {
			t.Logf("time budget spent after %d rounds", round-1)
			break
		}
		mode := loseAllUnsynced
		if round%2 == 0 {
			mode = loseSomeUnsynced
		}
		p.round(round, mode)
		if t.Failed() {
			break
		}
	}
	t.Logf("%d rounds in %v; %s", p.rounds, time.Since(start).Round(time.Millisecond), p.led.summary())
}

// powerRig is the state of TestPowerLoss across rounds.
type powerRig struct {
	t       *testing.T
	rng     *rand.Rand
	seed    uint64
	base    string
	mnt     string
	backing string // the data directory between rounds
	user    testUser
	led     *powerLedger
	rounds  int
}

// newServer returns a server (not started) on dataDir logging to a file
// of the round.
func (p *powerRig) newServer(dataDir, logName string, extra ...string) *serverProc {
	return &serverProc{
		t:         p.t,
		dataDir:   dataDir,
		logPath:   filepath.Join(p.base, logName),
		users:     map[string]string{p.user.name: p.user.password},
		extraArgs: extra,
	}
}

// round runs one round: load on the mount, power cut, rollback, check and
// verification on the rolled-back directory.
func (p *powerRig) round(n int, mode lossMode) {
	t := p.t
	p.rounds = n
	t0 := time.Now()
	shadow := filepath.Join(p.base, fmt.Sprintf("shadow-%d", n))
	if err := os.Mkdir(shadow, 0o700); err != nil {
		t.Fatal(err)
	}
	cfs, err := mountCrashFS(p.backing, p.mnt, shadow)
	if errors.Is(err, errFUSEUnavailable) && n == 1 {
		t.Skipf("cannot mount FUSE here: %v", err)
	}
	if err != nil {
		t.Fatalf("round %d: %v", n, err)
	}
	mounted := true
	defer func() {
		if mounted { // a failure on the way: leave no mount behind
			cfs.Cut()
			if err := cfs.Unmount(); err != nil {
				t.Error(err)
			}
			cfs.Close()
		}
	}()
	if n == 1 {
		// The data directory does not exist yet: Rookery creates it.
		addUser(t, filepath.Join(p.mnt, powerDataDir), p.user)
	}
	lmtpAddr := freeAddrs(t, 1)[0]
	s := p.newServer(filepath.Join(p.mnt, powerDataDir), fmt.Sprintf("round%d-load.log", n), "--lmtp", lmtpAddr)
	defer s.stop(true)
	s.start(true)
	if n == 1 {
		c, err := dialRawIMAP(s.imapAddr, p.user)
		if err != nil {
			t.Fatal(err)
		}
		// New accounts may have it already (special-use mailboxes).
		if tagged, err := c.run(`CREATE "Archive"`, nil); err != nil || !isOK(tagged) && !strings.Contains(tagged, "[ALREADYEXISTS]") {
			t.Fatalf("CREATE Archive: %q %v", tagged, err)
		}
		c.close()
	}

	// The load, until the cut.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	ackedBefore := p.led.ackedCount()
	for i := range powerAppenders {
		mb := powerMailboxes[i%len(powerMailboxes)]
		rng := rand.New(rand.NewPCG(p.seed, uint64(n*100+i)))
		wg.Go(func() { p.led.appender(ctx, s.imapAddr, p.user, mb, fmt.Sprintf("r%d-a%d", n, i), rng) })
	}
	wg.Go(func() {
		p.led.deliverer(ctx, lmtpAddr, p.user.name+"@example.org", fmt.Sprintf("r%d-l", n), rand.New(rand.NewPCG(p.seed, uint64(n*100+50))))
	})
	for _, mb := range powerMailboxes {
		wg.Go(func() { p.led.observer(ctx, s.imapAddr, p.user, mb) })
	}
	wg.Go(func() { p.led.housekeeper(ctx, s.imapAddr, p.user, n) })
	// The load starts when its clients are logged in: hashing their
	// passwords (argon2id, two at a time here) takes up to seconds.
	for range powerAppenders + 1 + len(powerMailboxes) + 1 {
		select {
		case <-p.led.loggedIn:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: the load clients did not log in within 30s", n)
		}
	}
	loadStart := time.Now()
	phases := []string{"start and logins " + loadStart.Sub(t0).Round(time.Millisecond).String()}
	phase := func(name string, since time.Time) time.Time {
		now := time.Now()
		phases = append(phases, name+" "+now.Sub(since).Round(time.Millisecond).String())
		return now
	}
	// The cut comes after a random number of acknowledgements (so that a
	// slower machine, or -race, makes longer rounds rather than emptier
	// ones), at most after powerMaxLoad, and a random moment more.
	target := ackedBefore + 5 + p.rng.IntN(45)
	for deadline := loadStart.Add(powerMaxLoad); p.led.ackedCount() < target && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Duration(p.rng.Int64N(int64(200 * time.Millisecond))))
	loadFor := time.Since(loadStart)
	cutStart := phase("load", loadStart)
	// The cut: the server dies first, then the disk stops, so whatever
	// the server had written when it died is the history up to the cut.
	s.stop(true)
	cancel()
	waitGroupFor(t, &wg, 30*time.Second, "load clients")
	cfs.Cut()
	summary := cfs.unsyncedSummary()
	if err := cfs.Unmount(); err != nil {
		t.Fatal(err)
	}
	mounted = false
	for _, f := range cfs.Faults() {
		t.Errorf("round %d: crashfs model fault: %s", n, f)
	}
	next := filepath.Join(p.base, fmt.Sprintf("data-%d", n))
	err = cfs.Recover(next, mode, p.rng)
	cfs.Close()
	if err != nil {
		t.Fatalf("round %d: rollback: %v", n, err)
	}
	_ = os.RemoveAll(p.backing)
	_ = os.RemoveAll(shadow)
	p.backing = next
	s.checkLog()
	t.Logf("round %d: cut after %v of load (%s); %s; rollback: %v", n, loadFor.Round(time.Millisecond), p.led.roundStats(), summary, mode)
	for _, e := range p.led.takeErrors() {
		t.Errorf("round %d, during the load: %s", n, e)
	}

	ph := phase("cut and rollback", cutStart)
	// The rolled-back directory opens cleanly.
	p.check(n)
	ph = phase("check", ph)
	// A server on it holds what clients were told and saw.
	v := p.newServer(filepath.Join(p.backing, powerDataDir), fmt.Sprintf("round%d-verify.log", n))
	defer v.stop(true)
	v.start(true)
	p.led.verify(t, n, v.imapAddr, p.user)
	if err := v.stop(false); err != nil {
		t.Errorf("round %d: the verifying server exited with %v after SIGTERM", n, err)
	}
	v.checkLog()
	ph = phase("verification", ph)
	p.repairOrphans(n)
	phase("repair", ph)
	if t.Failed() {
		for _, sp := range []*serverProc{s, v} {
			t.Logf("log %s:\n%s", sp.logPath, sp.logTail(40))
		}
	}
	t.Logf("round %d took %v: %s", n, time.Since(t0).Round(time.Millisecond), strings.Join(phases, ", "))
}

// check runs `rookery check --contents` on the rolled-back directory
// (every content's size and hash, the database's integrity, counters,
// UIDs, the search index): a problem fails the test, and so does any
// notice but an unreferenced blob file. Such a file is what a cut between
// a blob's write (synced) and its message's commit leaves (DESIGN.md:
// "at worst an unreferenced blob"); it costs only disk space, and
// `check --repair` removes it once older than the grace period, which
// repairOrphans checks.
func (p *powerRig) check(n int) {
	out, err := p.rookeryCheck("--contents")
	if err != nil {
		p.t.Errorf("round %d: rookery check after the power cut: %v\n%s", n, err, out)
		return
	}
	var orphans int
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) < 2 || f[0] != "notice":
		case f[1] == "orphan-file":
			orphans++
		default:
			p.t.Errorf("round %d: rookery check after the power cut: %s", n, strings.TrimSpace(l))
		}
	}
	if orphans > 0 {
		p.t.Logf("round %d: rookery check: %d unreferenced blob files (notices)", n, orphans)
	}
}

// repairOrphans runs `rookery check --repair` with a grace period of 1ns
// and then a check that must find nothing at all.
func (p *powerRig) repairOrphans(n int) {
	if out, err := p.rookeryCheck("--repair", "--grace", "1ns"); err != nil {
		p.t.Errorf("round %d: rookery check --repair: %v\n%s", n, err, out)
		return
	}
	out, err := p.rookeryCheck()
	if err != nil || regexp.MustCompile(`(?m)^\s*notice`).MatchString(out) {
		p.t.Errorf("round %d: rookery check after check --repair: %v\n%s", n, err, out)
	}
}

func (p *powerRig) rookeryCheck(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	args = append([]string{"check", "--data", filepath.Join(p.backing, powerDataDir)}, args...)
	out, err := exec.CommandContext(ctx, rookeryBin, args...).CombinedOutput()
	return string(out), err
}

func waitGroupFor(t *testing.T, wg *sync.WaitGroup, d time.Duration, what string) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not stop within %v", what, d)
	}
}

// msgFate is what the verifications found of a message.
type msgFate int

const (
	fateUnknown msgFate = iota // not checked since it was sent
	fatePresent                // found: must stay
	fateAbsent                 // not found: must stay away
)

// powerMsg is one message sent to the server.
type powerMsg struct {
	id      string
	mailbox string
	sum     [sha256.Size]byte // of the bytes the store must hold
	size    int
	round   int
	acked   bool   // the client got OK or 250
	uid     uint32 // from APPENDUID (0: LMTP)
	fate    msgFate

	expunging bool // a client asked for its expunge
	expunged  bool // and got OK
}

// powerLedger records what clients sent, were told and saw.
type powerLedger struct {
	mu       sync.Mutex
	msgs     map[string]*powerMsg
	seen     map[string]map[uint32]string // mailbox → UID → id, as clients saw them
	validity map[string]uint32            // mailbox → UIDVALIDITY
	errs     []string
	round    struct{ sent, acked, large, expunged, created int }
	boxes    map[string]bool // mailboxes a client asked to create → whether it got OK (or a check found them)
	loggedIn chan struct{}   // a load client is logged in (or failed to)
}

func newPowerLedger() *powerLedger {
	l := &powerLedger{msgs: map[string]*powerMsg{}, seen: map[string]map[uint32]string{}, validity: map[string]uint32{}, boxes: map[string]bool{},
		loggedIn: make(chan struct{}, 100)}
	for _, mb := range powerMailboxes {
		l.seen[mb] = map[uint32]string{}
	}
	return l
}

func (l *powerLedger) errorf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, fmt.Sprintf(format, args...))
}

func (l *powerLedger) takeErrors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.errs
	l.errs = nil
	return e
}

func (l *powerLedger) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.round.acked
}

func (l *powerLedger) roundStats() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := fmt.Sprintf("%d messages sent, %d acknowledged, %d large, %d expunged, %d mailboxes created", l.round.sent, l.round.acked, l.round.large, l.round.expunged, l.round.created)
	l.round = struct{ sent, acked, large, expunged, created int }{}
	return s
}

func (l *powerLedger) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var acked, expunged, present, presentUnacked, absent int
	for _, m := range l.msgs {
		switch {
		case m.expunged:
			expunged++
		case m.acked:
			acked++
		}
		switch {
		case m.fate == fatePresent:
			present++
			if !m.acked {
				presentUnacked++
			}
		case m.fate == fateAbsent && !m.expunged:
			absent++
		}
	}
	var boxes int
	for _, ok := range l.boxes {
		if ok {
			boxes++
		}
	}
	return fmt.Sprintf("%d messages sent, %d acknowledged and kept, %d expunged; after the cuts %d found (%d never acknowledged), %d not (never acknowledged or expunge asked); %d mailboxes created",
		len(l.msgs), acked, expunged, present, presentUnacked, absent, boxes)
}

// sent records a message about to be sent; stored is what the store must
// hold.
func (l *powerLedger) sent(id, mailbox string, stored []byte, round int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs[id] = &powerMsg{id: id, mailbox: mailbox, sum: sha256.Sum256(stored), size: len(stored), round: round}
	l.round.sent++
	if len(stored) > powerLargeMin {
		l.round.large++
	}
}

// acked records that the server said the message is stored.
func (l *powerLedger) acked(id string, uidValidity, uid uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.msgs[id]
	m.acked, m.uid = true, uid
	l.round.acked++
	if uid != 0 {
		l.sawLocked(m.mailbox, uidValidity, uid, id)
	}
}

// saw records that a client saw id under uid.
func (l *powerLedger) saw(mailbox string, uidValidity, uid uint32, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sawLocked(mailbox, uidValidity, uid, id)
}

func (l *powerLedger) sawLocked(mailbox string, uidValidity, uid uint32, id string) {
	if v, ok := l.validity[mailbox]; !ok {
		l.validity[mailbox] = uidValidity
	} else if v != uidValidity {
		l.errs = append(l.errs, fmt.Sprintf("%s: UIDVALIDITY %d, earlier %d", mailbox, uidValidity, v))
	}
	if old, ok := l.seen[mailbox][uid]; ok && old != id {
		l.errs = append(l.errs, fmt.Sprintf("%s UID %d: seen as %s and as %s", mailbox, uid, old, id))
	}
	l.seen[mailbox][uid] = id
}

// powerMessage returns a message of about size bytes with id in its
// header, CRLF line ends, no line starting with a dot. The text is words
// of a small vocabulary, as mail text is: random characters would make
// the server's trigram indexer (off the commit path, but on the same two
// cores) the bottleneck of the load.
func powerMessage(id string, size int, rng *rand.Rand) []byte {
	words := strings.Fields("the a of to and in is it you that he was for on are with as his they be at one have this from or had by hot word but what some we can out other were all there when up use your how said an each she which do their time if will way about many then them write would like so these her long make thing see him two has look more day could go come did number sound no most people my over know water than call first who may down side been now find")
	b := make([]byte, 0, size+200)
	b = fmt.Appendf(b, "From: Load <load@example.net>\r\nTo: power@example.org\r\nSubject: power loss %s\r\nMessage-ID: <%s@example.net>\r\nX-Power-Id: %s\r\n\r\n", id, id, id)
	for line := 0; len(b) < size; line++ {
		b = fmt.Appendf(b, "%s %d:", id, line)
		for range 10 {
			b = append(b, ' ')
			b = append(b, words[rng.IntN(len(words))]...)
		}
		b = append(b, '\r', '\n')
	}
	return b
}

// messageSize picks a size: one in six large (a blob file), the rest
// inline in the database, mostly small.
func messageSize(rng *rand.Rand) int {
	switch r := rng.IntN(6); {
	case r == 0:
		return powerLargeMin + rng.IntN(powerLargeMax-powerLargeMin)
	case r == 1:
		return 8<<10 + rng.IntN(200<<10)
	default:
		return 300 + rng.IntN(8<<10)
	}
}

var appendUIDRe = regexp.MustCompile(`\[APPENDUID (\d+) (\d+)\]`)

// appender APPENDs messages to mailbox until the connection breaks or ctx
// ends.
func (l *powerLedger) appender(ctx context.Context, addr string, u testUser, mailbox, prefix string, rng *rand.Rand) {
	c, err := dialRawIMAP(addr, u)
	l.loggedIn <- struct{}{}
	if err != nil {
		if ctx.Err() == nil {
			l.errorf("appender %s: %v", prefix, err)
		}
		return
	}
	defer c.close()
	stop := context.AfterFunc(ctx, c.close)
	defer stop()
	round, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(prefix, "-", 2)[0], "r"))
	for i := 0; ctx.Err() == nil; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		msg := powerMessage(id, messageSize(rng), rng)
		l.sent(id, mailbox, msg, round)
		tagged, err := c.run(fmt.Sprintf("APPEND %q {%d+}", mailbox, len(msg)), msg)
		if err != nil {
			return // the server is gone
		}
		m := appendUIDRe.FindStringSubmatch(tagged)
		if !isOK(tagged) || m == nil {
			l.errorf("APPEND %s: %q", id, tagged)
			return
		}
		v, _ := strconv.ParseUint(m[1], 10, 32)
		uid, _ := strconv.ParseUint(m[2], 10, 32)
		l.acked(id, uint32(v), uint32(uid))
	}
}

// housekeeper creates mailboxes and expunges messages of this round that
// a client has seen in INBOX (UID STORE \Deleted, UID EXPUNGE), until the
// connection breaks or ctx ends: an acknowledged CREATE must survive the
// cut, and an acknowledged expunge too (the message must not come back;
// its blob file, deleted after the commit, may be left unreferenced).
func (l *powerLedger) housekeeper(ctx context.Context, addr string, u testUser, round int) {
	c, err := dialRawIMAP(addr, u)
	l.loggedIn <- struct{}{}
	if err != nil {
		if ctx.Err() == nil {
			l.errorf("housekeeper: %v", err)
		}
		return
	}
	defer c.close()
	stop := context.AfterFunc(ctx, c.close)
	defer stop()
	if tagged, err := c.run("SELECT INBOX", nil); err != nil || !isOK(tagged) {
		if err == nil {
			l.errorf("housekeeper: SELECT INBOX: %q", tagged)
		}
		return
	}
	for i := 0; ctx.Err() == nil; i++ {
		if i%2 == 0 && !l.createOne(c, fmt.Sprintf("Box-r%d-%d", round, i/2)) {
			return
		}
		if !l.expungeOne(c, round) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// createOne creates mailbox name; false when the connection is gone or
// the server refused (recorded).
func (l *powerLedger) createOne(c *rawIMAP, name string) bool {
	l.mu.Lock()
	l.boxes[name] = false
	l.mu.Unlock()
	tagged, err := c.run(fmt.Sprintf("CREATE %q", name), nil)
	if err != nil {
		return false
	}
	if !isOK(tagged) {
		l.errorf("CREATE %s: %q", name, tagged)
		return false
	}
	l.mu.Lock()
	l.boxes[name] = true
	l.round.created++
	l.mu.Unlock()
	return true
}

// expungeOne expunges a message of this round that a client saw in
// INBOX, if there is one; false when the connection is gone or the server
// misbehaved (recorded).
func (l *powerLedger) expungeOne(c *rawIMAP, round int) bool {
	uid, id := l.pickExpunge("INBOX", round)
	if uid == 0 {
		return true
	}
	// The session may not know the message yet (it learns of new
	// messages between commands): a UID STORE then changes nothing,
	// which its FETCH response (or its absence) shows. A NOOP first
	// makes that rare.
	if _, err := c.run("NOOP", nil); err != nil {
		return false
	}
	stored := false
	tagged, err := c.run(fmt.Sprintf(`UID STORE %d +FLAGS (\Deleted)`, uid), nil, func(line string, _ [][]byte) {
		if m := fetchUIDRe.FindStringSubmatch(line); m != nil && m[1] == strconv.Itoa(int(uid)) && strings.Contains(line, `\Deleted`) {
			stored = true
		}
	})
	if err != nil {
		return false
	}
	if !isOK(tagged) {
		l.errorf("UID STORE %d (%s): %q", uid, id, tagged)
		return false
	}
	if !stored {
		l.mu.Lock()
		l.msgs[id].expunging = false
		l.mu.Unlock()
		return true
	}
	expunged := false
	tagged, err = c.run(fmt.Sprintf("UID EXPUNGE %d", uid), nil, func(line string, _ [][]byte) {
		if strings.HasSuffix(strings.TrimSpace(line), " EXPUNGE") {
			expunged = true
		}
	})
	if err != nil {
		return false
	}
	if !isOK(tagged) || !expunged {
		l.errorf("UID EXPUNGE %d (%s) after its \\Deleted was stored: %q, EXPUNGE response: %v", uid, id, tagged, expunged)
		return false
	}
	l.mu.Lock()
	l.msgs[id].expunged = true
	l.round.expunged++
	l.mu.Unlock()
	return true
}

// pickExpunge chooses the oldest message of this round that a client saw
// in mailbox and marks it as being expunged; 0 when there is none.
func (l *powerLedger) pickExpunge(mailbox string, round int) (uint32, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var pick uint32
	for uid, id := range l.seen[mailbox] {
		if m := l.msgs[id]; m.round == round && !m.expunging && (pick == 0 || uid < pick) {
			pick = uid
		}
	}
	if pick == 0 {
		return 0, ""
	}
	id := l.seen[mailbox][pick]
	l.msgs[id].expunging = true
	return pick, id
}

// lmtpPrefix is what delivery prepends for the deliverer's envelope.
func lmtpPrefix(rcpt string) string {
	return "Return-Path: <load@example.net>\r\nDelivered-To: " + rcpt + "\r\n"
}

// deliverer delivers messages over LMTP until the connection breaks or
// ctx ends.
func (l *powerLedger) deliverer(ctx context.Context, addr, rcpt, prefix string, rng *rand.Rand) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		l.loggedIn <- struct{}{}
		l.errorf("LMTP dial: %v", err)
		return
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	err = c.Hello("load.example.net")
	l.loggedIn <- struct{}{}
	if err != nil {
		if ctx.Err() == nil && isSMTPReply(err) {
			l.errorf("LHLO: %v", err)
		}
		return
	}
	round, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(prefix, "-", 2)[0], "r"))
	for i := 0; ctx.Err() == nil; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		msg := powerMessage(id, messageSize(rng), rng)
		l.sent(id, "INBOX", append([]byte(lmtpPrefix(rcpt)), msg...), round)
		err := c.Mail("load@example.net", nil)
		if err == nil {
			err = c.Rcpt(rcpt, nil)
		}
		var w *smtp.DataCommand
		if err == nil {
			w, err = c.Data()
		}
		if err == nil {
			_, err = w.Write(msg)
		}
		if err == nil {
			_, err = w.CloseWithLMTPResponse()
		}
		if err != nil {
			if isSMTPReply(err) {
				l.errorf("LMTP %s: %v", id, err)
			}
			return
		}
		l.acked(id, 0, 0)
	}
}

// isSMTPReply reports whether err is an error reply of the server (as
// opposed to a broken connection).
func isSMTPReply(err error) bool {
	var se *smtp.SMTPError
	var le smtp.LMTPDataError
	return errors.As(err, &se) || errors.As(err, &le)
}

var (
	fetchUIDRe  = regexp.MustCompile(`[( ]UID (\d+)`)
	uidValidRe  = regexp.MustCompile(`\[UIDVALIDITY (\d+)\]`)
	uidNextRe   = regexp.MustCompile(`\[UIDNEXT (\d+)\]`)
	powerIDRe   = regexp.MustCompile(`(?m)^X-Power-Id: (\S+)\r$`)
	literalTail = regexp.MustCompile(`\{(\d+)\}\r\n$`)
)

// observer watches mailbox and records the UID of every new message it
// sees: a message a client has seen must survive.
func (l *powerLedger) observer(ctx context.Context, addr string, u testUser, mailbox string) {
	c, err := dialRawIMAP(addr, u)
	l.loggedIn <- struct{}{}
	if err != nil {
		if ctx.Err() == nil {
			l.errorf("observer: %v", err)
		}
		return
	}
	defer c.close()
	stop := context.AfterFunc(ctx, c.close)
	defer stop()
	var validity uint32
	tagged, err := c.run(fmt.Sprintf("EXAMINE %q", mailbox), nil, func(line string, _ [][]byte) {
		if m := uidValidRe.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseUint(m[1], 10, 32)
			validity = uint32(v)
		}
	})
	if err != nil || !isOK(tagged) {
		if err == nil {
			l.errorf("EXAMINE %s: %q", mailbox, tagged)
		}
		return
	}
	var last uint32
	for ctx.Err() == nil {
		tagged, err := c.run(fmt.Sprintf("UID FETCH %d:* (UID BODY.PEEK[HEADER.FIELDS (X-Power-Id)])", last+1), nil, func(line string, lits [][]byte) {
			m := fetchUIDRe.FindStringSubmatch(line)
			if m == nil || len(lits) != 1 {
				return
			}
			uid64, _ := strconv.ParseUint(m[1], 10, 32)
			uid := uint32(uid64)
			id := powerIDRe.FindSubmatch(lits[0])
			if uid <= last || id == nil {
				return
			}
			l.saw(mailbox, validity, uid, string(id[1]))
			last = uid
		})
		if err != nil {
			return
		}
		if !isOK(tagged) {
			l.errorf("observer UID FETCH: %q", tagged)
			return
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// verify checks the mailboxes of a server started on the rolled-back
// directory against the ledger.
func (l *powerLedger) verify(t *testing.T, round int, addr string, u testUser) {
	c, err := dialRawIMAP(addr, u)
	if err != nil {
		t.Fatalf("round %d: verifying: %v", round, err)
	}
	defer c.close()
	l.mu.Lock()
	defer l.mu.Unlock()
	found := map[string]uint32{}
	var presentUnacked int
	for _, mb := range powerMailboxes {
		var validity, uidNext uint32
		tagged, err := c.run(fmt.Sprintf("SELECT %q", mb), nil, func(line string, _ [][]byte) {
			if m := uidValidRe.FindStringSubmatch(line); m != nil {
				v, _ := strconv.ParseUint(m[1], 10, 32)
				validity = uint32(v)
			}
			if m := uidNextRe.FindStringSubmatch(line); m != nil {
				v, _ := strconv.ParseUint(m[1], 10, 32)
				uidNext = uint32(v)
			}
		})
		if err != nil || !isOK(tagged) {
			t.Fatalf("round %d: SELECT %s: %q %v", round, mb, tagged, err)
		}
		if v, ok := l.validity[mb]; ok && v != validity {
			t.Errorf("round %d: %s: UIDVALIDITY %d after the cut, clients saw %d", round, mb, validity, v)
		}
		var maxSeen uint32
		for uid := range l.seen[mb] {
			maxSeen = max(maxSeen, uid)
		}
		if uidNext <= maxSeen {
			t.Errorf("round %d: %s: UIDNEXT %d after the cut, but a client saw UID %d", round, mb, uidNext, maxSeen)
		}
		tagged, err = c.run("UID FETCH 1:* (UID BODY.PEEK[])", nil, func(line string, lits [][]byte) {
			um := fetchUIDRe.FindStringSubmatch(line)
			if um == nil || len(lits) != 1 {
				t.Errorf("round %d: %s: unexpected response %.100q", round, mb, line)
				return
			}
			uid64, _ := strconv.ParseUint(um[1], 10, 32)
			uid := uint32(uid64)
			body := lits[0]
			idm := powerIDRe.FindSubmatch(body)
			if idm == nil {
				t.Errorf("round %d: %s UID %d: a message without X-Power-Id (%d bytes)%s", round, mb, uid, len(body), firstLines(body))
				return
			}
			id := string(idm[1])
			m := l.msgs[id]
			switch {
			case m == nil:
				t.Errorf("round %d: %s UID %d: message %s was never sent", round, mb, uid, id)
				return
			case found[id] != 0:
				t.Errorf("round %d: %s: message %s stored twice (UIDs %d and %d)", round, mb, id, found[id], uid)
				return
			}
			found[id] = uid
			if m.mailbox != mb {
				t.Errorf("round %d: message %s in %s, sent to %s", round, id, mb, m.mailbox)
			}
			if sha256.Sum256(body) != m.sum {
				t.Errorf("round %d: %s UID %d: message %s (acknowledged %v) differs from what was sent: %d bytes, sent %d", round, mb, uid, id, m.acked, len(body), m.size)
			}
			if m.uid != 0 && m.uid != uid {
				t.Errorf("round %d: %s: message %s has UID %d, APPEND said %d", round, mb, id, uid, m.uid)
			}
			if seen, ok := l.seen[mb][uid]; ok && seen != id {
				t.Errorf("round %d: %s UID %d is %s, a client saw it as %s", round, mb, uid, id, seen)
			}
		})
		if err != nil || !isOK(tagged) {
			t.Fatalf("round %d: UID FETCH in %s: %q %v", round, mb, tagged, err)
		}
	}
	var lostAcked []string
	for id, m := range l.msgs {
		_, ok := found[id]
		switch {
		case ok && m.expunged:
			t.Errorf("round %d: message %s is back after its expunge was acknowledged", round, id)
		case ok && m.fate == fateAbsent:
			t.Errorf("round %d: message %s (sent in round %d) is back after an earlier check did not find it", round, id, m.round)
		case ok:
			if !m.acked && m.fate == fateUnknown {
				presentUnacked++
			}
			m.fate = fatePresent
		case m.expunging && m.fate != fatePresent:
			m.fate = fateAbsent
		case m.acked:
			lostAcked = append(lostAcked, id)
			m.fate = fateAbsent
		case m.fate == fatePresent:
			t.Errorf("round %d: message %s (sent in round %d) is gone after an earlier check found it", round, id, m.round)
		default:
			m.fate = fateAbsent
		}
	}
	if len(lostAcked) > 0 {
		t.Errorf("round %d: %d acknowledged messages lost, e.g. %v", round, len(lostAcked), lostAcked[:min(5, len(lostAcked))])
	}
	for mb, uids := range l.seen {
		for uid, id := range uids {
			if found[id] != uid && !l.msgs[id].expunging {
				t.Errorf("round %d: %s UID %d (%s), seen by a client, is gone", round, mb, uid, id)
			}
		}
	}
	// Every mailbox whose CREATE was acknowledged is there; any other
	// mailbox of the test's was at least asked for.
	listed := map[string]bool{}
	tagged, err := c.run(`LIST "" "Box-*"`, nil, func(line string, _ [][]byte) {
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) > 0 && strings.HasPrefix(line, "* LIST ") {
			listed[strings.Trim(f[len(f)-1], `"`)] = true
		}
	})
	if err != nil || !isOK(tagged) {
		t.Fatalf("round %d: LIST: %q %v", round, tagged, err)
	}
	for name, acked := range l.boxes {
		switch {
		case acked && !listed[name]:
			t.Errorf("round %d: mailbox %s, created with OK, is gone", round, name)
		case listed[name]:
			l.boxes[name] = true // found: must stay
		}
	}
	for name := range listed {
		if _, ok := l.boxes[name]; !ok {
			t.Errorf("round %d: mailbox %s was never created", round, name)
		}
	}
	// A new message gets a UID above every UID seen.
	for _, mb := range powerMailboxes {
		id := fmt.Sprintf("r%d-check-%s", round, mb)
		msg := powerMessage(id, 500, rand.New(rand.NewPCG(uint64(round), 1)))
		l.msgs[id] = &powerMsg{id: id, mailbox: mb, sum: sha256.Sum256(msg), size: len(msg), round: round}
		tagged, err := c.run(fmt.Sprintf("APPEND %q {%d+}", mb, len(msg)), msg)
		m := appendUIDRe.FindStringSubmatch(tagged)
		if err != nil || !isOK(tagged) || m == nil {
			t.Fatalf("round %d: APPEND after the cut: %q %v", round, tagged, err)
		}
		v, _ := strconv.ParseUint(m[1], 10, 32)
		uid, _ := strconv.ParseUint(m[2], 10, 32)
		for seen := range l.seen[mb] {
			if uint32(uid) <= seen {
				t.Errorf("round %d: %s: APPEND after the cut got UID %d, a client saw UID %d before", round, mb, uid, seen)
				break
			}
		}
		l.msgs[id].acked, l.msgs[id].uid = true, uint32(uid)
		l.sawLocked(mb, uint32(v), uint32(uid), id)
	}
	if len(l.errs) > 0 {
		for _, e := range l.errs {
			t.Errorf("round %d, verifying: %s", round, e)
		}
		l.errs = nil
	}
	t.Logf("round %d: verified %d messages (%d of them never acknowledged)", round, len(found), presentUnacked)
}

func firstLines(b []byte) string {
	if i := strings.Index(string(b), "\r\n\r\n"); i >= 0 {
		b = b[:i]
	}
	return fmt.Sprintf(", header %.200q", b)
}

func isOK(tagged string) bool {
	f := strings.Fields(tagged)
	return len(f) >= 2 && f[1] == "OK"
}

// rawIMAP is a minimal IMAP client over plaintext loopback (LOGIN is
// allowed there), reading literals of any size.
type rawIMAP struct {
	conn net.Conn
	r    *bufio.Reader
	tag  int
}

func dialRawIMAP(addr string, u testUser) (*rawIMAP, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &rawIMAP{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := c.r.ReadString('\n'); err != nil {
		conn.Close()
		return nil, err
	}
	tagged, err := c.run(fmt.Sprintf("LOGIN %q %q", u.name, u.password), nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if !isOK(tagged) {
		conn.Close()
		return nil, fmt.Errorf("LOGIN: %s", tagged)
	}
	return c, nil
}

func (c *rawIMAP) close() { c.conn.Close() }

// run sends a command (and, if literal is not nil, the literal its line
// announced, then CRLF) and returns the tagged response; each untagged
// response goes to each, with its literals.
func (c *rawIMAP) run(cmd string, literal []byte, each ...func(line string, lits [][]byte)) (string, error) {
	c.tag++
	tag := fmt.Sprintf("p%d", c.tag)
	out := []byte(tag + " " + cmd + "\r\n")
	if literal != nil {
		out = append(append(out, literal...), '\r', '\n')
	}
	if _, err := c.conn.Write(out); err != nil {
		return "", err
	}
	for {
		line, lits, err := c.readResponse()
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(line, tag+" ") {
			return strings.TrimRight(line, "\r\n"), nil
		}
		for _, f := range each {
			f(line, lits)
		}
	}
}

// readResponse reads one response with its literals; line is its text
// with the literals left out.
func (c *rawIMAP) readResponse() (string, [][]byte, error) {
	var b strings.Builder
	var lits [][]byte
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return "", nil, err
		}
		b.WriteString(l)
		m := literalTail.FindStringSubmatch(l)
		if m == nil {
			return b.String(), lits, nil
		}
		n, _ := strconv.Atoi(m[1])
		lit := make([]byte, n)
		if _, err := io.ReadFull(c.r, lit); err != nil {
			return "", nil, err
		}
		lits = append(lits, lit)
	}
}
