package cli

import (
	"context"
	"fmt"

	"rookery/internal/ingest"
)

const reindexUsage = `Usage:
  rookery reindex [USER] [--data DIR] [--config FILE]

Rebuilds the search index (the text that SEARCH, SORT and THREAD read
without opening message files) of every stored message, or of USER's
messages only, and stores message anatomies that are missing. Messages
stored before the index existed are found by searches meanwhile, only
more slowly. It may run while the server runs.
`

func runReindex(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "reindex", reindexUsage)
	var f userFlags
	fs.StringVar(&f.data, "data", "", "data directory")
	fs.StringVar(&f.config, "config", "", "configuration file (for data_dir)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) > 1 {
		return e.usagef(reindexUsage, "reindex: at most one USER")
	}
	user := ""
	if len(pos) == 1 {
		user = pos[0]
	}
	cfg, err := f.loadExistingConfig()
	if err != nil {
		return e.errorf("%v", err)
	}
	st, closeStore, err := openAdminStore(ctx, e, cfg)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer closeStore()
	if user != "" {
		if _, err := st.Account(ctx, user); err != nil {
			return e.errorf("reindex %s: %v", user, err)
		}
	}
	n, err := ingest.Reindex(ctx, st, user, st.log)
	if err != nil {
		return e.errorf("reindex: %v", err)
	}
	fmt.Fprintf(e.stdout, "indexed %d messages\n", n)
	return ExitOK
}
