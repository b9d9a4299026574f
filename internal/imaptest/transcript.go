package imaptest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"rookery/internal/imapserver"
	"rookery/internal/store"
)

// A transcript is a text file that plays one or more client connections
// against a fresh test server, line by line:
//
//	# a comment; blank lines are ignored too
//	SERVER: appendlimit=100 plaintext=never   (first, optional: server options;
//	                             also maxline, maxconns, maxconnsperip,
//	                             maxunauth, maxunauthperip, preauth=300ms,
//	                             and maxmailboxname, maxmailboxdepth,
//	                             maxmailboxes, maxkeywords,
//	                             maxkeywordlength for the store's
//	                             MailboxLimits, 0 = unlimited)
//	C: a1 LOGIN alice pass       send the line and CRLF on connection 1
//	S: a1 OK [CAPABILITY *] *    read one line; it must Match the pattern
//	S~: ^\* OK \[UIDVALIDITY \d+\]  read one line; it must match the regexp
//	C+: hello\r\n                send bytes as they are, no CRLF added; the
//	                             escapes \r \n \t \\ and \xHH are decoded,
//	                             other backslashes are kept
//	EOF:                         the server closes the connection
//
// A digit after the letter names another connection: C2:, S2~:, C2+:,
// EOF2:. A connection is dialled at its first line. If that line is a C
// line, the runner reads the greeting itself (it must start "* OK ");
// otherwise the transcript checks it.
//
// Server output is read as CRLF-terminated lines only, so a literal's bytes
// appear in the lines as sent. When the file ends, each connection not
// closed with EOF: is sent "zz NOOP" and must answer with just
// "zz OK NOOP completed": output the transcript did not account for fails
// the test.

// step is one line of a transcript.
type step struct {
	line int    // line number in the file
	conn int    // connection number, from 1
	kind string // "C", "C+", "S", "S~", "EOF"
	text string
	re   *regexp.Regexp
}

var directiveRE = regexp.MustCompile(`^(C|S|EOF)([0-9]*)([+~]?):(?: ?)(.*)$`)

// parseTranscript reads a transcript file into server options, mailbox
// limits and steps.
func parseTranscript(path string) (opts []Option, limits store.MailboxLimits, steps []step, err error) {
	limits = DefaultMailboxLimits()
	opts, steps, err = parseSteps(path, &limits)
	return opts, limits, steps, err
}

// parseSteps reads the server options and steps of a transcript; its
// mailbox limit options change *limits.
func parseSteps(path string, limits *store.MailboxLimits) ([]Option, []step, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var opts []Option
	var steps []step
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		raw := strings.TrimSuffix(sc.Text(), "\r")
		where := fmt.Sprintf("%s:%d", path, n)
		if strings.TrimSpace(raw) == "" || strings.HasPrefix(raw, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(raw, "SERVER:"); ok {
			if len(steps) > 0 {
				return nil, nil, fmt.Errorf("%s: SERVER: must come before the first step", where)
			}
			o, err := parseServerOptions(rest, limits)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %v", where, err)
			}
			opts = append(opts, o...)
			continue
		}
		m := directiveRE.FindStringSubmatch(raw)
		if m == nil {
			return nil, nil, fmt.Errorf("%s: cannot parse %q (want C:, C+:, S:, S~: or EOF:)", where, raw)
		}
		st := step{line: n, conn: 1, kind: m[1] + m[3], text: m[4]}
		if m[2] != "" {
			st.conn, _ = strconv.Atoi(m[2])
			if st.conn < 1 || st.conn > 9 {
				return nil, nil, fmt.Errorf("%s: connection number %s out of range 1-9", where, m[2])
			}
		}
		switch st.kind {
		case "C", "C+", "S", "S~", "EOF":
		default:
			return nil, nil, fmt.Errorf("%s: unknown directive %q", where, m[1]+m[3])
		}
		switch st.kind {
		case "S~":
			if st.re, err = regexp.Compile(st.text); err != nil {
				return nil, nil, fmt.Errorf("%s: %v", where, err)
			}
		case "C+":
			st.text = unescape(st.text)
		case "EOF":
			if st.text != "" {
				return nil, nil, fmt.Errorf("%s: EOF: takes no text", where)
			}
		}
		steps = append(steps, st)
	}
	return opts, steps, sc.Err()
}

func parseServerOptions(s string, limits *store.MailboxLimits) ([]Option, error) {
	var opts []Option
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		switch strings.ToLower(k) {
		case "maxmailboxname", "maxmailboxdepth", "maxmailboxes", "maxkeywords", "maxkeywordlength":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad %s %q", k, v)
			}
			switch strings.ToLower(k) {
			case "maxmailboxname":
				limits.MaxNameBytes = n
			case "maxmailboxdepth":
				limits.MaxDepth = n
			case "maxkeywords":
				limits.MaxKeywords = n
			case "maxkeywordlength":
				limits.MaxKeywordBytes = n
			default:
				limits.MaxMailboxes = n
			}
		case "appendlimit":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("bad appendlimit %q", v)
			}
			opts = append(opts, func(o *imapserver.Options) { o.AppendLimit = n })
		case "plaintext":
			var p imapserver.PlaintextAuth
			switch v {
			case "loopback":
				p = imapserver.PlaintextLoopback
			case "always":
				p = imapserver.PlaintextAlways
			case "never":
				p = imapserver.PlaintextNever
			default:
				return nil, fmt.Errorf("bad plaintext %q (loopback, always or never)", v)
			}
			opts = append(opts, func(o *imapserver.Options) { o.PlaintextAuth = p })
		case "maxline":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("bad maxline %q", v)
			}
			opts = append(opts, func(o *imapserver.Options) { o.MaxLine = n })
		case "maxconns", "maxconnsperip", "maxunauth", "maxunauthperip":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("bad %s %q", k, v)
			}
			field := map[string]func(*imapserver.Options) *int{
				"maxconns":       func(o *imapserver.Options) *int { return &o.MaxConns },
				"maxconnsperip":  func(o *imapserver.Options) *int { return &o.MaxConnsPerIP },
				"maxunauth":      func(o *imapserver.Options) *int { return &o.MaxUnauthConns },
				"maxunauthperip": func(o *imapserver.Options) *int { return &o.MaxUnauthConnsPerIP },
			}[strings.ToLower(k)]
			opts = append(opts, func(o *imapserver.Options) { *field(o) = n })
		case "preauth":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("bad preauth %q", v)
			}
			opts = append(opts, func(o *imapserver.Options) { o.PreAuthTimeout = d })
		default:
			return nil, fmt.Errorf("unknown server option %q", k)
		}
	}
	return opts, nil
}

// unescape decodes \r \n \t \\ and \xHH; other backslashes stay.
func unescape(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			sb.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case 'r':
			sb.WriteByte('\r')
			i++
		case 'n':
			sb.WriteByte('\n')
			i++
		case 't':
			sb.WriteByte('\t')
			i++
		case '\\':
			sb.WriteByte('\\')
			i++
		case 'x':
			if i+3 < len(s) {
				if b, err := strconv.ParseUint(s[i+2:i+4], 16, 8); err == nil {
					sb.WriteByte(byte(b))
					i += 3
					continue
				}
			}
			sb.WriteByte('\\')
		default:
			sb.WriteByte('\\')
		}
	}
	return sb.String()
}

// RunTranscripts runs every file matching glob as a parallel subtest
// named after the file.
func RunTranscripts(t *testing.T, glob string, opts ...Option) {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("imaptest: no transcripts match %s", glob)
	}
	for _, b := range Backends {
		t.Run(string(b), func(t *testing.T) {
			for _, f := range files {
				t.Run(strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)), func(t *testing.T) {
					t.Parallel()
					RunTranscriptOn(t, b, f, opts...)
				})
			}
		})
	}
}

// RunTranscript plays one transcript file against a new test server
// started with opts followed by the file's SERVER: options.
func RunTranscript(t *testing.T, path string, opts ...Option) {
	t.Helper()
	RunTranscriptOn(t, SQLite, path, opts...)
}

// RunTranscriptOn is RunTranscript with a server on the backend b.
func RunTranscriptOn(t *testing.T, b Backend, path string, opts ...Option) {
	t.Helper()
	fileOpts, limits, steps, err := parseTranscript(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := StartServerOn(t, b, limits, append(opts, fileOpts...)...)
	r := &runner{t: t, path: path, srv: srv, conns: map[int]*Client{}, closed: map[int]bool{}}
	for i, st := range steps {
		r.step(steps, i, st)
	}
	r.finish()
}

type runner struct {
	t      *testing.T
	path   string
	srv    *Server
	conns  map[int]*Client
	closed map[int]bool
	order  []int // connection numbers in order of opening
}

func (r *runner) failf(st step, format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("%s:%d: %s", r.path, st.line, fmt.Sprintf(format, args...))
}

// conn returns connection n, dialling it at its first use.
func (r *runner) conn(steps []step, i int) *Client {
	st := steps[i]
	if c, ok := r.conns[st.conn]; ok {
		if r.closed[st.conn] {
			r.failf(st, "connection %d is already closed", st.conn)
		}
		return c
	}
	c := r.srv.Dial(r.t)
	r.conns[st.conn] = c
	r.order = append(r.order, st.conn)
	if st.kind == "C" || st.kind == "C+" {
		line, err := c.readLine()
		if err != nil || !strings.HasPrefix(line, "* OK ") {
			r.failf(st, "connection %d: bad greeting %q (%v)", st.conn, line, err)
		}
	}
	return c
}

func (r *runner) step(steps []step, i int, st step) {
	r.t.Helper()
	c := r.conn(steps, i)
	switch st.kind {
	case "C":
		if err := c.write([]byte(st.text + "\r\n")); err != nil {
			r.failf(st, "send: %v", err)
		}
	case "C+":
		if err := c.write([]byte(st.text)); err != nil {
			r.failf(st, "send: %v", err)
		}
	case "S", "S~":
		line, err := c.readLine()
		if err != nil {
			r.failf(st, "connection %d: expected %s\nread error: %v%s", st.conn, st.text, err, c.recent())
		}
		ok := false
		if st.re != nil {
			ok = st.re.MatchString(line)
		} else {
			ok = Match(st.text, line)
		}
		if !ok {
			r.failf(st, "connection %d: line mismatch\nexpected: %s\ngot:      %s%s", st.conn, st.text, line, c.recent())
		}
	case "EOF":
		if err := c.expectEOF(); err != nil {
			r.failf(st, "connection %d: %v%s", st.conn, err, c.recent())
		}
		r.closed[st.conn] = true
		c.Close()
	}
}

// finish checks that every connection still open has nothing left to say.
func (r *runner) finish() {
	r.t.Helper()
	for _, n := range r.order {
		if r.closed[n] {
			continue
		}
		c := r.conns[n]
		if err := c.write([]byte("zz NOOP\r\n")); err != nil {
			r.t.Fatalf("%s: end of transcript: connection %d: %v", r.path, n, err)
		}
		line, err := c.readLine()
		if err != nil {
			r.t.Fatalf("%s: end of transcript: connection %d: %v%s", r.path, n, err, c.recent())
		}
		if line != "zz OK NOOP completed" {
			r.t.Fatalf("%s: end of transcript: connection %d has unexpected output:\n  S: %s\n(a check NOOP was sent; every response must be matched by the transcript)%s",
				r.path, n, line, c.recent())
		}
	}
}
