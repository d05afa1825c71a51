//go:build race

package catalog

// raceDetector is set when the tests run with -race, which makes SQLite
// (compiled from C to Go) about fifteen times slower.
const raceDetector = true
