// Package maildir reads and writes Maildir++ trees as Dovecot keeps them.
//
// The root of the tree is INBOX (cur/, new/, tmp/); every other mailbox
// is a directory of the root named "." followed by its name with "." as
// the hierarchy separator (Maildir++): "Archive/2024" is ".Archive.2024".
// Each name component is in modified UTF-7 (as Dovecot 2.3 writes
// non-ASCII names, "Entwürfe" is ".Entw&APw-rfe"), and a "." or "\"
// inside a component — which Dovecot's default configuration cannot
// store — is written "\2e" or "\5c", the escape of Dovecot's listescape
// plugin, so that every Rookery name has one directory and back.
//
// A message is one file; its name is "<base>:2,<flags>" with the flag
// letters D (\Draft), F (\Flagged), P (passed: $Forwarded), R
// (\Answered), S (\Seen), T (\Deleted), and a..z for the keywords listed
// in the mailbox's dovecot-keywords file. The file's mtime is the
// message's internal date. Dovecot's dovecot-uidlist (version 3: a
// header "3 V<uidvalidity> N<uidnext> ..." then "<uid> [fields] :<base>"
// lines) keeps UIDs and UIDVALIDITY; the root's "subscriptions" file
// (Dovecot 2.3: "V\t2", a blank line, then one name a line with "\t"
// between components) the subscriptions.
//
// The Reader reads trees written by Dovecot, by this package's Writer,
// and plain Maildirs (no Dovecot files: no UIDs, no keywords); Courier's
// courierimapsubscribed is read for subscriptions when there is no
// Dovecot subscriptions file. Maildir has no special-use attributes.
//
// The Writer writes each message into tmp/ and renames it into cur/; the
// data reaches the disk at EndMailbox (one syncfs for the mailbox rather
// than one fsync per message), before the mailbox's dovecot-uidlist is
// written (atomically). An export is complete only when Close returns.
package maildir
