package tests

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"testing"
	"time"
)

// TestPythonImaplib runs tests/python/smoke.py (Python's stdlib imaplib, an
// independent client) against the server, over TLS and over STARTTLS.
func TestPythonImaplib(t *testing.T) {
	t.Parallel()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	s := startServer(t, testUser{"pyuser", "py secret with spaces"})
	_, plainPort, _ := net.SplitHostPort(s.imapAddr)
	_, tlsPort, _ := net.SplitHostPort(s.tlsAddr)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, "python/smoke.py",
		"--host", "127.0.0.1", "--port", plainPort, "--tls-port", tlsPort,
		"--user", "pyuser", "--password", s.users["pyuser"])
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("smoke.py did not finish in time:\n%s", out.Bytes())
	}
	if err != nil {
		t.Fatalf("smoke.py failed (%v):\n%s", err, out.Bytes())
	}
	t.Logf("smoke.py:\n%s", out.Bytes())
}
