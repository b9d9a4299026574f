package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// report is the result of a run; the table and the JSON show the same.
type report struct {
	Addr            string  `json:"addr"`
	Greeting        string  `json:"greeting"`
	TLS             string  `json:"tls"` // "none", "implicit" or "starttls"
	Clients         int     `json:"clients"`
	Users           int     `json:"users"`
	DurationS       float64 `json:"duration_s"`
	WarmupS         float64 `json:"warmup_s"`
	Seed            uint64  `json:"seed"`
	Weights         string  `json:"weights"`
	Mailbox         string  `json:"mailbox"`
	Prefill         int     `json:"prefill"`
	MaxMessages     int     `json:"max_messages"`
	Window          int     `json:"window"`
	TimeoutS        float64 `json:"timeout_s"`
	ThinkS          float64 `json:"think_s"`
	MessagesAtStart [2]int  `json:"messages_at_start"` // fewest and most in a user's mailbox before the prefill

	Ops             int64   `json:"ops"` // weighted operations that succeeded in the window
	OpsPerS         float64 `json:"ops_per_s"`
	Errors          int64   `json:"errors"` // in the window, all rows
	Logins          int64   `json:"logins"`
	LoginsPerS      float64 `json:"logins_per_s"`
	ConnectFailures int64   `json:"connect_failures"`
	Reconnects      int64   `json:"reconnects"`
	ErrorsOutside   int64   `json:"errors_outside_window"`
	Unstopped       int     `json:"unstopped_connections"` // closed by force at the hard stop

	Commands      []commandReport `json:"commands"`
	ConnectErrors []string        `json:"connect_errors,omitempty"`
	OtherErrors   []string        `json:"errors_outside_window_samples,omitempty"`
}

type commandReport struct {
	Name    string   `json:"name"`
	Count   int64    `json:"count"` // succeeded
	Errors  int64    `json:"errors"`
	NO      int64    `json:"no,omitempty"`
	BAD     int64    `json:"bad,omitempty"`
	Timeout int64    `json:"timeout,omitempty"`
	Proto   int64    `json:"proto,omitempty"`
	IO      int64    `json:"io,omitempty"`
	P50     float64  `json:"p50_ms"`
	P90     float64  `json:"p90_ms"`
	P99     float64  `json:"p99_ms"`
	Max     float64  `json:"max_ms"`
	Mean    float64  `json:"mean_ms"`
	Samples []string `json:"error_samples,omitempty"`
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// report summarises the stats once the workers have stopped.
func (st *stats) report(cfg *config) *report {
	rep := &report{
		Addr:        cfg.addr,
		TLS:         "none",
		Clients:     cfg.clients,
		Users:       len(cfg.users),
		DurationS:   cfg.duration.Seconds(),
		WarmupS:     cfg.warmup.Seconds(),
		Seed:        cfg.seed,
		Weights:     cfg.weights.String(),
		Mailbox:     cfg.mailbox,
		Prefill:     cfg.prefill,
		MaxMessages: cfg.maxMessages,
		Window:      cfg.window,
		TimeoutS:    cfg.timeout.Seconds(),
		ThinkS:      cfg.think.Seconds(),
	}
	switch {
	case cfg.tls:
		rep.TLS = "implicit"
	case cfg.starttls:
		rep.TLS = "starttls"
	}
	if g := st.greeting.Load(); g != nil {
		rep.Greeting = *g
	}
	for i := range st.rows {
		r := &st.rows[i]
		r.mu.Lock()
		c := commandReport{
			Name:    rowNames[i],
			Count:   int64(r.h.n),
			NO:      r.no,
			BAD:     r.bad,
			Timeout: r.timeout,
			Proto:   r.proto,
			IO:      r.io,
			P50:     round3(r.h.quantile(0.50)),
			P90:     round3(r.h.quantile(0.90)),
			P99:     round3(r.h.quantile(0.99)),
			Max:     round3(float64(r.h.max) / 1000),
			Mean:    round3(r.h.meanMs()),
			Samples: append([]string(nil), r.samples...),
		}
		r.mu.Unlock()
		c.Errors = c.NO + c.BAD + c.Timeout + c.Proto + c.IO
		if i >= numOps && c.Count == 0 && c.Errors == 0 {
			continue // an unused extra row (no trim)
		}
		if i < numOps {
			rep.Ops += c.Count
		}
		rep.Errors += c.Errors
		rep.Commands = append(rep.Commands, c)
	}
	sec := cfg.duration.Seconds()
	rep.OpsPerS = round3(float64(rep.Ops) / sec)
	rep.Logins = st.logins.Load()
	rep.LoginsPerS = round3(float64(rep.Logins) / sec)
	rep.ConnectFailures = st.connFails.Load()
	rep.Reconnects = st.reconnects.Load()
	st.mu.Lock()
	rep.ErrorsOutside = st.outside
	rep.ConnectErrors = append([]string(nil), st.connErrs...)
	rep.OtherErrors = append([]string(nil), st.otherErrs...)
	st.mu.Unlock()
	return rep
}

func (rep *report) writeTable(w io.Writer) {
	fmt.Fprintf(w, "mixload %s (%s TLS): %s\n", rep.Addr, rep.TLS, rep.Greeting)
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	fmt.Fprintf(w, "%d clients on %d users, %s measured after %s warm-up, seed %d, mailbox %s (%d–%d messages before prefill to %d, max %d), window %d, timeout %s, think %s\n",
		rep.Clients, rep.Users, sec(rep.DurationS), sec(rep.WarmupS), rep.Seed, rep.Mailbox, rep.MessagesAtStart[0], rep.MessagesAtStart[1], rep.Prefill, rep.MaxMessages, rep.Window, sec(rep.TimeoutS), sec(rep.ThinkS))
	fmt.Fprintf(w, "weights %s\n", rep.Weights)
	fmt.Fprintf(w, "ops %d (%.1f/s), errors %d; logins %d (%.2f/s); connection failures %d, reconnects %d, errors outside the window %d",
		rep.Ops, rep.OpsPerS, rep.Errors, rep.Logins, rep.LoginsPerS, rep.ConnectFailures, rep.Reconnects, rep.ErrorsOutside)
	if rep.Unstopped > 0 {
		fmt.Fprintf(w, ", %d connections closed at the hard stop", rep.Unstopped)
	}
	fmt.Fprintf(w, "\n\n%-10s %8s %6s %9s %9s %9s %9s %9s\n", "command", "ok", "errors", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms")
	for _, c := range rep.Commands {
		fmt.Fprintf(w, "%-10s %8d %6d %9.2f %9.2f %9.2f %9.2f %9.2f\n", c.Name, c.Count, c.Errors, c.P50, c.P90, c.P99, c.Max, c.Mean)
	}
	var errs []string
	for _, c := range rep.Commands {
		if c.Errors == 0 {
			continue
		}
		errs = append(errs, fmt.Sprintf("%s: NO %d, BAD %d, timeout %d, protocol %d, connection %d", c.Name, c.NO, c.BAD, c.Timeout, c.Proto, c.IO))
		for _, s := range c.Samples {
			errs = append(errs, "    "+s)
		}
	}
	for _, s := range rep.ConnectErrors {
		errs = append(errs, "connect: "+s)
	}
	for _, s := range rep.OtherErrors {
		errs = append(errs, "outside the window: "+s)
	}
	if len(errs) > 0 {
		fmt.Fprintf(w, "\nerrors:\n  %s\n", strings.Join(errs, "\n  "))
	}
}
