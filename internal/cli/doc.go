// Package cli implements the rookery command: one file per subcommand
// (serve.go, user.go, config.go), their flag parsing, the wiring of config,
// store, authentication, TLS and the IMAP server, signal handling (SIGTERM
// and SIGINT drain, SIGHUP reloads TLS certificates) and exit codes.
//
// Exit codes: 0 success, 1 failure, 2 usage error. Flags may follow
// positional arguments ("user add alice --data d"); "--" ends flag parsing.
// All I/O goes through the readers and writers given to Main, so every
// command can be tested in-process.
package cli
