package archivetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"rookery/internal/archive"
)

// SmallMessage returns the i-th small message of a benchmark mailbox
// (about 1.5 KB, CRLF).
func SmallMessage(i int) []byte {
	return []byte(fmt.Sprintf("Return-Path: <sender%d@example.org>\r\nFrom: Sender %d <sender%d@example.org>\r\nTo: rcpt@example.net\r\n"+
		"Subject: benchmark message %d\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\nMessage-ID: <%d@example.org>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s", i, i, i, i, i,
		bodyText))
}

var bodyText = func() string {
	s := ""
	for i := 0; i < 20; i++ {
		s += fmt.Sprintf("Line %02d of the body, with some words to make it look like mail text.\r\n", i)
	}
	return s
}()

// WriteSmall writes one mailbox of n small messages with w.
func WriteSmall(tb testing.TB, w archive.Writer, n int) {
	tb.Helper()
	ctx := context.Background()
	if err := w.BeginMailbox(ctx, archive.Mailbox{Name: "INBOX", UIDValidity: 1}); err != nil {
		tb.Fatal(err)
	}
	date := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		data := SmallMessage(i)
		m := archive.Message{UID: uint32(i + 1), Flags: []string{archive.FlagSeen}, InternalDate: date.Add(time.Duration(i) * time.Minute), Size: int64(len(data))}
		if err := w.Add(ctx, m, bytes.NewReader(data)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.EndMailbox(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

// ReadAll reads every message of every mailbox of r, content included,
// and returns how many there were.
func ReadAll(tb testing.TB, r archive.Reader) int {
	tb.Helper()
	ctx := context.Background()
	mbs, err := r.Mailboxes(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	buf := make([]byte, 32<<10)
	for _, mb := range mbs {
		err := r.Messages(ctx, mb.Name, func(m archive.Message) error {
			rc, err := m.Open()
			if err != nil {
				return err
			}
			_, err = io.CopyBuffer(io.Discard, rc, buf)
			rc.Close()
			n++
			return err
		}, nil)
		if err != nil {
			tb.Fatal(err)
		}
	}
	return n
}

// ReportRate reports messages per second of a benchmark that handled n
// messages per iteration.
func ReportRate(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msg/s")
}
