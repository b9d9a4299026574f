package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"

	"rookery/internal/config"
	"rookery/internal/delivery"
	"rookery/internal/events"
	"rookery/internal/store"
)

// Exit codes of `rookery deliver`, from sysexits.h, as sendmail and
// Postfix's local(8) mailbox_command interpret them.
const (
	exUsage     = 64 // --mailbox names no mailbox of the account: bounce
	exDataErr   = 65 // bad input: the MTA bounces
	exNoUser    = 67 // unknown user: bounce
	exCantCreat = 73 // cannot store (over quota, too big): bounce
	exTempFail  = 75 // temporary failure: the MTA retries later
	exNoPerm    = 77 // no permission on the data directory: bounce
)

const deliverUsage = `Usage:
  rookery deliver --user NAME [--mailbox M] [--from ADDR] [--address ADDR]
                  [--data DIR | --config FILE]

Reads one message on standard input and stores it durably in the INBOX of
account NAME, or in its mailbox M. When M does not exist (or cannot hold
messages), the message goes to INBOX and a warning says so on standard
error; the exit status is still 0, since the message is delivered (a
non-zero status would make the MTA bounce it or deliver it again). M with
an empty level (a leading, trailing or doubled "/"), a "." or ".." level
or a control character is refused (64). For Postfix, set for example
  mailbox_command = /usr/local/bin/rookery deliver --config /etc/rookery.toml --user "$USER" --from "$SENDER"
A leading "From " line (mbox envelope) is dropped; LF line endings become
CRLF. --from adds a Return-Path header, --address a Delivered-To header
(Postfix's local(8) already adds both: leave them out then).

It may run while "rookery serve" uses the same data directory (SQLite WAL
with a busy timeout). Sessions of the running server see the message at
their next mailbox synchronisation (NOOP, IDLE wake-up or a new SELECT).

Exit codes (sysexits): 0 delivered, 64 (EX_USAGE) a --mailbox that cannot
name a mailbox of the account, 65 (EX_DATAERR) unreadable input or a
message of nothing but blank lines, 67 no such user, 73 over quota (unless
lmtp.over_quota = "temporary") or message too big, 75 temporary failure
(the MTA retries), 77 no permission to open the data directory, 2 usage
error (flags).
`

func runDeliver(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "deliver", deliverUsage)
	var user, mailbox, from, address, data, cfgFile string
	fs.StringVar(&user, "user", "", "account name (required)")
	fs.StringVar(&mailbox, "mailbox", "", "mailbox to deliver into if it exists, else INBOX with a warning (default INBOX)")
	fs.StringVar(&from, "from", "", "envelope sender, for a Return-Path header")
	fs.StringVar(&address, "address", "", "recipient address, for a Delivered-To header")
	fs.StringVar(&data, "data", "", "data directory")
	fs.StringVar(&cfgFile, "config", "", "configuration file (data_dir, quota and size limits)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) > 0 || user == "" {
		return e.usagef(deliverUsage, "deliver: want --user NAME and no arguments")
	}
	fromSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "from" {
			fromSet = true
		}
	})
	cfg := config.Defaults()
	if cfgFile != "" {
		if cfg, err = config.Load(cfgFile); err != nil {
			e.errorf("%v", err)
			return exTempFail
		}
	}
	if data != "" {
		cfg.DataDir = data
	}
	if err := storeExists(cfg); err != nil {
		e.errorf("%v", err)
		return deliverOpenExit(err)
	}
	logger, err := newLogger(config.Log{Level: "warn", Format: cfg.Log.Format}, e.stderr)
	if err != nil {
		logger = slog.New(slog.NewTextHandler(e.stderr, nil))
	}
	st, err := openStore(ctx, cfg, events.NewMemory(), logger)
	if err != nil {
		e.errorf("%v", err)
		return deliverOpenExit(err)
	}
	defer func() { _ = st.Close() }()

	ag := newAgent(cfg, st, nil, logger)
	rcpt, err := ag.User(ctx, user, mailbox, address)
	if err == nil {
		in, rerr := skipFromLine(e.stdin)
		if rerr != nil {
			e.errorf("deliver: read message: %v", rerr)
			return exDataErr
		}
		err = ag.Deliver(ctx, delivery.Envelope{From: from, HasFrom: fromSet}, []delivery.Recipient{rcpt}, in)[0]
	}
	if err != nil {
		e.errorf("deliver to %s: %v", user, err)
		return deliverExit(ag, err)
	}
	return ExitOK
}

// deliverExit maps a delivery error to a sysexits code.
func deliverExit(ag *delivery.Agent, err error) int {
	switch {
	case errors.Is(err, delivery.ErrUnknownUser):
		return exNoUser
	case errors.Is(err, delivery.ErrBadMailbox):
		return exUsage
	case errors.Is(err, delivery.ErrEmpty):
		return exDataErr
	case ag.Temporary(err):
		return exTempFail
	case errors.Is(err, store.ErrOverQuota), errors.Is(err, store.ErrTooBig):
		return exCantCreat
	}
	return exTempFail
}

func deliverOpenExit(err error) int {
	if errors.Is(err, os.ErrPermission) {
		return exNoPerm
	}
	return exTempFail
}

// skipFromLine drops an mbox "From " envelope line at the start of r.
func skipFromLine(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(5)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if string(head) == "From " {
		if _, err := br.ReadSlice('\n'); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
	return br, nil
}
