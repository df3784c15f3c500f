package node

import (
	"context"
	"sync"

	"github.com/ergo-services/ergo/gen"
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/internal/steptrace"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
	"github.com/hornbeam-go/hornbeam/proto"
)

// hooksMailbox is the mailbox of the ergo process registered as hornbeam_hooks; only local ergo senders use
// it, remote callers take the connection's fast path.
const hooksMailbox = 4096

// server is hornbeam_hooks: the hooks protocol (a proto.Server) reached by remote callers straight from a
// connection's reader (handleRemote) and by local ergo callers through hooksProcess, plus what only a
// distributed node has: Erlang handlers (erlang_handler.go) and calls from Go (call.go). rpc and erpc are
// package node/internal/rpc, on the same proto.Server.
type server struct {
	n     *Node
	eng   *hooks.Engine
	p     *proto.Server
	pid   etf.Pid
	proc  gen.Process
	local *localCallers

	pidTerm etf.Term // pid as a term, boxed once for the replies that carry it

	mu         sync.Mutex
	handlers   map[etf.Ref]*erlangHandler // Erlang handlers by the monitor on their server
	pending    map[etf.Ref]*pendingCall   // calls to Erlang handlers awaiting their reply
	erlStreams map[etf.Ref]*erlangStream
}

func newServer(n *Node) *server {
	s := &server{
		n:          n,
		eng:        n.opts.Engine,
		handlers:   make(map[etf.Ref]*erlangHandler),
		pending:    make(map[etf.Ref]*pendingCall),
		erlStreams: make(map[etf.Ref]*erlangStream),
	}
	s.local = &localCallers{s: s}
	s.p = proto.NewServer(proto.Options{
		Engine: n.opts.Engine, Node: etf.Atom(n.name), MakeRef: n.makeRef, Register: s.regErlang, Logger: n.log,
	})
	return s
}

// start records the ergo process registered as hornbeam_hooks.
func (s *server) start(p gen.Process) {
	s.proc = p
	s.pid = p.Self()
	s.pidTerm = s.pid
}

// stop waits for the server's goroutines; the node's context, which theirs derive from, is already cancelled.
func (s *server) stop() {
	s.p.Wait()
}

// spawn runs f on a goroutine that stop waits for.
func (s *server) spawn(f func()) {
	s.p.Go(f)
}

// handleRemote takes a message a peer sent to hornbeam_hooks. A $gen_call runs on the connection's reader (see
// dist.Conn.RunCall) and its reply goes straight onto the connection; an execute of a hook that answers from a
// goroutine of its own (a Python worker's) is only started there, and that goroutine writes the reply, so the
// reader goes back to reading at once.
func (s *server) handleRemote(c *dist.Conn, from etf.Pid, payload etf.Term) {
	steptrace.Mark(steptrace.HooksRequest)
	f, req, ok := dist.GenCall(payload)
	if !ok {
		s.handleInfo(payload)
		return
	}
	cl := proto.Caller{Pid: from, T: c.Callers()}
	if ft, ok := f.(etf.Tuple); ok && len(ft) == 2 {
		if pid, ok := ft[0].(etf.Pid); ok {
			cl.Pid = pid
		}
	}
	c.RunCall(func(flush bool) {
		c.Load().Deferred.Add(1)
		reply, then, deferred := s.p.HandleDeferred(c.InlineContext(), cl, req, func(reply etf.Term) {
			c.Load().Deferred.Add(-1)
			steptrace.Mark(steptrace.ReplyStart)
			if err := c.Reply(f, reply); err != nil {
				s.n.log.Warn("node: reply not sent", "peer", c.Peer(), "error", err)
			}
			steptrace.Mark(steptrace.ReplyEnd)
		})
		if deferred {
			return
		}
		c.Load().Deferred.Add(-1)
		if err := c.ReplyFlush(f, reply, flush); err != nil {
			s.n.log.Warn("node: reply not sent", "peer", c.Peer(), "error", err)
			return
		}
		if then != nil {
			then()
		}
	})
}

// handleInfo takes a plain message sent to hornbeam_hooks: stream credit and close, and what Erlang handlers
// send back.
func (s *server) handleInfo(msg etf.Term) {
	if t, ok := msg.(etf.Tuple); ok && s.routeReply(t) {
		return
	}
	if !s.p.Steer(msg) {
		s.n.log.Debug("node: ignored a message to hornbeam_hooks", "message", brief(msg))
	}
}

// monitorDown acts on the end of a process hornbeam_hooks monitored under ref: a caller's holdings are
// released, an Erlang handler goes, a Call to it fails. False when ref is not such a monitor.
func (s *server) monitorDown(ref etf.Ref, reason etf.Term) bool {
	return s.p.Down(ref) || s.handlerDown(ref, reason) || s.callTargetDown(ref, reason)
}

// peerDown releases what callers on c's peer held, stops the erpc calls it made, and unregisters the Erlang
// handlers that lived there.
func (s *server) peerDown(c *dist.Conn) {
	s.p.Gone(c.Callers())
	s.n.rpc.PeerDown(c)
	s.mu.Lock()
	var handlers []etf.Ref
	for mon, h := range s.handlers {
		if h.server.Node == etf.Atom(c.Peer()) {
			handlers = append(handlers, mon)
		}
	}
	s.mu.Unlock()
	for _, mon := range handlers {
		s.handlerDown(mon, atomNoconnection)
	}
}

// localCallers is the proto.Transport of the local ergo processes that call hornbeam_hooks: ergo monitors
// them for hooksProcess.
type localCallers struct{ s *server }

// Send sends msg to the local process to.
func (l *localCallers) Send(to etf.Pid, msg etf.Term) error { return l.s.proc.Send(to, msg) }

// Monitor makes hornbeam_hooks monitor pid; the end comes to hooksProcess.HandleInfo.
func (l *localCallers) Monitor(pid etf.Pid) etf.Ref { return l.s.proc.MonitorProcess(pid) }

// Watch does nothing: Monitor has set the monitor up.
func (l *localCallers) Watch(etf.Pid, etf.Ref) {}

// Demonitor removes the monitor.
func (l *localCallers) Demonitor(_ etf.Pid, ref etf.Ref) { _ = l.s.proc.DemonitorProcess(ref) }

// Context is the node's.
func (l *localCallers) Context() context.Context { return l.s.n.ctx }

// hooksProcess is the ergo gen.Server registered as hornbeam_hooks, for local ergo senders.
type hooksProcess struct {
	gen.Server
	srv *server
}

// HandleCall serves a local gen_server call on its own goroutine and replies when done.
func (h *hooksProcess) HandleCall(p *gen.ServerProcess, from gen.ServerFrom, req etf.Term) (etf.Term, gen.ServerStatus) {
	s := h.srv
	cl := proto.Caller{Pid: from.Pid, T: s.local}
	s.spawn(func() {
		reply, then := s.p.Handle(s.n.ctx, cl, req)
		if err := p.SendReply(from, reply); err != nil {
			s.n.log.Warn("node: reply not sent", "to", from.Pid, "error", err)
			return
		}
		if then != nil {
			then()
		}
	})
	return nil, gen.ServerStatusIgnore
}

// HandleInfo takes plain messages sent to hornbeam_hooks by local processes, and the ends of monitored
// local callers.
func (h *hooksProcess) HandleInfo(_ *gen.ServerProcess, msg etf.Term) gen.ServerStatus {
	if down, ok := msg.(gen.MessageDown); ok {
		h.srv.monitorDown(down.Ref, etf.Atom(down.Reason))
		return gen.ServerStatusOK
	}
	h.srv.handleInfo(msg)
	return gen.ServerStatusOK
}
