package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"rookery/internal/auth"
	"rookery/internal/config"
	"rookery/internal/store"
)

const userUsage = `Usage:
  rookery user add NAME [--data DIR] [--password-stdin]
  rookery user passwd NAME [--data DIR] [--password-stdin]
  rookery user quota NAME [--storage SIZE] [--messages N] [--data DIR]
  rookery user del NAME [--data DIR]
  rookery user list [--data DIR]

The data directory is --data, else data_dir of --config FILE, else the
default (./rookery-data). Without --password-stdin the password is read
from the terminal (twice, without echo); with it, one line is read from
standard input. add and passwd store an argon2id hash and a SCRAM-SHA-256
verifier (accounts created before SCRAM support get one at their next
passwd).

Account names are case-insensitive: add stores the canonical form of NAME
(RFC 8265 UsernameCaseMapped: lower case, full-width letters as ASCII, NFC;
letters, digits and ASCII punctuation, no spaces), and every command,
login and delivery finds the account under any spelling of it. Accounts
created before this rule with another spelling were renamed to their
canonical form when the data directory was first opened by this version,
unless that name was taken; those keep their name as spelt.

quota sets per-account limits (RFC 9208): --storage takes a size ("2G",
"500M", bytes), --messages a count; 0 or "none" means unlimited, "default"
follows the [quota] section of the configuration. Without either flag it
prints the usage and limits.
`

// userFlags are the flags of every user subcommand.
type userFlags struct {
	data, config      string
	passwordStdin     bool
	storage, messages string
}

func runUser(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "user", userUsage)
	var f userFlags
	fs.StringVar(&f.data, "data", "", "data directory")
	fs.StringVar(&f.config, "config", "", "configuration file (for data_dir)")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false, "read the password as one line from standard input")
	fs.StringVar(&f.storage, "storage", "", "quota: storage limit (size, 0/none, default)")
	fs.StringVar(&f.messages, "messages", "", "quota: message count limit (number, 0/none, default)")
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
	case "add", "passwd", "del", "quota":
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
	if (f.storage != "" || f.messages != "") && sub != "quota" {
		return e.usagef(userUsage, "user %s: --storage and --messages are only for quota", sub)
	}
	var q store.Quota
	if q.StorageBytes, err = parseLimit(f.storage, true); err != nil {
		return e.usagef(userUsage, "user quota: --storage: %v", err)
	}
	if q.Messages, err = parseLimit(f.messages, false); err != nil {
		return e.usagef(userUsage, "user quota: --messages: %v", err)
	}
	cfg, err := f.loadConfig()
	if err != nil {
		return e.errorf("%v", err)
	}
	if sub != "add" {
		// Do not create an empty data directory by mistake.
		if err := storeExists(cfg); err != nil {
			return e.errorf("%v", err)
		}
	}

	var name string
	if want == 1 {
		name = pos[0]
		if err := checkUserName(name); err != nil {
			return e.usagef(userUsage, "user %s: %v", sub, err)
		}
		if sub == "add" {
			// Checked before the password is asked for; the other
			// subcommands find an account under any spelling of its
			// name (and one stored before the rule as spelt).
			if _, err := store.CanonicalAccountName(name); err != nil {
				return e.usagef(userUsage, "user add: %v", err)
			}
		}
	}
	// Read the password before opening the store, so that a mistake
	// in typing it costs nothing.
	var hash, scram string
	if sub == "add" || sub == "passwd" {
		pw, err := readPassword(ctx, e, f.passwordStdin)
		if err != nil {
			return e.errorf("user %s: %v", sub, err)
		}
		if hash, err = auth.HashPassword(pw); err != nil {
			return e.errorf("user %s: %v", sub, err)
		}
		if scram, err = auth.NewSCRAMSecret(pw); err != nil {
			return e.errorf("user %s: %v", sub, err)
		}
	}

	st, closeStore, err := openAdminStore(ctx, e, cfg)
	if err != nil {
		return e.errorf("%v", err)
	}
	defer closeStore()

	switch sub {
	case "add":
		acct, err := st.CreateAccount(ctx, name, hash)
		if err != nil {
			return e.errorf("user add %s: %v", name, err)
		}
		if err := st.SetSCRAMSecret(ctx, acct.Name, scram); err != nil {
			return e.errorf("user add %s: %v", name, err)
		}
		if acct.Name != name {
			fmt.Fprintf(e.stdout, "created account %s (the canonical form of %s: account names are case-insensitive)\n", acct.Name, name)
		} else {
			fmt.Fprintf(e.stdout, "created account %s\n", acct.Name)
		}
	case "passwd":
		if err := st.SetPasswordHash(ctx, name, hash); err != nil {
			return e.errorf("user passwd %s: %v", name, err)
		}
		if err := st.SetSCRAMSecret(ctx, name, scram); err != nil {
			return e.errorf("user passwd %s: %v", name, err)
		}
		fmt.Fprintf(e.stdout, "changed password of %s\n", name)
	case "del":
		if err := st.DeleteAccount(ctx, name); err != nil {
			return e.errorf("user del %s: %v", name, err)
		}
		fmt.Fprintf(e.stdout, "deleted account %s\n", name)
	case "quota":
		if q.StorageBytes != nil || q.Messages != nil {
			if err := st.SetQuota(ctx, name, q); err != nil {
				return e.errorf("user quota %s: %v", name, err)
			}
		}
		acct, err := st.Account(ctx, name)
		if err != nil {
			return e.errorf("user quota %s: %v", name, err)
		}
		u, err := st.Quota(ctx, acct.ID)
		if err != nil {
			return e.errorf("user quota %s: %v", name, err)
		}
		fmt.Fprintf(e.stdout, "%s: storage %d of %s bytes, messages %d of %s\n", name,
			u.StorageBytes, limitString(u.StorageLimitBytes), u.Messages, limitString(u.MessageLimit))
	case "list":
		accts, err := st.Accounts(ctx)
		if err != nil {
			return e.errorf("user list: %v", err)
		}
		printAccounts(e, accts)
	}
	return ExitOK
}

// loadConfig returns --config's configuration (or the defaults) with the
// data directory from --data.
func (f userFlags) loadConfig() (config.Config, error) {
	cfg := config.Defaults()
	if f.config != "" {
		var err error
		if cfg, err = config.Load(f.config); err != nil {
			return cfg, err
		}
	}
	if f.data != "" {
		cfg.DataDir = f.data
	}
	return cfg, nil
}

// loadExistingConfig is loadConfig for commands that only read or repair
// a data directory: it must exist already (opening would create it).
func (f userFlags) loadExistingConfig() (config.Config, error) {
	cfg, err := f.loadConfig()
	if err != nil {
		return cfg, err
	}
	if err := storeExists(cfg); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// parseLimit parses a quota flag: "" (unchanged) → nil, "default" →
// store.QuotaDefault, "none"/"unlimited"/"0" → 0, else a size or a count.
func parseLimit(s string, size bool) (*int64, error) {
	var v int64
	switch strings.ToLower(s) {
	case "":
		return nil, nil
	case "default":
		v = store.QuotaDefault
	case "none", "unlimited":
		v = 0
	default:
		if size {
			n, err := config.ParseSize(s)
			if err != nil {
				return nil, err
			}
			v = int64(n)
		} else {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%q: want a non-negative number", s)
			}
			v = n
		}
	}
	return &v, nil
}

func limitString(n int64) string {
	if n <= 0 {
		return "unlimited"
	}
	return strconv.FormatInt(n, 10)
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
	fmt.Fprintln(tw, "NAME\tMESSAGES\tBYTES\tMAILBOXES\tMAX_MESSAGES\tMAX_BYTES\t")
	for _, a := range accts {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t\n", a.Name, a.Messages, a.Bytes, a.Mailboxes,
			limitString(a.MessageLimit), limitString(a.StorageLimit))
	}
	tw.Flush()
}
