package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"rookery/internal/events"
	"rookery/internal/store"
)

// externalCheckInterval is how often the writer asks SQLite whether another
// process (`rookery deliver`, another `rookery serve` on the same data
// directory) committed. In-process changes publish their events directly;
// this check is what lets an IDLE session see a delivery made by a separate
// `rookery deliver` process within about this interval.
const externalCheckInterval = 500 * time.Millisecond

// externalWatch is the writer's memory of what it last saw of the database.
// It is used only by the writer goroutine.
type externalWatch struct {
	started     bool
	dataVersion int64
	mailboxes   map[store.MailboxID]watchedMailbox
}

type watchedMailbox struct {
	account store.AccountID
	modseq  store.ModSeq
}

// checkExternal publishes events for mailboxes changed by other processes.
// PRAGMA data_version on the writer's own connection changes only when
// another connection commits; the writer's commits never change it, and the
// read connections never write, so a change means another process wrote.
func (w *writer) checkExternal(x *externalWatch) error {
	var dv int64
	if err := w.conn.QueryRowContext(context.Background(), `PRAGMA data_version`).Scan(&dv); err != nil {
		return fmt.Errorf("data_version: %w", err)
	}
	if x.started && dv == x.dataVersion {
		return nil
	}
	// Another process (rookery deliver, reindex) may have left search
	// texts for the indexer.
	if err := w.countPending(); err != nil {
		return err
	}
	rows, err := w.conn.QueryContext(context.Background(), `SELECT id, account, highestmodseq FROM mailboxes`)
	if err != nil {
		return fmt.Errorf("list mailboxes: %w", err)
	}
	defer rows.Close()
	now := make(map[store.MailboxID]watchedMailbox, len(x.mailboxes))
	for rows.Next() {
		var id store.MailboxID
		var m watchedMailbox
		if err := rows.Scan(&id, &m.account, &m.modseq); err != nil {
			return fmt.Errorf("list mailboxes: %w", err)
		}
		now[id] = m
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list mailboxes: %w", err)
	}
	if x.started {
		for id, m := range now {
			old, ok := x.mailboxes[id]
			switch {
			case !ok:
				w.s.bus.Publish(events.Event{Account: int64(m.account), Mailbox: int64(id)})
			case old.modseq != m.modseq:
				w.s.bus.Publish(events.Event{Account: int64(m.account), Mailbox: int64(id), ModSeq: uint64(m.modseq)})
			}
		}
		for id, old := range x.mailboxes {
			if _, ok := now[id]; !ok {
				w.s.bus.Publish(events.Event{Account: int64(old.account), Mailbox: int64(id)})
			}
		}
	}
	x.started, x.dataVersion, x.mailboxes = true, dv, now
	return nil
}
