package main

import (
	"bytes"
	"io"
	"math/rand/v2"
	"mime"
	"mime/multipart"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMessages(t *testing.T) {
	g := newGenerator(7)
	date := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	a := g.message(rand.New(rand.NewPCG(1, 2)), date, "x")
	b := newGenerator(7).message(rand.New(rand.NewPCG(1, 2)), date, "x")
	if !bytes.Equal(a, b) {
		t.Fatal("same seed, different messages")
	}
	r := rand.New(rand.NewPCG(5, 6))
	const n = 2000
	var sizes []int
	attach := 0
	seen := map[string]bool{}
	for i := range n {
		msg := g.message(r, date, "id"+string(rune('a'+i%26))+strings.Repeat("x", i/26))
		sizes = append(sizes, len(msg))
		if seen[string(msg)] {
			t.Fatal("two identical messages")
		}
		seen[string(msg)] = true
		if bytes.Contains(msg, []byte("\n")) && bytes.Count(msg, []byte("\n")) != bytes.Count(msg, []byte("\r\n")) {
			t.Fatalf("message %d has a bare LF", i)
		}
		m, err := mail.ReadMessage(bytes.NewReader(msg))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		for _, h := range []string{"From", "To", "Subject", "Date", "Message-Id"} {
			if m.Header.Get(h) == "" {
				t.Fatalf("message %d has no %s", i, h)
			}
		}
		if _, err := m.Header.AddressList("From"); err != nil {
			t.Fatalf("message %d: From: %v", i, err)
		}
		mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(m.Body, params["boundary"])
			parts := 0
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("message %d part %d: %v", i, parts, err)
				}
				if strings.Contains(p.Header.Get("Content-Disposition"), "attachment") {
					attach++
				}
				parts++
			}
			if parts != 2 {
				t.Fatalf("message %d: %d parts", i, parts)
			}
		}
	}
	slices.Sort(sizes)
	if med := sizes[n/2]; med < 3000 || med > 5500 {
		t.Errorf("median size %d, want about 4 KB", med)
	}
	if frac := float64(attach) / n; frac < 0.16 || frac > 0.24 {
		t.Errorf("%.2f of messages have an attachment, want about 0.2", frac)
	}
	if sizes[n-1] > 300<<10 {
		t.Errorf("largest message %d bytes", sizes[n-1])
	}
}
