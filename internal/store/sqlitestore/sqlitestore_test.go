package sqlitestore

import (
	"context"
	"testing"

	"rookery/internal/store"
	"rookery/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, env storetest.Env) store.Store {
		s, err := Open(context.Background(), env.Dir, Options{Bus: env.Bus})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
