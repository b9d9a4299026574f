package imapserver_test

import (
	"context"
	"testing"
	"time"

	"rookery/internal/imapserver"
	"rookery/internal/imaptest"
)

// TestIdleShutdown: Shutdown tells an idling session BYE.
func TestIdleShutdown(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", "pass")
	c.Send("a1 SELECT INBOX")
	c.ReadUntilTagged("a1")
	c.Send("a2 IDLE")
	c.Expect(t, "+ idling")
	ctx, cancel := context.WithTimeout(context.Background(), imaptest.ReadTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	c.Expect(t, "* BYE Server shutting down")
	c.ExpectEOF()
}

// TestIdleAutologout: the inactivity timer runs while idling too (RFC 9051
// §5.4), and changes pushed meanwhile do not count as client activity.
func TestIdleAutologout(t *testing.T) {
	srv := imaptest.StartServer(t, func(o *imapserver.Options) { o.IdleTimeout = 300 * time.Millisecond })
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", "pass")
	c.Send("a1 SELECT INBOX")
	c.ReadUntilTagged("a1")
	c.Send("a2 IDLE")
	c.Expect(t, "+ idling")
	start := time.Now()
	c.Expect(t, "* BYE Autologout; idle for too long")
	c.ExpectEOF()
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("autologout after %v", d)
	}
}
