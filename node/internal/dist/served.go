package dist

import (
	"sync"
	"sync/atomic"

	"github.com/hornbeam-go/hornbeam/etf"
)

// Served names and pids: Go code that stands for a registered name or a pid of this node where no ergo process
// does, and what hears of peers coming and going. This is the one place to plug such code into dispatch: a
// message, exit, link, monitor or demonitor from a peer that names a served name or pid, and the end of a remote
// process that a served pid monitored, go to its service, on the connection's reader, before ergo is asked;
// whatever a service declines goes on to ergo. Package node fills the table: hornbeam_hooks, rex and
// net_kernel's is_auth as names, hornbeam_hooks' pid and the erpc call pids as pids, global's name, pids and
// peer watcher, the pg scope's name and pids, and a name per named service.

// NameService serves a registered name of this node.
type NameService struct {
	// Message takes a message that from, on c's peer, sent to the name; taken false leaves it to ergo.
	Message func(c *Conn, from etf.Pid, msg etf.Term) (taken bool, err error)
	// Lasting says the name lives as long as the node: a monitor on it needs nothing, since the node's end
	// closes the connection, which the peer reports as noconnection. The MONITOR_P and DEMONITOR_P that
	// gen_server:call puts on such a name are then recognized from their bytes and not decoded.
	Lasting bool
}

// PidService serves pids of this node that no ergo process backs. Any func but Owns may be nil, which leaves
// that signal to ergo; each returns whether it took the signal.
type PidService struct {
	// Owns reports whether pid is one of the service's.
	Owns func(pid etf.Pid) bool
	// Alive reports whether a served pid stands for a live process (global drops the names of those that are
	// not); when nil, every pid Owns reports lives as long as the node.
	Alive func(pid etf.Pid) bool
	// Message takes a message that from, on c's peer, sent to the served pid to.
	Message func(c *Conn, from, to etf.Pid, msg etf.Term) bool
	// Exit takes an exit signal from to to: EXIT, EXIT2 and their _TT and PAYLOAD_ forms.
	Exit func(c *Conn, from, to etf.Pid, reason etf.Term) bool
	// Monitor takes a MONITOR_P by from on to under ref.
	Monitor func(c *Conn, from, to etf.Pid, ref etf.Ref) bool
	// Demonitor takes a DEMONITOR_P by from on to under ref.
	Demonitor func(c *Conn, from, to etf.Pid, ref etf.Ref) bool
	// Link takes a LINK between from and to when on, an UNLINK or UNLINK_ID when not.
	Link func(c *Conn, from, to etf.Pid, on bool) bool
	// Down takes the end (MONITOR_P_EXIT) of a process on c's peer, terminated (a pid or a name), that the
	// served pid monitored under ref.
	Down func(c *Conn, terminated etf.Term, ref etf.Ref, reason etf.Term) bool
}

// PeerWatcher hears of a peer's connection being served (up) and ending (down).
type PeerWatcher func(c *Conn, up bool)

// Services is a node's table of served names and pids and of peer watchers. Lookups take no lock; adding
// copies the table.
type Services struct {
	mu       sync.Mutex // held by writers
	names    atomic.Pointer[map[string]*NameService]
	pids     atomic.Pointer[[]*PidService]
	watchers atomic.Pointer[[]PeerWatcher]
}

// ServeName makes svc serve the registered name, in place of any service it had.
func (s *Services) ServeName(name etf.Atom, svc NameService) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.storeNameLocked(name, svc)
}

// storeNameLocked copies the table of names with svc serving name; s.mu is held.
func (s *Services) storeNameLocked(name etf.Atom, svc NameService) {
	m := map[string]*NameService{string(name): &svc}
	if old := s.names.Load(); old != nil {
		for k, v := range *old {
			if k != string(name) {
				m[k] = v
			}
		}
	}
	s.names.Store(&m)
}

// ServeNewName makes svc serve the registered name unless the name is served already; false when it is.
func (s *Services) ServeNewName(name etf.Atom, svc NameService) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Name(name) != nil {
		return false
	}
	s.storeNameLocked(name, svc)
	return true
}

// ServePids adds svc; pids are offered to the services in the order they were added.
func (s *Services) ServePids(svc PidService) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var l []*PidService
	if old := s.pids.Load(); old != nil {
		l = append(l, *old...)
	}
	l = append(l, &svc)
	s.pids.Store(&l)
}

// WatchPeers adds w, which hears of every peer from then on.
func (s *Services) WatchPeers(w PeerWatcher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var l []PeerWatcher
	if old := s.watchers.Load(); old != nil {
		l = append(l, *old...)
	}
	l = append(l, w)
	s.watchers.Store(&l)
}

// Name returns the service of the name, or nil.
func (s *Services) Name(name etf.Atom) *NameService {
	if m := s.names.Load(); m != nil {
		return (*m)[string(name)]
	}
	return nil
}

// lasting reports whether the name, given as its bytes, is served and lives as long as the node.
func (s *Services) lasting(name []byte) bool {
	if m := s.names.Load(); m != nil {
		svc := (*m)[string(name)]
		return svc != nil && svc.Lasting
	}
	return false
}

// Pid returns the service of pid, or nil.
func (s *Services) Pid(pid etf.Pid) *PidService {
	if l := s.pids.Load(); l != nil {
		for _, svc := range *l {
			if svc.Owns(pid) {
				return svc
			}
		}
	}
	return nil
}

// peer tells every watcher that c's peer came up or went down.
func (s *Services) peer(c *Conn, up bool) {
	if l := s.watchers.Load(); l != nil {
		for _, w := range *l {
			w(c, up)
		}
	}
}
