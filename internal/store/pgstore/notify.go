package pgstore

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"rookery/internal/events"
)

// Announcing events to the other nodes. NOTIFY inside a write
// transaction takes a cluster-wide lock at its commit (PreCommit_Notify
// serialises every notifying commit of the server, database-wide "object"
// lock) that is held until the commit's WAL flush ends: notifying
// commits then run one fsync at a time, without group commit, and hold
// their pooled connections while they queue for it. So the events are
// announced after the commit instead, by one notifier per Store on a
// connection of its own: it coalesces what is pending (per mailbox, the
// highest ModSeq; ModSeq-0 events apart) and sends it in one statement,
// a transaction without writes whose commit does not wait for a flush.
//
// An event reaches the other nodes only after its commit, as before. A
// process that dies between a commit and the notifier's next statement
// loses that announcement: the other nodes' sessions then learn of the
// change at the next event of their mailbox or the next reconnection of
// their listener (catch-up). Close sends what is pending.

// notifyKey identifies the events the notifier coalesces.
type notifyKey struct {
	account, mailbox int64
	zero             bool // ModSeq-0 events (mailbox list changes) apart
}

// notifier announces events to the other nodes (pg_notify on channel).
type notifier struct {
	s      *Store
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{} // capacity 1

	mu      sync.Mutex
	pending map[notifyKey]uint64 // guarded by mu
}

func newNotifier(s *Store) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifier{s: s, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1),
		pending: map[notifyKey]uint64{}}
	go n.run(ctx)
	return n
}

// add queues evs for announcement.
func (n *notifier) add(evs []events.Event) {
	if len(evs) == 0 {
		return
	}
	n.mu.Lock()
	for _, ev := range evs {
		k := notifyKey{account: ev.Account, mailbox: ev.Mailbox, zero: ev.ModSeq == 0}
		if ev.ModSeq >= n.pending[k] {
			n.pending[k] = ev.ModSeq
		}
	}
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// take removes and returns the pending events.
func (n *notifier) take() []events.Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.pending) == 0 {
		return nil
	}
	evs := make([]events.Event, 0, len(n.pending))
	for k, m := range n.pending {
		evs = append(evs, events.Event{Account: k.account, Mailbox: k.mailbox, ModSeq: m})
	}
	clear(n.pending)
	return evs
}

// stop sends what is pending (within a bounded time) and ends the
// notifier.
func (n *notifier) stop() {
	n.cancel()
	<-n.done
}

// flushTimeout bounds how long stop tries to send what is pending.
const flushTimeout = 5 * time.Second

func (n *notifier) run(ctx context.Context) {
	defer close(n.done)
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.Background())
		}
	}()
	backoff := minBackoff
	for {
		select {
		case <-ctx.Done():
			// Last announcements, on a context of their own.
			fctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
			defer cancel()
			if evs := n.take(); len(evs) > 0 {
				if err := n.send(fctx, &conn, evs); err != nil {
					n.s.log.Warn("pgstore: announcing events at close", "err", err, "events", len(evs))
				}
			}
			return
		case <-n.wake:
		}
		evs := n.take()
		if len(evs) == 0 {
			continue
		}
		if err := n.send(ctx, &conn, evs); err != nil {
			if ctx.Err() != nil {
				n.add(evs) // for the flush at close
				continue
			}
			n.s.log.Warn("pgstore: announcing events failed; retrying", "err", err, "in", backoff)
			n.add(evs) // again, merged with what came meanwhile
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = minBackoff
	}
}

// send announces evs in one statement on *conn, connecting first if
// needed; a failed connection is closed and cleared.
func (n *notifier) send(ctx context.Context, conn **pgx.Conn, evs []events.Event) error {
	if *conn == nil {
		c, err := pgx.Connect(ctx, n.s.dsn)
		if err != nil {
			return err
		}
		*conn = c
	}
	payloads := make([]string, len(evs))
	for i, ev := range evs {
		payloads[i] = encodeEvent(n.s.node, ev)
	}
	if _, err := (*conn).Exec(ctx, `SELECT pg_notify('`+channel+`', p) FROM unnest($1::text[]) AS p`, payloads); err != nil {
		(*conn).Close(context.Background())
		*conn = nil
		return err
	}
	return nil
}
