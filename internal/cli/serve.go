package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"rookery/internal/auth"
	"rookery/internal/config"
	"rookery/internal/delivery"
	"rookery/internal/events"
	"rookery/internal/imapserver"
	"rookery/internal/lmtp"
	"rookery/internal/metrics"
	"rookery/internal/store"
	"rookery/internal/tlsconf"
)

const serveUsage = `Usage:
  rookery serve [--config FILE] [--data DIR] [--imap ADDR] [--imaps ADDR]
                [--lmtp ADDR] [--metrics ADDR] [--demo]

Runs the IMAP server until SIGTERM or SIGINT, then drains sessions for up to
30 seconds. SIGHUP reloads the TLS certificate files. Flags override the
configuration file; an empty ADDR disables that listener. --lmtp takes
host:port or a Unix socket path (unix:/path or /path). --metrics serves
Prometheus metrics at http://ADDR/metrics. --demo creates
the account demo (password demo) if it does not exist and prints how to
connect.
`

// shutdownGrace bounds how long sessions may take to finish on shutdown.
const shutdownGrace = 30 * time.Second

// Demo account credentials (--demo).
const (
	demoUser     = "demo"
	demoPassword = "demo"
)

type serveFlags struct {
	config, data, imap, imaps string
	lmtp, metrics             string
	demo                      bool
	set                       map[string]bool // flags given on the command line
}

func runServe(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "serve", serveUsage)
	var f serveFlags
	fs.StringVar(&f.config, "config", "", "configuration file (TOML)")
	fs.StringVar(&f.data, "data", "", "data directory (overrides data_dir)")
	fs.StringVar(&f.imap, "imap", "", "plaintext/STARTTLS listen address, \"\" disables (overrides imap.listen)")
	fs.StringVar(&f.imaps, "imaps", "", "implicit-TLS listen address, \"\" disables (overrides imap.listen_tls)")
	fs.StringVar(&f.lmtp, "lmtp", "", "LMTP listen address (host:port, unix:/path or /path), \"\" disables (overrides lmtp.listen)")
	fs.StringVar(&f.metrics, "metrics", "", "Prometheus metrics HTTP address, \"\" disables (overrides metrics.listen)")
	fs.BoolVar(&f.demo, "demo", false, "create the demo/demo account if missing and print connection details")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagResult(err)
	}
	if len(pos) > 0 {
		return e.usagef(serveUsage, "serve: unexpected arguments %q", pos)
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })

	cfg, err := f.loadConfig()
	if err != nil {
		return e.errorf("%v", err)
	}
	logger, err := newLogger(cfg.Log, e.stderr)
	if err != nil {
		return e.errorf("%v", err)
	}
	if err := serve(ctx, e, cfg, f.demo, logger); err != nil {
		logger.Error("serve failed", "err", err)
		return ExitFailure
	}
	return ExitOK
}

// loadConfig returns the configuration file (or the defaults) with the
// command-line overrides applied, validated.
func (f serveFlags) loadConfig() (config.Config, error) {
	cfg := config.Defaults()
	if f.config != "" {
		var err error
		if cfg, err = config.Load(f.config); err != nil {
			return cfg, err
		}
	}
	if f.set["data"] {
		cfg.DataDir = f.data
	}
	if f.set["imap"] {
		cfg.IMAP.Listen = f.imap
	}
	if f.set["imaps"] {
		cfg.IMAP.ListenTLS = f.imaps
	}
	if f.set["lmtp"] {
		cfg.LMTP.Listen = f.lmtp
	}
	if f.set["metrics"] {
		cfg.Metrics.Listen = f.metrics
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// fdReserve is what the server opens besides client connections:
// database and blob files, listeners, LMTP and metrics connections.
const fdReserve = 256

// checkFDLimit warns when limits.max_conns does not leave fdReserve file
// descriptors below the process's limit: past it, connections are
// refused by the kernel rather than with BYE [UNAVAILABLE], and the
// database may fail to open a file.
func checkFDLimit(maxConns int, limit uint64, known bool, logger *slog.Logger) {
	if !known {
		return
	}
	if maxConns == 0 || uint64(maxConns)+fdReserve > limit {
		logger.Warn("limits.max_conns leaves too few file descriptors; lower it or raise the limit (ulimit -n)",
			"max_conns", maxConns, "fd_limit", limit, "reserve", fdReserve)
	}
}

// serve runs the server until ctx is done or a listener fails.
func serve(ctx context.Context, e *env, cfg config.Config, demo bool, logger *slog.Logger) (err error) {
	lim, known := fdLimit()
	checkFDLimit(cfg.Limits.MaxConns, lim, known, logger)
	if os.Getenv("GOGC") == "" {
		// The live heap of a server is small (sessions, caches, a few
		// MiB) and its garbage short-lived: collecting at twice the
		// live heap instead of once cut the CPU per IMAP operation by
		// a sixth under imaptest's stress load (BENCHMARKS.md), for
		// some MiB more. GOGC, when set, still decides.
		debug.SetGCPercent(200)
	}
	if lim := setMemoryLimit(int64(cfg.Limits.MemoryLimit)); lim != math.MaxInt64 {
		logger.Info("soft memory limit", "bytes", lim)
	}
	bus := events.NewMemory()
	st, err := openStore(ctx, cfg, bus, logger)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()

	demoCreated := false
	if demo {
		if demoCreated, err = ensureDemoAccount(ctx, st); err != nil {
			return err
		}
	}

	certFile, keyFile := cfg.TLS.CertFile, cfg.TLS.KeyFile
	selfSigned := certFile == ""
	if selfSigned {
		if certFile, keyFile, err = tlsconf.SelfSigned(cfg.DataDir, logger); err != nil {
			return err
		}
	}
	certs, err := tlsconf.Load(certFile, keyFile)
	if err != nil {
		return err
	}

	var met *metrics.Metrics
	if cfg.Metrics.Listen != "" {
		met = metrics.New(storeStats(st))
	}
	var throttleOpts auth.ThrottleOptions
	if met != nil {
		throttleOpts.Observe = met.LoginThrottled
	}
	authOpts := []auth.Option{
		auth.WithThrottle(auth.NewThrottle(throttleOpts)),
		// A login storm grows the heap by 19 MiB per concurrent hash;
		// give it back when the storm is over, not minutes later.
		auth.WithAfterHashBurst(debug.FreeOSMemory),
	}
	if met != nil {
		authOpts = append(authOpts, auth.WithFailureHook(met.AuthFailed))
	}
	opts := serverOptions(cfg, st, bus, auth.New(st, logger, authOpts...), certs.Config(), logger)
	if met != nil {
		opts.Hooks = imapserver.Hooks{ConnOpened: met.ConnOpened, ConnClosed: met.ConnClosed, Command: met.Command,
			ConnRefused: met.ConnRefused}
	}
	srv := imapserver.New(opts)
	var lsrv *lmtp.Server
	if cfg.LMTP.Listen != "" {
		lsrv = lmtp.New(lmtp.Options{Agent: newAgent(cfg, st, met, logger), Hostname: cfg.LMTP.Hostname, Logger: logger})
	}
	var msrv *http.Server
	if met != nil {
		mux := http.NewServeMux()
		mux.Handle("/metrics", met.Handler())
		msrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	}

	// Bind every listener before serving any, so that a bad address fails
	// the start cleanly.
	type listener struct {
		ln    net.Listener
		name  string
		serve func(net.Listener) error
	}
	var lns []listener
	closeAll := func() {
		for _, l := range lns {
			_ = l.ln.Close()
		}
	}
	for _, l := range []struct {
		addr, name string
		serve      func(net.Listener) error
	}{
		{cfg.IMAP.Listen, "imap", srv.Serve},
		{cfg.IMAP.ListenTLS, "imaps", srv.ServeTLS},
		{cfg.LMTP.Listen, "lmtp", func(ln net.Listener) error {
			if err := lsrv.Serve(ln); !errors.Is(err, lmtp.ErrServerClosed) {
				return err
			}
			return imapserver.ErrServerClosed
		}},
		{cfg.Metrics.Listen, "metrics", func(ln net.Listener) error {
			if err := msrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return imapserver.ErrServerClosed
		}},
	} {
		if l.addr == "" {
			continue
		}
		var ln net.Listener
		var err error
		if l.name == "lmtp" {
			ln, err = lmtp.Listen(l.addr)
		} else {
			ln, err = net.Listen("tcp", l.addr)
		}
		if err != nil {
			closeAll()
			return fmt.Errorf("listen %s on %s: %w", l.name, l.addr, err)
		}
		lns = append(lns, listener{ln, l.name, l.serve})
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	errc := make(chan error, len(lns))
	addrs := map[string]string{}
	for _, l := range lns {
		addrs[l.name] = l.ln.Addr().String()
		logger.Info("listening", "proto", l.name, "addr", l.ln.Addr().String())
		go func() {
			if err := l.serve(l.ln); err != nil && !errors.Is(err, imapserver.ErrServerClosed) {
				errc <- fmt.Errorf("serve %s on %s: %w", l.name, l.ln.Addr(), err)
				return
			}
			errc <- nil
		}()
	}
	if demo {
		printDemo(e, addrs, demoCreated, selfSigned)
	}

	var serveErr error
	running := len(lns)
loop:
	for {
		select {
		case <-ctx.Done():
			logger.Info("shutting down", "grace", shutdownGrace)
			break loop
		case <-hup:
			if err := certs.Reload(); err != nil {
				logger.Error("TLS reload failed; keeping the current certificate", "err", err)
			} else {
				logger.Info("TLS certificate reloaded", "cert", certFile)
			}
		case err := <-errc:
			running--
			if err != nil {
				serveErr = err
				logger.Error("listener failed; shutting down", "err", err)
				break loop
			}
			if running == 0 {
				break loop
			}
		}
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	if lsrv != nil {
		if err := lsrv.Shutdown(sctx); err != nil {
			logger.Warn("LMTP sessions did not finish in time; closed them", "err", err)
		}
	}
	if msrv != nil {
		_ = msrv.Shutdown(sctx)
	}
	closeAll() // in case a Serve had not registered its listener yet
	for ; running > 0; running-- {
		if err := <-errc; err != nil && serveErr == nil {
			serveErr = err
		}
	}
	if shutdownErr != nil {
		logger.Warn("sessions did not finish in time; closed them", "err", shutdownErr)
	}
	logger.Info("stopped")
	return serveErr
}

// serverOptions maps the configuration onto imapserver.Options.
func serverOptions(cfg config.Config, st store.Store, bus events.Bus, a *auth.Authenticator, tlsConfig *tls.Config, logger *slog.Logger) imapserver.Options {
	opts := imapserver.Options{
		Store:          st,
		Bus:            bus,
		Auth:           a,
		TLS:            tlsConfig,
		Logger:         logger,
		MaxLine:        int(cfg.Limits.MaxLine),
		AppendLimit:    int64(cfg.Limits.AppendLimit),
		IdleTimeout:    time.Duration(cfg.Limits.IdleTimeout),
		PreAuthTimeout: time.Duration(cfg.Limits.PreAuthTimeout),
		// In the config 0 means unlimited; in Options 0 means the default
		// and a negative value unlimited.
		MaxConns:            unlimitedAsNegative(cfg.Limits.MaxConns),
		MaxConnsPerUser:     unlimitedAsNegative(cfg.Limits.MaxConnsPerUser),
		MaxConnsPerIP:       unlimitedAsNegative(cfg.Limits.MaxConnsPerIP),
		MaxUnauthConns:      unlimitedAsNegative(cfg.Limits.MaxUnauthConns),
		MaxUnauthConnsPerIP: unlimitedAsNegative(cfg.Limits.MaxUnauthConnsPerIP),
		MailboxLimits:       mailboxLimits(cfg),
	}
	switch cfg.IMAP.PlaintextAuth {
	case config.PlaintextAlways:
		opts.PlaintextAuth = imapserver.PlaintextAlways
	case config.PlaintextNever:
		opts.PlaintextAuth = imapserver.PlaintextNever
	default:
		opts.PlaintextAuth = imapserver.PlaintextLoopback
	}
	return opts
}

func unlimitedAsNegative(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// ensureDemoAccount creates the demo account unless it exists and reports
// whether it did.
func ensureDemoAccount(ctx context.Context, st store.Store) (bool, error) {
	_, err := st.Account(ctx, demoUser)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, store.ErrNoSuchAccount) {
		return false, fmt.Errorf("demo account: %w", err)
	}
	hash, err := auth.HashPassword(demoPassword)
	if err != nil {
		return false, fmt.Errorf("demo account: %w", err)
	}
	if _, err := st.CreateAccount(ctx, demoUser, hash); err != nil {
		return false, fmt.Errorf("demo account: %w", err)
	}
	return true, nil
}

// printDemo tells the user on stdout how to connect.
func printDemo(e *env, addrs map[string]string, created, selfSigned bool) {
	w := e.stdout
	fmt.Fprintln(w, "Rookery is running (demo mode).")
	if a, ok := addrs["imap"]; ok {
		fmt.Fprintf(w, "  IMAP (STARTTLS):  %s\n", a)
	}
	if a, ok := addrs["imaps"]; ok {
		note := ""
		if selfSigned {
			note = "  (self-signed certificate)"
		}
		fmt.Fprintf(w, "  IMAPS (TLS):      %s%s\n", a, note)
	}
	fmt.Fprintf(w, "  user:             %s\n", demoUser)
	if created {
		fmt.Fprintf(w, "  password:         %s\n", demoPassword)
	} else {
		fmt.Fprintf(w, "  password:         %s (unless changed since the account was created)\n", demoPassword)
	}
	if a, ok := addrs["imaps"]; ok {
		fmt.Fprintf(w, "Try:  openssl s_client -quiet -connect %s   then type:  a LOGIN %s %s\n", a, demoUser, demoPassword)
	}
	fmt.Fprintln(w, "Stop with Ctrl-C.")
}

// newAgent builds the delivery agent used by LMTP and `rookery deliver`.
func newAgent(cfg config.Config, st store.Store, met *metrics.Metrics, logger *slog.Logger) *delivery.Agent {
	opts := delivery.Options{
		Store:              st,
		Domains:            cfg.LMTP.Domains,
		Delimiter:          cfg.LMTP.RecipientDelimiter,
		MaxSize:            int64(cfg.LMTP.MaxMessageSize),
		OverQuotaTemporary: cfg.LMTP.OverQuota == config.OverQuotaTemporary,
		Logger:             logger,
	}
	if met != nil {
		opts.Hooks.Delivered = met.Delivered
	}
	return delivery.New(opts)
}

// storeStats sums the account usage and reads the index backlog for the
// store gauges.
func storeStats(st store.Store) metrics.StoreStats {
	return func(ctx context.Context) (metrics.StoreSizes, error) {
		var s metrics.StoreSizes
		accts, err := st.Accounts(ctx)
		if err != nil {
			return s, err
		}
		s.Accounts = int64(len(accts))
		for _, a := range accts {
			s.Messages += a.Messages
			s.Bytes += a.Bytes
		}
		s.IndexPending, s.IndexLag, err = st.IndexBacklog(ctx)
		return s, err
	}
}
