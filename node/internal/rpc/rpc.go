package rpc

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
	"github.com/hornbeam-go/hornbeam/proto"
)

var (
	atomErpc        = etf.Atom("erpc")
	atomExecuteCall = etf.Atom("execute_call")
	atomExecuteCast = etf.Atom("execute_cast")
	atomReturn      = etf.Atom("return")
	atomUndef       = etf.Atom("undef")
	atomBadrpc      = etf.Atom("badrpc")
	atomHooks       = etf.Atom("hornbeam_hooks")
	atomNormal      = etf.Atom("normal")
	atomBadarg      = etf.Atom("badarg")
	atomExit        = etf.Atom("EXIT")
	atomMonitor     = etf.Atom("monitor")
	atomLink        = etf.Atom("link")
	atomBlockCall   = etf.Atom("block_call")
	atomCast        = etf.Atom("cast")
	atomKilled      = etf.Atom("killed")
	atomNoproc      = etf.Atom("noproc")
	atomNotsup      = etf.Atom("notsup")
	atomErlang      = etf.Atom("erlang")
	atomNode        = etf.Atom("node")
	atomApply       = etf.Atom("apply")

	atomFeaturesRequest = etf.Atom("features_request")
	atomFeaturesReply   = etf.Atom("features_reply")
)

// rpcArity lists the functions of hornbeam_hooks that rpc serves, with their arities; each maps to the
// request {F, Args...} (all/0 to the atom all).
var rpcArity = map[etf.Atom]int{
	proto.AtomExecute:      4,
	proto.AtomExecuteAsync: 4,
	proto.AtomAwaitResult:  2,
	proto.AtomFind:         1,
	proto.AtomAll:          0,
	proto.AtomUnreg:        1,
}

// Config is what the rpc server takes from its node.
type Config struct {
	// Node is the node's name.
	Node etf.Atom
	// PidSerial is the high half of Pid.ID of the erpc call pids, which no other pid of the node has.
	PidSerial uint64
	// Server runs the hooks requests, and the goroutines of the calls.
	Server *proto.Server
	// Logger receives what could not be sent.
	Logger *slog.Logger
}

// Server serves rex and erpc on a node: its HandleRex takes what peers send the registered name rex, its
// SpawnRequest the SPAWN_REQUESTs of erpc (a dist.SpawnFunc), and the erpc calls run as pids it serves (Pids).
type Server struct {
	cfg      Config
	p        *proto.Server
	log      *slog.Logger
	creation uint32 // of the node's pids; set by Open

	mu    sync.Mutex
	calls map[etf.Pid]*rpcCall
	seq   atomic.Uint64
}

// New returns the rpc server of a node; Open completes it once the node runs.
func New(cfg Config) *Server {
	return &Server{cfg: cfg, p: cfg.Server, log: cfg.Logger, calls: make(map[etf.Pid]*rpcCall)}
}

// Open takes the creation of the node's pids, known once the node runs; it is called before any connection
// is served.
func (s *Server) Open(creation uint32) { s.creation = creation }

// Pids is the service of the erpc call pids: an exit signal stops a call, and a monitor on one is kept until
// the call ends (noproc at once for a call that has ended).
func (s *Server) Pids() dist.PidService {
	return dist.PidService{
		Owns:      s.owns,
		Alive:     func(pid etf.Pid) bool { return s.call(pid) != nil },
		Exit:      func(_ *dist.Conn, _, to etf.Pid, _ etf.Term) bool { s.killCall(to); return true },
		Monitor:   func(c *dist.Conn, from, to etf.Pid, ref etf.Ref) bool { s.monitorCall(c, from, to, ref); return true },
		Demonitor: func(_ *dist.Conn, _, to etf.Pid, _ etf.Ref) bool { s.demonitorCall(to); return true },
	}
}

// PeerDown stops the erpc calls that c's peer made.
func (s *Server) PeerDown(c *dist.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rc := range s.calls {
		if rc.conn == c {
			rc.cancel()
		}
	}
}

// rpcCall is an erpc call running as a pid of this node.
type rpcCall struct {
	conn      *dist.Conn
	from      etf.Pid
	req       etf.Ref
	cancel    context.CancelFunc
	monitored atomic.Bool
	linked    bool
}

// rpcRequest maps hornbeam_hooks:F(Args...) to the hooks request it serves; false when there is no such
// function, which the caller sees as undef.
func rpcRequest(m, f etf.Atom, args []etf.Term) (etf.Term, bool) {
	if arity, ok := rpcArity[f]; m != atomHooks || !ok || arity != len(args) {
		return nil, false
	}
	if len(args) == 0 {
		return f, true
	}
	return append(etf.Tuple{f}, args...), true
}

// builtin answers the functions of erlang that rpc probes a node with, erlang:node/0; false for any other.
func (s *Server) builtin(m, f etf.Atom, args []etf.Term) (etf.Term, bool) {
	if m == atomErlang && f == atomNode && len(args) == 0 {
		return s.cfg.Node, true
	}
	return nil, false
}

// appliesFun reports whether M:F(A) is erlang:apply(Fun, Args), which erpc:call(Node, Fun) asks for: this node
// runs no Erlang code, so the caller is answered notsup ({erpc, notsup} from erpc:call).
func appliesFun(m, f, a etf.Term) bool {
	args, ok := etf.Elems(a)
	if !ok || m != atomErlang || f != atomApply || len(args) != 2 {
		return false
	}
	_, ok = args[0].(etf.Fun)
	return ok
}

// undef is the error reason of calling M:F(A) when there is no such function, with its one-frame stack.
func undef(m, f etf.Atom, args []etf.Term) (etf.Atom, etf.List) {
	return atomUndef, etf.List{etf.Tuple{m, f, etf.List(args), etf.List{}}}
}

// mfa reads M, F and the argument list of an rpc.
func mfa(m, f, a etf.Term) (etf.Atom, etf.Atom, []etf.Term, bool) {
	ma, ok1 := m.(etf.Atom)
	fa, ok2 := f.(etf.Atom)
	args, ok3 := etf.Elems(a)
	return ma, fa, args, ok1 && ok2 && ok3
}

// HandleRex serves rex's {call, M, F, A, GL} and {block_call, ...} calls, {cast, M, F, A, GL} casts and the
// {Pid, features_request} the rpc module of a connecting node sends; false for a message it does not take.
func (s *Server) HandleRex(c *dist.Conn, payload etf.Term) bool {
	if from, req, ok := dist.GenCall(payload); ok {
		t, ok := req.(etf.Tuple)
		if !ok || len(t) != 5 || (t[0] != proto.AtomCall && t[0] != atomBlockCall) {
			return false
		}
		m, f, args, ok := mfa(t[1], t[2], t[3])
		if !ok {
			return false
		}
		s.p.Go(func() {
			var reply etf.Term
			if v, ok := s.builtin(m, f, args); ok {
				reply = v
			} else if r, ok := rpcRequest(m, f, args); ok {
				reply, _ = s.p.Handle(c.Context(), proto.Caller{T: c.Callers()}, r)
			} else {
				reason, stack := undef(m, f, args)
				reply = etf.Tuple{atomBadrpc, etf.Tuple{atomExit, etf.Tuple{reason, stack}}}
			}
			if err := c.Reply(from, reply); err != nil {
				s.log.Warn("node: rpc reply not sent", "peer", c.Peer(), "error", err)
			}
		})
		return true
	}
	t, ok := payload.(etf.Tuple)
	if !ok || len(t) != 2 {
		return false
	}
	if pid, ok := t[0].(etf.Pid); ok && t[1] == atomFeaturesRequest {
		reply := etf.Tuple{atomFeaturesReply, s.cfg.Node, etf.List{atomErpc}}
		if err := c.SendTo(pid, reply); err != nil {
			s.log.Debug("node: features_reply not sent", "peer", c.Peer(), "error", err)
		}
		return true
	}
	req, ok := dist.GenCast(payload)
	if !ok {
		return false
	}
	cast, ok := req.(etf.Tuple)
	if !ok || len(cast) != 5 || cast[0] != atomCast {
		return false
	}
	if m, f, args, ok := mfa(cast[1], cast[2], cast[3]); ok {
		s.cast(c, m, f, args)
	}
	return true
}

// cast runs hornbeam_hooks:F(Args...) for rpc:cast and erpc:cast; the result goes nowhere.
func (s *Server) cast(c *dist.Conn, m, f etf.Atom, args []etf.Term) {
	r, ok := rpcRequest(m, f, args)
	if !ok {
		s.log.Info("node: cast to an undefined function", "peer", c.Peer(), "module", m, "function", f)
		return
	}
	s.p.Go(func() { s.p.Handle(c.Context(), proto.Caller{T: c.Callers()}, r) })
}

// SpawnRequest serves the SPAWN_REQUESTs of erpc (a dist.SpawnFunc): erpc:execute_call/4 and
// erpc:execute_cast/3 run here, an erlang:apply of a fun is answered notsup; any other spawn is left to ergo.
func (s *Server) SpawnRequest(c *dist.Conn, req etf.Ref, from etf.Pid, m, f etf.Atom, args, opts []etf.Term) (bool, error) {
	if m == atomErpc && f == atomExecuteCall && len(args) == 4 && appliesFun(args[1], args[2], args[3]) {
		return true, c.SendSpawnReply(req, from, 0, atomNotsup)
	}
	if m == atomErpc && ((f == atomExecuteCall && len(args) == 4) || (f == atomExecuteCast && len(args) == 3)) {
		return true, s.erpc(c, req, from, f, args, opts)
	}
	return false, nil
}

// erpc runs erpc:execute_call/4 or execute_cast/3 as a pid of this node and answers SPAWN_REPLY at once.
func (s *Server) erpc(c *dist.Conn, req etf.Ref, from etf.Pid, f etf.Atom, args []etf.Term, opts []etf.Term) error {
	var flags int64
	rc := &rpcCall{conn: c, from: from, req: req}
	for _, o := range opts {
		switch {
		case o == atomMonitor:
			flags |= dist.SpawnFlagMonitor
		case o == atomLink:
			flags |= dist.SpawnFlagLink
		default:
			if ot, ok := o.(etf.Tuple); ok && len(ot) == 2 && ot[0] == atomMonitor {
				flags |= dist.SpawnFlagMonitor
			}
		}
	}
	rc.monitored.Store(flags&dist.SpawnFlagMonitor != 0)
	rc.linked = flags&dist.SpawnFlagLink != 0
	pid := etf.Pid{Node: s.cfg.Node, ID: s.cfg.PidSerial<<32 | s.seq.Add(1), Creation: s.creation}
	var ctx context.Context
	ctx, rc.cancel = context.WithCancel(c.Context())
	s.mu.Lock()
	s.calls[pid] = rc
	s.mu.Unlock()
	if err := c.SendSpawnReply(req, from, flags, pid); err != nil {
		s.endCall(pid, rc)
		return err
	}
	s.p.Go(func() {
		defer s.endCall(pid, rc)
		if f == atomExecuteCast {
			m, fn, a, ok := mfa(args[0], args[1], args[2])
			if ok {
				s.cast(c, m, fn, a)
			}
			s.exitCall(c, pid, rc, atomNormal)
			return
		}
		s.exitCall(c, pid, rc, s.executeCall(ctx, c, args))
	})
	return nil
}

// executeCall runs erpc:execute_call(Res, M, F, A) and returns the exit reason that carries its result.
func (s *Server) executeCall(ctx context.Context, c *dist.Conn, args []etf.Term) etf.Term {
	res := args[0]
	m, f, a, ok := mfa(args[1], args[2], args[3])
	if !ok {
		return etf.Tuple{res, proto.AtomError, etf.Tuple{atomErpc, atomBadarg}}
	}
	if v, ok := s.builtin(m, f, a); ok {
		return etf.Tuple{res, atomReturn, v}
	}
	r, ok := rpcRequest(m, f, a)
	if !ok {
		reason, stack := undef(m, f, a)
		return etf.Tuple{res, proto.AtomError, reason, stack}
	}
	reply, _ := s.p.Handle(ctx, proto.Caller{T: c.Callers()}, r)
	if ctx.Err() != nil {
		return atomKilled
	}
	return etf.Tuple{res, atomReturn, reply}
}

// exitCall sends the end of the erpc call pid to its caller: MONITOR_P_EXIT when it monitors the call, EXIT
// when they are linked.
func (s *Server) exitCall(c *dist.Conn, pid etf.Pid, rc *rpcCall, reason etf.Term) {
	if rc.monitored.Load() {
		if err := c.SendMonitorExit(pid, rc.from, rc.req, reason); err != nil {
			s.log.Debug("node: erpc result not sent", "peer", c.Peer(), "error", err)
		}
	}
	if rc.linked {
		if err := c.SendExit(pid, rc.from, reason); err != nil {
			s.log.Debug("node: erpc exit not sent", "peer", c.Peer(), "error", err)
		}
	}
}

// endCall forgets the erpc call pid.
func (s *Server) endCall(pid etf.Pid, rc *rpcCall) {
	rc.cancel()
	s.mu.Lock()
	delete(s.calls, pid)
	s.mu.Unlock()
}

// call returns the running erpc call pid, if any.
func (s *Server) call(pid etf.Pid) *rpcCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[pid]
}

// owns reports whether pid is one of this node's erpc call pids.
func (s *Server) owns(pid etf.Pid) bool {
	return pid.Node == s.cfg.Node && pid.ID>>32 == s.cfg.PidSerial
}

// killCall stops the erpc call running as to, if it still runs: an exit signal reached it.
func (s *Server) killCall(to etf.Pid) {
	if rc := s.call(to); rc != nil {
		rc.cancel()
	}
}

// monitorCall makes from monitor the erpc call to under ref; a call that has ended answers noproc at once.
func (s *Server) monitorCall(c *dist.Conn, from, to etf.Pid, ref etf.Ref) {
	if rc := s.call(to); rc != nil && rc.from == from && rc.req == ref {
		rc.monitored.Store(true)
		return
	}
	if err := c.SendMonitorExit(to, from, ref, atomNoproc); err != nil {
		s.log.Debug("node: noproc not sent", "peer", c.Peer(), "error", err)
	}
}

// demonitorCall removes the monitor on the erpc call to.
func (s *Server) demonitorCall(to etf.Pid) {
	if rc := s.call(to); rc != nil {
		rc.monitored.Store(false)
	}
}
