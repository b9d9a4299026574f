package dovecottest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/emersion/go-imap/v2/imapclient"
)

// TestStart logs in over imap and imaps and lists the special-use
// mailboxes asked for.
func TestStart(t *testing.T) {
	s := Start(t, Options{Users: []string{"alice"}, TLS: true, SpecialUse: map[string]string{"Sent Items": `\Sent`}})
	c, err := imapclient.DialInsecure(s.IMAPAddr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("alice", Password).Wait(); err != nil {
		t.Fatalf("login: %v", err)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range list {
		if m.Mailbox == "Sent Items" {
			found = true
		}
	}
	if !found {
		t.Errorf("LIST has no Sent Items: %+v", list)
	}
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tc, err := imapclient.DialTLS(s.IMAPSAddr, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if err := tc.Login("alice", Password).Wait(); err != nil {
		t.Fatalf("login over TLS: %v", err)
	}
	if _, imap, err := s.CPU(); err != nil || imap < 0 {
		t.Errorf("CPU: %v", err)
	}
}
