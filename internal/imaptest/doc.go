// Package imaptest helps tests talk IMAP to a real server over loopback. It
// is imported by tests only.
//
// It has three parts:
//   - Client, a raw-line client over a net.Conn: Send writes a line (CRLF
//     appended), ReadLine reads one CRLF-terminated line under a deadline,
//     Expect compares lines with Match patterns. Server literals are not
//     interpreted: their bytes simply appear in the lines read.
//   - StartServer, which runs an imapserver.Server on a fresh sqlitestore in
//     t.TempDir with an in-memory event bus, a self-signed certificate and
//     the accounts alice/pass and bob/pass, on a plaintext listener (with
//     STARTTLS) and an implicit-TLS listener, shut down in t.Cleanup.
//   - RunTranscript and RunTranscripts, which play transcript files (see
//     transcript.go for the format) against such a server.
//
// Invariants: every read is bounded by a deadline (ReadTimeout), so a test
// fails instead of hanging; nothing here sleeps or asserts on timing.
package imaptest
