package tests

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// startTimeout bounds how long a fresh server may take to accept.
	startTimeout = 30 * time.Second
	// stopTimeout bounds a graceful stop before the process is killed.
	stopTimeout = 15 * time.Second
	// userAddTimeout bounds `rookery user add` (password hashing included).
	userAddTimeout = 60 * time.Second
)

// testUser is an account created before the server starts.
type testUser struct{ name, password string }

// serverProc is one `rookery serve` process on a data directory that
// outlives it, so that the server can be restarted on the same data.
type serverProc struct {
	t        testing.TB
	dataDir  string
	logPath  string
	imapAddr string // plaintext + STARTTLS
	tlsAddr  string // implicit TLS
	users    map[string]string

	cmd     *exec.Cmd
	logFile *os.File
	done    chan struct{} // closed when the process has exited
	waitErr error         // set before done is closed
	starts  int

	// extraArgs are appended to the serve command line (set before start).
	extraArgs []string
}

// startServer creates a data directory with users, starts the server on
// free loopback ports and stops it when the test ends.
func startServer(t testing.TB, users ...testUser) *serverProc {
	t.Helper()
	return startServerWith(t, nil, users...)
}

// startServerWith is startServer with extra `rookery serve` arguments.
func startServerWith(t testing.TB, extra []string, users ...testUser) *serverProc {
	t.Helper()
	dir := t.TempDir()
	s := &serverProc{
		t:         t,
		dataDir:   filepath.Join(dir, "data"),
		logPath:   filepath.Join(dir, "server.log"),
		users:     make(map[string]string),
		extraArgs: extra,
	}
	if err := os.Mkdir(s.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		addUser(t, s.dataDir, u)
		s.users[u.name] = u.password
	}
	t.Cleanup(func() {
		s.stop(false)
		s.checkLog()
		if t.Failed() {
			t.Logf("server log (%s):\n%s", s.logPath, s.logTail(120))
		}
	})
	s.start(true)
	return s
}

// addUser runs `rookery user add NAME --data DIR --password-stdin`.
func addUser(t testing.TB, dataDir string, u testUser) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), userAddTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, rookeryBin, "user", "add", u.name, "--data", dataDir, "--password-stdin")
	cmd.Stdin = strings.NewReader(u.password + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("rookery user add %s: %v\n%s", u.name, err, out.Bytes())
	}
}

// start launches the server; with newPorts it picks fresh ports, otherwise
// it reuses the previous ones (falling back to fresh ones if they are taken).
func (s *serverProc) start(newPorts bool) {
	s.t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if newPorts || attempt > 0 {
			addrs := freeAddrs(s.t, 2)
			s.imapAddr, s.tlsAddr = addrs[0], addrs[1]
		}
		lastErr = s.launch()
		if lastErr == nil {
			return
		}
		if !strings.Contains(s.logTail(20), "address already in use") {
			break
		}
	}
	s.t.Fatalf("rookery serve did not start: %v\nlog:\n%s", lastErr, s.logTail(60))
}

// launch starts the process and waits until both listeners answer.
func (s *serverProc) launch() error {
	f, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	s.starts++
	fmt.Fprintf(f, "---- start %d: imap %s imaps %s\n", s.starts, s.imapAddr, s.tlsAddr)
	args := append([]string{"serve", "--data", s.dataDir, "--imap", s.imapAddr, "--imaps", s.tlsAddr}, s.extraArgs...)
	cmd := exec.Command(rookeryBin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		return err
	}
	s.cmd, s.logFile = cmd, f
	s.done = make(chan struct{})
	go func(done chan struct{}) {
		s.waitErr = cmd.Wait()
		close(done)
	}(s.done)
	if err := s.waitReady(); err != nil {
		s.stop(true)
		return err
	}
	return nil
}

// waitReady waits until the plaintext port greets and the TLS port accepts.
func (s *serverProc) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("server exited early: %v", s.waitErr)
		default:
		}
		err := probeGreeting(s.imapAddr)
		if err == nil {
			var c net.Conn
			c, err = net.DialTimeout("tcp", s.tlsAddr, time.Second)
			if err == nil {
				c.Close()
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func probeGreeting(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading greeting: %v", err)
	}
	if !strings.HasPrefix(line, "* OK") {
		return fmt.Errorf("unexpected greeting %q", line)
	}
	return nil
}

// stop ends the process: SIGTERM and a bounded wait, or SIGKILL when kill
// is set or the graceful stop takes too long. It returns the process's exit
// error. It is idempotent.
func (s *serverProc) stop(kill bool) error {
	if s.cmd == nil {
		return nil
	}
	defer func() {
		s.logFile.Close()
		s.cmd = nil
	}()
	select {
	case <-s.done:
		return s.waitErr
	default:
	}
	if !kill {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
			return s.waitErr
		case <-time.After(stopTimeout):
			s.t.Errorf("server did not stop within %v of SIGTERM; killing it", stopTimeout)
		}
	}
	_ = s.cmd.Process.Kill()
	select {
	case <-s.done:
		return s.waitErr
	case <-time.After(stopTimeout):
		s.t.Errorf("server process %d did not exit after SIGKILL", s.cmd.Process.Pid)
		return errors.New("process did not exit")
	}
}

// restart stops the server (gracefully, or with SIGKILL to simulate a
// crash), checks the data directory as the stop left it with `rookery
// check`, and starts the server again on the same data directory and
// ports.
func (s *serverProc) restart(kill bool) {
	s.t.Helper()
	if err := s.stop(kill); !kill && err != nil {
		s.t.Errorf("server exited with %v after SIGTERM (want a clean exit)", err)
	}
	s.check()
	s.start(false)
}

// checkTimeout bounds `rookery check` of a test's data directory.
const checkTimeout = 60 * time.Second

// check runs `rookery check` on the data directory and fails the test if
// it finds a problem (notices, such as a file of a message being stored
// when a crash came, are fine).
func (s *serverProc) check() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, rookeryBin, "check", "--data", s.dataDir).CombinedOutput()
	if err != nil {
		s.t.Errorf("rookery check after the server stopped: %v\n%s", err, out)
	}
}

// checkLog fails the test when the server log shows a panic or a data race.
func (s *serverProc) checkLog() {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return
	}
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "panic in command handler", "SERVERBUG"} {
		if bytes.Contains(b, []byte(bad)) {
			s.t.Errorf("server log contains %q", bad)
		}
	}
}

func (s *serverProc) logTail(lines int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = append([]string{"..."}, ls[len(ls)-lines:]...)
	}
	return strings.Join(ls, "\n")
}

// freeAddrs returns n distinct loopback addresses whose ports were free a
// moment ago. The listeners are held open together so that the kernel
// cannot hand out the same port twice.
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("finding a free port: %v", err)
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs
}
