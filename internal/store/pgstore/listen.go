package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"rookery/internal/events"
)

// Events across nodes. The events of every committed write transaction
// are announced with pg_notify(channel, payload) by the store's notifier
// (notify.go), after the commit. A listener goroutine per
// Store holds a connection of its own that LISTENs on channel and
// publishes to the local bus the events of the other nodes (payloads of
// its own node are skipped: those were published locally after the
// commit). NOTIFY is lost while the connection is down, so after every
// (re)connect the listener catches up: for each account that has local
// subscribers, one event per mailbox with its current HIGHESTMODSEQ
// (sessions then ask Changes since what they know) and one ModSeq-0
// event (the mailbox list may have changed).
//
// A node that dies between a commit and its NOTIFY, or a notification
// dropped for any other reason, must not leave sessions on other nodes
// idling over a change forever: every sweepInterval a sweeper reads the
// HIGHESTMODSEQ of the mailboxes of the accounts with local subscribers
// and publishes an event for each that is above what the node last
// announced for it (its own commits, other nodes' notifications, earlier
// sweeps). A lost notification then costs at most that much delay.

// channel is the NOTIFY channel.
const channel = "rookery_events"

// encodeEvent returns the NOTIFY payload of ev published by node.
func encodeEvent(node string, ev events.Event) string {
	return node + " " + strconv.FormatInt(ev.Account, 10) + " " + strconv.FormatInt(ev.Mailbox, 10) + " " + strconv.FormatUint(ev.ModSeq, 10)
}

// decodeEvent parses a payload of encodeEvent.
func decodeEvent(p string) (node string, ev events.Event, err error) {
	f := strings.Fields(p)
	if len(f) != 4 {
		return "", ev, fmt.Errorf("event payload %q", p)
	}
	if ev.Account, err = strconv.ParseInt(f[1], 10, 64); err != nil {
		return "", ev, err
	}
	if ev.Mailbox, err = strconv.ParseInt(f[2], 10, 64); err != nil {
		return "", ev, err
	}
	if ev.ModSeq, err = strconv.ParseUint(f[3], 10, 64); err != nil {
		return "", ev, err
	}
	return f[0], ev, nil
}

// subscribedAccounts is implemented by a bus that tells which accounts
// have subscribers (events.Memory): the listener catches up for those.
type subscribedAccounts interface {
	Accounts() []int64
}

// Reconnection backoff of the listener.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// sweepInterval is how often the sweeper looks for changes whose
// notification was lost.
const sweepInterval = 5 * time.Second

// listener publishes the events of other nodes to the local bus.
type listener struct {
	s      *Store
	cancel context.CancelFunc
	done   chan struct{}
	swept  chan struct{} // closed when the sweeper has ended

	// known is the highest mod-sequence announced on this node per
	// mailbox of the accounts the last sweep covered (note, sweep).
	mu    sync.Mutex
	known map[int64]uint64 // guarded by mu
	// every is sweepInterval in nanoseconds (tests shorten it).
	every atomic.Int64

	pid      atomic.Uint32 // backend process of the current connection, 0 when none
	sessions atomic.Int64  // connections that reached LISTEN and caught up
}

func newListener(s *Store) *listener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{s: s, cancel: cancel, done: make(chan struct{}), swept: make(chan struct{}), known: map[int64]uint64{}}
	l.every.Store(int64(sweepInterval))
	go l.run(ctx)
	go l.sweeper(ctx)
	return l
}

// stop ends the listener and waits for it.
func (l *listener) stop() {
	l.cancel()
	<-l.done
	<-l.swept
}

// note records that ev was announced on this node.
func (l *listener) note(ev events.Event) {
	if ev.Mailbox == 0 {
		return
	}
	l.mu.Lock()
	if ev.ModSeq > l.known[ev.Mailbox] {
		l.known[ev.Mailbox] = ev.ModSeq
	}
	l.mu.Unlock()
}

// sweeper runs sweep every l.every until ctx ends.
func (l *listener) sweeper(ctx context.Context) {
	defer close(l.swept)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(l.every.Load())):
		}
		if err := l.sweep(ctx); err != nil && ctx.Err() == nil {
			l.s.log.Warn("pgstore: looking for changes whose notification was lost", "err", err)
		}
	}
}

// sweep publishes an event for each mailbox of an account with local
// subscribers whose HIGHESTMODSEQ is above what was announced for it
// (or that was not known yet), and forgets the mailboxes of accounts
// without subscribers.
func (l *listener) sweep(ctx context.Context) error {
	sa, ok := l.s.bus.(subscribedAccounts)
	if !ok {
		return nil
	}
	accts := sa.Accounts()
	if len(accts) == 0 {
		l.mu.Lock()
		clear(l.known)
		l.mu.Unlock()
		return nil
	}
	evs, err := mailboxModSeqs(ctx, l.s.pool, accts)
	if err != nil {
		return err
	}
	var publish []events.Event
	l.mu.Lock()
	known := make(map[int64]uint64, len(evs))
	for _, ev := range evs {
		k, seen := l.known[ev.Mailbox]
		if !seen || ev.ModSeq > k {
			publish = append(publish, ev)
		}
		known[ev.Mailbox] = max(ev.ModSeq, k)
	}
	l.known = known
	l.mu.Unlock()
	for _, ev := range publish {
		l.s.bus.Publish(ev)
	}
	return nil
}

func (l *listener) run(ctx context.Context) {
	defer close(l.done)
	backoff := minBackoff
	for {
		listened, err := l.session(ctx)
		l.pid.Store(0)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = minBackoff
		}
		l.s.log.Warn("pgstore: event listener lost its connection; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// session connects, listens, catches up and then publishes
// notifications until the connection fails or ctx ends. listened tells
// whether it got as far as listening.
func (l *listener) session(ctx context.Context) (listened bool, err error) {
	conn, err := pgx.Connect(ctx, l.s.dsn)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `LISTEN `+channel); err != nil {
		return false, err
	}
	l.pid.Store(conn.PgConn().PID())
	if err := l.catchUp(ctx, conn); err != nil {
		return true, err
	}
	l.sessions.Add(1)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		node, ev, err := decodeEvent(n.Payload)
		if err != nil {
			l.s.log.Warn("pgstore: ignoring a malformed event", "err", err)
			continue
		}
		if node != l.s.node {
			l.note(ev)
			l.s.bus.Publish(ev)
		}
	}
}

// catchUp publishes, for every account with local subscribers, an event
// per mailbox with its HIGHESTMODSEQ and a ModSeq-0 event.
func (l *listener) catchUp(ctx context.Context, conn *pgx.Conn) error {
	sa, ok := l.s.bus.(subscribedAccounts)
	if !ok {
		return nil
	}
	accts := sa.Accounts()
	if len(accts) == 0 {
		return nil
	}
	evs, err := mailboxModSeqs(ctx, conn, accts)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		l.note(ev)
		l.s.bus.Publish(ev)
	}
	for _, a := range accts {
		l.s.bus.Publish(events.Event{Account: a})
	}
	return nil
}

// querier is a connection or a pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// mailboxModSeqs returns an event per mailbox of accts with its
// HIGHESTMODSEQ, in account and mailbox order.
func mailboxModSeqs(ctx context.Context, q querier, accts []int64) ([]events.Event, error) {
	rows, err := q.Query(ctx, `SELECT account, id, highestmodseq FROM mailboxes WHERE account = ANY($1) ORDER BY account, id`, accts)
	if err != nil {
		return nil, err
	}
	var evs []events.Event
	var ev events.Event
	var hms int64
	if _, err := pgx.ForEachRow(rows, []any{&ev.Account, &ev.Mailbox, &hms}, func() error {
		ev.ModSeq = uint64(hms)
		evs = append(evs, ev)
		return nil
	}); err != nil {
		return nil, err
	}
	return evs, nil
}
