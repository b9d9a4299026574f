package pgstore

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ProbeResult is what Probe learnt about a database.
type ProbeResult struct {
	// ServerVersion is the server's version string.
	ServerVersion string
	// Pending lists the migrations not applied yet (all of them for a
	// new database), in order.
	Pending []string
}

// Probe connects to the database named by dsn and reports the server's
// version and which migrations it lacks, changing nothing (`rookery
// config check --connect`).
func Probe(ctx context.Context, dsn string) (ProbeResult, error) {
	var res ProbeResult
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return res, fmt.Errorf("pgstore: connect: %w", dbErr(err))
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(ctx, `SHOW server_version`).Scan(&res.ServerVersion); err != nil {
		return res, fmt.Errorf("pgstore: server version: %w", dbErr(err))
	}
	applied := map[string]bool{}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return res, fmt.Errorf("pgstore: schema: %w", dbErr(err))
	}
	if exists {
		rows, err := conn.Query(ctx, `SELECT name FROM schema_migrations`)
		if err != nil {
			return res, fmt.Errorf("pgstore: schema: %w", dbErr(err))
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return res, fmt.Errorf("pgstore: schema: %w", dbErr(err))
		}
		for _, n := range names {
			applied[n] = true
		}
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return res, fmt.Errorf("pgstore: migrations: %w", err)
	}
	sort.Strings(names)
	for _, path := range names {
		if name := strings.TrimSuffix(strings.TrimPrefix(path, "migrations/"), ".sql"); !applied[name] {
			res.Pending = append(res.Pending, name)
		}
	}
	return res, nil
}
