package node

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
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
// replies when done. Callers holding async tasks or streams are monitored, and what they hold is released
// when they exit or their node disconnects.
type server struct {
	n    *Node
	eng  *hooks.Engine
	pid  etf.Pid
	proc gen.Process

	pidTerm etf.Term // pid as a term, boxed once for the replies that carry it

	wg sync.WaitGroup // request, stream and erpc goroutines

	mu      sync.Mutex
	holders map[etf.Pid]*holder
	byMon   map[etf.Ref]*holder
	streams map[etf.Ref]*stream
	tasks   map[hooks.TaskID]*holder
	calls   map[etf.Pid]*rpcCall
	rpcSeq  atomic.Uint64

	handlers   map[etf.Ref]*erlangHandler // Erlang handlers by the monitor on their server
	pending    map[etf.Ref]*pendingCall   // calls to Erlang handlers awaiting their reply
	erlStreams map[etf.Ref]*erlangStream
}

func newServer(n *Node) *server {
	return &server{
		n:       n,
		eng:     n.opts.Engine,
		holders: make(map[etf.Pid]*holder),
		byMon:   make(map[etf.Ref]*holder),
		streams: make(map[etf.Ref]*stream),
		tasks:   make(map[hooks.TaskID]*holder),
		calls:   make(map[etf.Pid]*rpcCall),

		handlers:   make(map[etf.Ref]*erlangHandler),
		pending:    make(map[etf.Ref]*pendingCall),
		erlStreams: make(map[etf.Ref]*erlangStream),
	}
}

// start records the ergo process registered as hornbeam_hooks.
func (s *server) start(p gen.Process) {
	s.proc = p
	s.pid = p.Self()
	s.pidTerm = s.pid
}

// stop waits for the server's goroutines; the node's context, which theirs derive from, is already cancelled.
func (s *server) stop() {
	s.wg.Wait()
}

// caller is who made a request: a remote pid reached through conn, the owner of a port session (port set, pid
// made up by the session), or a local ergo process (conn and port nil).
type caller struct {
	pid  etf.Pid
	conn *conn
	port *portSession
}

// send delivers msg to the caller's pid, or as a frame to a port session's owner.
func (s *server) send(cl caller, msg etf.Term) error {
	if cl.port != nil {
		return cl.port.send(msg)
	}
	if cl.conn != nil {
		return cl.conn.sendTo(cl.pid, msg)
	}
	return s.proc.Send(cl.pid, msg)
}

// handleRemote takes a message a peer sent to hornbeam_hooks. A $gen_call runs on the connection's reader (see
// conn.runCall) and its reply goes straight onto the connection.
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
	c.runCall(func(flush bool) {
		reply, then := s.serve(c.readerCtx, cl, req)
		if err := c.replyFlush(f, reply, flush); err != nil {
			s.n.log.Warn("node: reply not sent", "peer", c.peer, "error", err)
			return
		}
		if then != nil {
			then()
		}
	})
}

// spawn runs f on a goroutine that stop waits for.
func (s *server) spawn(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// serve answers one request of the hooks protocol. then, when not nil, must run once the reply is on its way:
// it starts what follows the reply (a stream's chunks).
func (s *server) serve(ctx context.Context, cl caller, req etf.Term) (reply etf.Term, then func()) {
	if req == atomAll {
		infos := s.eng.All()
		l := make(etf.List, len(infos))
		for i, info := range infos {
			l[i] = infoTerm(info)
		}
		return etf.Tuple{atomOK, l}, nil
	}
	t, ok := req.(etf.Tuple)
	if !ok || len(t) < 2 {
		return badRequest(req), nil
	}
	switch {
	case t[0] == atomExecute && (len(t) == 5 || len(t) == 6):
		call, opts, ok := callRequest(t)
		if !ok {
			return badRequest(req), nil
		}
		if opts.timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, opts.timeout)
			defer cancel()
		} else if onReader(ctx) {
			// A context that is never done lets the engine run the handler on this goroutine instead of
			// starting one more per call. With no deadline to answer at, what is lost is the cancellation of
			// the handler when its caller's node goes away or this node stops: it runs to its end and its
			// reply is dropped.
			ctx = context.WithoutCancel(ctx)
		}
		return hooks.Reply(s.eng.Execute(ctx, call)), nil
	case t[0] == atomExecuteAsync && len(t) == 5:
		call, _, ok := callRequest(t)
		if !ok {
			return badRequest(req), nil
		}
		id, err := s.eng.ExecuteAsync(call)
		if err != nil {
			return hooks.Reply(nil, err), nil
		}
		s.holdTask(cl, id)
		return etf.Tuple{atomOK, []byte(id)}, nil
	case t[0] == atomAwaitResult && len(t) == 3:
		id, ok1 := t[1].([]byte)
		timeout, ok2 := timeoutArg(t[2])
		if !ok1 || !ok2 {
			return badRequest(req), nil
		}
		v, err := s.eng.AwaitResult(ctx, hooks.TaskID(id), timeout)
		if !errors.Is(err, hooks.ErrTimeout) {
			s.forgetTask(hooks.TaskID(id))
		}
		return hooks.Reply(v, err), nil
	case t[0] == atomCancel && len(t) == 2:
		id, ok := t[1].([]byte)
		if !ok {
			return badRequest(req), nil
		}
		err := s.eng.Cancel(hooks.TaskID(id))
		s.forgetTask(hooks.TaskID(id))
		if err != nil {
			return hooks.Reply(nil, err), nil
		}
		return atomOK, nil
	case t[0] == atomStream && (len(t) == 5 || len(t) == 6):
		call, opts, ok := callRequest(t)
		if !ok {
			return badRequest(req), nil
		}
		return s.openStream(cl, call, opts)
	case t[0] == atomReg && len(t) == 3:
		appPath, ok1 := etf.Text(t[1])
		spec, ok2 := t[2].(etf.Tuple)
		if !ok1 || !ok2 || len(spec) != 2 || spec[0] != atomErlang {
			return badRequest(req), nil
		}
		server, ok := spec[1].(etf.Pid)
		if !ok || server.Node == etf.Atom(s.n.name) {
			return badRequest(req), nil
		}
		return s.regErlang(appPath, server), nil
	case t[0] == atomUnreg && len(t) == 2:
		appPath, ok := etf.Text(t[1])
		if !ok {
			return badRequest(req), nil
		}
		s.eng.Unregister(appPath)
		return atomOK, nil
	case t[0] == atomFind && len(t) == 2:
		appPath, ok := etf.Text(t[1])
		if !ok {
			return badRequest(req), nil
		}
		info, found := s.eng.Find(appPath)
		if !found {
			return hooks.Reply(nil, hooks.NotFound(appPath)), nil
		}
		return etf.Tuple{atomOK, infoTerm(info)}, nil
	}
	return badRequest(req), nil
}

// handleInfo takes a plain message sent to hornbeam_hooks: stream credit and close, and what Erlang handlers
// send back.
func (s *server) handleInfo(msg etf.Term) {
	t, ok := msg.(etf.Tuple)
	if ok && s.routeReply(t) {
		return
	}
	if !ok || len(t) < 2 {
		s.n.log.Debug("node: ignored a message to hornbeam_hooks", "message", msg)
		return
	}
	ref, ok := t[1].(etf.Ref)
	if !ok {
		s.n.log.Debug("node: ignored a message to hornbeam_hooks", "message", msg)
		return
	}
	switch {
	case t[0] == atomStreamCredit && len(t) == 3:
		if n, ok := etf.Int(t[2]); ok && n > 0 {
			s.grant(ref, n)
			return
		}
	case t[0] == atomStreamClose && len(t) == 2:
		s.closeStream(ref)
		return
	}
	s.n.log.Debug("node: ignored a message to hornbeam_hooks", "message", msg)
}

// holder is a caller that holds async tasks or streams, monitored under mon.
type holder struct {
	cl      caller
	mon     etf.Ref
	tasks   map[hooks.TaskID]struct{}
	streams map[etf.Ref]*stream
}

// holderLocked returns cl's holder; a new one must be passed to monitor once s.mu is released. s.mu is held.
func (s *server) holderLocked(cl caller) (h *holder, isNew bool) {
	if h := s.holders[cl.pid]; h != nil {
		return h, false
	}
	h = &holder{cl: cl, tasks: make(map[hooks.TaskID]struct{}), streams: make(map[etf.Ref]*stream)}
	if cl.conn != nil || cl.port != nil {
		h.mon = s.n.makeRef()
	} else {
		h.mon = s.proc.MonitorProcess(cl.pid)
	}
	s.holders[cl.pid] = h
	s.byMon[h.mon] = h
	return h, true
}

// monitor asks a remote caller's node to tell hornbeam_hooks when the caller exits (MONITOR_P); local callers
// are monitored by ergo already, and a port session releases what its owner held when it ends.
func (s *server) monitor(h *holder) {
	if h.cl.conn == nil {
		return
	}
	if err := h.cl.conn.send(etf.Tuple{opMonitorP, s.pid, h.cl.pid, h.mon}, nil, false); err != nil {
		s.n.log.Warn("node: cannot monitor a caller", "caller", h.cl.pid, "error", err)
	}
}

// demonitor removes the monitor of a holder dropped by releaseIfEmptyLocked; a port session's owner has none.
func (s *server) demonitor(h *holder) {
	if h.cl.port != nil {
		return
	}
	if h.cl.conn == nil {
		_ = s.proc.DemonitorProcess(h.mon)
		return
	}
	if err := h.cl.conn.send(etf.Tuple{opDemonitorP, s.pid, h.cl.pid, h.mon}, nil, false); err != nil {
		s.n.log.Debug("node: demonitor not sent", "caller", h.cl.pid, "error", err)
	}
}

// holdTask records that cl holds task id; tasks started through rpc have no caller to watch.
func (s *server) holdTask(cl caller, id hooks.TaskID) {
	if cl.pid == (etf.Pid{}) {
		return
	}
	s.mu.Lock()
	h, isNew := s.holderLocked(cl)
	h.tasks[id] = struct{}{}
	s.tasks[id] = h
	s.mu.Unlock()
	if isNew {
		s.monitor(h)
	}
}

// forgetTask stops tracking task id once its result was taken or it was cancelled.
func (s *server) forgetTask(id hooks.TaskID) {
	s.mu.Lock()
	h := s.tasks[id]
	dropped := false
	if h != nil {
		delete(s.tasks, id)
		delete(h.tasks, id)
		dropped = s.releaseIfEmptyLocked(h)
	}
	s.mu.Unlock()
	if dropped {
		s.demonitor(h)
	}
}

// releaseIfEmptyLocked drops h when it holds nothing and reports whether it did; the caller then passes h to
// demonitor once s.mu is released. s.mu is held.
func (s *server) releaseIfEmptyLocked(h *holder) bool {
	if len(h.tasks) > 0 || len(h.streams) > 0 || s.holders[h.cl.pid] != h {
		return false
	}
	s.dropLocked(h)
	return true
}

// holdings is what a dropped holder held, to be released once s.mu is released.
type holdings struct {
	tasks   []hooks.TaskID
	streams []*stream
}

// monitorDown acts on the end of a process hornbeam_hooks monitored under ref: a caller's holdings are
// released, an Erlang handler goes, a Call to it fails. False when ref is not such a monitor.
func (s *server) monitorDown(ref etf.Ref, reason etf.Term) bool {
	return s.callerDown(ref) || s.handlerDown(ref, reason) || s.callTargetDown(ref, reason)
}

// callerDown releases what the caller monitored under ref held; false when ref is not such a monitor.
func (s *server) callerDown(ref etf.Ref) bool {
	s.mu.Lock()
	h := s.byMon[ref]
	var held holdings
	if h != nil {
		held = s.dropLocked(h)
	}
	s.mu.Unlock()
	if h == nil {
		return false
	}
	s.release(held)
	return true
}

// peerDown releases what callers on c's peer held, stops the erpc calls it made, and unregisters the Erlang
// handlers that lived there.
func (s *server) peerDown(c *conn) {
	var gone []holdings
	s.mu.Lock()
	for _, h := range s.holders {
		if h.cl.conn == c {
			gone = append(gone, s.dropLocked(h))
		}
	}
	for _, rc := range s.calls {
		if rc.conn == c {
			rc.cancel()
		}
	}
	var handlers []etf.Ref
	for mon, h := range s.handlers {
		if h.server.Node == etf.Atom(c.peer) {
			handlers = append(handlers, mon)
		}
	}
	s.mu.Unlock()
	for _, held := range gone {
		s.release(held)
	}
	for _, mon := range handlers {
		s.handlerDown(mon, atomNoconnection)
	}
}

// dropLocked forgets h and returns what it held. s.mu is held.
func (s *server) dropLocked(h *holder) holdings {
	var held holdings
	delete(s.holders, h.cl.pid)
	delete(s.byMon, h.mon)
	for ref, st := range h.streams {
		delete(s.streams, ref)
		held.streams = append(held.streams, st)
	}
	for id := range h.tasks {
		delete(s.tasks, id)
		held.tasks = append(held.tasks, id)
	}
	clear(h.streams)
	clear(h.tasks)
	return held
}

// release cancels dropped tasks and closes dropped streams.
func (s *server) release(held holdings) {
	for _, id := range held.tasks {
		_ = s.eng.Cancel(id)
	}
	for _, st := range held.streams {
		st.cancel()
		_ = st.src.Close()
	}
}

// timeoutArg reads an await timeout: milliseconds, or infinity (a negative duration for AwaitResult).
func timeoutArg(t etf.Term) (time.Duration, bool) {
	if t == atomInfinity {
		return -1, true
	}
	ms, ok := etf.Int(t)
	if !ok || ms < 0 {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}

// hooksProcess is the ergo gen.Server registered as hornbeam_hooks, for local ergo senders.
type hooksProcess struct {
	gen.Server
	srv *server
}

// HandleCall serves a local gen_server call on its own goroutine and replies when done.
func (h *hooksProcess) HandleCall(p *gen.ServerProcess, from gen.ServerFrom, req etf.Term) (etf.Term, gen.ServerStatus) {
	s := h.srv
	cl := caller{pid: from.Pid}
	s.spawn(func() {
		reply, then := s.serve(s.n.ctx, cl, req)
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
