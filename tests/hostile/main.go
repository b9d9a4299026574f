// Command hostile attacks an IMAP server (Rookery, Dovecot, any) with
// malformed and expensive commands from many connections for a bounded
// time, while one well-behaved client measures how long the server takes
// to answer it.
//
// Each of -conns workers runs the hostile actions one after the other
// (each worker from its own starting point), each on a fresh connection
// from -src:
//
//	garbage      lines that are not IMAP (random bytes, unbalanced syntax), before and after login
//	longline     command lines of 64 KiB + 1 to 2 MiB
//	hugeliteral  {4294967295}, {4294967295+}, ~{…}, overflowing counts, never sent
//	cutliteral   a literal announced and cut off half-way, then the connection dropped
//	manyliterals SEARCH of up to 1,000 string literals of 1 or 64 KiB each (LITERAL+)
//	nesting      parentheses nested 31 to 20,000 deep in FETCH, SEARCH, STORE
//	seqset       1:*,1:*,… and 1,3,5,… sequence sets of 60 KiB in FETCH, SEARCH, STORE, COPY
//	listpattern  "%*"×N, hundreds of patterns, RECURSIVEMATCH, LIST-STATUS
//	create       CREATE of deep (to 10,000 levels) and long (to 60,000 bytes) names, RENAME of trees
//	search       SEARCH/SORT/THREAD with OR and NOT nested to 5,000, 6,000 keys, 60 KB needles
//	storekw      STORE of up to 5,000 new keywords on every message (NO [LIMIT]
//	             once the mailbox has max_keywords_per_mailbox)
//	appendmime   APPEND of broken MIME (unterminated boundaries, 1,000-level nesting,
//	             a 300 KiB header line, 20,000 fields, 20,000 parts, RFC 2231 floods), then FETCH of it
//	authbig      AUTHENTICATE with responses of 10 KB to 1 MB (from -auth-src)
//	idlehold     IDLE left without DONE (or ended with garbage) after up to -hold
//	abandon      connections dropped at once, after the greeting, mid-TLS-handshake or after -hold
//
// and -slowloris connections each send a LOGIN line one byte per second
// until the server closes them (then they connect again). Logged-in
// actions use -hostile-user; the hostile user's INBOX is expunged now and
// then so that disk use stays bounded.
//
// Meanwhile one well-behaved client (-good-user, from the default local
// address) loops: connect, LOGIN, SELECT INBOX, 20 × (FETCH of the newest
// 50 messages' header fields, NOOP), LOGOUT, and records each command's
// latency. Before the clock starts, its INBOX is filled up to 50 small
// messages.
//
//	go run ./tests/hostile -addr 127.0.0.1:1143 -good-user alice -hostile-user bob -duration 60s -server-pid $(pidof rookery)
//
// The report gives the well-behaved client's p50/p99/max per command and
// overall, the number of each hostile action and the server's answers to
// them (OK, NO, BAD, BYE, closed, timeout; "+" a continuation request,
// "huge+" one for a literal of 4 GiB or more, which no server should
// send, "left" a connection the generator dropped on purpose), and with -server-pid the peak RSS
// sampled from /proc/PID/status every 250 ms (and VmHWM at the end, the
// process's high-water mark, which catches shorter spikes and work the server
// goes on with after the run). The exit status is 1 when
// the well-behaved client's p99 exceeds -max-p99, the peak RSS exceeds
// -max-rss, the well-behaved client got an error or no answer within
// -timeout, the server process went away, or the server does not answer
// a fresh connection after the run; 2 for bad flags.
//
// Every connection is closed by -duration + -timeout + 1 s at the latest.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// config is the parsed command line.
type config struct {
	addr        string
	tls         bool
	conns       int
	slowloris   int
	duration    time.Duration
	timeout     time.Duration
	hold        time.Duration
	goodUser    string
	hostileUser string
	pass        string
	src         string
	authSrc     string
	seed        uint64
	serverPID   int
	maxP99      time.Duration
	maxRSS      int64
	asJSON      bool
}

func main() { os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }

// run is main with its arguments and outputs; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "hostile:", err)
		return 2
	}
	rep, err := attack(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "hostile:", err)
		return 1
	}
	if cfg.asJSON {
		rep.writeTable(stderr)
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "hostile:", err)
			return 1
		}
	} else {
		rep.writeTable(stdout)
	}
	if len(rep.Verdict) > 0 {
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("hostile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := &config{}
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:1143", "IMAP server host:port")
	fs.BoolVar(&cfg.tls, "tls", false, "implicit TLS (certificate not verified)")
	fs.IntVar(&cfg.conns, "conns", 20, "hostile workers, each with one connection at a time")
	fs.IntVar(&cfg.slowloris, "slowloris", 4, "connections sending one byte per second")
	fs.DurationVar(&cfg.duration, "duration", 30*time.Second, "how long the attack lasts")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "time allowed for one response")
	fs.DurationVar(&cfg.hold, "hold", 10*time.Second, "longest time an idling or abandoned connection is held")
	fs.StringVar(&cfg.goodUser, "good-user", "alice", "the well-behaved client's user")
	fs.StringVar(&cfg.hostileUser, "hostile-user", "bob", "the user hostile actions log in as")
	fs.StringVar(&cfg.pass, "pass", "pass", "password of both users")
	fs.StringVar(&cfg.src, "src", "127.0.0.2", "local address of hostile connections (empty: any), so that per-address limits and throttling fall on them, not on the well-behaved client")
	fs.StringVar(&cfg.authSrc, "auth-src", "127.0.0.3", "local address of the failing AUTHENTICATE actions (empty: any)")
	fs.Uint64Var(&cfg.seed, "seed", 1, "seed of the random choices")
	fs.IntVar(&cfg.serverPID, "server-pid", 0, "server process whose RSS is sampled from /proc/PID/status (0: none)")
	fs.DurationVar(&cfg.maxP99, "max-p99", time.Second, "fail if the well-behaved client's p99 latency exceeds this")
	maxRSS := fs.String("max-rss", "0", "fail if the server's peak RSS exceeds this (bytes, or 512MiB, 2G…; 0: no limit)")
	fs.BoolVar(&cfg.asJSON, "json", false, "write the report as JSON to stdout (the table goes to stderr)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hostile [flags]   (see the package documentation: go doc ./tests/hostile)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.maxRSS, err = parseSize(*maxRSS); err != nil {
		return nil, fmt.Errorf("-max-rss: %w", err)
	}
	for _, a := range []string{cfg.src, cfg.authSrc} {
		if a != "" && net.ParseIP(a) == nil {
			return nil, fmt.Errorf("bad local address %q", a)
		}
	}
	switch {
	case cfg.conns < 0 || cfg.conns > 10_000 || cfg.slowloris < 0 || cfg.slowloris > 10_000:
		return nil, errors.New("-conns and -slowloris must be 0..10000")
	case cfg.duration <= 0 || cfg.duration > 24*time.Hour || cfg.timeout <= 0 || cfg.hold < 0:
		return nil, errors.New("-duration (at most 24h) and -timeout must be > 0, -hold ≥ 0")
	case cfg.maxP99 <= 0:
		return nil, errors.New("-max-p99 must be > 0")
	case cfg.goodUser == "" || cfg.hostileUser == "":
		return nil, errors.New("-good-user and -hostile-user must be set")
	}
	return cfg, nil
}

// parseSize reads a byte count: digits with an optional K, M, G suffix
// (binary multiples; "KiB", "MB" and the like are read the same way).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	shift := 0
	switch {
	case strings.HasSuffix(t, "K"):
		shift = 10
	case strings.HasSuffix(t, "M"):
		shift = 20
	case strings.HasSuffix(t, "G"):
		shift = 30
	}
	if shift > 0 {
		t = t[:len(t)-1]
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n << shift, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// attack runs the workers, the slowloris connections, the well-behaved
// client and the RSS sampler, and returns the report. It returns an error
// only when the run could not start.
func attack(ctx context.Context, cfg *config, log io.Writer) (*report, error) {
	setup := newRegistry(time.Now().Add(cfg.timeout * 10))
	if err := prefillGood(ctx, cfg, setup, 50); err != nil {
		setup.closeAll()
		return nil, fmt.Errorf("prefill of %s: %w", cfg.goodUser, err)
	}
	setup.closeAll()
	fmt.Fprintf(log, "hostile: %d workers and %d slowloris connections against %s for %s\n", cfg.conns, cfg.slowloris, cfg.addr, cfg.duration)
	t0 := time.Now()
	end := t0.Add(cfg.duration)
	reg := newRegistry(end.Add(cfg.timeout + time.Second))
	rctx, cancel := context.WithDeadline(ctx, reg.hard)
	defer cancel()

	stats := newHostileStats()
	var wg sync.WaitGroup
	for i := range cfg.conns + cfg.slowloris {
		a := &actor{ctx: rctx, cfg: cfg, reg: reg, stats: stats, end: end,
			rng: rand.New(rand.NewPCG(cfg.seed, uint64(i)+1))}
		if i >= cfg.conns {
			wg.Go(func() { slowloris(a, cfg.src) })
			continue
		}
		wg.Go(func() { a.work(i) })
	}
	var good *goodStats
	wg.Go(func() { good = goodClient(rctx, cfg, reg, end) })
	var peakRSS, hwm int64
	var rssErr error
	sctx, stopRSS := context.WithCancel(rctx)
	var sampler sync.WaitGroup
	if cfg.serverPID > 0 {
		sampler.Go(func() { peakRSS, hwm, rssErr = sampleRSS(sctx, cfg.serverPID) })
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	unstopped := 0
	select {
	case <-done:
	case <-time.After(time.Until(reg.hard) + 100*time.Millisecond):
		unstopped = reg.closeAll()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			fmt.Fprintln(log, "hostile: some workers did not stop 2 s after their connections were closed")
		}
	}
	reg.closeAll()
	stopRSS()
	sampler.Wait()

	rep := buildReport(cfg, time.Since(t0), stats, good)
	rep.Unstopped = unstopped
	rep.PeakRSS, rep.HWM = peakRSS, hwm
	if rssErr != nil {
		rep.Verdict = append(rep.Verdict, rssErr.Error())
	}
	// A fresh connection after the attack must still be answered.
	probe := newRegistry(time.Now().Add(cfg.timeout))
	if c, _, err := dialRaw(ctx, cfg, probe, ""); err != nil {
		rep.Verdict = append(rep.Verdict, "server does not answer after the run: "+err.Error())
	} else {
		if k, line := c.command("NOOP"); k != kindOK {
			rep.Verdict = append(rep.Verdict, fmt.Sprintf("NOOP after the run: %s %s", k, line))
		}
		c.close()
	}
	probe.closeAll()
	if cfg.maxRSS > 0 && peakRSS > cfg.maxRSS {
		rep.Verdict = append(rep.Verdict, fmt.Sprintf("peak RSS %d MiB above -max-rss %d MiB", peakRSS>>20, cfg.maxRSS>>20))
	}
	return rep, nil
}

// work runs the actions in turn, starting at the i-th, until the end.
func (a *actor) work(i int) {
	for n := i; time.Now().Before(a.end) && a.ctx.Err() == nil; n++ {
		act := actions[n%len(actions)]
		a.name = act.name
		a.stats.count(act.name)
		src := a.cfg.src
		if act.authSrc {
			src = a.cfg.authSrc
		}
		if act.run == nil {
			abandon(a, src)
			continue
		}
		c, _, err := dialRaw(a.ctx, a.cfg, a.reg, src)
		if err != nil {
			if a.ctx.Err() == nil {
				a.record(kindClosed, "connect: "+err.Error())
				a.sleep(100 * time.Millisecond) // refused: do not spin
			}
			continue
		}
		act.run(a, c)
		c.close()
	}
}

// report is the result of a run; the table and the JSON show the same.
type report struct {
	Addr      string                  `json:"addr"`
	DurationS float64                 `json:"duration_s"`
	Conns     int                     `json:"conns"`
	Slowloris int                     `json:"slowloris"`
	Good      []latencyRow            `json:"good"`
	GoodAll   latencyRow              `json:"good_all"`
	GoodFail  int64                   `json:"good_failures"`
	GoodLost  int64                   `json:"good_unanswered"`
	GoodErrs  []string                `json:"good_errors,omitempty"`
	Actions   map[string]*actionStats `json:"actions"`
	Responses map[string]int64        `json:"responses"`
	PeakRSS   int64                   `json:"peak_rss_bytes,omitempty"`
	HWM       int64                   `json:"vm_hwm_bytes,omitempty"` // the server's VmHWM at the end
	Unstopped int                     `json:"unstopped"`
	Verdict   []string                `json:"verdict,omitempty"` // why the run failed; empty: passed
}

// latencyRow is one command of the well-behaved client.
type latencyRow struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func row(name string, ds []time.Duration) latencyRow {
	s := sorted(ds)
	return latencyRow{Name: name, Count: len(s), P50: ms(percentile(s, .5)), P99: ms(percentile(s, .99)), Max: ms(percentile(s, 1))}
}

func buildReport(cfg *config, elapsed time.Duration, h *hostileStats, g *goodStats) *report {
	rep := &report{Addr: cfg.addr, DurationS: elapsed.Seconds(), Conns: cfg.conns, Slowloris: cfg.slowloris,
		Actions: h.byAction, Responses: map[string]int64{}}
	var all []time.Duration
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range g.lat {
			if !yield(k) {
				return
			}
		}
	}) {
		rep.Good = append(rep.Good, row(name, g.lat[name]))
		all = append(all, g.lat[name]...)
	}
	rep.GoodAll = row("all", all)
	rep.GoodFail, rep.GoodLost, rep.GoodErrs = g.failures, g.unanswered, g.errs
	for _, s := range h.byAction {
		for k, n := range s.Kinds {
			rep.Responses[k] += n
		}
	}
	switch {
	case rep.GoodAll.Count == 0:
		rep.Verdict = append(rep.Verdict, "the well-behaved client got no answer at all")
	case time.Duration(rep.GoodAll.P99*float64(time.Millisecond)) > cfg.maxP99:
		rep.Verdict = append(rep.Verdict, fmt.Sprintf("well-behaved p99 %.1f ms above -max-p99 %s", rep.GoodAll.P99, cfg.maxP99))
	}
	if g.unanswered > 0 {
		rep.Verdict = append(rep.Verdict, fmt.Sprintf("the server left the well-behaved client unanswered %d times", g.unanswered))
	}
	if g.failures > 0 {
		rep.Verdict = append(rep.Verdict, fmt.Sprintf("the well-behaved client got %d errors", g.failures))
	}
	return rep
}

func (r *report) writeTable(w io.Writer) {
	fmt.Fprintf(w, "hostile run against %s: %.1f s, %d workers, %d slowloris\n\n", r.Addr, r.DurationS, r.Conns, r.Slowloris)
	fmt.Fprintf(w, "well-behaved client     count   p50 ms   p99 ms   max ms\n")
	for _, l := range append(slices.Clone(r.Good), r.GoodAll) {
		fmt.Fprintf(w, "  %-20s %7d %8.1f %8.1f %8.1f\n", l.Name, l.Count, l.P50, l.P99, l.Max)
	}
	fmt.Fprintf(w, "  failures %d, unanswered %d\n", r.GoodFail, r.GoodLost)
	for _, e := range r.GoodErrs {
		fmt.Fprintf(w, "    %s\n", e)
	}
	fmt.Fprintf(w, "\nhostile action      count")
	for k := range numKinds {
		fmt.Fprintf(w, " %7s", k)
	}
	fmt.Fprintln(w)
	names := append([]string{}, "slowloris")
	for _, a := range actions {
		names = append(names, a.name)
	}
	slices.Sort(names)
	for _, name := range names {
		s := r.Actions[name]
		fmt.Fprintf(w, "  %-15s %7d", name, s.Count)
		for k := range numKinds {
			fmt.Fprintf(w, " %7d", s.Kinds[k.String()])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  %-15s %7s", "all responses", "")
	for k := range numKinds {
		fmt.Fprintf(w, " %7d", r.Responses[k.String()])
	}
	fmt.Fprintln(w)
	for _, name := range names {
		for _, s := range r.Actions[name].Samples {
			fmt.Fprintf(w, "  %s: %s\n", name, s)
		}
	}
	if r.PeakRSS > 0 {
		fmt.Fprintf(w, "\nserver peak RSS: %.1f MiB (sampled every 250 ms; VmHWM at the end %.1f MiB)\n",
			float64(r.PeakRSS)/(1<<20), float64(r.HWM)/(1<<20))
	}
	if r.Unstopped > 0 {
		fmt.Fprintf(w, "connections closed by force at the end: %d\n", r.Unstopped)
	}
	if len(r.Verdict) == 0 {
		fmt.Fprintln(w, "\nPASS")
		return
	}
	fmt.Fprintln(w, "\nFAIL")
	for _, v := range r.Verdict {
		fmt.Fprintln(w, "  "+v)
	}
}
