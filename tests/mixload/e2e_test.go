package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"rookery/internal/imaptest"
)

// TestAgainstRookery runs the generator for about two seconds against an
// in-process Rookery (users alice and bob) and checks that it did work
// and saw no error at all.
func TestAgainstRookery(t *testing.T) {
	srv := imaptest.StartServer(t)
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"plain", []string{"-addr", srv.Addr, "-duration", "2s"}},
		{"tls", []string{"-addr", srv.TLSAddr, "-tls", "-duration", "1s"}},
		{"starttls", []string{"-addr", srv.Addr, "-starttls", "-duration", "1s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-user-list", "alice,bob", "-pass", "pass", "-clients", "4",
				"-warmup", "0s", "-prefill", "30", "-timeout", "10s", "-seed", "3"}, tc.flags...)
			cfg, _, err := parseFlags(args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			rep, err := run(context.Background(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var table strings.Builder
			rep.writeTable(&table)
			t.Logf("%s in %s:\n%s", tc.name, time.Since(t0).Round(time.Millisecond), table.String())
			byName := map[string]commandReport{}
			for _, c := range rep.Commands {
				byName[c.Name] = c
			}
			// Without a warm-up the first logins are in the window.
			if byName["login"].Count == 0 {
				t.Error("no login")
			}
			if rep.Errors != 0 || rep.ConnectFailures != 0 || rep.Reconnects != 0 || rep.ErrorsOutside != 0 || rep.Unstopped != 0 {
				t.Error("errors (see the table)")
			}
			for _, c := range rep.Commands {
				if c.Count > 0 && (c.P50 <= 0 || c.P50 > c.P90 || c.P90 > c.P99 || c.P99 > c.Max) {
					t.Errorf("%s: percentiles out of order: %+v", c.Name, c)
				}
			}
			if tc.name == "plain" && (rep.Ops == 0 || rep.OpsPerS <= 0) {
				t.Error("no operations")
			}
		})
	}
}

// TestSeveralServers: with several -addr servers the clients (and the
// prefill) are spread over them.
func TestSeveralServers(t *testing.T) {
	a, b := imaptest.StartServer(t), imaptest.StartServer(t)
	cfg, _, err := parseFlags([]string{"-addr", a.Addr + ", " + b.Addr, "-user-list", "alice,bob", "-pass", "pass",
		"-clients", "4", "-warmup", "0s", "-duration", "1s", "-prefill", "10", "-timeout", "10s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.addrs) != 2 {
		t.Fatalf("addrs %q", cfg.addrs)
	}
	rep, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 0 || rep.ConnectFailures != 0 || rep.Ops == 0 {
		t.Errorf("ops %d, errors %d, connection failures %d", rep.Ops, rep.Errors, rep.ConnectFailures)
	}
	for i, srv := range []*imaptest.Server{a, b} {
		n := 0
		for _, user := range []string{"alice", "bob"} {
			acct, err := srv.Store.Account(context.Background(), user)
			if err != nil {
				t.Fatal(err)
			}
			mb, err := srv.Store.Mailbox(context.Background(), acct.ID, "INBOX")
			if err != nil {
				t.Fatal(err)
			}
			st, err := srv.Store.Status(context.Background(), mb.ID)
			if err != nil {
				t.Fatal(err)
			}
			n += int(st.Messages)
		}
		if n == 0 {
			t.Errorf("server %d got no message", i)
		}
	}
}

// TestNeverHangs runs against a server that greets and then never
// answers: the run must end on time, with the failures counted.
func TestNeverHangs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "* OK [CAPABILITY IMAP4rev1 IDLE] silent\r\n")
				r := bufio.NewReader(c)
				for {
					if _, err := r.ReadString('\n'); err != nil {
						return
					}
				}
			}()
		}
	}()
	cfg, _, err := parseFlags([]string{"-addr", ln.Addr().String(), "-clients", "3", "-users", "2",
		"-prefill", "0", "-warmup", "0s", "-duration", "500ms", "-timeout", "300ms"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	rep, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// warm-up + duration + grace (timeout + 1 s), with slack.
	if el := time.Since(t0); el > 4*time.Second {
		t.Errorf("run took %s", el)
	}
	if rep.Ops != 0 || rep.ConnectFailures == 0 {
		t.Errorf("ops %d, connection failures %d", rep.Ops, rep.ConnectFailures)
	}
	var login commandReport
	for _, c := range rep.Commands {
		if c.Name == "login" {
			login = c
		}
	}
	if login.Timeout == 0 {
		t.Errorf("login: %+v, want timeouts", login)
	}
	// Prefill against the silent server fails instead of hanging.
	cfg.prefill = 5
	if _, err := run(context.Background(), cfg, io.Discard); err == nil {
		t.Error("prefill against a silent server: no error")
	}
}
