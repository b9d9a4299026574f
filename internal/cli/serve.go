package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"rookery/internal/auth"
	"rookery/internal/config"
	"rookery/internal/events"
	"rookery/internal/imapserver"
	"rookery/internal/store"
	"rookery/internal/store/sqlitestore"
	"rookery/internal/tlsconf"
)

const serveUsage = `Usage:
  rookery serve [--config FILE] [--data DIR] [--imap ADDR] [--imaps ADDR] [--demo]

Runs the IMAP server until SIGTERM or SIGINT, then drains sessions for up to
30 seconds. SIGHUP reloads the TLS certificate files. Flags override the
configuration file; an empty ADDR disables that listener. --demo creates
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
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// serve runs the server until ctx is done or a listener fails.
func serve(ctx context.Context, e *env, cfg config.Config, demo bool, logger *slog.Logger) (err error) {
	bus := events.NewMemory()
	st, err := sqlitestore.Open(ctx, cfg.DataDir, sqlitestore.Options{Bus: bus, Logger: logger})
	if err != nil {
		return fmt.Errorf("open data directory %s: %w", cfg.DataDir, err)
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

	srv := imapserver.New(serverOptions(cfg, st, bus, auth.New(st, logger), certs.Config(), logger))

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
	} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
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
		MaxConnsPerUser: unlimitedAsNegative(cfg.Limits.MaxConnsPerUser),
		MaxConnsPerIP:   unlimitedAsNegative(cfg.Limits.MaxConnsPerIP),
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
