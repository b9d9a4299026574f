package sqlitestore

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"
)

// checkpointEvery is how often the checkpointer copies committed WAL
// frames back into the database file, when something was committed.
const checkpointEvery = 200 * time.Millisecond

// checkpointer runs WAL checkpoints on a connection of its own, beside
// the writer. With SQLite's automatic checkpoints the commit that
// crossed the WAL's threshold copied the pages and fsynced the database
// file before the writer could go on: 50–100 ms under load, which every
// command queued behind it waited for (mixload's p99). A PASSIVE
// checkpoint takes no write lock, so the writer keeps committing while
// it runs. The writer's connection has wal_autocheckpoint(0) (dsn).
type checkpointer struct {
	db      *sql.DB
	commits *atomic.Uint64 // advanced by the writer after each commit
	log     func(msg string, args ...any)
	stop    chan struct{}
	done    chan struct{}
}

func startCheckpointer(db *sql.DB, commits *atomic.Uint64, log func(string, ...any)) *checkpointer {
	c := &checkpointer{db: db, commits: commits, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	var seen uint64
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if n := c.commits.Load(); n != seen {
			seen = n
			if _, err := c.db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
				c.log("checkpointing the write-ahead log", "err", err)
			}
		}
	}
}

// close stops the checkpointer and closes its connection; the last
// connection to close checkpoints what is left.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	return c.db.Close()
}
