package node

import (
	"context"
	"fmt"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
	"github.com/hornbeam-go/hornbeam/proto"
)

// Calls from Go to Erlang processes. They go out from hornbeam_hooks, as gen_server:call does: a MONITOR_P on
// the target under a new reference, then {'$gen_call', {HooksPid, Ref}, Req}. The reply {Ref, Reply} is routed
// by routeReply, the monitor's end by callDown, and the connection's end is watched directly.

// Error kinds of Call and RPC, beyond hooks' (Error.Kind; Detail as noted).
const (
	// KindNoproc is {noproc, Target}: no process is registered under the name, or the pid is not alive.
	KindNoproc = etf.Atom("noproc")
	// KindNodedown is {nodedown, Node}: the node is not connected and cannot be reached, or went down during
	// the call.
	KindNodedown = etf.Atom("nodedown")
	// KindExit is {exit, Reason}: the process exited with Reason during the call.
	KindExit = etf.Atom("exit")
	// KindBadrpc is {badrpc, Reason}: rex answered the RPC {badrpc, Reason}, for instance
	// {'EXIT', {undef, Stack}} for a missing function.
	KindBadrpc = etf.Atom("badrpc")
)

// connectWait bounds the wait, after ergo connected to a node, for its connection to be served.
const connectWait = 5 * time.Second

var (
	atomUser   = etf.Atom("user")
	atomBadrpc = etf.Atom("badrpc")
	atomNoproc = etf.Atom("noproc")
)

// targetDown is what a Call's pending channel receives when the monitor on its target ends.
type targetDown struct{ reason etf.Term }

// Call makes a gen_server:call from Go: it sends req to to, an etf.Pid or an etf.Tuple{Name, Node} of two
// etf.Atoms, on another node, connecting to that node first when needed, and returns the reply. It blocks until
// the reply, ctx's end, or a failure: the target is monitored for the call, so a missing process fails at once.
// Errors are *hooks.Error: Kind KindNoproc, KindNodedown or KindExit, or hooks.KindTimeout (ctx's deadline) or
// hooks.KindCancelled (ctx cancelled); a bad to is hooks.KindBadArg. A reply that arrives after the call gave up
// is dropped.
func (n *Node) Call(ctx context.Context, to etf.Term, req etf.Term) (etf.Term, error) {
	peer, target, err := callTarget(to)
	if err != nil {
		return nil, err
	}
	if peer == etf.Atom(n.name) {
		return nil, hooks.BadArg(fmt.Sprintf("node: Call to %v on this node", to))
	}
	c, err := n.connTo(ctx, peer)
	if err != nil {
		return nil, err
	}
	s := n.srv
	ref := n.makeRef()
	pc := &pendingCall{reply: make(chan etf.Term, 1)}
	s.mu.Lock()
	s.pending[ref] = pc
	s.mu.Unlock()
	msg := etf.Tuple{dist.AtomGenCall, etf.Tuple{s.pid, ref}, req}
	if err = c.SendMonitor(s.pid, target, ref); err == nil {
		switch t := target.(type) {
		case etf.Pid:
			err = c.SendTo(t, msg)
		case etf.Atom:
			err = c.SendName(s.pid, t, msg)
		}
	}
	if err != nil {
		s.abandon(ref, pc)
		return nil, nodedown(peer)
	}
	select {
	case r := <-pc.reply:
		if down, ok := r.(targetDown); ok {
			return nil, downError(down.reason, to, peer)
		}
		s.unmonitorTarget(c, target, ref)
		return r, nil
	case <-c.Done():
		s.abandon(ref, pc)
		return nil, nodedown(peer)
	case <-ctx.Done():
		s.abandon(ref, pc)
		s.unmonitorTarget(c, target, ref)
		return nil, hooks.ErrorOf(ctx.Err())
	}
}

// RPC runs m:f(args...) on node through its rex server, as rpc:call does, and returns the function's value;
// the function's output goes to that node's user. It blocks as Call does, with the same errors, plus
// KindBadrpc when the call raised or f is not there. When ctx ends first the function runs on.
func (n *Node) RPC(ctx context.Context, node, m, f string, args ...etf.Term) (etf.Term, error) {
	a := etf.List(args)
	if a == nil {
		a = etf.List{}
	}
	r, err := n.Call(ctx, etf.Tuple{nameRex, etf.Atom(node)}, etf.Tuple{proto.AtomCall, etf.Atom(m), etf.Atom(f), a, atomUser})
	if err != nil {
		return nil, err
	}
	if t, ok := r.(etf.Tuple); ok && len(t) == 2 && t[0] == atomBadrpc {
		return nil, &hooks.Error{Kind: KindBadrpc, Detail: t[1]}
	}
	return r, nil
}

// callTarget splits a Call's to into its node and the target of the control message: a pid or a name.
func callTarget(to etf.Term) (peer etf.Atom, target etf.Term, err error) {
	switch t := to.(type) {
	case etf.Pid:
		return t.Node, t, nil
	case etf.Tuple:
		if len(t) != 2 {
			break
		}
		name, ok1 := t[0].(etf.Atom)
		node, ok2 := t[1].(etf.Atom)
		if ok1 && ok2 {
			return node, name, nil
		}
	}
	return "", nil, hooks.BadArg(fmt.Sprintf("node: Call to %v: want a pid or {Name, Node}", to))
}

// connTo returns the serving connection to peer, connecting first when there is none. When this node's dial
// gives way to a connection the peer opens at the same time (see package handshake), it waits for that one.
func (n *Node) connTo(ctx context.Context, peer etf.Atom) (*dist.Conn, error) {
	if c := n.conn(peer); c != nil {
		return c, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, hooks.ErrorOf(err)
	}
	err := n.ergo.Connect(string(peer))
	deadline := time.NewTimer(connectWait)
	defer deadline.Stop()
	if err != nil {
		if pending := n.hs.Pending(string(peer)); pending != nil {
			select {
			case <-pending:
			case <-deadline.C:
			case <-ctx.Done():
				return nil, hooks.ErrorOf(ctx.Err())
			}
		}
		if c := n.conn(peer); c != nil {
			return c, nil
		}
		n.log.Debug("node: cannot connect", "peer", peer, "error", err)
		return nil, nodedown(peer)
	}
	// ergo hands the new connection to proto.Serve on a goroutine of its own; wait until it is served.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		if c := n.conn(peer); c != nil {
			return c, nil
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return nil, nodedown(peer)
		case <-ctx.Done():
			return nil, hooks.ErrorOf(ctx.Err())
		}
	}
}

// callTargetDown ends the Call whose target was monitored under ref, which ended with reason; false when ref is
// no such monitor.
func (s *server) callTargetDown(ref etf.Ref, reason etf.Term) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	pc := s.pending[ref]
	if pc == nil || pc.h != nil {
		return false
	}
	delete(s.pending, ref)
	pc.reply <- targetDown{reason}
	return true
}

// unmonitorTarget removes the monitor of a Call that no longer waits.
func (s *server) unmonitorTarget(c *dist.Conn, target etf.Term, ref etf.Ref) {
	if err := c.SendDemonitor(s.pid, target, ref); err != nil {
		s.n.log.Debug("node: demonitor not sent", "target", target, "error", err)
	}
}

// downError is the error of a Call whose target ended with reason.
func downError(reason, to etf.Term, peer etf.Atom) error {
	switch reason {
	case atomNoproc:
		return &hooks.Error{Kind: KindNoproc, Detail: to}
	case atomNoconnection:
		return nodedown(peer)
	}
	return &hooks.Error{Kind: KindExit, Detail: reason}
}

// nodedown is the error {nodedown, Node}.
func nodedown(peer etf.Atom) error {
	return &hooks.Error{Kind: KindNodedown, Detail: peer}
}
