package migrate_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"rookery/internal/dovecottest"
	"rookery/internal/migrate"
	"rookery/internal/store/sqlitestore"
)

// BenchmarkMigrateFromDovecot migrates alice's corpus (5,000 messages)
// from a local Dovecot into a fresh store per iteration over plaintext
// IMAP, and reports messages per second and the CPU time each side used
// per 1,000 messages: this process's (getrusage: the migration, the
// store and its SQLite) and Dovecot's (every process of its group and
// the children it reaped, from /proc).
func BenchmarkMigrateFromDovecot(b *testing.B) {
	const n = 5000
	b.StopTimer()
	s := dovecottest.Start(b, dovecottest.Options{Users: []string{"alice"}, SpecialUse: map[string]string{"Sent Items": `\Sent`}})
	s.Append(b, "alice", corpus(n))
	ctx := context.Background()
	var msgs int
	var elapsed, ours, theirs time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := sqlitestore.Open(ctx, b.TempDir(), sqlitestore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.CreateAccount(ctx, "alice", "x"); err != nil {
			b.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // Dovecot reaps the filling session
		d0, _, err := s.CPU()
		if err != nil {
			b.Fatal(err)
		}
		r0 := rusage(b)
		t0 := time.Now()
		b.StartTimer()
		rep, err := migrate.Run(ctx, migrate.Options{Store: st, Account: "alice",
			Source: migrate.Source{Addr: s.IMAPAddr, Security: migrate.Plaintext, Login: "alice", Password: dovecottest.Password}})
		b.StopTimer()
		elapsed += time.Since(t0)
		ours += rusage(b) - r0
		if err != nil || !rep.Complete() {
			b.Fatalf("run: %v %+v", err, rep)
		}
		_, copied, _, _, _ := rep.Totals()
		msgs += copied
		time.Sleep(300 * time.Millisecond) // the migration's imap process exits and is reaped
		d1, _, err := s.CPU()
		if err != nil {
			b.Fatal(err)
		}
		theirs += d1 - d0
		st.Close()
	}
	b.ReportMetric(float64(msgs)/elapsed.Seconds(), "msg/s")
	b.ReportMetric(ours.Seconds()*1000/float64(msgs), "rookery-cpu-s/1k-msg")
	b.ReportMetric(theirs.Seconds()*1000/float64(msgs), "dovecot-cpu-s/1k-msg")
	b.Logf("%d messages in %v: rookery CPU %v, dovecot CPU %v (%s)", msgs, elapsed.Round(time.Millisecond), ours, theirs,
		fmt.Sprintf("%.0f msg/s", float64(msgs)/elapsed.Seconds()))
}

// rusage is this process's CPU time so far (user and system).
func rusage(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
