// Package steptrace stamps the steps of a call as it crosses the node, for bench/python_trace.sh, which lines
// them up with the BEAM caller's and the Python worker's stamps (all CLOCK_MONOTONIC) into a per-step profile.
//
// Mark does nothing unless the binary is built with -tags hbtrace; then it records the step and the time in
// memory, and SIGUSR1 writes what was recorded to $HORNBEAM_TRACE_FILE (one "step nanoseconds" line each) and
// starts afresh.
package steptrace

// Step is one point a call passes.
type Step byte

// The steps marked, in the order an Erlang -> Go -> Python execute passes them.
const (
	DistRead       Step = 'T' // a read on a distribution socket returned
	HooksRequest   Step = 'H' // hornbeam_hooks has a request in hand
	PipeWriteStart Step = 'w' // a request to a Python worker is about to be written
	PipeWriteEnd   Step = 'W' // that write returned
	PipeRead       Step = 'p' // a read on a Python worker's pipe returned
	LinkReply      Step = 'R' // the link has a worker's reply in hand
	ReplyStart     Step = 'r' // a deferred reply is about to be written to its caller's node
	ReplyEnd       Step = 'E' // that write returned
)
