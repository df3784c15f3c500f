// Package rawio is the performance layer under a distribution connection of package node: a Socket that
// reads and writes a plain TCP connection with raw system calls on Go's poller, spins briefly on an empty
// socket for a peer that calls one at a time and coalesces the requests of a peer with many calls in flight
// (interrupt moderation); and a Watchdog that hands reading to a new goroutine when a call run inline on a
// connection's reader runs long. Its tuning constants live next to the code they tune.
package rawio
