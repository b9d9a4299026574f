// Command mixload is a mixed-workload load generator for any IMAP server
// (Rookery, Dovecot), modelled on how real clients behave: N clients on M
// users, each with one connection that logs in, SELECTs a mailbox and
// then loops until the deadline, choosing each operation by weight
// (after a pause of mean -think, as a person reading mail makes; with
// -think 0, the default, clients never pause and the slower server also
// gets the lighter load):
//
//	fetchhdr   UID FETCH <newest 50> (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])
//	fetchbody  UID FETCH <uid> (BODY.PEEK[]), or BODY.PEEK[1] (3 in 10)
//	store      UID STORE <uid> +FLAGS/-FLAGS (\Seen), (\Flagged) or ($Label1)
//	expunge    UID STORE <uid> +FLAGS.SILENT (\Deleted), UID EXPUNGE <uid> (EXPUNGE without UIDPLUS)
//	append     APPEND of a new generated message (LITERAL+ when advertised)
//	list       LIST "" "*"
//	status     STATUS (MESSAGES UNSEEN UIDNEXT) of 2–3 other mailboxes, one after the other
//	idle       IDLE for 100–1000 ms, then DONE
//	search     UID SEARCH UNSEEN, or UID SEARCH SUBJECT <word>
//	noop       NOOP
//	relogin    LOGOUT, reconnect, LOGIN, SELECT (as phones do)
//
//	go run ./tests/mixload -addr 127.0.0.1:1143 -clients 50 -users 20 -pass pass -duration 30s
//	go run ./tests/mixload -addr 127.0.0.1:1993 -tls -user-list alice,bob -json > run.json
//
// Clients connect one after the other over the first half of -warmup.
// Client i works on user (i mod M)+1, named by -user-format (user1..userM)
// or taken from -user-list. Before the clock starts, -prefill tops every
// user's mailbox up to K messages; the messages (median ~4 KB, a fifth
// with a 20–200 KB base64 attachment, varied header fields) are generated
// from -seed. A mailbox that grows past -max-messages has its oldest
// messages expunged down to 90% of it (the "trim" row).
//
// The latency of an operation is the time from sending its first command
// to reading its last tagged response; for operations of several commands
// (expunge, status, relogin, trim) it is their sum, for idle the time to
// the continuation request plus the time from DONE to the tagged OK. Only
// operations that start after -warmup and before -warmup + -duration are
// counted; ops/s is the number that succeeded divided by -duration.
// Latencies go into fixed log-linear histograms (error < 0.5%). Tagged NO
// and BAD, timeouts (-timeout per command), responses the parser rejects
// or that contradict what the session knows (an EXPUNGE of a message
// beyond EXISTS, a UID that changes), and dropped connections are counted
// per command, with the first few of each reported; a client whose
// connection breaks reconnects after 1 s (failed attempts back off up to
// 8 s), as mail clients do. The run ends at -warmup + -duration + a
// grace period of -timeout + 1s at the latest: every connection is closed
// then.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// config is the parsed command line.
type config struct {
	addr          string
	addrs         []string // addr split at commas
	tls, starttls bool
	clients       int
	users         []string
	pass          string
	duration      time.Duration
	warmup        time.Duration
	seed          uint64
	weights       weights
	mailbox       string
	prefill       int
	maxMessages   int
	window        int
	timeout       time.Duration
	think         time.Duration
}

func main() {
	cfg, asJSON, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "mixload:", err)
		os.Exit(2)
	}
	rep, err := run(context.Background(), cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mixload:", err)
		os.Exit(1)
	}
	if asJSON {
		rep.writeTable(os.Stderr)
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(os.Stderr, "mixload:", err)
			os.Exit(1)
		}
	} else {
		rep.writeTable(os.Stdout)
	}
}

func parseFlags(args []string, stderr io.Writer) (*config, bool, error) {
	fs := flag.NewFlagSet("mixload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &config{}
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:1143", "IMAP server host:port, or several separated by commas (nodes of one installation: client i connects to the i-th modulo their number)")
	fs.BoolVar(&cfg.tls, "tls", false, "implicit TLS (certificate not verified)")
	fs.BoolVar(&cfg.starttls, "starttls", false, "STARTTLS after the greeting (certificate not verified)")
	fs.IntVar(&cfg.clients, "clients", 20, "concurrent clients, one connection each")
	users := fs.Int("users", 20, "number of users: user 1..M, named by -user-format")
	userFormat := fs.String("user-format", "user%d", "user name format (fmt, with the user number)")
	userList := fs.String("user-list", "", "comma-separated user names (instead of -users and -user-format)")
	fs.StringVar(&cfg.pass, "pass", "pass", "password of every user")
	fs.DurationVar(&cfg.duration, "duration", 30*time.Second, "measured time")
	fs.DurationVar(&cfg.warmup, "warmup", 5*time.Second, "time before the measurement (clients log in and run, not counted)")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the operation choices and the generated messages")
	w := fs.String("weights", defaultWeights, "operation weights, name=weight,… (operations not named: 0)")
	fs.StringVar(&cfg.mailbox, "mailbox", "INBOX", "mailbox every client selects and appends to")
	fs.IntVar(&cfg.prefill, "prefill", 200, "before measuring, APPEND to every user's mailbox until it has this many messages")
	fs.IntVar(&cfg.maxMessages, "max-messages", 500, "expunge a mailbox's oldest messages when it has more than this (0: never)")
	fs.IntVar(&cfg.window, "window", 50, "newest messages a client looks at (fetchhdr range; fetchbody, store and expunge targets)")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "time allowed for one command's response")
	fs.DurationVar(&cfg.think, "think", 0, "mean pause of a client between two operations (exponentially distributed; 0: none)")
	asJSON := fs.Bool("json", false, "write the report as JSON to stdout (the table goes to stderr)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mixload [flags]   (see the package documentation: go doc ./tests/mixload)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, false, err
	}
	if fs.NArg() > 0 {
		return nil, false, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.weights, err = parseWeights(*w); err != nil {
		return nil, false, err
	}
	if *userList != "" {
		for u := range strings.SplitSeq(*userList, ",") {
			if u = strings.TrimSpace(u); u != "" {
				cfg.users = append(cfg.users, u)
			}
		}
	} else {
		if *users < 1 || *users > 1_000_000 {
			return nil, false, errors.New("-users must be 1..1000000")
		}
		if !strings.Contains(*userFormat, "%d") {
			return nil, false, errors.New("-user-format must contain %d")
		}
		for i := 1; i <= *users; i++ {
			cfg.users = append(cfg.users, fmt.Sprintf(*userFormat, i))
		}
	}
	for a := range strings.SplitSeq(cfg.addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.addrs = append(cfg.addrs, a)
		}
	}
	switch {
	case len(cfg.addrs) == 0:
		return nil, false, errors.New("-addr names no server")
	case len(cfg.users) == 0:
		return nil, false, errors.New("no users")
	case cfg.tls && cfg.starttls:
		return nil, false, errors.New("-tls and -starttls exclude each other")
	case cfg.clients < 1 || cfg.clients > 100_000:
		return nil, false, errors.New("-clients must be 1..100000")
	case cfg.duration <= 0 || cfg.warmup < 0 || cfg.timeout <= 0:
		return nil, false, errors.New("-duration and -timeout must be > 0, -warmup ≥ 0")
	case cfg.prefill < 0 || cfg.maxMessages < 0 || (cfg.maxMessages > 0 && cfg.maxMessages < 20):
		return nil, false, errors.New("-prefill must be ≥ 0, -max-messages 0 or ≥ 20")
	case cfg.window < 1 || cfg.window > 100_000:
		return nil, false, errors.New("-window must be 1..100000")
	}
	return cfg, *asJSON, nil
}

// run prefills the mailboxes, runs the clients and returns the report. It
// returns an error only when the run could not start (prefill failed).
func run(ctx context.Context, cfg *config, log io.Writer) (*report, error) {
	gen := newGenerator(cfg.seed)
	counts, err := prefill(ctx, cfg, gen, log)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "mixload: %d clients on %s: %s warm-up, then %s measured\n", cfg.clients, cfg.addr, cfg.warmup, cfg.duration)
	t0 := time.Now()
	st := &stats{t0: t0, start: t0.Add(cfg.warmup), end: t0.Add(cfg.warmup + cfg.duration)}
	stop := newStopper(st.end.Add(cfg.timeout + time.Second))
	wctx, cancel := context.WithDeadline(ctx, stop.hard)
	defer cancel()
	var wg sync.WaitGroup
	for i := range cfg.clients {
		w := &worker{
			id:   i,
			user: cfg.users[i%len(cfg.users)],
			cfg:  cfg,
			rng:  rand.New(rand.NewPCG(cfg.seed, uint64(i)+1)),
			gen:  gen,
			st:   st,
			stop: stop,
			ctx:  wctx,
		}
		// Clients connect one after the other over the first half of
		// the warm-up, not all in the same instant.
		delay := cfg.warmup / 2 * time.Duration(i) / time.Duration(cfg.clients)
		wg.Go(func() { w.run(delay) })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	unstopped := 0
	select {
	case <-done:
	case <-time.After(time.Until(stop.hard) + 100*time.Millisecond):
		unstopped = stop.closeAll()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			fmt.Fprintln(log, "mixload: some clients did not stop 2 s after their connections were closed")
		}
	}
	stop.closeAll()
	rep := st.report(cfg)
	rep.MessagesAtStart = counts
	rep.Unstopped = unstopped
	return rep, nil
}

// prefill tops every user's mailbox up to cfg.prefill messages, from a
// few connections, and returns the smallest and largest message counts
// found before. Message k of user u is the same for the same seed.
func prefill(ctx context.Context, cfg *config, gen *generator, log io.Writer) ([2]int, error) {
	counts := [2]int{-1, 0}
	if cfg.prefill == 0 {
		return [2]int{0, 0}, nil
	}
	stop := newStopper(time.Now().Add(24 * time.Hour))
	defer stop.closeAll()
	var next, appended atomic.Int64
	var mu sync.Mutex
	var firstErr error
	t0 := time.Now()
	base := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC).Add(-time.Duration(cfg.seed%1000) * time.Hour)
	var wg sync.WaitGroup
	for range min(len(cfg.users), 4) {
		wg.Go(func() {
			for {
				u := int(next.Add(1)) - 1
				if u >= len(cfg.users) {
					return
				}
				mu.Lock()
				failed := firstErr != nil
				mu.Unlock()
				if failed {
					return
				}
				n, err := prefillUser(ctx, cfg, gen, stop, u, base, &appended)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("prefill of %s: %w", cfg.users[u], err)
				}
				if counts[0] < 0 || n < counts[0] {
					counts[0] = n
				}
				counts[1] = max(counts[1], n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return counts, firstErr
	}
	if a := appended.Load(); a > 0 {
		fmt.Fprintf(log, "mixload: prefill appended %d messages in %s\n", a, time.Since(t0).Round(time.Millisecond))
	}
	return counts, nil
}

func prefillUser(ctx context.Context, cfg *config, gen *generator, stop *stopper, u int, base time.Time, appended *atomic.Int64) (int, error) {
	s, err := dial(ctx, cfg, stop, u)
	if err != nil {
		return 0, err
	}
	defer s.close()
	s.user = cfg.users[u]
	if err := s.login(); err != nil {
		return 0, err
	}
	if err := s.selectMailbox(); err != nil {
		return 0, err
	}
	have := len(s.uids)
	for k := have; k < cfg.prefill; k++ {
		r := rand.New(rand.NewPCG(cfg.seed, uint64(u)<<32|uint64(k)))
		date := base.Add(-time.Duration(cfg.prefill-k) * 47 * time.Minute)
		msg := gen.message(r, date, fmt.Sprintf("%d.u%d.%d.prefill", cfg.seed, u, k))
		flags := ""
		if r.IntN(10) < 8 {
			flags = `(\Seen) ` // most old mail has been read
		}
		if err := s.appendMessage(cfg.mailbox, flags, msg); err != nil {
			return have, err
		}
		appended.Add(1)
	}
	return have, s.logout()
}
