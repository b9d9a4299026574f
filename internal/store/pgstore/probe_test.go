package pgstore

import (
	"context"
	"strings"
	"testing"

	"rookery/internal/pgtest"
)

// TestProbe: a new database lacks every migration, a migrated one none,
// and Probe itself changes nothing; an unreachable server is an error.
func TestProbe(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	for range 2 {
		res, err := Probe(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if res.ServerVersion == "" || len(res.Pending) == 0 || res.Pending[0] != "0001_init" {
			t.Fatalf("new database: %+v", res)
		}
	}
	if _, err := Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	res, err := Probe(ctx, dsn)
	if err != nil || len(res.Pending) != 0 {
		t.Fatalf("migrated database: %+v, %v", res, err)
	}
	bad := strings.Replace(dsn, "rookery_test_", "no_such_database_", 1)
	if _, err := Probe(ctx, bad); err == nil {
		t.Fatal("Probe of a missing database succeeded")
	}
}
