package maildir

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
)

// dovecot is a private Dovecot serving one user's Maildir on loopback,
// started by a test.
type dovecot struct {
	addr string
	cmd  *exec.Cmd
	dir  string
	uid  int
	gid  int
}

// dovecotBinary returns the path of Debian's dovecot, or skips the test.
func dovecotBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/dovecot"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("dovecot"); err == nil {
		return p
	}
	t.Skip("dovecot is not installed (Debian package dovecot-imapd)")
	return ""
}

// mailOwner returns the uid and gid Dovecot accesses mail as: the current
// user, or nobody when the test runs as root (Dovecot refuses root).
func mailOwner(t *testing.T) (uid, gid int, name string) {
	t.Helper()
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		return os.Geteuid(), os.Getegid(), u.Username
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("running as root and there is no user nobody for Dovecot: %v", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, u.Username
}

// chownTree gives path and all below it to uid:gid (when running as
// root), so that Dovecot can use a tree the test wrote.
func chownTree(t *testing.T, path string, uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	err := filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// startDovecot starts Dovecot serving the Maildir maildir for user
// "u" / password "p" and stops it when the test ends (or when stop is
// called).
func startDovecot(t *testing.T, maildir string) *dovecot {
	t.Helper()
	bin := dovecotBinary(t)
	uid, gid, uname := mailOwner(t)
	// A short directory: Dovecot's sockets live in base_dir.
	dir, err := os.MkdirTemp("", "rkdv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Every directory above the Maildir must be searchable by Dovecot's
	// mail user.
	for p := filepath.Dir(maildir); p != "/" && p != "."; p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 && os.Geteuid() == 0 {
			os.Chmod(p, st.Mode().Perm()|0o011)
		}
	}
	if err := os.MkdirAll(maildir, 0o700); err != nil {
		t.Fatal(err)
	}
	chownTree(t, maildir, uid, gid)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte("u:{PLAIN}p:::::\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var userConf string
	if os.Geteuid() == 0 {
		userConf = fmt.Sprintf("mail_uid = %d\nmail_gid = %d\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n", uid, gid)
	} else {
		userConf = fmt.Sprintf("default_login_user = %s\ndefault_internal_user = %s\nfirst_valid_uid = 1\nfirst_valid_gid = 1\n", uname, uname)
	}
	conf := fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:%[2]s
log_path = %[1]s/dovecot.log
%[4]s
service anvil {
  chroot =
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[3]d
  }
  inet_listener imaps {
    port = 0
  }
}
passdb {
  driver = passwd-file
  args = %[1]s/users
}
userdb {
  driver = passwd-file
  args = %[1]s/users
}
namespace inbox {
  inbox = yes
  separator = /
}
`, dir, maildir, port, userConf)
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"run", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(bin, "-F", "-c", confPath)
	cmd.Stdout, cmd.Stderr, cmd.Stdin = out, out, nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &dovecot{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, dir: dir, uid: uid, gid: gid}
	t.Cleanup(d.stop)
	// Wait until it listens: at most 200 tries, 50 ms apart.
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", d.addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if i == 200 {
			d.stop()
			t.Fatalf("dovecot does not listen on %s: %v\n%s", d.addr, err, d.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return d
}

func (d *dovecot) logs() string {
	a, _ := os.ReadFile(filepath.Join(d.dir, "stdout"))
	b, _ := os.ReadFile(filepath.Join(d.dir, "dovecot.log"))
	return string(a) + string(b)
}

// stop ends Dovecot (its master, then anything left of its process
// group) and waits for it.
func (d *dovecot) stop() {
	if d.cmd == nil {
		return
	}
	pid := d.cmd.Process.Pid
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	d.cmd = nil
}

// client logs in to Dovecot as u.
func (d *dovecot) client(t *testing.T) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(d.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login("u", "p").Wait(); err != nil {
		t.Fatalf("login: %v\n%s", err, d.logs())
	}
	return c
}
