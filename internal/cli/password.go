package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxPasswordLen bounds a password read from stdin or a terminal.
const maxPasswordLen = 1024

// readPassword reads a new password: one line from e.stdin if fromStdin,
// otherwise twice from the terminal without echo.
func readPassword(ctx context.Context, e *env, fromStdin bool) (string, error) {
	if fromStdin {
		pw, err := readLine(e.stdin)
		if err != nil {
			return "", fmt.Errorf("read password from stdin: %w", err)
		}
		if pw == "" {
			return "", errors.New("empty password on stdin")
		}
		return pw, nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return "", errors.New("standard input is not a terminal: use --password-stdin")
	}
	fmt.Fprint(e.stderr, "Password: ")
	pw, err := readNoEcho(ctx, f)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	fmt.Fprint(e.stderr, "Repeat password: ")
	again, err := readNoEcho(ctx, f)
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if pw != again {
		return "", errors.New("passwords do not match")
	}
	return pw, nil
}

// readLine reads one line (without its CR LF) of at most maxPasswordLen
// bytes. A last line without a newline is accepted.
func readLine(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxPasswordLen+2), maxPasswordLen+2)
	line, err := br.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if errors.Is(err, io.EOF) {
			return "", errors.New("no input")
		}
		return "", err
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if len(line) > maxPasswordLen {
		return "", fmt.Errorf("password longer than %d bytes", maxPasswordLen)
	}
	return line, nil
}

// readNoEcho reads a line from the terminal f with echo off, restoring the
// terminal also when ctx is cancelled (for example by Ctrl-C).
func readNoEcho(ctx context.Context, f *os.File) (string, error) {
	restore, err := disableEcho(f)
	if err != nil {
		return "", err
	}
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := readLineUnbuffered(f)
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		restore()
		return r.s, r.err
	case <-ctx.Done():
		restore()
		return "", ctx.Err()
	}
}

// readLineUnbuffered reads byte by byte so that nothing after the line is
// consumed from f.
func readLineUnbuffered(f io.Reader) (string, error) {
	var b strings.Builder
	var c [1]byte
	for {
		n, err := f.Read(c[:])
		if n == 1 {
			if c[0] == '\n' {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			if b.Len() >= maxPasswordLen {
				return "", fmt.Errorf("password longer than %d bytes", maxPasswordLen)
			}
			b.WriteByte(c[0])
		}
		if err != nil {
			if errors.Is(err, io.EOF) && b.Len() > 0 {
				return b.String(), nil
			}
			return "", err
		}
	}
}
