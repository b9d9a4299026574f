package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"rookery/internal/auth"
	"rookery/internal/config"
	"rookery/internal/events"
	"rookery/internal/store"
	"rookery/internal/store/sqlitestore"
)

const userUsage = `Usage:
  rookery user add NAME [--data DIR] [--password-stdin]
  rookery user passwd NAME [--data DIR] [--password-stdin]
  rookery user del NAME [--data DIR]
  rookery user list [--data DIR]

The data directory is --data, else data_dir of --config FILE, else the
default (./rookery-data). Without --password-stdin the password is read
from the terminal (twice, without echo); with it, one line is read from
standard input.
`

// userFlags are the flags of every user subcommand.
type userFlags struct {
	data, config  string
	passwordStdin bool
}

func runUser(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "user", userUsage)
	var f userFlags
	fs.StringVar(&f.data, "data", "", "data directory")
	fs.StringVar(&f.config, "config", "", "configuration file (for data_dir)")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password as one line from standard input")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) == 0 {
		return e.usagef(userUsage, "user: missing subcommand")
	}
	sub, pos := pos[0], pos[1:]
	want := 1
	switch sub {
	case "list":
		want = 0
	case "add", "passwd", "del":
	default:
		return e.usagef(userUsage, "user: unknown subcommand %q", sub)
	}
	if len(pos) != want {
		if want == 0 {
			return e.usagef(userUsage, "user %s: unexpected arguments %q", sub, pos)
		}
		return e.usagef(userUsage, "user %s: want exactly one NAME", sub)
	}
	if f.passwordStdin && sub != "add" && sub != "passwd" {
		return e.usagef(userUsage, "user %s: --password-stdin is only for add and passwd", sub)
	}
	dataDir, err := f.dataDir()
	if err != nil {
		return e.errorf("%v", err)
	}
	if sub != "add" {
		// Do not create an empty data directory by mistake.
		if _, err := os.Stat(dataDir); errors.Is(err, os.ErrNotExist) {
			return e.errorf("data directory %s does not exist", dataDir)
		}
	}

	var name string
	if want == 1 {
		name = pos[0]
		if err := checkUserName(name); err != nil {
			return e.usagef(userUsage, "user %s: %v", sub, err)
		}
	}
	// Read the password before opening the store, so that a mistake
	// in typing it costs nothing.
	var hash string
	if sub == "add" || sub == "passwd" {
		pw, err := readPassword(ctx, e, f.passwordStdin)
		if err != nil {
			return e.errorf("user %s: %v", sub, err)
		}
		if hash, err = auth.HashPassword(pw); err != nil {
			return e.errorf("user %s: %v", sub, err)
		}
	}

	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := sqlitestore.Open(ctx, dataDir, sqlitestore.Options{Bus: events.NewMemory(), Logger: logger})
	if err != nil {
		return e.errorf("open data directory: %v", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			e.errorf("close data directory: %v", err)
		}
	}()

	switch sub {
	case "add":
		if _, err := st.CreateAccount(ctx, name, hash); err != nil {
			return e.errorf("user add %s: %v", name, err)
		}
		fmt.Fprintf(e.stdout, "created account %s\n", name)
	case "passwd":
		if err := st.SetPasswordHash(ctx, name, hash); err != nil {
			return e.errorf("user passwd %s: %v", name, err)
		}
		fmt.Fprintf(e.stdout, "changed password of %s\n", name)
	case "del":
		if err := st.DeleteAccount(ctx, name); err != nil {
			return e.errorf("user del %s: %v", name, err)
		}
		fmt.Fprintf(e.stdout, "deleted account %s\n", name)
	case "list":
		accts, err := st.Accounts(ctx)
		if err != nil {
			return e.errorf("user list: %v", err)
		}
		printAccounts(e, accts)
	}
	return ExitOK
}

// dataDir resolves the data directory from --data, --config or the default.
func (f userFlags) dataDir() (string, error) {
	if f.data != "" {
		return f.data, nil
	}
	cfg := config.Defaults()
	if f.config != "" {
		var err error
		if cfg, err = config.Load(f.config); err != nil {
			return "", err
		}
	}
	return cfg.DataDir, nil
}

// checkUserName rejects names that could not be typed in an IMAP LOGIN.
func checkUserName(name string) error {
	if name == "" || len(name) > 255 {
		return errors.New("name must be 1 to 255 bytes")
	}
	if !utf8.ValidString(name) {
		return errors.New("name must be valid UTF-8")
	}
	if strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("name %q contains spaces or control characters", name)
	}
	return nil
}

func printAccounts(e *env, accts []store.AccountInfo) {
	tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "NAME\tMESSAGES\tBYTES\tMAILBOXES\t")
	for _, a := range accts {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", a.Name, a.Messages, a.Bytes, a.Mailboxes)
	}
	tw.Flush()
}
