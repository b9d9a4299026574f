//go:build race

package main

// e2eMaxRSS is TestAgainstRookery's -max-rss under the race detector,
// whose shadow memory about triples the process (measured 377 MiB).
const e2eMaxRSS = "768MiB"
