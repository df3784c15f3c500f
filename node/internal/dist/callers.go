package dist

import (
	"context"

	"github.com/hornbeam-go/hornbeam/etf"
)

// remoteCallers is the proto.Transport of the callers on one connection's peer (Conn.Callers): they are
// monitored with MONITOR_P from hornbeam_hooks.
type remoteCallers struct{ c *Conn }

// Send sends msg to the caller to on the peer.
func (r *remoteCallers) Send(to etf.Pid, msg etf.Term) error { return r.c.SendTo(to, msg) }

// Monitor names the monitor Watch sets up.
func (r *remoteCallers) Monitor(etf.Pid) etf.Ref { return r.c.t.cfg.MakeRef() }

// Watch asks the peer to tell hornbeam_hooks when pid exits (MONITOR_P).
func (r *remoteCallers) Watch(pid etf.Pid, ref etf.Ref) {
	if err := r.c.SendMonitor(r.c.t.self, pid, ref); err != nil {
		r.c.t.log.Warn("node: cannot monitor a caller", "caller", pid, "error", err)
	}
}

// Demonitor removes the monitor (DEMONITOR_P).
func (r *remoteCallers) Demonitor(pid etf.Pid, ref etf.Ref) {
	if err := r.c.SendDemonitor(r.c.t.self, pid, ref); err != nil {
		r.c.t.log.Debug("node: demonitor not sent", "caller", pid, "error", err)
	}
}

// Context is the connection's: streams to the peer end with it.
func (r *remoteCallers) Context() context.Context { return r.c.ctx }
