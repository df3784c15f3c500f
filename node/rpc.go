package node

import (
	"context"
	"sync/atomic"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
	"github.com/hornbeam-go/hornbeam/proto"
)

// rpc and erpc into the node with no Erlang code loaded (docs/protocol.md, "rpc and erpc").
//
// erpc:call(Node, M, F, A) sends SPAWN_REQUEST for erpc:execute_call(Res, M, F, A) with the options monitor and
// {reply, error_only}; the spawned process exits with {Res, return, Value} (or {Res, error, Reason, Stack}) and
// the caller reads the result from the 'DOWN' message. The node answers with a pid of its own that runs no ergo
// process: SPAWN_REPLY, then MONITOR_P_EXIT (and EXIT when linked) carrying that exit reason. erpc:cast and
// rpc:cast send erpc:execute_cast(M, F, A). The classic rex server takes {call, M, F, A, GroupLeader}.

var (
	atomErpc        = etf.Atom("erpc")
	atomExecuteCall = etf.Atom("execute_call")
	atomExecuteCast = etf.Atom("execute_cast")
	atomReturn      = etf.Atom("return")
	atomUndef       = etf.Atom("undef")
	atomBadrpc      = etf.Atom("badrpc")
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
	if arity, ok := rpcArity[f]; m != nameHooks || !ok || arity != len(args) {
		return nil, false
	}
	if len(args) == 0 {
		return f, true
	}
	return append(etf.Tuple{f}, args...), true
}

// builtin answers the functions of erlang that rpc probes a node with, erlang:node/0; false for any other.
func (s *server) builtin(m, f etf.Atom, args []etf.Term) (etf.Term, bool) {
	if m == atomErlang && f == atomNode && len(args) == 0 {
		return etf.Atom(s.n.name), true
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

// handleRex serves rex's {call, M, F, A, GL} and {block_call, ...} calls, {cast, M, F, A, GL} casts and the
// {Pid, features_request} the rpc module of a connecting node sends; false for a message it does not take.
func (s *server) handleRex(c *dist.Conn, payload etf.Term) bool {
	if from, req, ok := dist.GenCall(payload); ok {
		t, ok := req.(etf.Tuple)
		if !ok || len(t) != 5 || (t[0] != proto.AtomCall && t[0] != atomBlockCall) {
			return false
		}
		m, f, args, ok := mfa(t[1], t[2], t[3])
		if !ok {
			return false
		}
		s.spawn(func() {
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
				s.n.log.Warn("node: rpc reply not sent", "peer", c.Peer(), "error", err)
			}
		})
		return true
	}
	t, ok := payload.(etf.Tuple)
	if !ok || len(t) != 2 {
		return false
	}
	if pid, ok := t[0].(etf.Pid); ok && t[1] == atomFeaturesRequest {
		reply := etf.Tuple{atomFeaturesReply, etf.Atom(s.n.name), etf.List{atomErpc}}
		if err := c.SendTo(pid, reply); err != nil {
			s.n.log.Debug("node: features_reply not sent", "peer", c.Peer(), "error", err)
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
func (s *server) cast(c *dist.Conn, m, f etf.Atom, args []etf.Term) {
	r, ok := rpcRequest(m, f, args)
	if !ok {
		s.n.log.Info("node: cast to an undefined function", "peer", c.Peer(), "module", m, "function", f)
		return
	}
	s.spawn(func() { s.p.Handle(c.Context(), proto.Caller{T: c.Callers()}, r) })
}

// spawnRequest serves the SPAWN_REQUESTs of erpc (a dist.SpawnFunc): erpc:execute_call/4 and
// erpc:execute_cast/3 run here, an erlang:apply of a fun is answered notsup; any other spawn is left to ergo.
func (s *server) spawnRequest(c *dist.Conn, req etf.Ref, from etf.Pid, m, f etf.Atom, args, opts []etf.Term) (bool, error) {
	if m == atomErpc && f == atomExecuteCall && len(args) == 4 && appliesFun(args[1], args[2], args[3]) {
		return true, c.SendSpawnReply(req, from, 0, atomNotsup)
	}
	if m == atomErpc && ((f == atomExecuteCall && len(args) == 4) || (f == atomExecuteCast && len(args) == 3)) {
		return true, s.erpc(c, req, from, f, args, opts)
	}
	return false, nil
}

// erpc runs erpc:execute_call/4 or execute_cast/3 as a pid of this node and answers SPAWN_REPLY at once.
func (s *server) erpc(c *dist.Conn, req etf.Ref, from etf.Pid, f etf.Atom, args []etf.Term, opts []etf.Term) error {
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
	pid := etf.Pid{Node: etf.Atom(s.n.name), ID: rpcPidSerial<<32 | s.rpcSeq.Add(1), Creation: s.pid.Creation}
	var ctx context.Context
	ctx, rc.cancel = context.WithCancel(c.Context())
	s.mu.Lock()
	s.calls[pid] = rc
	s.mu.Unlock()
	if err := c.SendSpawnReply(req, from, flags, pid); err != nil {
		s.endCall(pid, rc)
		return err
	}
	s.spawn(func() {
		defer s.endCall(pid, rc)
		if f == atomExecuteCast {
			m, fn, a, ok := mfa(args[0], args[1], args[2])
			if ok {
				s.cast(c, m, fn, a)
			}
			s.exitCall(c, pid, rc, etf.Atom("normal"))
			return
		}
		s.exitCall(c, pid, rc, s.executeCall(ctx, c, args))
	})
	return nil
}

// executeCall runs erpc:execute_call(Res, M, F, A) and returns the exit reason that carries its result.
func (s *server) executeCall(ctx context.Context, c *dist.Conn, args []etf.Term) etf.Term {
	res := args[0]
	m, f, a, ok := mfa(args[1], args[2], args[3])
	if !ok {
		return etf.Tuple{res, proto.AtomError, etf.Tuple{atomErpc, etf.Atom("badarg")}}
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
func (s *server) exitCall(c *dist.Conn, pid etf.Pid, rc *rpcCall, reason etf.Term) {
	if rc.monitored.Load() {
		if err := c.SendMonitorExit(pid, rc.from, rc.req, reason); err != nil {
			s.n.log.Debug("node: erpc result not sent", "peer", c.Peer(), "error", err)
		}
	}
	if rc.linked {
		if err := c.SendExit(pid, rc.from, reason); err != nil {
			s.n.log.Debug("node: erpc exit not sent", "peer", c.Peer(), "error", err)
		}
	}
}

// endCall forgets the erpc call pid.
func (s *server) endCall(pid etf.Pid, rc *rpcCall) {
	rc.cancel()
	s.mu.Lock()
	delete(s.calls, pid)
	s.mu.Unlock()
}

// call returns the running erpc call pid, if any.
func (s *server) call(pid etf.Pid) *rpcCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[pid]
}

// isRPCPid reports whether pid is one of this node's erpc call pids.
func (s *server) isRPCPid(pid etf.Pid) bool {
	return pid.Node == etf.Atom(s.n.name) && pid.ID>>32 == rpcPidSerial
}

// killCall stops the erpc call running as to, if it still runs: an exit signal reached it.
func (s *server) killCall(to etf.Pid) {
	if rc := s.call(to); rc != nil {
		rc.cancel()
	}
}

// monitorCall makes from monitor the erpc call to under ref; a call that has ended answers noproc at once.
func (s *server) monitorCall(c *dist.Conn, from, to etf.Pid, ref etf.Ref) {
	if rc := s.call(to); rc != nil && rc.from == from && rc.req == ref {
		rc.monitored.Store(true)
		return
	}
	if err := c.SendMonitorExit(to, from, ref, atomNoproc); err != nil {
		s.n.log.Debug("node: noproc not sent", "peer", c.Peer(), "error", err)
	}
}

// demonitorCall removes the monitor on the erpc call to.
func (s *server) demonitorCall(to etf.Pid) {
	if rc := s.call(to); rc != nil {
		rc.monitored.Store(false)
	}
}
