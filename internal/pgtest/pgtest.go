// Package pgtest gives tests a fresh PostgreSQL database of their own on
// a real server. The server is named by the environment variable
// ROOKERY_TEST_PG (a pgx connection string whose role may create
// databases, e.g. "postgres://rookery:rookery@127.0.0.1:5432/postgres").
// Without it a test that needs PostgreSQL is skipped, unless
// ROOKERY_REQUIRE_PG is set (CI sets both): then it fails, so that a CI
// run never passes by skipping them.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN and EnvRequire are the environment variables the package reads.
const (
	EnvDSN     = "ROOKERY_TEST_PG"
	EnvRequire = "ROOKERY_REQUIRE_PG"
	// EnvKeep keeps the databases tests made (their names are logged),
	// to look into them afterwards with psql.
	EnvKeep = "ROOKERY_TEST_PG_KEEP"
)

// ServerDSN returns the server's connection string, skipping t (or
// failing it, under ROOKERY_REQUIRE_PG) when there is none.
func ServerDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv(EnvRequire) != "" {
			t.Fatalf("%s is set but %s is not: this test needs PostgreSQL", EnvRequire, EnvDSN)
		}
		t.Skipf("no PostgreSQL: set %s to run this test", EnvDSN)
	}
	return dsn
}

// NewDatabase creates an empty database for t, dropped when t ends, and
// returns its connection string.
func NewDatabase(t testing.TB) string {
	t.Helper()
	server := ServerDSN(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "rookery_test_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := admin(ctx, server, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if os.Getenv(EnvKeep) != "" {
		t.Logf("pgtest: keeping database %s (%s is set)", name, EnvKeep)
		return withDatabase(server, name)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE fails for a role that may not terminate an autovacuum
		// worker busy in the database (it has no role); a plain DROP
		// stops such workers itself (and waits a few seconds for them),
		// and the test's own sessions are closed by now.
		err := admin(ctx, server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		for i := 0; err != nil && i < 5; i++ {
			time.Sleep(100 * time.Millisecond)
			err = admin(ctx, server, "DROP DATABASE IF EXISTS "+name)
		}
		if err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return withDatabase(server, name)
}

// withDatabase returns the connection string dsn (a URL or key=value
// pairs) with its database replaced by name.
func withDatabase(dsn, name string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	return dsn + " dbname=" + name
}

// admin runs one statement on the server's own database.
func admin(ctx context.Context, server, sql string) error {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", EnvDSN, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}
