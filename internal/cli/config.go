package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"rookery/internal/config"
)

const configUsage = `Usage:
  rookery config check [--connect] FILE   load and validate a configuration file;
                                          with --connect, also connect to the
                                          PostgreSQL store (store.dsn) and report
                                          its version and pending migrations
  rookery config example                  print a fully commented example configuration
`

// connectTimeout bounds config check --connect.
const connectTimeout = 15 * time.Second

func runConfig(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "config", configUsage)
	connect := fs.Bool("connect", false, "config check: also connect to the PostgreSQL store")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) == 0 {
		return e.usagef(configUsage, "config: missing subcommand")
	}
	switch pos[0] {
	case "check":
		if len(pos) != 2 {
			return e.usagef(configUsage, "config check: want exactly one FILE")
		}
		cfg, err := config.Load(pos[1])
		if err != nil {
			return e.errorf("%v", err)
		}
		if err := cfg.Validate(); err != nil {
			return e.errorf("%s: %v", pos[1], err)
		}
		if *connect && cfg.Store.Backend == config.BackendPostgres {
			ctx, cancel := context.WithTimeout(ctx, connectTimeout)
			defer cancel()
			res, err := probeStore(ctx, cfg.Store.DSN)
			if err != nil {
				return e.errorf("%s: store.dsn: %v", pos[1], err)
			}
			fmt.Fprintf(e.stdout, "%s: connected to PostgreSQL %s\n", pos[1], res.ServerVersion)
			if len(res.Pending) > 0 {
				fmt.Fprintf(e.stdout, "%s: %d schema migrations pending (%s): rookery store migrate --config %s applies them\n",
					pos[1], len(res.Pending), strings.Join(res.Pending, ", "), pos[1])
			}
		}
		fmt.Fprintf(e.stdout, "%s: OK\n", pos[1])
		return ExitOK
	case "example":
		if len(pos) != 1 {
			return e.usagef(configUsage, "config example: unexpected arguments %q", pos[1:])
		}
		fmt.Fprint(e.stdout, config.Example())
		return ExitOK
	}
	return e.usagef(configUsage, "config: unknown subcommand %q", pos[0])
}
