package imapserver_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"rookery/internal/imaptest"
)

// TestSearchRightAfterAppend: a message is found by a text search issued
// as soon as its APPEND is answered, while another client keeps the
// writer busy and the indexer behind: texts not indexed yet are searched
// by reading them (issue 11).
func TestSearchRightAfterAppend(t *testing.T) {
	srv := imaptest.StartServer(t)
	c := srv.Dial(t)
	c.ReadLine()
	c.Login("alice", "pass")
	c.Send("s SELECT INBOX")
	c.ReadUntilTagged("s")

	busy := srv.Dial(t)
	busy.ReadLine()
	busy.Login("alice", "pass")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			msg := fmt.Sprintf("Subject: filler %d\r\n\r\n%s\r\n", i, strings.Repeat("filler text ", 200))
			tag := "f" + strconv.Itoa(i)
			busy.Send(tag + " APPEND INBOX {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg)
			busy.ReadUntilTagged(tag)
		}
	})
	defer func() { close(stop); wg.Wait() }()

	for i := range 40 {
		word := fmt.Sprintf("zebra%dquokka", i)
		msg := "Subject: fresh\r\n\r\nthe word is " + word + "\r\n"
		tag := "a" + strconv.Itoa(i)
		c.Send(tag + " APPEND INBOX {" + strconv.Itoa(len(msg)) + "+}\r\n" + msg)
		lines := c.ReadUntilTagged(tag)
		ok := lines[len(lines)-1]
		_, uid, _ := strings.Cut(ok, "[APPENDUID ")
		uid, _, _ = strings.Cut(uid, "]")
		_, uid, _ = strings.Cut(uid, " ")
		tag = "b" + strconv.Itoa(i)
		c.Send(tag + " UID SEARCH BODY " + word)
		var found []string
		for _, l := range c.ReadUntilTagged(tag) {
			if rest, ok := strings.CutPrefix(l, "* SEARCH"); ok {
				found = strings.Fields(rest)
			}
		}
		if !slices.Equal(found, []string{uid}) {
			t.Fatalf("SEARCH BODY %s right after its APPEND (UID %s): %v", word, uid, found)
		}
	}
}
