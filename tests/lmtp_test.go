package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// imapCount logs in over plaintext IMAP (loopback) and returns the number
// of messages in mailbox, with the lines of one FETCH of the last message's
// header (for header checks).
func imapCount(t *testing.T, addr, user, pw, mailbox string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	var lines []string
	cmd := func(tag, line string) {
		fmt.Fprintf(c, "%s %s\r\n", tag, line)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("IMAP %s: %v (so far %q)", line, err, lines)
			}
			lines = append(lines, l)
			if strings.HasPrefix(l, tag+" ") {
				if !strings.HasPrefix(l, tag+" OK") {
					t.Fatalf("IMAP %s: %s", line, l)
				}
				return
			}
		}
	}
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cmd("a", fmt.Sprintf("LOGIN %q %q", user, pw))
	lines = nil
	cmd("b", "SELECT "+mailbox)
	n := 0
	for _, l := range lines {
		if _, err := fmt.Sscanf(l, "* %d EXISTS", &n); err == nil {
			break
		}
	}
	lines = nil
	if n > 0 {
		cmd("c", "FETCH * RFC822.HEADER")
	}
	return n, strings.Join(lines, "")
}

// failLogin logs in with a wrong password and expects the refusal.
func failLogin(t *testing.T, addr, user, pw string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "a LOGIN %s %s\r\n", user, pw)
	l, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(l, "a NO [AUTHENTICATIONFAILED]") {
		t.Fatalf("LOGIN with a wrong password: %q, %v", l, err)
	}
}

func TestLMTPAndDeliverBinary(t *testing.T) {
	t.Parallel()
	addrs := freeAddrs(t, 2)
	lmtpAddr, metricsAddr := addrs[0], addrs[1]
	s := startServerWith(t, []string{"--lmtp", lmtpAddr, "--metrics", metricsAddr},
		testUser{"lmtpuser", "pw one"}, testUser{"other", "pw two"})

	// LMTP, with the go-smtp client: one good, one unknown recipient.
	nc, err := net.Dial("tcp", lmtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	c := smtp.NewClientLMTP(nc)
	defer c.Close()
	if err := c.Hello("test"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("sender@example.net", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("lmtpuser@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("nobody@example.org", nil); err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("RCPT nobody: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "Subject: over lmtp\r\n\r\nhello\r\n")
	if _, err := w.CloseWithLMTPResponse(); err != nil {
		t.Fatal(err)
	}

	// rookery deliver while the server runs on the same data directory.
	cmd := exec.Command(rookeryBin, "deliver", "--user", "lmtpuser", "--data", s.dataDir, "--from", "x@example.net")
	cmd.Stdin = strings.NewReader("Subject: via deliver\n\nhi\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("deliver: %v\n%s", err, out)
	}
	cmd = exec.Command(rookeryBin, "deliver", "--user", "nobody", "--data", s.dataDir)
	cmd.Stdin = strings.NewReader("Subject: x\n\nx\n")
	if err := cmd.Run(); err == nil || cmd.ProcessState.ExitCode() != 67 {
		t.Fatalf("deliver to unknown user: %v, want exit 67", err)
	}

	// A failed login makes the next one from the address wait its turn
	// (rookery_auth_throttled_total{outcome="delayed"}).
	failLogin(t, s.imapAddr, "lmtpuser", "wrong")
	n, hdr := imapCount(t, s.imapAddr, "lmtpuser", "pw one", "INBOX")
	if n != 2 || !strings.Contains(hdr, "Subject: via deliver") || !strings.Contains(hdr, "Return-Path: <x@example.net>") {
		t.Fatalf("INBOX has %d messages, last header:\n%s", n, hdr)
	}

	// Connections waiting to log in from one address, up to
	// max_unauth_conns_per_ip (50 by default): the next is refused.
	refused := 0
	for i := 0; i < 60 && refused == 0; i++ {
		c, err := net.DialTimeout("tcp", s.imapAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		greeting, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		if strings.HasPrefix(greeting, "* BYE [UNAVAILABLE]") {
			if i < 45 { // the closed connections above may still count
				t.Fatalf("connection %d refused: %q", i+1, greeting)
			}
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("60 connections waiting to log in from one address, none refused")
	}

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`rookery_deliveries_total{result="ok"} 1`, `rookery_imap_commands_total{command="LOGIN",result="OK"}`, "rookery_store_messages 2",
		`rookery_auth_throttled_total{outcome="delayed"} 1`,
		`rookery_imap_connections_refused_total{reason="max_unauth_conns_per_ip"} 1`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestPostfixLMTP delivers through a real MTA: Debian's Postfix, with its
// own configuration and queue in a temporary directory (loopback only, no
// SMTP listener), handing local mail to Rookery over LMTP
// (mailbox_transport). Postfix's master must start as root.
func TestPostfixLMTP(t *testing.T) {
	postfix, err1 := exec.LookPath("postfix")
	sendmail, err2 := exec.LookPath("sendmail")
	if err1 != nil || err2 != nil || !fileExists("/etc/postfix/master.cf") {
		t.Skip("postfix is not installed (apt-get install postfix)")
	}
	if os.Geteuid() != 0 {
		t.Skip("postfix's master daemon must be started as root")
	}
	lmtpAddr := freeAddrs(t, 1)[0]
	s := startServerWith(t, []string{"--lmtp", lmtpAddr}, testUser{"pfuser", "pw"})

	dir, err := os.MkdirTemp("", "rookery-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// Postfix's unprivileged daemons must reach the queue below it.
	mustOK(t, os.Chmod(dir, 0o755))
	for _, d := range []string{"etc", "queue", "data"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	master, err := os.ReadFile("/etc/postfix/master.cf")
	if err != nil {
		t.Fatal(err)
	}
	// No SMTP listener: mail enters with sendmail only.
	var mc []string
	for _, l := range strings.Split(string(master), "\n") {
		if strings.HasPrefix(l, "smtp ") && strings.Contains(l, " inet ") {
			l = "#" + l
		}
		mc = append(mc, l)
	}
	etc := filepath.Join(dir, "etc")
	mustOK(t, os.WriteFile(filepath.Join(etc, "master.cf"), []byte(strings.Join(mc, "\n")), 0o644))
	mustOK(t, os.WriteFile(filepath.Join(etc, "main.cf"), []byte(fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.org
mydomain = example.org
mydestination = example.org
inet_interfaces = loopback-only
inet_protocols = ipv4
local_recipient_maps =
alias_maps =
alias_database =
mailbox_transport = lmtp:inet:%[2]s
maillog_file_prefixes = %[1]s
maillog_file = %[1]s/maillog
smtputf8_enable = no
`, dir, lmtpAddr)), 0o644))
	mustOK(t, exec.Command("chown", "-R", "postfix", filepath.Join(dir, "data")).Run())
	if out, err := exec.Command(postfix, "-c", etc, "start").CombinedOutput(); err != nil {
		t.Skipf("postfix does not start here: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_ = exec.Command(postfix, "-c", etc, "stop").Run()
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			t.Logf("postfix maillog:\n%s", log)
		}
	})

	inject := exec.Command(sendmail, "-C", etc, "-f", "tester@example.net", "pfuser@example.org")
	inject.Stdin = strings.NewReader("From: tester@example.net\nTo: pfuser@example.org\nSubject: via postfix\n\nhello through postfix\n")
	if out, err := inject.CombinedOutput(); err != nil {
		t.Fatalf("sendmail: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		n, hdr := imapCount(t, s.imapAddr, "pfuser", "pw", "INBOX")
		if n == 1 {
			if !strings.Contains(hdr, "Subject: via postfix") || !strings.Contains(hdr, "Delivered-To: pfuser@example.org") {
				t.Fatalf("header:\n%s", hdr)
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("the message did not arrive through Postfix within 60s")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
