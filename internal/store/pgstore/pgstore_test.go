package pgstore

import (
	"context"
	"sync"
	"testing"

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
