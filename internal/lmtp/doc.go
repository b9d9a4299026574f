// Package lmtp is the LMTP front end (RFC 2033) on github.com/emersion/go-smtp
// in LMTP mode. It only translates: RCPT TO goes through delivery.Resolve,
// DATA through delivery.Deliver, and each recipient's outcome becomes its
// own reply (250 only once the message is durable). It knows nothing of
// IMAP.
package lmtp
