// Package imap is Rookery's shared IMAP vocabulary: flags, capabilities,
// response codes and the typed Error that handlers return and the server
// maps to tagged responses in one place.
package imap
