//go:build !race

package rendezvous

const raceDetector = false
