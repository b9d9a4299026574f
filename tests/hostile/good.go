package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// goodStats is what the well-behaved client measured. It is written by
// that client's goroutine only and read after it ended.
type goodStats struct {
	lat        map[string][]time.Duration // per command
	failures   int64                      // NO, BAD, BYE answers
	unanswered int64                      // timeouts, dropped connections, failed connects
	errs       []string                   // the first few of either
}

func (g *goodStats) fail(unanswered bool, format string, args ...any) {
	if unanswered {
		g.unanswered++
	} else {
		g.failures++
	}
	if len(g.errs) < 5 {
		g.errs = append(g.errs, fmt.Sprintf(format, args...))
	}
}

// goodClient behaves as a mail client does until end: connect, LOGIN,
// SELECT INBOX, then FETCH of the newest headers and NOOP, 20 times each,
// LOGOUT, and again. Every command's latency is recorded.
func goodClient(ctx context.Context, cfg *config, reg *registry, end time.Time) *goodStats {
	g := &goodStats{lat: map[string][]time.Duration{}}
	for time.Now().Before(end) && ctx.Err() == nil {
		if !goodSession(ctx, cfg, reg, end, g) {
			// Do not spin against a server that refuses us.
			t := time.NewTimer(200 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			t.Stop()
		}
	}
	return g
}

// goodSession is one connection of the well-behaved client; false when it
// ended with an error.
func goodSession(ctx context.Context, cfg *config, reg *registry, end time.Time, g *goodStats) bool {
	t0 := time.Now()
	c, _, err := dialRaw(ctx, cfg, reg, "")
	if err != nil {
		if ctx.Err() == nil && time.Now().Before(reg.hard) {
			g.fail(true, "connect: %v", err)
		}
		return false
	}
	defer c.close()
	g.lat["connect"] = append(g.lat["connect"], time.Since(t0))
	exists := 0
	run := func(name, line string) bool {
		t0 := time.Now()
		tag := c.nextTag()
		if err := c.send([]byte(tag + " " + line + "\r\n")); err != nil {
			g.fail(true, "%s: %v", name, err)
			return false
		}
		dl := c.deadline()
		for {
			resp, err := c.readLine(dl)
			if err != nil {
				g.fail(true, "%s: %v (after %s)", name, err, time.Since(t0).Round(time.Millisecond))
				return false
			}
			if n, ok := strings.CutSuffix(resp, " EXISTS"); ok && strings.HasPrefix(n, "* ") {
				exists, _ = strconv.Atoi(n[2:])
			}
			if strings.HasPrefix(resp, "* BYE") && name != "logout" {
				g.fail(false, "%s: %s", name, resp)
				return false
			}
			if w, rest, _ := strings.Cut(resp, " "); w == tag {
				if !strings.HasPrefix(rest, "OK") {
					g.fail(false, "%s: %s", name, resp)
					return false
				}
				g.lat[name] = append(g.lat[name], time.Since(t0))
				return true
			}
		}
	}
	if !run("login", "LOGIN "+quote(cfg.goodUser)+" "+quote(cfg.pass)) || !run("select", "SELECT INBOX") {
		return false
	}
	for range 20 {
		if !time.Now().Before(end) {
			break
		}
		if exists > 0 {
			set := fmt.Sprintf("%d:*", max(1, exists-49))
			if !run("fetch", "FETCH "+set+" (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])") {
				return false
			}
		}
		if !run("noop", "NOOP") {
			return false
		}
	}
	return run("logout", "LOGOUT")
}

// prefillGood appends small messages to the well-behaved user's INBOX
// until it holds n, so that its FETCH has headers to read.
func prefillGood(ctx context.Context, cfg *config, reg *registry, n int) error {
	c, _, err := dialRaw(ctx, cfg, reg, "")
	if err != nil {
		return err
	}
	defer c.close()
	if !c.login(cfg.goodUser, cfg.pass) {
		return fmt.Errorf("login as %s failed", cfg.goodUser)
	}
	tag := c.nextTag()
	if err := c.send([]byte(tag + " SELECT INBOX\r\n")); err != nil {
		return err
	}
	exists := -1
	for {
		line, err := c.readLine(c.deadline())
		if err != nil {
			return fmt.Errorf("select: %w", err)
		}
		if s, ok := strings.CutSuffix(line, " EXISTS"); ok && strings.HasPrefix(s, "* ") {
			exists, _ = strconv.Atoi(s[2:])
		}
		if strings.HasPrefix(line, tag+" ") {
			if !strings.HasPrefix(line, tag+" OK") {
				return errors.New(line)
			}
			break
		}
	}
	for i := exists; i < n; i++ {
		msg := fmt.Sprintf("From: Sender %d <s%d@example.org>\r\nTo: %s@example.org\r\nSubject: message %d\r\n"+
			"Date: Mon, 5 Jan 2026 10:%02d:00 +0000\r\nMessage-ID: <%d.hostile@example.org>\r\n\r\nHello %d.\r\n",
			i, i, cfg.goodUser, i, i%60, i, i)
		tag := c.nextTag()
		if err := c.send(fmt.Appendf(nil, "%s APPEND INBOX {%d}\r\n", tag, len(msg))); err != nil {
			return err
		}
		if k, line := c.await(tag, true); k != kindCont {
			return fmt.Errorf("append: %s %s", k, line)
		}
		if err := c.send([]byte(msg + "\r\n")); err != nil {
			return err
		}
		if k, line := c.await(tag, false); k != kindOK {
			return fmt.Errorf("append: %s %s", k, line)
		}
	}
	return nil
}

// percentile returns the p-quantile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func sorted(ds []time.Duration) []time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s
}

// readRSS reads VmRSS of process pid in bytes.
func readRSS(pid int) (int64, error) { return readStatus(pid, "VmRSS") }

// readStatus reads a size field of /proc/PID/status (VmRSS, VmHWM) in
// bytes.
func readStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s %q: %w", field, v, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s line", field)
}

// sampleRSS reads the server's RSS every 250 ms until ctx ends and
// returns the peak, the process's VmHWM at the end (its high-water mark
// since it started, which a spike shorter than the sampling interval
// reaches too), and an error if the process went away.
func sampleRSS(ctx context.Context, pid int) (peak, hwm int64, err error) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		rss, err := readRSS(pid)
		if err != nil {
			return peak, hwm, fmt.Errorf("server process %d: %w", pid, err)
		}
		peak = max(peak, rss)
		select {
		case <-ctx.Done():
			hwm, _ = readStatus(pid, "VmHWM")
			return peak, hwm, nil
		case <-tick.C:
		}
	}
}

// slowloris sends a command line one byte per second, from src, until the
// server closes the connection (then it connects again) or the run ends.
func slowloris(a *actor, src string) {
	a.name = "slowloris"
	for time.Now().Before(a.end) && a.ctx.Err() == nil {
		a.stats.count("slowloris")
		c, _, err := dialRaw(a.ctx, a.cfg, a.reg, src)
		if err != nil {
			a.record(kindClosed, err.Error())
			a.sleep(time.Second)
			continue
		}
		line := "s1 LOGIN " + a.cfg.hostileUser + " " + strings.Repeat("x", 1<<20)
		k := kindLeft
		var last string
		for i := 0; i < len(line) && time.Now().Before(a.end); i++ {
			if err := c.send([]byte{line[i]}); err != nil {
				k, last = kindClosed, err.Error()
				break
			}
			// Anything the server says (BYE, BAD) ends it.
			_ = c.nc.SetReadDeadline(time.Now().Add(time.Second))
			resp, err := c.r.ReadString('\n')
			if err == nil {
				k, last = kindBYE, resp
				if !strings.HasPrefix(resp, "* BYE") {
					k = kindBAD
				}
				break
			}
			if !isTimeout(err) {
				k, last = kindClosed, err.Error()
				break
			}
		}
		a.record(k, last)
		c.close()
	}
}
