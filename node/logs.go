package node

import (
	"sync"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
)

// brief renders a term a peer sent for a log line or an error, within etf.BriefDepth and etf.BriefBytes.
func brief(t etf.Term) string {
	return etf.Brief(t, etf.BriefDepth, etf.BriefBytes)
}

// A peer's warnings are let through at most warnBurst per warnWindow; see warnLimit.
const (
	warnBurst  = 10
	warnWindow = 10 * time.Second
)

// warnLimit rate-limits one peer's warnings: the first warnBurst of each warnWindow pass, the rest are
// counted, and the count goes with the first warning of a later window. The zero value is ready to use.
type warnLimit struct {
	mu      sync.Mutex
	start   time.Time
	n       int
	dropped int
}

// allow reports whether a warning at now passes, and how many were held back before it.
func (l *warnLimit) allow(now time.Time) (ok bool, dropped int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= warnWindow {
		l.start, l.n = now, 0
	}
	if l.n >= warnBurst {
		l.dropped++
		return false, 0
	}
	l.n++
	dropped, l.dropped = l.dropped, 0
	return true, dropped
}

// warn logs a warning about c's peer unless the peer's warnings are being held back (warnLimit).
func (c *conn) warn(msg string, args ...any) {
	ok, dropped := c.warns.allow(time.Now())
	if !ok {
		return
	}
	args = append([]any{"peer", c.peer}, args...)
	if dropped > 0 {
		args = append(args, "suppressed", dropped)
	}
	c.n.log.Warn(msg, args...)
}
