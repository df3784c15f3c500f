package node

import (
	"context"
	"sync"
	"time"

	"github.com/ergo-services/ergo/gen"
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// hooksMailbox is the mailbox of the ergo process registered as hornbeam_hooks; only local ergo senders use
// it, remote callers take the connection's fast path.
const hooksMailbox = 4096

// server serves the hooks protocol for hornbeam_hooks. Remote calls reach it straight from a connection's
// reader (handleRemote) and local ergo calls through hooksProcess; each request runs on its own goroutine and
// replies when done.
type server struct {
	n    *Node
	eng  *hooks.Engine
	pid  etf.Pid
	proc gen.Process

	wg sync.WaitGroup // request goroutines
}

func newServer(n *Node) *server {
	return &server{n: n, eng: n.opts.Engine}
}

// start records the ergo process registered as hornbeam_hooks.
func (s *server) start(p gen.Process) {
	s.proc = p
	s.pid = p.Self()
}

// stop waits for the request goroutines; their contexts are already cancelled.
func (s *server) stop() {
	s.wg.Wait()
}

// caller is who made a request: a remote pid reached through conn, or a local ergo process (conn nil).
type caller struct {
	pid  etf.Pid
	conn *conn
}

// send delivers msg to the caller's pid.
func (s *server) send(cl caller, msg etf.Term) error {
	if cl.conn != nil {
		return cl.conn.send(etf.Tuple{opSend, etf.Atom(""), cl.pid}, msg, true)
	}
	return s.proc.Send(cl.pid, msg)
}

// handleRemote takes a message a peer sent to hornbeam_hooks. A $gen_call runs on its own goroutine and its
// reply goes straight onto the connection.
func (s *server) handleRemote(c *conn, from etf.Pid, payload etf.Term) {
	f, req, ok := genCall(payload)
	if !ok {
		s.handleInfo(payload)
		return
	}
	cl := caller{pid: from, conn: c}
	if ft, ok := f.(etf.Tuple); ok && len(ft) == 2 {
		if pid, ok := ft[0].(etf.Pid); ok {
			cl.pid = pid
		}
	}
	s.spawn(c.ctx, func(ctx context.Context) {
		if err := c.reply(f, s.serve(ctx, cl, req)); err != nil {
			s.n.log.Warn("node: reply not sent", "peer", c.peer, "error", err)
		}
	})
}

// spawn runs f on a goroutine that stop waits for, with a context that ends with parent.
func (s *server) spawn(parent context.Context, f func(ctx context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(parent)
	}()
}

// serve answers one request of the hooks protocol.
func (s *server) serve(ctx context.Context, cl caller, req etf.Term) etf.Term {
	if req == atomAll {
		infos := s.eng.All()
		l := make(etf.List, len(infos))
		for i, info := range infos {
			l[i] = infoTerm(info)
		}
		return etf.Tuple{atomOK, l}
	}
	t, ok := req.(etf.Tuple)
	if !ok || len(t) == 0 {
		return badRequest(req)
	}
	switch {
	case t[0] == atomExecute && (len(t) == 5 || len(t) == 6):
		call, ok := callArgs(t)
		if !ok {
			return badRequest(req)
		}
		ctx, cancel, ok := withOpts(ctx, t, 5)
		if !ok {
			return badRequest(req)
		}
		defer cancel()
		return hooks.Reply(s.eng.Execute(ctx, call))
	case t[0] == atomUnreg && len(t) == 2:
		appPath, ok := name(t[1])
		if !ok {
			return badRequest(req)
		}
		s.eng.Unregister(appPath)
		return atomOK
	case t[0] == atomFind && len(t) == 2:
		appPath, ok := name(t[1])
		if !ok {
			return badRequest(req)
		}
		info, found := s.eng.Find(appPath)
		if !found {
			return hooks.Reply(nil, hooks.NotFound(appPath))
		}
		return etf.Tuple{atomOK, infoTerm(info)}
	}
	return badRequest(req)
}

// withOpts applies the timeout of the optional Opts map at t[i] to ctx.
func withOpts(ctx context.Context, t etf.Tuple, i int) (context.Context, context.CancelFunc, bool) {
	if len(t) <= i {
		return ctx, func() {}, true
	}
	opts, ok := t[i].(etf.Map)
	if !ok {
		return nil, nil, false
	}
	for _, p := range opts {
		if p.Key != etf.Atom("timeout") {
			continue
		}
		ms, ok := smallInt(p.Value)
		if !ok || ms < 0 {
			return nil, nil, false
		}
		ctx, cancel := context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
		return ctx, cancel, true
	}
	return ctx, func() {}, true
}

// handleInfo takes a plain message sent to hornbeam_hooks.
func (s *server) handleInfo(msg etf.Term) {
	s.n.log.Debug("node: ignored a message to hornbeam_hooks", "message", msg)
}

// peerDown releases what callers on c's peer held.
func (s *server) peerDown(c *conn) {}

// callerDown releases what the caller monitored under ref held; false when ref is not such a monitor.
func (s *server) callerDown(ref etf.Ref) bool { return false }

// handleRex serves the classic rpc server rex; false for a message it does not take.
func (s *server) handleRex(c *conn, payload etf.Term) bool { return false }

// exitCall stops the erpc call running as the pid to; false when to is no such call.
func (s *server) exitCall(to etf.Pid) bool { return false }

// monitorCall makes from monitor the erpc call running as to; false when to is no such call.
func (s *server) monitorCall(c *conn, from, to etf.Pid, ref etf.Ref) bool { return false }

// demonitorCall removes the monitor on the erpc call running as to; false when to is no such call.
func (s *server) demonitorCall(to etf.Pid) bool { return false }

// spawnRequest serves SPAWN_REQUEST.
func (c *conn) spawnRequest(r *ctlReader, payload etf.Term) error { return nil }

// hooksProcess is the ergo gen.Server registered as hornbeam_hooks, for local ergo senders.
type hooksProcess struct {
	gen.Server
	srv *server
}

// HandleCall serves a local gen_server call on its own goroutine and replies when done.
func (h *hooksProcess) HandleCall(p *gen.ServerProcess, from gen.ServerFrom, req etf.Term) (etf.Term, gen.ServerStatus) {
	s := h.srv
	cl := caller{pid: from.Pid}
	s.spawn(s.n.ctx, func(ctx context.Context) {
		if err := p.SendReply(from, s.serve(ctx, cl, req)); err != nil {
			s.n.log.Warn("node: reply not sent", "to", from.Pid, "error", err)
		}
	})
	return nil, gen.ServerStatusIgnore
}

// HandleInfo takes plain messages sent to hornbeam_hooks by local processes.
func (h *hooksProcess) HandleInfo(_ *gen.ServerProcess, msg etf.Term) gen.ServerStatus {
	h.srv.handleInfo(msg)
	return gen.ServerStatusOK
}
