// Package loglimit rate-limits the warnings about one peer, so that a peer sending bad input over and over
// cannot fill the log: the node's distribution connections and the Python links keep one Limit per peer.
package loglimit

import (
	"sync"
	"time"
)

// A Limit lets at most Burst warnings through per Window.
const (
	Burst  = 10
	Window = 10 * time.Second
)

// Limit rate-limits one peer's warnings: the first Burst of each Window pass, the rest are counted, and the
// count goes with the first warning of a later window. The zero value is ready to use; it is safe for
// concurrent use.
type Limit struct {
	mu    sync.Mutex
	start time.Time
	n     int
	held  int
}

// Allow reports whether a warning at now passes, and how many were held back since the last one that passed.
func (l *Limit) Allow(now time.Time) (ok bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= Window {
		l.start, l.n = now, 0
	}
	if l.n >= Burst {
		l.held++
		return false, 0
	}
	l.n++
	held, l.held = l.held, 0
	return true, held
}
