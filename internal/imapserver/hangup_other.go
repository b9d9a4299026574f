//go:build !linux

package imapserver

// watchHangup is a no-op where peeking at a socket is not implemented:
// commands are cancelled on shutdown only.
func (c *conn) watchHangup(cancel func()) (stop func()) { return func() {} }
