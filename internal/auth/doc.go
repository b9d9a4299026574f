// Package auth verifies credentials: argon2id password hashes and the SASL
// PLAIN mechanism. (Failed-login throttling belongs here too; it is not
// written yet.)
//
// Invariants:
//   - Password hashes are argon2id PHC strings; the parameters used to verify
//     a hash are always those recorded in the string, so they can be raised
//     later without invalidating stored hashes.
//   - Login answers an unknown user and a wrong password with the same
//     sentinel, ErrInvalidCredentials, after the same amount of hashing work,
//     so that neither the answer nor its timing tells which one it was.
package auth
