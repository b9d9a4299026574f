// Package tests holds black-box tests of the built rookery binary: TestMain
// builds cmd/rookery once, every test starts its own `rookery serve` on a
// fresh data directory and free loopback ports, and talks to it only over
// the network with independent clients (go-imap v2's imapclient and
// Python's imaplib). Nothing here imports rookery's internal packages.
//
// Environment:
//
//	ROOKERY_BIN         use this binary instead of building cmd/rookery
//	ROOKERY_BUILD_RACE  build the server with -race (data races in the
//	                    server then fail the test that saw them)
package tests
