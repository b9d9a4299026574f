package cli

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"rookery/internal/config"
)

// run calls Main and returns its exit code, stdout and stderr.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantPos  []string
		wantData string
		wantPW   bool
		wantErr  bool
	}{
		{"none", nil, nil, "", false, false},
		{"flags first", []string{"--data", "d", "add", "alice"}, []string{"add", "alice"}, "d", false, false},
		{"flags last", []string{"add", "alice", "--data", "d", "--password-stdin"}, []string{"add", "alice"}, "d", true, false},
		{"flags between", []string{"add", "-data=d", "alice"}, []string{"add", "alice"}, "d", false, false},
		{"double dash", []string{"add", "--", "--data"}, []string{"add", "--data"}, "", false, false},
		{"unknown flag", []string{"add", "--nope"}, nil, "", false, true},
		{"missing value", []string{"add", "alice", "--data"}, nil, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			data := fs.String("data", "", "")
			pw := fs.Bool("password-stdin", false, "")
			pos, err := parseArgs(fs, tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(pos, tt.wantPos) || *data != tt.wantData || *pw != tt.wantPW {
				t.Fatalf("got %q data=%q pw=%v; want %q data=%q pw=%v", pos, *data, *pw, tt.wantPos, tt.wantData, tt.wantPW)
			}
		})
	}
}

func TestUsageAndHelp(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of stderr
	}{
		{"no args", nil, ExitUsage, "", "missing command"},
		{"unknown command", []string{"frobnicate"}, ExitUsage, "", `unknown command "frobnicate"`},
		{"help", []string{"help"}, ExitOK, "rookery serve", ""},
		{"-h", []string{"-h"}, ExitOK, "rookery user add", ""},
		{"help user", []string{"help", "user"}, ExitOK, "--password-stdin", ""},
		{"help serve", []string{"help", "serve"}, ExitOK, "SIGHUP", ""},
		{"help unknown", []string{"help", "nope"}, ExitUsage, "", "unknown help topic"},
		{"version", []string{"version"}, ExitOK, "rookery " + version, ""},
		{"serve -h", []string{"serve", "-h"}, ExitOK, "", "--demo"},
		{"serve positional", []string{"serve", "extra"}, ExitUsage, "", "unexpected arguments"},
		{"serve bad flag", []string{"serve", "--bogus"}, ExitUsage, "", "bogus"},
		{"serve no listener", []string{"serve", "--imap", "", "--imaps", ""}, ExitFailure, "", "no listener"},
		{"serve missing config", []string{"serve", "--config", "/nonexistent/rookery.toml"}, ExitFailure, "", "load config"},
		{"user", []string{"user"}, ExitUsage, "", "missing subcommand"},
		{"user unknown", []string{"user", "rename", "a"}, ExitUsage, "", "unknown subcommand"},
		{"user add no name", []string{"user", "add"}, ExitUsage, "", "exactly one NAME"},
		{"user add two names", []string{"user", "add", "a", "b"}, ExitUsage, "", "exactly one NAME"},
		{"user add bad name", []string{"user", "add", "a b", "--data", "x"}, ExitUsage, "", "spaces"},
		{"user list extra", []string{"user", "list", "x"}, ExitUsage, "", "unexpected arguments"},
		{"user del password", []string{"user", "del", "a", "--password-stdin"}, ExitUsage, "", "only for add and passwd"},
		{"user list missing dir", []string{"user", "list", "--data", "/nonexistent/rookery"}, ExitFailure, "", "does not exist"},
		{"config", []string{"config"}, ExitUsage, "", "missing subcommand"},
		{"config check no file", []string{"config", "check"}, ExitUsage, "", "exactly one FILE"},
		{"config check missing", []string{"config", "check", "/nonexistent.toml"}, ExitFailure, "", "load config"},
		{"config example", []string{"config", "example"}, ExitOK, "[limits]", ""},
		{"config example extra", []string{"config", "example", "x"}, ExitUsage, "", "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, "", tt.args...)
			if code != tt.wantCode {
				t.Fatalf("code = %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout %q lacks %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut, tt.wantErr)
			}
		})
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(good, []byte("[imap]\nlisten = \"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("[limits]\nidle_timeout = \"5m\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run(t, "", "config", "check", good); code != ExitOK || !strings.Contains(out, "OK") {
		t.Fatalf("good: code %d, %s %s", code, out, errOut)
	}
	if code, _, errOut := run(t, "", "config", "check", bad); code != ExitFailure || !strings.Contains(errOut, "idle_timeout") {
		t.Fatalf("bad: code %d, %s", code, errOut)
	}
	// The printed example is a valid configuration.
	_, example, _ := run(t, "", "config", "example")
	ex := filepath.Join(dir, "example.toml")
	if err := os.WriteFile(ex, []byte(example), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "", "config", "check", ex); code != ExitOK {
		t.Fatalf("example: code %d, %s", code, errOut)
	}
}

func TestReadLine(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"secret\n", "secret", false},
		{"secret\r\nmore\n", "secret", false},
		{"no newline", "no newline", false},
		{" spaces kept \n", " spaces kept ", false},
		{"", "", true},
		{strings.Repeat("x", maxPasswordLen) + "\n", strings.Repeat("x", maxPasswordLen), false},
		{strings.Repeat("x", maxPasswordLen+1) + "\n", "", true},
		{strings.Repeat("x", 5000), "", true},
	}
	for _, tt := range tests {
		got, err := readLine(strings.NewReader(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("readLine(%.20q) = %.20q, %v; want %.20q, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestPasswordNeedsTerminal(t *testing.T) {
	code, _, errOut := run(t, "", "user", "add", "alice", "--data", t.TempDir())
	if code != ExitFailure || !strings.Contains(errOut, "--password-stdin") {
		t.Fatalf("code %d, stderr %s", code, errOut)
	}
	code, _, errOut = run(t, "\n", "user", "add", "alice", "--data", t.TempDir(), "--password-stdin")
	if code != ExitFailure || !strings.Contains(errOut, "empty password") {
		t.Fatalf("code %d, stderr %s", code, errOut)
	}
}

func TestUserCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	mustRun := func(stdin string, args ...string) string {
		t.Helper()
		code, out, errOut := run(t, stdin, args...)
		if code != ExitOK {
			t.Fatalf("%q: code %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
		}
		return out
	}
	mustRun("pw-alice\n", "user", "add", "alice", "--data", data, "--password-stdin")
	mustRun("pw-bob", "user", "--data", data, "add", "bob", "--password-stdin")
	if code, _, errOut := run(t, "x\n", "user", "add", "alice", "--data", data, "--password-stdin"); code != ExitFailure || !strings.Contains(errOut, "exists") {
		t.Fatalf("duplicate add: code %d, %s", code, errOut)
	}

	out := mustRun("", "user", "list", "--data", data)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("list output:\n%s", out)
	}
	if f := strings.Fields(lines[0]); !reflect.DeepEqual(f, []string{"NAME", "MESSAGES", "BYTES", "MAILBOXES", "MAX_MESSAGES", "MAX_BYTES"}) {
		t.Fatalf("header %q", lines[0])
	}
	alice := strings.Fields(lines[1])
	if alice[0] != "alice" || alice[1] != "0" || alice[2] != "0" || alice[3] == "0" {
		t.Fatalf("alice row %q (want default mailboxes)", lines[1])
	}

	checkLogin := func(user, pw string, want bool) {
		t.Helper()
		ok := verifyStored(t, data, user, pw)
		if ok != want {
			t.Fatalf("login %s/%s = %v, want %v", user, pw, ok, want)
		}
	}
	checkLogin("alice", "pw-alice", true)
	checkLogin("bob", "pw-bob", true)

	mustRun("new-pw\n", "user", "passwd", "alice", "--password-stdin", "--data", data)
	checkLogin("alice", "pw-alice", false)
	checkLogin("alice", "new-pw", true)
	if code, _, _ := run(t, "x\n", "user", "passwd", "carol", "--password-stdin", "--data", data); code != ExitFailure {
		t.Fatalf("passwd of unknown user: code %d", code)
	}

	mustRun("", "user", "del", "bob", "--data", data)
	out = mustRun("", "user", "list", "--data", data)
	if strings.Contains(out, "bob") || !strings.Contains(out, "alice") {
		t.Fatalf("after del:\n%s", out)
	}
	if code, _, _ := run(t, "", "user", "del", "bob", "--data", data); code != ExitFailure {
		t.Fatalf("second del: code %d", code)
	}

	// --config supplies the data directory.
	cfgFile := filepath.Join(t.TempDir(), "r.toml")
	if err := os.WriteFile(cfgFile, []byte("data_dir = "+quote(data)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := mustRun("", "user", "list", "--config", cfgFile); !strings.Contains(out, "alice") {
		t.Fatalf("list via --config:\n%s", out)
	}
}

func quote(s string) string { return `'` + s + `'` }

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server")
	}
	data := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "--demo", "--data", data, "--imap", "127.0.0.1:0", "--imaps", "127.0.0.1:0"},
			strings.NewReader(""), &out, &errOut)
	}()

	re := regexp.MustCompile(`IMAP \(STARTTLS\):\s+(\S+)`)
	var addr string
	deadline := time.Now().Add(30 * time.Second)
	for addr == "" {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
			break
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited early with %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner\nstdout: %s\nstderr: %s", out.String(), errOut.String())
		}
	}
	for _, want := range []string{"user:             demo", "password:         demo", "IMAPS (TLS):"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, out.String())
		}
	}

	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	greeting, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(greeting, "* OK") {
		t.Fatalf("greeting %q, %v", greeting, err)
	}
	if _, err := io.WriteString(c, "a1 LOGIN demo demo\r\n"); err != nil {
		t.Fatal(err)
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading LOGIN response: %v", err)
		}
		if strings.HasPrefix(line, "a1 ") {
			if !strings.HasPrefix(line, "a1 OK") {
				t.Fatalf("LOGIN: %q", line)
			}
			break
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("serve exit code %d\nstderr: %s", code, errOut.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop")
	}
	// The session was told BYE on shutdown.
	rest, _ := io.ReadAll(r)
	if !strings.Contains(string(rest), "* BYE") {
		t.Errorf("no BYE on shutdown, got %q", rest)
	}
}

// TestServerOptionsLimits: the configuration's "0 = unlimited" becomes
// the server's negative, and other values pass as they are.
func TestServerOptionsLimits(t *testing.T) {
	cfg := config.Defaults()
	cfg.Limits.MaxConns, cfg.Limits.MaxUnauthConns, cfg.Limits.MaxUnauthConnsPerIP = 0, 7, 0
	cfg.Limits.MaxConnsPerIP, cfg.Limits.MaxConnsPerUser = 3, 0
	o := serverOptions(cfg, nil, nil, nil, nil, nil)
	got := []int{o.MaxConns, o.MaxUnauthConns, o.MaxUnauthConnsPerIP, o.MaxConnsPerIP, o.MaxConnsPerUser}
	if want := []int{-1, 7, -1, 3, -1}; !slices.Equal(got, want) {
		t.Fatalf("limits %v, want %v", got, want)
	}
}

func TestCheckFDLimit(t *testing.T) {
	tests := []struct {
		maxConns int
		limit    uint64
		known    bool
		warn     bool
	}{
		{10000, 20000, true, false},
		{10000, 10000, true, true},
		{0, 20000, true, true}, // unlimited: only the descriptors bound it
		{10000, 0, false, false},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		checkFDLimit(tc.maxConns, tc.limit, tc.known, slog.New(slog.NewTextHandler(&buf, nil)))
		if got := strings.Contains(buf.String(), "max_conns"); got != tc.warn {
			t.Errorf("max_conns %d, limit %d (known %v): warned %v, want %v", tc.maxConns, tc.limit, tc.known, got, tc.warn)
		}
	}
}
