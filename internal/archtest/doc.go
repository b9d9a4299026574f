// Package archtest holds the test that keeps Rookery's layering visible:
// each package may import only the Rookery packages below it (see
// ARCHITECTURE.md). It has no non-test code.
package archtest
