package dist

import (
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
)

// brief renders a term a peer sent for a log line or an error, within etf.BriefDepth and etf.BriefBytes.
func brief(t etf.Term) string {
	return etf.Brief(t, etf.BriefDepth, etf.BriefBytes)
}

// Warn logs a warning about c's peer unless the peer's warnings are being held back (loglimit).
func (c *Conn) Warn(msg string, args ...any) {
	ok, held := c.warns.Allow(time.Now())
	if !ok {
		return
	}
	args = append([]any{"peer", c.peer}, args...)
	if held > 0 {
		args = append(args, "suppressed", held)
	}
	c.t.log.Warn(msg, args...)
}
