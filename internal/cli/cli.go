package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strings"

	"rookery/internal/config"
)

// Exit codes returned by Main.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// version is the release this source tree builds.
const version = "0.1.0-dev"

// env is the I/O of one Main call.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// errorf reports a failure and returns ExitFailure.
func (e *env) errorf(format string, args ...any) int {
	fmt.Fprintf(e.stderr, "rookery: "+format+"\n", args...)
	return ExitFailure
}

// usagef reports a usage error followed by usage text and returns ExitUsage.
func (e *env) usagef(usage, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "rookery: "+format+"\n\n", args...)
	fmt.Fprint(e.stderr, usage)
	return ExitUsage
}

const mainUsage = `Rookery is an IMAP4rev2/IMAP4rev1 server.

Usage:
  rookery serve [--config FILE] [--data DIR] [--imap ADDR] [--imaps ADDR]
                [--lmtp ADDR] [--metrics ADDR] [--demo]
  rookery user add NAME [--data DIR] [--password-stdin]
  rookery user passwd NAME [--data DIR] [--password-stdin]
  rookery user quota NAME [--storage SIZE] [--messages N] [--data DIR]
  rookery user del NAME [--data DIR]
  rookery user list [--data DIR]
  rookery deliver --user NAME [--mailbox M] [--data DIR | --config FILE] < message
  rookery reindex [USER] [--data DIR | --config FILE]
  rookery check [--repair] [--contents] [--data DIR | --config FILE]
  rookery export USER DIR [--format eml] [--mailbox NAME]...
                 [--since-modseq N | --incremental] [--data DIR | --config FILE]
  rookery import USER SRC [--mailbox-prefix P] [--keep-going]
                 [--data DIR | --config FILE]
  rookery store migrate [--config FILE | --dsn DSN]
  rookery store copy --from DATA_DIR --to TARGET
  rookery backup DIR [--data DIR | --config FILE] [--copy] [--rate SIZE]
  rookery restore DIR [--data DIR | --config FILE] [--force] [--copy]
  rookery migrate USER --from URL --login NAME --password-file FILE
                  [--data DIR | --config FILE]
  rookery migrate --csv FILE [--concurrency N] [--data DIR | --config FILE]
  rookery config check [--connect] FILE
  rookery config example
  rookery version
  rookery help [COMMAND]

Run "rookery help COMMAND" for details.
`

// Main runs the rookery command with args (without the program name) and
// returns the process exit code. ctx is cancelled to stop a running server.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		return e.usagef(mainUsage, "missing command")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, e, rest)
	case "user":
		return runUser(ctx, e, rest)
	case "deliver":
		return runDeliver(ctx, e, rest)
	case "reindex":
		return runReindex(ctx, e, rest)
	case "check":
		return runCheck(ctx, e, rest)
	case "export":
		return runExport(ctx, e, rest)
	case "import":
		return runImport(ctx, e, rest)
	case "store":
		return runStore(ctx, e, rest)
	case "backup":
		return runBackup(ctx, e, rest)
	case "restore":
		return runRestore(ctx, e, rest)
	case "migrate":
		return runMigrate(ctx, e, rest)
	case "config":
		return runConfig(ctx, e, rest)
	case "version", "--version", "-version":
		fmt.Fprintln(e.stdout, versionString())
		return ExitOK
	case "help", "-h", "-help", "--help":
		return runHelp(e, rest)
	}
	return e.usagef(mainUsage, "unknown command %q", cmd)
}

func runHelp(e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stdout, mainUsage)
		return ExitOK
	}
	switch args[0] {
	case "serve":
		fmt.Fprint(e.stdout, serveUsage)
	case "user":
		fmt.Fprint(e.stdout, userUsage)
	case "deliver":
		fmt.Fprint(e.stdout, deliverUsage)
	case "reindex":
		fmt.Fprint(e.stdout, reindexUsage)
	case "check":
		fmt.Fprint(e.stdout, checkUsage)
	case "export":
		fmt.Fprint(e.stdout, exportUsage)
	case "import":
		fmt.Fprint(e.stdout, importUsage)
	case "store":
		fmt.Fprint(e.stdout, storeUsage)
	case "backup":
		fmt.Fprint(e.stdout, backupUsage)
	case "restore":
		fmt.Fprint(e.stdout, restoreUsage)
	case "migrate":
		fmt.Fprint(e.stdout, migrateUsage)
	case "config":
		fmt.Fprint(e.stdout, configUsage)
	case "version":
		fmt.Fprintln(e.stdout, "Usage: rookery version")
	default:
		return e.usagef(mainUsage, "unknown help topic %q", args[0])
	}
	return ExitOK
}

func versionString() string {
	s := "rookery " + version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" && len(kv.Value) >= 12 {
				s += " (" + kv.Value[:12] + ")"
			}
		}
	}
	return s + " " + runtime.Version()
}

// newFlagSet returns a flag set that reports errors to e.stderr with usage.
func newFlagSet(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprint(e.stderr, usage)
		fmt.Fprintln(e.stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses args with fs, allowing flags after positional arguments,
// and returns the positional arguments in order. A "--" ends flag parsing.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagResult converts a parse error into an exit code: ExitOK for -h (usage
// was printed), ExitUsage otherwise (flag printed the error and usage).
func flagResult(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	return ExitUsage
}

// newLogger returns a logger writing to w as configured.
func newLogger(c config.Log, w io.Writer) (*slog.Logger, error) {
	level, err := c.SlogLevel()
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.Format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log.format %q: want text or json", c.Format)
}
