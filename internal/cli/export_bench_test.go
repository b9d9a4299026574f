package cli

import (
	"context"
	"fmt"
	"path/filepath"
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

// BenchmarkImport imports an export of benchMessages small messages in
// each format into a new account (target: at least 2,000 msg/s). The
// eml and maildir exports keep UIDs: the new account's INBOX is restored
// with them; mbox takes the append path.
func BenchmarkImport(b *testing.B) {
	for _, format := range []string{"eml", "maildir", "mbox"} {
		b.Run(format, func(b *testing.B) {
			in, out := benchExportFormat(b, format)
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
