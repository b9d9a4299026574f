//go:build !race

package main

// e2eMaxRSS is TestAgainstRookery's -max-rss: about twice the peak
// measured (116 to 136 MiB for the test process, server and generator
// together), well below what an unbounded buffer makes of the run (a
// command's literals without their 256 KiB budget: 650 to 920 MiB).
const e2eMaxRSS = "256MiB"
