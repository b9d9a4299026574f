package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestReindex(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out, errb bytes.Buffer
	run := func(stdin string, args ...string) int {
		out.Reset()
		errb.Reset()
		return Main(ctx, args, strings.NewReader(stdin), &out, &errb)
	}
	if code := run("pw\n", "user", "add", "alice", "--data", dir, "--password-stdin"); code != ExitOK {
		t.Fatalf("user add: %d %s", code, errb.String())
	}
	msg := "From: a@example.org\r\nSubject: hello\r\n\r\nsome body text\r\n"
	if code := run(msg, "deliver", "--user", "alice", "--data", dir); code != ExitOK {
		t.Fatalf("deliver: %d %s", code, errb.String())
	}
	if code := run("", "reindex", "--data", dir); code != ExitOK || !strings.Contains(out.String(), "indexed 1 messages") {
		t.Fatalf("reindex: %d %q %s", code, out.String(), errb.String())
	}
	if code := run("", "reindex", "alice", "--data", dir); code != ExitOK || !strings.Contains(out.String(), "indexed 1 messages") {
		t.Fatalf("reindex alice: %d %q %s", code, out.String(), errb.String())
	}
	if code := run("", "reindex", "nobody", "--data", dir); code == ExitOK {
		t.Fatalf("reindex of an unknown user succeeded")
	}
}
