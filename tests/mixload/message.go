package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// generator makes realistic, deterministic messages: a median of about
// 4 KB, a fifth of them with a base64 attachment of 20–200 KB, varied
// header fields (Received chains, Cc, replies with In-Reply-To and
// References, mailing-list fields, DKIM signatures, X-Mailer), plain text
// or multipart/alternative bodies. Everything comes from the rand.Rand it
// is given and from pool, random bytes derived from the seed, so the same
// seed gives the same messages. Every message has its own Message-ID and
// Date, so no two are byte-identical (servers that store equal contents
// once must still store each).
type generator struct {
	pool []byte // base64 lines of random data, 78 bytes each (76 + CRLF)
}

const (
	attachLine    = 57 // raw bytes per base64 line
	attachMaxRaw  = 200 << 10
	attachPoolRaw = 512 << 10
)

func newGenerator(seed uint64) *generator {
	r := rand.New(rand.NewPCG(seed, 0x6d69786c6f6164)) // "mixload"
	raw := make([]byte, attachPoolRaw)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	var pool bytes.Buffer
	for i := 0; i+attachLine <= len(raw); i += attachLine {
		pool.WriteString(base64.StdEncoding.EncodeToString(raw[i : i+attachLine]))
		pool.WriteString("\r\n")
	}
	return &generator{pool: pool.Bytes()}
}

var (
	firstNames = []string{"Alice", "Bob", "Carol", "Dave", "Eve", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Zoë", "José", "Søren"}
	lastNames  = []string{"Smith", "Jones", "Müller", "García", "Rossi", "Dubois", "Nakamura", "Kowalski", "Andersson", "O'Brien", "Novak", "Silva"}
	domains    = []string{"example.com", "example.org", "example.net", "mail.example.com", "lists.example.org", "corp.example"}
	// subjectWords are also the words SEARCH SUBJECT looks for.
	subjectWords = []string{"meeting", "report", "invoice", "budget", "release", "schedule", "review", "lunch", "project", "update", "contract", "holiday", "deadline", "question", "proposal", "minutes", "travel", "photos", "newsletter", "outage"}
	bodyWords    = []string{"the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who", "so", "no", "meeting", "report", "server", "mailbox", "tomorrow", "please", "thanks", "regards", "attached", "schedule", "numbers", "quarter", "customer", "deploy", "version", "question"}
	mailers      = []string{"Thunderbird 128.5.0", "Apple Mail (2.3826.300.87.4.3)", "Microsoft Outlook 16.0", "K-9 Mail 6.800", "Roundcube Webmail/1.6.9", "Evolution 3.54.1"}
	attachTypes  = []string{"application/pdf; name=\"report.pdf\"", "image/jpeg; name=\"IMG_2041.jpg\"", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name=\"budget.xlsx\"", "application/zip; name=\"logs.zip\""}
)

// asciiFold makes the names' letters ASCII for addresses.
var asciiFold = strings.NewReplacer("ë", "e", "é", "e", "í", "i", "ø", "o", "ü", "u", "'", "")

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func (g *generator) address(r *rand.Rand) string {
	first, last := pick(r, firstNames), pick(r, lastNames)
	local := strings.ToLower(asciiFold.Replace(first + "." + last))
	name := first + " " + last
	if name != asciiFold.Replace(name) {
		// Non-ASCII display names are encoded words (RFC 2047).
		name = "=?UTF-8?Q?" + qEncode(name) + "?="
	} else {
		name = `"` + name + `"`
	}
	return name + " <" + local + "@" + pick(r, domains) + ">"
}

func qEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c == ' ':
			b.WriteByte('_')
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String()
}

// subject returns a subject and the word SEARCH SUBJECT could find it by.
func subject(r *rand.Rand) string {
	var b strings.Builder
	switch x := r.IntN(10); {
	case x < 3:
		b.WriteString("Re: ")
	case x < 4:
		b.WriteString("Fwd: ")
	}
	n := 2 + r.IntN(5)
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		if i == 0 || r.IntN(3) == 0 {
			b.WriteString(pick(r, subjectWords))
		} else {
			b.WriteString(pick(r, bodyWords))
		}
	}
	return b.String()
}

// text appends about n bytes of wrapped text.
func text(b *bytes.Buffer, r *rand.Rand, n int) {
	end := b.Len() + n
	col := 0
	for b.Len() < end {
		w := pick(r, bodyWords)
		if col+len(w)+1 > 72 {
			b.WriteString("\r\n")
			col = 0
			if r.IntN(8) == 0 {
				b.WriteString("\r\n") // paragraph
			}
		} else if col > 0 {
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	b.WriteString("\r\n")
}

// message returns a new message dated date with Message-ID <id@domain>.
func (g *generator) message(r *rand.Rand, date time.Time, id string) []byte {
	var b bytes.Buffer
	b.Grow(8 << 10)
	from, to := g.address(r), g.address(r)
	dom := pick(r, domains)
	// A Received chain of 1–3 hops, newest first.
	hops := 1 + r.IntN(3)
	for h := range hops {
		t := date.Add(-time.Duration(h*(1+r.IntN(30))) * time.Second)
		fmt.Fprintf(&b, "Received: from mx%d.%s (mx%d.%s [192.0.2.%d])\r\n\tby mail.example.org (Postfix) with ESMTPS id %X\r\n\tfor <user@example.org>; %s\r\n",
			r.IntN(9), dom, r.IntN(9), dom, 1+r.IntN(254), r.Uint64()&0xffffffffff, t.Format(time.RFC1123Z))
	}
	if r.IntN(10) < 4 {
		fmt.Fprintf(&b, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=sel%d;\r\n\th=from:to:subject:date:message-id;\r\n\tbh=%s;\r\n\tb=%s\r\n\t %s\r\n",
			dom, r.IntN(3), randB64(r, 32), randB64(r, 96), randB64(r, 96))
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\n", from, to)
	if r.IntN(10) < 3 {
		fmt.Fprintf(&b, "Cc: %s, %s\r\n", g.address(r), g.address(r))
	}
	subj := subject(r)
	fmt.Fprintf(&b, "Subject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\n", subj, date.Format(time.RFC1123Z), id, dom)
	if strings.HasPrefix(subj, "Re: ") {
		parent := fmt.Sprintf("<%x@%s>", r.Uint64(), dom)
		fmt.Fprintf(&b, "In-Reply-To: %s\r\nReferences: <%x@%s>\r\n %s\r\n", parent, r.Uint64(), dom, parent)
	}
	if r.IntN(5) == 0 {
		fmt.Fprintf(&b, "List-Id: <team%d.%s>\r\nList-Unsubscribe: <mailto:leave-%x@%s>\r\nPrecedence: list\r\n", r.IntN(5), dom, r.Uint32(), dom)
	}
	if r.IntN(2) == 0 {
		fmt.Fprintf(&b, "X-Mailer: %s\r\n", pick(r, mailers))
	}
	b.WriteString("MIME-Version: 1.0\r\n")

	// Text size: log-normal around 3.2 KB (the header is ~0.5–1.5 KB), so
	// that the whole message's median is about 4 KB.
	size := int(math.Exp(math.Log(3200) + 0.7*r.NormFloat64()))
	size = min(max(size, 150), 64<<10)
	boundary := fmt.Sprintf("=_mixload_%x", r.Uint64())
	switch x := r.IntN(100); {
	case x < 20: // with an attachment
		raw := 20<<10 + r.IntN(attachMaxRaw-20<<10+1)
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\nThis is a multi-part message in MIME format.\r\n--%s\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", boundary, boundary)
		text(&b, r, size/2)
		ct := pick(r, attachTypes)
		name := ct[strings.Index(ct, "name=")+5:]
		fmt.Fprintf(&b, "--%s\r\nContent-Type: %s\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=%s\r\n\r\n", boundary, ct, name)
		lines := (raw + attachLine - 1) / attachLine
		start := r.IntN(len(g.pool)/78 - lines + 1)
		b.Write(g.pool[start*78 : (start+lines)*78])
		fmt.Fprintf(&b, "--%s--\r\n", boundary)
	case x < 35: // text and HTML
		fmt.Fprintf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n--%s\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary, boundary)
		text(&b, r, size/3)
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<html><body><p>\r\n", boundary)
		text(&b, r, size/2)
		fmt.Fprintf(&b, "</p></body></html>\r\n--%s--\r\n", boundary)
	default:
		b.WriteString("Content-Type: text/plain; charset=UTF-8; format=flowed\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		text(&b, r, size)
	}
	return b.Bytes()
}

func randB64(r *rand.Rand, n int) string {
	raw := make([]byte, n*3/4)
	for i := range raw {
		raw[i] = byte(r.Uint32())
	}
	return base64.StdEncoding.EncodeToString(raw)
}
