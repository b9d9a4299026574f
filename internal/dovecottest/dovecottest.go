// Package dovecottest starts a private Dovecot IMAP server (Debian's
// dovecot-imapd) for a test: its own configuration, mail, state and
// sockets in a temporary directory, listening on loopback on free high
// ports, stopped when the test ends. A test that needs it is skipped when
// /usr/sbin/dovecot (or the binary named by ROOKERY_DOVECOT) is missing,
// unless ROOKERY_REQUIRE_DOVECOT is set: then it fails.
//
// The server keeps mail in Maildir with "." as the hierarchy separator
// (Dovecot's default for Maildir++), so that a client sees a separator
// other than Rookery's "/". Its users log in with a plaintext password
// (LOGIN or AUTHENTICATE PLAIN, allowed without TLS on loopback).
package dovecottest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// EnvBinary names the dovecot binary (default /usr/sbin/dovecot);
// EnvRequire, when set, fails a test that cannot find it instead of
// skipping it.
const (
	EnvBinary  = "ROOKERY_DOVECOT"
	EnvRequire = "ROOKERY_REQUIRE_DOVECOT"
)

// Options choose what a Server offers.
type Options struct {
	// Users are login names; every one has the password Password.
	Users []string
	// TLS adds an imaps listener and STARTTLS on the imap one, with a
	// self-signed certificate made for the test (Server.CAFile).
	TLS bool
	// SpecialUse gives mailbox names special-use attributes, created
	// when a user first logs in ("Sent Items": `\Sent`).
	SpecialUse map[string]string
}

// Password is every user's password.
const Password = "secret-pass"

// Server is a running Dovecot.
type Server struct {
	// Dir holds its configuration, mail, state and log.
	Dir string
	// IMAPAddr is the imap listener (plaintext, STARTTLS when TLS);
	// IMAPSAddr the imaps one ("" without TLS).
	IMAPAddr, IMAPSAddr string
	// CAFile is the PEM certificate the server presents (TLS only).
	CAFile string
	// Log is Dovecot's log file.
	Log string

	cmd      *exec.Cmd
	exited   chan struct{} // closed when the master has exited
	stopOnce sync.Once
}

// Binary returns the dovecot binary, skipping (or failing) t without it.
func Binary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(EnvBinary)
	if bin == "" {
		bin = "/usr/sbin/dovecot"
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(EnvRequire) != "" {
			t.Fatalf("%s is set but dovecot is missing: %v", EnvRequire, err)
		}
		t.Skipf("no dovecot (%v): install dovecot-imapd to run this test", err)
	}
	return bin
}

// Start starts a Dovecot for t, stopped when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := Binary(t)
	s, err := start(t, bin, opts)
	if err != nil {
		t.Fatalf("dovecottest: %v", err)
	}
	return s
}

func start(t testing.TB, bin string, opts Options) (*Server, error) {
	dir, err := os.MkdirTemp("", "rookery-dovecot-")
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{Dir: dir, Log: filepath.Join(dir, "dovecot.log")}
	mailUser, err := accounts()
	if err != nil {
		return nil, err
	}
	// Dovecot's unprivileged processes (login, mail) walk into dir.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	mail := filepath.Join(dir, "mail")
	if err := os.Mkdir(mail, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chown(mail, mailUser.uid, mailUser.gid); err != nil {
		return nil, fmt.Errorf("chown %s: %w", mail, err)
	}
	var users strings.Builder
	for _, u := range opts.Users {
		fmt.Fprintf(&users, "%s:{PLAIN}%s\n", u, Password)
	}
	if err := os.WriteFile(filepath.Join(dir, "users"), []byte(users.String()), 0o644); err != nil {
		return nil, err
	}
	imapPort, err := freePort()
	if err != nil {
		return nil, err
	}
	s.IMAPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(imapPort))
	imapsPort := 0
	sslConf := "ssl = no\n"
	if opts.TLS {
		if imapsPort, err = freePort(); err != nil {
			return nil, err
		}
		s.IMAPSAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(imapsPort))
		cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		if err := selfSigned(cert, key); err != nil {
			return nil, err
		}
		s.CAFile = cert
		sslConf = fmt.Sprintf("ssl = yes\nssl_cert = <%s\nssl_key = <%s\n", cert, key)
	}
	var special strings.Builder
	for name, use := range opts.SpecialUse {
		fmt.Fprintf(&special, "  mailbox %q {\n    special_use = %s\n    auto = subscribe\n  }\n", name, use)
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = rookery-test-%[2]d
protocols = imap
listen = 127.0.0.1
%[3]sdisable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:%[1]s/mail/%%u
log_path = %[1]s/dovecot.log
first_valid_uid = %[4]d
first_valid_gid = %[5]d
default_login_user = %[6]s
default_internal_user = %[6]s
mail_max_userip_connections = 100
mail_fsync = never
service anvil {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[7]d
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = %[8]d
    ssl = yes
  }
}
passdb {
  driver = passwd-file
  args = %[1]s/users
}
userdb {
  driver = static
  args = uid=%[4]d gid=%[5]d home=%[1]s/mail/%%u
}
namespace inbox {
  inbox = yes
  separator = .
%[9]s}
`, dir, os.Getpid(), sslConf, mailUser.uid, mailUser.gid, mailUser.name, imapPort, imapsPort, special.String())
	confFile := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command(bin, "-F", "-c", confFile)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()
	t.Cleanup(s.Stop)
	if err := waitListening(s.IMAPAddr, s.exited, 20*time.Second); err != nil {
		b, _ := os.ReadFile(out.Name())
		l, _ := os.ReadFile(s.Log)
		return nil, fmt.Errorf("dovecot did not start: %v\n%s%s", err, b, l)
	}
	return s, nil
}

// Stop ends the server's whole process group: SIGTERM, then SIGKILL if
// it has not exited within a few seconds. Its files stay until the test
// ends (a test reads a stopped server's Maildir: MailDir). Stopping again
// does nothing; the test's end stops a server not stopped before.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		pgid := s.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.exited
		}
		// Children (imap, auth) leave when the master does; make sure.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	})
}

// MailDir is the Maildir++ root of user's mail (its INBOX's cur/, new/
// and the "."-folders), owned by the user Dovecot's mail processes run
// as.
func (s *Server) MailDir(user string) string {
	return filepath.Join(s.Dir, "mail", user)
}

// CPU returns the CPU time (user and system) the server has used so
// far, read from /proc: every process of its process group (master,
// login, auth, imap) and the children they have reaped (imap processes
// of closed connections). imap is the part of the live processes whose
// command is "imap" (those serving logged-in users).
func (s *Server) CPU() (total, imap time.Duration, err error) {
	return groupCPU(s.cmd.Process.Pid)
}

// accounts is the user that owns the mail and runs Dovecot's
// unprivileged processes: the current user, or nobody when the test runs
// as root (Dovecot refuses mail access as root).
type account struct {
	name     string
	uid, gid int
}

func accounts() (account, error) {
	u, err := user.Current()
	if err != nil {
		return account{}, err
	}
	if u.Uid == "0" {
		if u, err = user.Lookup("nobody"); err != nil {
			return account{}, fmt.Errorf("running as root needs a user nobody: %w", err)
		}
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return account{}, err
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return account{}, err
	}
	return account{name: u.Username, uid: uid, gid: gid}, nil
}

// freePort returns a loopback TCP port free at the time of the call.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitListening waits until addr accepts connections, the process exits
// or d passes.
func waitListening(addr string, exited <-chan struct{}, d time.Duration) error {
	deadline := time.Now().Add(d)
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("dovecot exited")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %v: %w", addr, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and localhost and its
// key, made now and valid for a day.
func selfSigned(certFile, keyFile string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}

// groupCPU sums the CPU time of the processes in the process group
// pgid and of the children they reaped; imap is that of the live
// processes whose command is "imap".
func groupCPU(pgid int) (total, imap time.Duration, err error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, err
	}
	var all, imapTicks int64
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone
		}
		// pid (comm) state ppid pgrp session tty tpgid flags minflt
		// cminflt majflt cmajflt utime stime cutime cstime ...
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 15 {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g != pgid {
			continue
		}
		var n [4]int64
		for i := range n {
			n[i], _ = strconv.ParseInt(f[11+i], 10, 64)
		}
		all += n[0] + n[1] + n[2] + n[3]
		if s[open+1:close] == "imap" {
			imapTicks += n[0] + n[1]
		}
	}
	// USER_HZ is 100 on Linux.
	tick := time.Second / 100
	return time.Duration(all) * tick, time.Duration(imapTicks) * tick, nil
}

// Message is a message to put into the server.
type Message struct {
	Mailbox string // created if missing ("." separates levels)
	Flags   []imap.Flag
	Date    time.Time
	Body    []byte
}

// Dial logs user in over the plaintext listener.
func (s *Server) Dial(t testing.TB, user string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
	if err != nil {
		t.Fatalf("dovecottest: dial: %v", err)
	}
	if err := c.Login(user, Password).Wait(); err != nil {
		c.Close()
		t.Fatalf("dovecottest: login %s: %v", user, err)
	}
	return c
}

// Append puts msgs into user's mailboxes over IMAP (APPEND, pipelined),
// creating and subscribing the mailboxes they name.
func (s *Server) Append(t testing.TB, user string, msgs []Message) {
	t.Helper()
	c := s.Dial(t, user)
	defer c.Close()
	made := map[string]bool{"INBOX": true}
	var pending []*imapclient.AppendCommand
	wait := func() {
		for _, p := range pending {
			if _, err := p.Wait(); err != nil {
				t.Fatalf("dovecottest: APPEND: %v", err)
			}
		}
		pending = pending[:0]
	}
	for _, m := range msgs {
		if !made[m.Mailbox] {
			wait()
			if err := c.Create(m.Mailbox, nil).Wait(); err != nil && !strings.Contains(err.Error(), "exists") {
				t.Fatalf("dovecottest: CREATE %s: %v", m.Mailbox, err)
			}
			if err := c.Subscribe(m.Mailbox).Wait(); err != nil {
				t.Fatalf("dovecottest: SUBSCRIBE %s: %v", m.Mailbox, err)
			}
			made[m.Mailbox] = true
		}
		cmd := c.Append(m.Mailbox, int64(len(m.Body)), &imap.AppendOptions{Flags: m.Flags, Time: m.Date})
		if _, err := cmd.Write(m.Body); err != nil {
			t.Fatalf("dovecottest: APPEND: %v", err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatalf("dovecottest: APPEND: %v", err)
		}
		pending = append(pending, cmd)
		if len(pending) >= 64 {
			wait()
		}
	}
	wait()
	if err := c.Logout().Wait(); err != nil {
		t.Logf("dovecottest: LOGOUT: %v", err)
	}
}
