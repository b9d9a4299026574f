package imapserver_test

import (
	"testing"

	"rookery/internal/imapserver"
	"rookery/internal/imaptest"
)

// transcriptAppendLimit is the APPENDLIMIT of the transcript servers: small,
// so that TOOBIG is cheap to provoke.
const transcriptAppendLimit = 1000

// TestTranscripts plays every testdata/*.txt transcript against its own
// server (see package imaptest for the format).
func TestTranscripts(t *testing.T) {
	imaptest.RunTranscripts(t, "testdata/*.txt", func(o *imapserver.Options) {
		o.AppendLimit = transcriptAppendLimit
	})
}
