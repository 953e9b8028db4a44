//go:build race

package rendezvous

// raceDetector: timing tests skip under it (it slows the in-process
// attackers five to ten times, and so measures itself); make test runs
// them once more without it.
const raceDetector = true
