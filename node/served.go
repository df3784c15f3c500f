package node

import (
	"sync"
	"sync/atomic"

	"github.com/hornbeam-go/hornbeam/etf"
)

// Served names and pids: Go code that stands for a registered name or a pid of this node where no ergo process
// does, and what hears of peers coming and going. This is the one place to plug such code into dispatch: a
// message, exit, link, monitor or demonitor from a peer that names a served name or pid, and the end of a remote
// process that a served pid monitored, go to its service, on the connection's reader, before ergo is asked;
// whatever a service declines goes on to ergo. serveBuiltins registers hornbeam_hooks, rex and net_kernel as
// names, and the pid of hornbeam_hooks and the erpc call pids as pids; startGlobal (global.go) registers
// global_name_server, global's pids and a peer watcher; the pg scope adds its name and its pids (pg.go), and
// Expose a name per named service (service.go).

// nameService serves a registered name of this node.
type nameService struct {
	// message takes a message that from, on c's peer, sent to the name; taken false leaves it to ergo.
	message func(c *conn, from etf.Pid, msg etf.Term) (taken bool, err error)
	// lasting says the name lives as long as the node: a monitor on it needs nothing, since the node's end
	// closes the connection, which the peer reports as noconnection. The MONITOR_P and DEMONITOR_P that
	// gen_server:call puts on such a name are then recognized from their bytes and not decoded.
	lasting bool
}

// Serials (the high half of Pid.ID, which ergo never reaches) of the pids Go code serves: one per kind, so that
// no two services claim the same pid.
const (
	rpcPidSerial    = 0x7fff0000 // erpc calls (rpc.go)
	pgPidSerial     = 0x7ffe0000 // the pg scope and its members (pg.go)
	globalPidSerial = 0x7ffd0000 // global's server, locker and registrar (global.go)
)

// pidService serves pids of this node that no ergo process backs. Any func but owns may be nil, which leaves
// that signal to ergo; each returns whether it took the signal. message, exit, monitor, demonitor and link (a
// LINK when on, an UNLINK or UNLINK_ID when not) come from a peer's process to the served pid to; down is the
// end (MONITOR_P_EXIT) of a process on c's peer, terminated (a pid or a name), that the served pid monitored
// under ref. alive reports whether a served pid stands for a live process (global drops the names of those
// that are not); when nil, every pid owns reports lives as long as the node.
type pidService struct {
	owns      func(pid etf.Pid) bool
	alive     func(pid etf.Pid) bool
	message   func(c *conn, from, to etf.Pid, msg etf.Term) bool
	exit      func(c *conn, from, to etf.Pid, reason etf.Term) bool
	monitor   func(c *conn, from, to etf.Pid, ref etf.Ref) bool
	demonitor func(c *conn, from, to etf.Pid, ref etf.Ref) bool
	link      func(c *conn, from, to etf.Pid, on bool) bool
	down      func(c *conn, terminated etf.Term, ref etf.Ref, reason etf.Term) bool
}

// peerWatcher hears of a peer's connection being served (up) and ending (down).
type peerWatcher func(c *conn, up bool)

// services is a node's table of served names and pids and of peer watchers. Lookups take no lock; adding
// copies the table.
type services struct {
	mu       sync.Mutex // held by writers
	names    atomic.Pointer[map[string]*nameService]
	pids     atomic.Pointer[[]*pidService]
	watchers atomic.Pointer[[]peerWatcher]
}

// serveName makes svc serve the registered name, in place of any service it had.
func (s *services) serveName(name etf.Atom, svc nameService) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.storeNameLocked(name, svc)
}

// storeNameLocked copies the table of names with svc serving name; s.mu is held.
func (s *services) storeNameLocked(name etf.Atom, svc nameService) {
	m := map[string]*nameService{string(name): &svc}
	if old := s.names.Load(); old != nil {
		for k, v := range *old {
			if k != string(name) {
				m[k] = v
			}
		}
	}
	s.names.Store(&m)
}

// serveNewName makes svc serve the registered name unless the name is served already; false when it is.
func (s *services) serveNewName(name etf.Atom, svc nameService) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.name(name) != nil {
		return false
	}
	s.storeNameLocked(name, svc)
	return true
}

// servePids adds svc; pids are offered to the services in the order they were added.
func (s *services) servePids(svc pidService) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var l []*pidService
	if old := s.pids.Load(); old != nil {
		l = append(l, *old...)
	}
	l = append(l, &svc)
	s.pids.Store(&l)
}

// watchPeers adds w, which hears of every peer from then on.
func (s *services) watchPeers(w peerWatcher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var l []peerWatcher
	if old := s.watchers.Load(); old != nil {
		l = append(l, *old...)
	}
	l = append(l, w)
	s.watchers.Store(&l)
}

// name returns the service of the name, or nil.
func (s *services) name(name etf.Atom) *nameService {
	if m := s.names.Load(); m != nil {
		return (*m)[string(name)]
	}
	return nil
}

// lasting reports whether the name, given as its bytes, is served and lives as long as the node.
func (s *services) lasting(name []byte) bool {
	if m := s.names.Load(); m != nil {
		svc := (*m)[string(name)]
		return svc != nil && svc.lasting
	}
	return false
}

// pid returns the service of pid, or nil.
func (s *services) pid(pid etf.Pid) *pidService {
	if l := s.pids.Load(); l != nil {
		for _, svc := range *l {
			if svc.owns(pid) {
				return svc
			}
		}
	}
	return nil
}

// peer tells every watcher that c's peer came up or went down.
func (s *services) peer(c *conn, up bool) {
	if l := s.watchers.Load(); l != nil {
		for _, w := range *l {
			w(c, up)
		}
	}
}

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
	hooksMsg := func(c *conn, from etf.Pid, msg etf.Term) bool {
		if !sysMessage(c, msg, nameHooks, s.pidTerm, s.status) {
			s.handleRemote(c, from, msg)
		}
		return true
	}
	n.served.serveName(nameHooks, nameService{lasting: true, message: func(c *conn, from etf.Pid, msg etf.Term) (bool, error) {
		return hooksMsg(c, from, msg), nil
	}})
	n.served.serveName(nameRex, nameService{lasting: true, message: func(c *conn, _ etf.Pid, msg etf.Term) (bool, error) {
		return s.handleRex(c, msg), nil
	}})
	n.served.serveName(nameNetKernel, nameService{message: isAuth})
	n.served.servePids(pidService{
		owns:    func(pid etf.Pid) bool { return pid == s.pid },
		message: func(c *conn, from, _ etf.Pid, msg etf.Term) bool { return hooksMsg(c, from, msg) },
		down:    func(_ *conn, _ etf.Term, ref etf.Ref, reason etf.Term) bool { return s.monitorDown(ref, reason) },
	})
	n.served.servePids(pidService{
		owns:      s.isRPCPid,
		alive:     func(pid etf.Pid) bool { return s.call(pid) != nil },
		exit:      func(_ *conn, _, to etf.Pid, _ etf.Term) bool { s.killCall(to); return true },
		monitor:   func(c *conn, from, to etf.Pid, ref etf.Ref) bool { s.monitorCall(c, from, to, ref); return true },
		demonitor: func(_ *conn, _, to etf.Pid, _ etf.Ref) bool { s.demonitorCall(to); return true },
	})
	n.served.watchPeers(func(c *conn, up bool) {
		if !up {
			s.peerDown(c)
		}
	})
}

// isAuth answers net_kernel's {is_auth, Node} with yes, so that net_adm:ping gives pong; anything else sent to
// net_kernel goes to ergo.
func isAuth(c *conn, _ etf.Pid, msg etf.Term) (bool, error) {
	if from, req, ok := genCall(msg); ok {
		if t, ok := req.(etf.Tuple); ok && len(t) == 2 && t[0] == etf.Atom("is_auth") {
			return true, c.reply(from, etf.Atom("yes"))
		}
	}
	return false, nil
}
