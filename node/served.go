package node

import (
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
)

// What the node serves from Go code, through the transport's table of served names and pids (dist.Services):
// a message, exit, link, monitor or demonitor from a peer that names a served name or pid goes to its service
// on the connection's reader before ergo is asked. serveBuiltins registers hornbeam_hooks, rex and net_kernel
// as names, and the pid of hornbeam_hooks and the erpc call pids as pids; startGlobal (global.go) registers
// global_name_server, global's pids and a peer watcher; the pg scope adds its name and its pids (pg.go), and
// Expose a name per named service (service.go).

// Serials (the high half of Pid.ID, which ergo never reaches) of the pids Go code serves: one per kind, so that
// no two services claim the same pid.
const (
	rpcPidSerial    = 0x7fff0000 // erpc calls (package node/internal/rpc)
	pgPidSerial     = 0x7ffe0000 // the pg scope and its members (pg.go)
	globalPidSerial = 0x7ffd0000 // global's server, locker and registrar (global.go)
)

// Registered names this node serves itself.
const (
	nameHooks     = etf.Atom("hornbeam_hooks")
	nameNetKernel = etf.Atom("net_kernel")
	nameRex       = etf.Atom("rex")
)

// serveBuiltins registers what the node serves from the start: hornbeam_hooks (its name and pid), rex and
// the erpc call pids, net_kernel's is_auth, and the release of what a peer's callers held when it goes.
func (n *Node) serveBuiltins() {
	s := n.srv
	hooksMsg := func(c *dist.Conn, from etf.Pid, msg etf.Term) bool {
		if !n.sysMessage(c, msg, nameHooks, s.pidTerm, s.status) {
			s.handleRemote(c, from, msg)
		}
		return true
	}
	n.served.ServeName(nameHooks, dist.NameService{Lasting: true, Message: func(c *dist.Conn, from etf.Pid, msg etf.Term) (bool, error) {
		return hooksMsg(c, from, msg), nil
	}})
	n.served.ServeName(nameRex, dist.NameService{Lasting: true, Message: func(c *dist.Conn, _ etf.Pid, msg etf.Term) (bool, error) {
		return n.rpc.HandleRex(c, msg), nil
	}})
	n.served.ServeName(nameNetKernel, dist.NameService{Message: isAuth})
	n.served.ServePids(dist.PidService{
		Owns:    func(pid etf.Pid) bool { return pid == s.pid },
		Message: func(c *dist.Conn, from, _ etf.Pid, msg etf.Term) bool { return hooksMsg(c, from, msg) },
		Down:    func(_ *dist.Conn, _ etf.Term, ref etf.Ref, reason etf.Term) bool { return s.monitorDown(ref, reason) },
	})
	n.served.ServePids(n.rpc.Pids())
	n.served.WatchPeers(func(c *dist.Conn, up bool) {
		if !up {
			s.peerDown(c)
		}
	})
}

// isAuth answers net_kernel's {is_auth, Node} with yes, so that net_adm:ping gives pong; anything else sent to
// net_kernel goes to ergo.
func isAuth(c *dist.Conn, _ etf.Pid, msg etf.Term) (bool, error) {
	if from, req, ok := dist.GenCall(msg); ok {
		if t, ok := req.(etf.Tuple); ok && len(t) == 2 && t[0] == etf.Atom("is_auth") {
			return true, c.Reply(from, etf.Atom("yes"))
		}
	}
	return false, nil
}
