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

// walRestartFrames is the WAL length (frames of one page) past which the
// writer is asked to let the WAL start again from its beginning
// (walRestart). SQLite restarts the WAL only at the start of a write
// transaction that finds every frame copied back, which a PASSIVE
// checkpoint beside a writer that never pauses does not achieve: under a
// sustained APPEND burst the WAL grew past 300 MB in 30 s, and every page
// lookup in it probes one hash table per 4,096 frames.
// (Variables for the tests.)
var walRestartFrames int64 = 16384

// walSizeLimit is the size the WAL file is truncated to when it starts
// again (journal_size_limit on the writer's connection).
var walSizeLimit int64 = 64 << 20

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
	// restart is set when the WAL is longer than walRestartFrames; the
	// writer clears it when it has checkpointed on its own connection.
	restart *atomic.Bool
	log     func(msg string, args ...any)
	stop    chan struct{}
	done    chan struct{}
}

func startCheckpointer(db *sql.DB, commits *atomic.Uint64, restart *atomic.Bool, log func(string, ...any)) *checkpointer {
	c := &checkpointer{db: db, commits: commits, restart: restart, log: log, stop: make(chan struct{}), done: make(chan struct{})}
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
			var busy, frames, copied int64
			if err := c.db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
				c.log("checkpointing the write-ahead log", "err", err)
			} else if frames > walRestartFrames {
				c.restart.Store(true)
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
