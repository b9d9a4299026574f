// Package auth verifies credentials: argon2id password hashes, the SASL
// mechanisms PLAIN, LOGIN, SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (their
// server side written here from RFC 5802 and RFC 7677, against stored
// StoredKey/ServerKey/salt, never the password; -PLUS binds to the TLS
// connection with tls-exporter, RFC 9266), and failed-login throttling (Throttle: exponential delays
// per address (IPv6: per /64, AddressKey) and per (account, address),
// capped per account so that a stranger cannot lock a user out; attempts
// of one key take turns, so that parallel connections do not multiply
// the guessing rate).
//
// Invariants:
//   - Password hashes are argon2id PHC strings; the parameters used to verify
//     a hash are always those recorded in the string, so they can be raised
//     later without invalidating stored hashes.
//   - Login answers an unknown user and a wrong password with the same
//     sentinel, ErrInvalidCredentials, after the same amount of hashing work,
//     so that neither the answer nor its timing tells which one it was.
//   - At most GOMAXPROCS password hashes run at once (19 MiB each); unknown
//     users' dummy hashes take a slot like real ones.
//   - With a Throttle, no credential is checked (hash, verified-credentials
//     cache, SCRAM proof) before the attempt's turn: Throttle.Begin.
package auth
