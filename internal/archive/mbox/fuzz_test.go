package mbox

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"rookery/internal/archive"
)

// memOpen opens a message's content from data.
func memOpen(data []byte) func(start, length int64, c *chain) (io.ReadCloser, error) {
	return func(start, length int64, c *chain) (io.ReadCloser, error) {
		return io.NopCloser(newTransformReader(io.NewSectionReader(bytes.NewReader(data), start, length), c, length)), nil
	}
}

// scanMem reads the mbox data held in memory.
func scanMem(t *testing.T, data []byte, d Dialect) ([]archive.Message, [][]byte, int) {
	r := &Reader{dialect: d}
	var msgs []archive.Message
	var contents [][]byte
	bads := 0
	err := r.scan(context.Background(), "mem", bytes.NewReader(data), memOpen(data), func(m archive.Message) error {
		rc, err := m.Open()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		if int64(len(b)) != m.Size {
			t.Fatalf("%s: Size %d, content %d", m.Path, m.Size, len(b))
		}
		msgs = append(msgs, m)
		contents = append(contents, b)
		return nil
	}, func(*archive.BadMessageError) error { bads++; return nil })
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return msgs, contents, bads
}

// FuzzRoundTrip: whatever a message's bytes and flags, the Writer's
// encoding read back by the Reader gives them back exactly, also after
// another message.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nFrom me\r\n"), uint8(3), "kw")
	f.Add([]byte("a\nb\r\nFrom x"), uint8(0), "")
	f.Add([]byte(">>From \r"), uint8(31), "$Junk")
	f.Add([]byte("\n\n\n"), uint8(1), "")
	f.Fuzz(func(t *testing.T, content []byte, sys uint8, kw string) {
		if len(content) == 0 {
			return
		}
		var flags []string
		for i, fl := range []string{archive.FlagSeen, archive.FlagAnswered, archive.FlagFlagged, archive.FlagDeleted, archive.FlagDraft} {
			if sys&(1<<i) != 0 {
				flags = append(flags, fl)
			}
		}
		if archive.IsKeyword(kw) && archive.SystemFlag(kw) == "" {
			flags = append(flags, kw)
		}
		w := &Writer{buf: make([]byte, 4096)}
		var out bytes.Buffer
		bw := bufio.NewWriter(&out)
		date := time.Date(2021, 6, 7, 8, 9, 10, 0, time.FixedZone("", -3600))
		for i := 0; i < 2; i++ {
			sp := &spool{}
			sp.Write(content)
			if err := w.encode(bw, archive.Message{Flags: flags, InternalDate: date}, sp); err != nil {
				t.Fatal(err)
			}
		}
		bw.Flush()
		msgs, contents, bads := scanMem(t, out.Bytes(), MBOXRD)
		if bads != 0 || len(msgs) != 2 {
			t.Fatalf("%d messages, %d bad, from %q", len(msgs), bads, out.Bytes())
		}
		for i, m := range msgs {
			if !bytes.Equal(contents[i], content) {
				t.Fatalf("message %d: got %q, want %q (file %q)", i, contents[i], content, out.Bytes())
			}
			if !m.InternalDate.Equal(date) {
				t.Fatalf("date %v", m.InternalDate)
			}
			sys1, kw1 := archive.SplitFlags(m.Flags)
			sys2, kw2 := archive.SplitFlags(flags)
			if len(sys1) != len(sys2) || strings.Join(kw1, " ") != strings.Join(kw2, " ") {
				t.Fatalf("flags %v, want %v", m.Flags, flags)
			}
		}
	})
}

// FuzzReader: any file is read without panic, every message's Size is
// its content's length, and the scan is bounded by the file.
func FuzzReader(f *testing.F) {
	f.Add([]byte("From a Mon Jan  2 15:04:05 2006\nSubject: x\n\nb\n\nFrom b Mon Jan  2 15:04:05 2006\nX-Rookery-Mbox: 1 size=3 date=2020-01-01T00:00:00Z noeol\nabc\n\n"), false)
	f.Add([]byte("From \n>From \n\nFrom x\nStatus: RO\nX-Keywords: a,b\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, mboxo bool) {
		d := MBOXRD
		if mboxo {
			d = MBOXO
		}
		msgs, contents, _ := scanMem(t, data, d)
		total := 0
		for _, c := range contents {
			total += len(c)
		}
		// Unquoting only removes bytes; CR are added at most once per LF.
		if total > 2*len(data) {
			t.Fatalf("%d messages with %d bytes from %d", len(msgs), total, len(data))
		}
	})
}

// FuzzFromLine: parsing never panics, and a line the Writer formats
// parses back to its sender and date.
func FuzzFromLine(f *testing.F) {
	f.Add("From a@b Mon Jan  2 15:04:05 2006 +0100", int64(0))
	f.Add("From  Thu Feb 29 23:59:59 EST 2024", int64(1700000000))
	f.Fuzz(func(t *testing.T, line string, unix int64) {
		parseFromLine(line)
		sender := "MAILER-DAEMON"
		if s := strings.TrimSpace(line); s != "" && isPrintableASCII(s) && len(s) < 100 {
			sender = s
		}
		d := time.Unix(unix%(1<<37), 0).UTC()
		if d.Year() < 1 || d.Year() > 9999 {
			return
		}
		s, got, err := parseFromLine(formatFromLine(sender, d))
		if err != nil || s != sender || !got.Equal(d) {
			// A sender that looks like a weekday confuses the parse
			// only when it is followed by a date; ours always is.
			if !isWeekday(sender[:min(3, len(sender))]) {
				t.Fatalf("parse(format(%q, %v)) = %q %v %v", sender, d, s, got, err)
			}
		}
	})
}
