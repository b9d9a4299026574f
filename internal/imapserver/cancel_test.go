package imapserver_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"rookery/internal/imaptest"
)

// waitUnblocked waits (bounded) for a blocked store call to end and
// returns its error.
func waitUnblocked(t *testing.T, srv *imaptest.Server) error {
	t.Helper()
	select {
	case err := <-srv.Unblocked:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("the store call was never cancelled")
		return nil
	}
}

// TestCommandCancelledOnHangup: a command still running when its client
// closes the connection has its context cancelled, so the store call
// stops instead of working for nobody.
func TestCommandCancelledOnHangup(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", "pass")
	c.Send("a CREATE " + imaptest.BlockMailbox)
	time.Sleep(100 * time.Millisecond) // let it start
	c.Close()
	if err := waitUnblocked(t, srv); !errors.Is(err, context.Canceled) {
		t.Fatalf("store call ended with %v, want context.Canceled", err)
	}
}

// TestCommandNotCancelledByPipelining: data from the client while a
// command runs (a pipelined command) is not a hang-up.
func TestCommandNotCancelledByPipelining(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", "pass")
	c.Send("a CREATE " + imaptest.BlockMailbox)
	c.Send("b NOOP")
	select {
	case err := <-srv.Unblocked:
		t.Fatalf("store call cancelled (%v) though the client is still there", err)
	case <-time.After(300 * time.Millisecond):
	}
	// A forced shutdown cancels it.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	if err := waitUnblocked(t, srv); !errors.Is(err, context.Canceled) {
		t.Fatalf("store call ended with %v, want context.Canceled", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}
