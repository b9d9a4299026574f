package imapserver_test

import (
	"os"
	"strings"
	"testing"
	"fmt"

	"rookery/internal/imaptest"
	"rookery/internal/imapserver"
)

// TestProbe is a temporary exploration helper.
func TestProbe(t *testing.T) {
	path := os.Getenv("PROBE")
	if path == "" {
		t.Skip()
	}
	data, _ := os.ReadFile(path)
	srv := imaptest.StartServer(t, func(o *imapserver.Options) { o.AppendLimit = 1000 })
	conns := map[string]*imaptest.Client{}
	get := func(n string) *imaptest.Client {
		c := conns[n]
		if c == nil {
			c = srv.Dial(t)
			fmt.Printf("%s< %s\n", n, c.ReadLine())
			conns[n] = c
		}
		return c
	}
	lastTag := map[string]string{}
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		n := "1"
		if strings.HasPrefix(l, "2 ") { n = "2"; l = l[2:] }
		c := get(n)
		if strings.HasPrefix(l, "RAW ") {
			raw := strings.ReplaceAll(strings.ReplaceAll(l[4:], `\r`, "\r"), `\n`, "\n")
			c.SendRaw([]byte(raw))
			lastTag[n], _, _ = strings.Cut(l[4:], " ")
			fmt.Printf("%s> RAW %q\n", n, raw)
			continue
		}
		if strings.HasPrefix(l, "READ") {
			fmt.Printf("%s< %s\n", n, c.ReadLine())
			continue
		}
		fmt.Printf("%s> %s\n", n, l)
		if strings.HasPrefix(l, "CONT ") {
			l = strings.ReplaceAll(strings.ReplaceAll(l[5:], `\r`, "\r"), `\n`, "\n")
			c.SendRaw([]byte(l))
		} else {
			c.Send(l)
			lastTag[n], _, _ = strings.Cut(l, " ")
		}
		tag := lastTag[n]
		for {
			line := c.ReadLine()
			fmt.Printf("%s< %s\n", n, line)
			if strings.HasPrefix(line, tag+" ") || strings.HasPrefix(line, "+ ") || strings.HasPrefix(line, "* BYE") {
				break
			}
		}
	}
}
