// Package tlsconf provides the server's TLS configuration: certificates
// loaded from files and reloadable at run time (SIGHUP), and a self-signed
// certificate generated once into the data directory for first runs and
// demos.
//
// Invariants: a failed reload keeps the previous certificate in use; the
// *tls.Config returned by Config always asks the Reloader for the current
// certificate, so connections after a reload use the new one.
package tlsconf
