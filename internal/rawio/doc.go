// Package rawio is the performance layer under the connections of packages node/internal/dist (distribution
// links) and python (worker pipes, attach sockets): a Socket that reads and writes a non-blocking file with raw
// system calls on Go's poller, spins briefly on an empty one for a peer that calls one at a time and coalesces
// the requests of a peer with many calls in flight (interrupt moderation); and a Watchdog that hands reading to
// a new goroutine when a call run inline on a connection's reader runs long. Its tuning constants live next to
// the code they tune.
package rawio
