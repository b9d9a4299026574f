// Package benchcorpus generates the search benchmark mailbox: message i
// of an endless, deterministic sequence of distinct messages of realistic
// shape (plain 8bit, quoted-printable, multipart/alternative with HTML,
// multipart/mixed with a base64 text part and an 8–32 KB base64
// attachment; encoded-word senders; reply chains of five with
// In-Reply-To/References), 2–40 KB each, about 8.7 KB on average.
//
// The same corpus is used by the in-process benchmarks of
// internal/imapserver and by tests/searchcmp, which loads it into any
// IMAP server (Rookery, Dovecot) for a side-by-side comparison. The output
// is part of the benchmarks' definition: changing it changes every
// recorded number, so the tests pin it with hashes.
//
// It imports only the standard library.
package benchcorpus

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// DefaultN is the size of the benchmark mailbox (about 870 MB).
const DefaultN = 100_000

// RareWord is the word that only the messages with Rare(i) contain, in
// their body text.
const RareWord = "xylophonequartz"

// Rare reports whether message i contains RareWord (one in 20,011: five
// messages of the first 100,000).
func Rare(i int) bool { return i%20011 == 7 }

// InternalDate is the internal date given to message i when it is stored:
// 2023-01-01 00:00:00 UTC plus 15 minutes per message. (Its Date: header
// lies up to 10 minutes after it.)
func InternalDate(i int) time.Time {
	return time.Unix(1672531200+int64(i)*900, 0)
}

// Sender returns the number s of message i's sender, user<s>@example.org
// (0 ≤ s < 2000). Messages with s%7 == 0 have an encoded-word display
// name.
func Sender(i int) int {
	return rand.New(rand.NewPCG(uint64(i), 99)).IntN(2000)
}

// vocab is the word list of generated text.
var vocab = func() []string {
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

func words(r *rand.Rand, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = vocab[r.IntN(len(vocab))]
	}
	return strings.Join(w, " ")
}

// lines folds s into CRLF-terminated lines of at most 72 characters.
func lines(s string) string {
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

// Message returns message i (i ≥ 0) of the corpus, with CRLF line
// endings. The sender is user0..user1999@example.org, messages 5k..5k+4
// form one thread whose first message has no "Re: " subject prefix, and
// the same i always gives the same bytes.
func Message(i int) []byte {
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
	subject := fmt.Sprintf("%s %s %d", vocab[thread%len(vocab)], vocab[(thread*7)%len(vocab)], thread)
	if i%5 != 0 {
		subject = "Re: " + subject
		fmt.Fprintf(&b, "In-Reply-To: <%d@bench.example>\r\nReferences: <%d@bench.example> <%d@bench.example>\r\n", i-1, thread*5, i-1)
	}
	fmt.Fprintf(&b, "Subject: %s\r\nMIME-Version: 1.0\r\n", subject)
	text := words(r, 80+r.IntN(400))
	if Rare(i) {
		text += " " + RareWord
	}
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(lines(text))
	case 4, 5:
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(lines(text), "ü", "=C3=BC"), "ö", "=C3=B6"))
	case 6, 7:
		b.WriteString("Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
		b.WriteString(lines(text))
		b.WriteString("--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>")
		b.WriteString(lines(text))
		b.WriteString("</p></body></html>\r\n--alt--\r\n")
	default:
		b.WriteString("Content-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n--mix\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		b.WriteString(b64(text))
		b.WriteString("--mix\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\nContent-Disposition: attachment; filename=\"doc.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		att := make([]byte, 8<<10+r.IntN(24<<10))
		for j := range att {
			att[j] = byte(r.Uint32())
		}
		b.WriteString(b64(string(att)))
		b.WriteString("--mix--\r\n")
	}
	return b.Bytes()
}

// b64 encodes s in base64 with CRLF after every 76 characters and at the
// end (written out rather than with encoding/base64 so that the corpus
// cannot change with the standard library).
func b64(s string) string {
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
