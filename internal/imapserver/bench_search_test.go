package imapserver_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"rookery/internal/imaptest"
	"rookery/internal/store"
)

// The search benchmarks run on one generated mailbox of searchBenchN
// messages (ROOKERY_SEARCH_BENCH_N overrides the default 100,000), made
// through the store: distinct contents of realistic shape (plain, QP,
// base64, alternative with HTML, attachments, encoded-word headers,
// reply chains), 2–40 KB each.

// benchVocab is the word list of generated text.
var benchVocab = func() []string {
	r := rand.New(rand.NewPCG(1, 2))
	syll := []string{"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "gri", "sten", "mar", "quel", "bor"}
	words := []string{"budget", "meeting", "report", "invoice", "deadline", "Grüße", "Köln", "東京", "проект", "lunch"}
	for len(words) < 5000 {
		var b strings.Builder
		for range 2 + r.IntN(3) {
			b.WriteString(syll[r.IntN(len(syll))])
		}
		words = append(words, b.String())
	}
	return words
}()

// benchRare marks the messages that hold the rare word.
func benchRare(i int) bool { return i%20011 == 7 }

func benchWords(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = benchVocab[r.IntN(len(benchVocab))]
	}
	return strings.Join(w, " ")
}

func benchLines(s string) string {
	var b strings.Builder
	for len(s) > 72 {
		j := strings.LastIndexByte(s[:72], ' ')
		if j <= 0 {
			j = 72
		}
		b.WriteString(s[:j] + "\r\n")
		s = strings.TrimLeft(s[j:], " ")
	}
	b.WriteString(s + "\r\n")
	return b.String()
}

// benchMessage generates message i of the search corpus.
func benchMessage(i int) []byte {
	r := rand.New(rand.NewPCG(uint64(i), 99))
	var b bytes.Buffer
	sender := r.IntN(2000)
	date := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*15*time.Minute + time.Duration(r.IntN(600))*time.Second)
	fmt.Fprintf(&b, "Return-Path: <user%d@example.org>\r\nReceived: from mx.example.org by mail.example.com; %s\r\n", sender, date.Format(time.RFC1123Z))
	if sender%7 == 0 {
		fmt.Fprintf(&b, "From: =?UTF-8?Q?J=C3=B6rg_Sender_%d?= <user%d@example.org>\r\n", sender, sender)
	} else {
		fmt.Fprintf(&b, "From: \"Sender %d\" <user%d@example.org>\r\n", sender, sender)
	}
	fmt.Fprintf(&b, "To: alice@example.com\r\nDate: %s\r\nMessage-ID: <%d@bench.example>\r\n", date.Format(time.RFC1123Z), i)
	thread := i / 5
	subject := fmt.Sprintf("%s %s %d", benchVocab[thread%len(benchVocab)], benchVocab[(thread*7)%len(benchVocab)], thread)
	if i%5 != 0 {
		subject = "Re: " + subject
		fmt.Fprintf(&b, "In-Reply-To: <%d@bench.example>\r\nReferences: <%d@bench.example> <%d@bench.example>\r\n", i-1, thread*5, i-1)
	}
	fmt.Fprintf(&b, "Subject: %s\r\nMIME-Version: 1.0\r\n", subject)
	text := benchWords(r, 80+r.IntN(400))
	if benchRare(i) {
		text += " xylophonequartz"
	}
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(benchLines(text))
	case 4, 5:
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(benchLines(text), "ü", "=C3=BC"), "ö", "=C3=B6"))
	case 6, 7:
		b.WriteString("Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
		b.WriteString(benchLines(text))
		b.WriteString("--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>")
		b.WriteString(benchLines(text))
		b.WriteString("</p></body></html>\r\n--alt--\r\n")
	default:
		b.WriteString("Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		enc := make([]byte, 0, len(text)*2)
		enc = fmt.Appendf(enc, "%s", benchB64(text))
		b.Write(enc)
		b.WriteString("--mix\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\nContent-Disposition: attachment; filename=\"doc.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		att := make([]byte, 8<<10+r.IntN(24<<10))
		for j := range att {
			att[j] = byte(r.Uint32())
		}
		b.WriteString(benchB64(string(att)))
		b.WriteString("--mix--\r\n")
	}
	return b.Bytes()
}

func benchB64(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var b strings.Builder
	src := []byte(s)
	line := 0
	for i := 0; i < len(src); i += 3 {
		var v uint32
		n := min(3, len(src)-i)
		for j := range 3 {
			v <<= 8
			if j < n {
				v |= uint32(src[i+j])
			}
		}
		out := []byte{alphabet[v>>18&63], alphabet[v>>12&63], alphabet[v>>6&63], alphabet[v&63]}
		if n < 3 {
			out[3] = '='
		}
		if n < 2 {
			out[2] = '='
		}
		b.Write(out)
		if line += 4; line >= 76 {
			b.WriteString("\r\n")
			line = 0
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

func searchBenchN() int {
	if v, err := strconv.Atoi(os.Getenv("ROOKERY_SEARCH_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return 100_000
}

var searchCorpus struct {
	once  sync.Once
	srv   *imaptest.Server
	bytes int64
}

// searchServer returns the shared server with alice's INBOX filled.
func searchServer(b *testing.B) *imaptest.Server {
	searchCorpus.once.Do(func() {
		srv := imaptest.StartServer(keepDir{nopCleanup{b}})
		ctx := context.Background()
		acct, err := srv.Store.Account(ctx, "alice")
		if err != nil {
			b.Fatal(err)
		}
		mb, err := srv.Store.Mailbox(ctx, acct.ID, "INBOX")
		if err != nil {
			b.Fatal(err)
		}
		n := searchBenchN()
		start := time.Now()
		const batch = 500
		refs := make([]store.BlobRef, n)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var firstErr error
		for w := range 4 {
			wg.Go(func() {
				for i := w; i < n; i += 4 {
					ref, err := srv.Store.WriteBlob(ctx, bytes.NewReader(benchMessage(i)), -1)
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
					refs[i] = ref
				}
			})
		}
		wg.Wait()
		if firstErr != nil {
			b.Fatal(firstErr)
		}
		wrote := time.Since(start)
		for done := 0; done < n; done += batch {
			msgs := make([]store.NewMessage, 0, batch)
			for i := done; i < min(done+batch, n); i++ {
				searchCorpus.bytes += refs[i].Size
				msgs = append(msgs, store.NewMessage{Blob: refs[i], InternalDate: time.Unix(1672531200+int64(i)*900, 0)})
			}
			if _, err := srv.Store.Append(ctx, mb.ID, msgs); err != nil {
				b.Fatal(err)
			}
			refs = refs[:len(refs):len(refs)]
		}
		b.Logf("search corpus: %d messages, %d MB, WriteBlob %v, Append %v", n, searchCorpus.bytes>>20, wrote, time.Since(start)-wrote)
		searchCorpus.srv = srv
	})
	if searchCorpus.srv == nil {
		b.Fatal("setup failed")
	}
	return searchCorpus.srv
}

func benchSearch(b *testing.B, line string, minLines int) {
	c := benchDial(b, searchServer(b).Addr, "alice")
	c.cmd(b, "EXAMINE INBOX")
	b.ResetTimer()
	for b.Loop() {
		if n := c.cmd(b, line); n < minLines {
			b.Fatalf("%s: %d lines", line, n)
		}
	}
}

// BenchmarkSearchBodyRare: SEARCH BODY "rare-word" (target < 200 ms).
func BenchmarkSearchBodyRare(b *testing.B) {
	benchSearch(b, `SEARCH BODY "xylophonequartz"`, 1)
}

// BenchmarkSearchFromSubject: SEARCH FROM "x" SUBJECT "y" (target < 50 ms).
func BenchmarkSearchFromSubject(b *testing.B) {
	benchSearch(b, `SEARCH FROM "user1234@" SUBJECT "re:"`, 1)
}

// BenchmarkSearchFlags: SEARCH UNSEEN LARGER 10000 (metadata only).
func BenchmarkSearchFlags(b *testing.B) {
	benchSearch(b, `SEARCH UNSEEN LARGER 10000`, 1)
}

// BenchmarkSortDate: SORT (DATE) UTF-8 ALL (target < 300 ms).
func BenchmarkSortDate(b *testing.B) {
	benchSearch(b, `SORT (DATE) UTF-8 ALL`, 1)
}

// BenchmarkThreadReferences: THREAD REFERENCES UTF-8 ALL (target < 1 s).
func BenchmarkThreadReferences(b *testing.B) {
	benchSearch(b, `THREAD REFERENCES UTF-8 ALL`, 1)
}

// BenchmarkAppendIndexed measures WriteBlob+Append of one corpus message
// with its search text indexed; BenchmarkAppendUnindexed the same with
// the text dropped before Append (no FTS insert). WriteBlob extracts the
// text in both: BenchmarkExtractText in package searchtext is that part.
func BenchmarkAppendIndexed(b *testing.B)   { benchAppend(b, true) }
func BenchmarkAppendUnindexed(b *testing.B) { benchAppend(b, false) }

func benchAppend(b *testing.B, indexed bool) {
	srv := imaptest.StartServer(b)
	ctx := context.Background()
	acct, _ := srv.Store.Account(ctx, "alice")
	mb, _ := srv.Store.Mailbox(ctx, acct.ID, "INBOX")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		ref, err := srv.Store.WriteBlob(ctx, bytes.NewReader(benchMessage(i)), -1)
		if err != nil {
			b.Fatal(err)
		}
		if !indexed {
			ref.Text = nil
		}
		if _, err := srv.Store.Append(ctx, mb.ID, []store.NewMessage{{Blob: ref}}); err != nil {
			b.Fatal(err)
		}
	}
}
