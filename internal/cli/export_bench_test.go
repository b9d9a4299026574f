package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchMessages is the size of the mailbox the benchmarks export and
// import.
const benchMessages = 10000

// benchExport returns an installation whose alice has benchMessages
// small messages in INBOX, and an eml export of it.
func benchExport(b *testing.B) (installation, string) {
	return benchExportFormat(b, "eml")
}

// benchExportFormat is benchExport with an export in format.
func benchExportFormat(b *testing.B, format string) (installation, string) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "data")
	in := installation{st: openData(b, dir), args: []string{"--data", dir}}
	ctx := context.Background()
	a, err := in.st.CreateAccount(ctx, "alice", "hash")
	if err != nil {
		b.Fatal(err)
	}
	inbox, err := in.st.Mailbox(ctx, a.ID, "INBOX")
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < benchMessages; i += 500 {
		appendPlain(b, in.st, inbox.ID, i, 500)
	}
	out := filepath.Join(b.TempDir(), "export")
	if code := Main(ctx, append([]string{"export", "alice", out, "--format", format}, in.args...), nil, discard{}, discard{}); code != ExitOK {
		b.Fatalf("export: exit %d", code)
	}
	return in, out
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkExport exports benchMessages small messages (target: at
// least 5,000 msg/s) in each format.
func BenchmarkExport(b *testing.B) {
	for _, format := range []string{"eml", "maildir", "mbox"} {
		b.Run(format, func(b *testing.B) {
			in, _ := benchExport(b)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out := filepath.Join(b.TempDir(), fmt.Sprint("e", i))
				if code := Main(ctx, append([]string{"export", "alice", out, "--format", format}, in.args...), nil, discard{}, discard{}); code != ExitOK {
					b.Fatalf("export: exit %d", code)
				}
			}
			b.ReportMetric(float64(benchMessages*b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}

// dovecotMaildir writes a Maildir as Dovecot keeps one: n small
// messages with LF line ends in cur/, flags in their names, UIDs in
// dovecot-uidlist.
func dovecotMaildir(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			b.Fatal(err)
		}
	}
	var list strings.Builder
	fmt.Fprintf(&list, "3 V1700000000 N%d\n", n+1)
	for i := 0; i < n; i++ {
		body := fmt.Sprintf("From: a@example.org\nSubject: m%d\n\nbody %d\n", i, i)
		base := fmt.Sprintf("%d.M%dP1.host,S=%d,W=%d", 1700000000+i, i, len(body), len(body)+4)
		if err := os.WriteFile(filepath.Join(dir, "cur", base+":2,S"), []byte(body), 0o600); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&list, "%d :%s\n", i+1, base)
	}
	if err := os.WriteFile(filepath.Join(dir, "dovecot-uidlist"), []byte(list.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkImport imports benchMessages small messages into a new
// account (target: at least 2,000 msg/s) from an export in each format
// and from a Maildir as Dovecot writes it (LF line ends, turned into
// CRLF). The eml and maildir sources keep UIDs: the new account's INBOX
// is restored with them; mbox takes the append path.
func BenchmarkImport(b *testing.B) {
	for _, format := range []string{"eml", "maildir", "mbox", "dovecot-maildir"} {
		b.Run(format, func(b *testing.B) {
			var in installation
			var out string
			if format == "dovecot-maildir" {
				in, _ = benchExport(b)
				out = dovecotMaildir(b, benchMessages)
			} else {
				in, out = benchExportFormat(b, format)
			}
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				user := fmt.Sprint("u", i)
				if _, err := in.st.CreateAccount(ctx, user, "hash"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if code := Main(ctx, append([]string{"import", user, out}, in.args...), nil, discard{}, discard{}); code != ExitOK {
					b.Fatalf("import: exit %d", code)
				}
			}
			b.ReportMetric(float64(benchMessages*b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}
