package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// progress reports the advance of a long command (store copy) on w: a
// bar redrawn in place when w is a terminal, plain lines otherwise (a
// log file or a pipe gets one line per step, no control characters).
type progress struct {
	w   io.Writer
	bar bool // redraw a bar in place (w is a terminal)

	total, totalBytes int64 // what the whole run covers
	done, doneBytes   int64 // what it went through so far
	label             string
	unit              string // what done counts ("messages" unless set)
	drawn             bool   // a bar is on the current line
}

// barWidth is the number of cells of the bar.
const barWidth = 30

// newProgress returns a progress over total messages of totalBytes on
// w, drawn as a bar when w is a terminal.
func newProgress(w io.Writer, total, totalBytes int64) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, bar: ok && isTerminal(f), total: total, totalBytes: totalBytes}
}

// add counts n more messages of size bytes as gone through.
func (p *progress) add(n, bytes int64) {
	p.done += n
	p.doneBytes += bytes
	p.draw()
}

// step says what is being worked on (a mailbox).
func (p *progress) step(label string) {
	p.label = label
	p.draw()
}

// linef prints a line of its own: in plain mode one line, on a terminal
// above the bar, which is drawn again below it.
func (p *progress) linef(format string, args ...any) {
	p.clear()
	fmt.Fprintf(p.w, format+"\n", args...)
	p.draw()
}

// finish leaves the terminal on a fresh line.
func (p *progress) finish() {
	p.clear()
}

func (p *progress) clear() {
	if p.bar && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

func (p *progress) draw() {
	if !p.bar {
		return
	}
	if p.total == 0 && p.totalBytes == 0 {
		// Nothing known to compare with: counts only.
		fmt.Fprintf(p.w, "\r\x1b[K%d messages  %s  %s", p.done, formatBytes(p.doneBytes), p.label)
		p.drawn = true
		return
	}
	frac := 1.0
	if p.totalBytes > 0 {
		frac = min(1, float64(p.doneBytes)/float64(p.totalBytes))
	} else if p.total > 0 {
		frac = min(1, float64(p.done)/float64(p.total))
	}
	cells := int(frac * barWidth)
	label := p.label
	if len(label) > 40 {
		label = "…" + label[len(label)-39:]
	}
	unit := p.unit
	if unit == "" {
		unit = "messages"
	}
	fmt.Fprintf(p.w, "\r\x1b[K[%s%s] %3.0f%%  %d/%d %s  %s/%s  %s",
		strings.Repeat("#", cells), strings.Repeat("-", barWidth-cells), frac*100,
		p.done, p.total, unit, formatBytes(p.doneBytes), formatBytes(p.totalBytes), label)
	p.drawn = true
}

// formatBytes writes n in binary units ("12.3 MiB").
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
