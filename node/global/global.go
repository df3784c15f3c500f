// Package global takes part in OTP's global protocol (kernel's global.erl, protocol version 8 of OTP 25) for a
// node that runs no Erlang: the name server registered as global_name_server, its locker and its registrar, as
// one state machine. It does no I/O: a transport feeds it events (a message to global_name_server or to one of
// the server's pids, a node up or down, a monitor's end, a timer, a finished connect) and the server acts through
// Env.
//
// What a peer sees is an OTP global_name_server: on a node up the two servers exchange init_connect, their
// lockers lock both partitions (lock_set, by way of the servers), the servers exchange and resolve their names
// (exchange, resolved), tell the nodes they already knew about the new ones (new_nodes), and every node connects
// to the nodes it did not know yet and reports in_sync. set_lock, del_lock, register and unregister calls work as
// on a BEAM node, sync calls are answered once the node is synced, and with prevent_overlapping_partitions (on by
// default in OTP 25) a lost connection is multicast and a remove_connection request disconnects.
//
// Not done: global groups (every node is in one group), names registered by C nodes are stored and passed on but
// never linked, and a name conflict is resolved by rpc to the node of the pid the table holds, as OTP does, or
// here, for a pid of this node, by emulating the three resolve funs of the global module (any other fun deletes
// the name).
//
// A Server is not safe for concurrent use: one goroutine feeds it every event, in the order they happened.
package global

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
)

// Protocol facts of global.erl.
const (
	// Version is the global protocol version this server speaks.
	Version = 8
	// verifyConnectVsn is the version that brought init_connect_ack and cancel_connect.
	verifyConnectVsn = 8
	// popVsn is the version that brought lost_connection and remove_connection.
	popVsn = 7
	// minVsn is the oldest peer version taken: 5 made lock ids a sorted pair of lockers.
	minVsn = 5
	// lostConnKeep is how long a lost_connection report is remembered.
	lostConnKeep = time.Hour
)

// Name is the registered name of the name server on every node.
const Name = etf.Atom("global_name_server")

var (
	atomGenCall     = etf.Atom("$gen_call")
	atomGenCast     = etf.Atom("$gen_cast")
	atomGlobal      = etf.Atom("global")
	atomLocker      = etf.Atom("locker")
	atomNoLongerPid = etf.Atom("no_longer_a_pid")
	atomYes         = etf.Atom("yes")
	atomNo          = etf.Atom("no")
	atomOK          = etf.Atom("ok")
	atomUndefined   = etf.Atom("undefined")
	atomUnused      = etf.Atom("unused")
	atomInsert      = etf.Atom("insert")
	atomDelete      = etf.Atom("delete")
	atomVsn         = etf.Atom("vsn")
	atomLock        = etf.Atom("lock")
	atomError       = etf.Atom("error")
	atomBadRequest  = etf.Atom("bad_request")
)

// Env is what the server acts through. Its methods must not block for long and must not call back into the
// server; what they start reports back as a later event.
type Env interface {
	// Send sends msg from the server's pid from to the process pid, on this node or another; a message to a
	// node that is not connected is dropped.
	Send(from, to etf.Pid, msg etf.Term)
	// SendName sends msg from the server's pid from to the process registered as name on node; a message to a
	// node that is not connected is dropped.
	SendName(from etf.Pid, name, node etf.Atom, msg etf.Term)
	// Reply answers a gen_server call whose From is from, as gen_server:reply does.
	Reply(from etf.Term, reply etf.Term)
	// Monitor starts a monitor by the server on pid; its end is reported through Server.Down with the returned
	// reference. A monitor on a pid of a node that goes down needs no report: NodeDown ends it.
	Monitor(pid etf.Pid) etf.Ref
	// Demonitor ends a monitor started by Monitor.
	Demonitor(pid etf.Pid, ref etf.Ref)
	// Exit sends an exit signal with reason to pid.
	Exit(from, pid etf.Pid, reason etf.Term)
	// Connect connects to node unless it is connected, and reports through Server.ConnectDone.
	Connect(node etf.Atom)
	// Disconnect closes the connection to node, if any.
	Disconnect(node etf.Atom)
	// StartTimer calls Server.Timeout(id) after d.
	StartTimer(d time.Duration, id uint64)
	// MakeRef returns a new reference of this node.
	MakeRef() etf.Ref
	// Rand returns a random number in [0, n).
	Rand(n int64) int64
}

// Config names the node and the server's processes.
type Config struct {
	// Node is this node's name.
	Node etf.Atom
	// Server, Locker and Registrar are the pids of the name server, its locker and its registrar: the locker
	// holds the locks that connect partitions, the registrar those of names registered from Go. They must be
	// pids of Node that live as long as the server.
	Server, Locker, Registrar etf.Pid
	// Host is this node's host name: the locker serves requests of nodes on it first, as OTP's does.
	Host string
	// NoConnect makes the server take no part in connecting nodes, as kernel's connect_all false does (for a
	// hidden node): node ups and downs are only recorded, and lost_connection reports are ignored.
	NoConnect bool
	// Logger receives the server's warnings; slog.Default() when nil.
	Logger *slog.Logger
}

// Server is global's name server, locker and registrar for one node.
type Server struct {
	env Env
	cfg Config
	me  etf.Atom
	log *slog.Logger
	pop bool // prevent_overlapping_partitions

	up       map[etf.Atom]bool     // visible nodes connected now
	known    map[etf.Atom]int      // nodes in our partition, with their protocol versions
	pending  map[etf.Atom]int      // nodes being connected, with their protocol versions
	removing map[etf.Atom]bool     // nodes disconnected by remove_connection
	synced   map[etf.Atom]bool     // nodes whose names match ours
	sessions map[etf.Atom]*session // the connect sessions' state (OTP keeps it in the process dictionary)
	resolve  map[etf.Atom]*resolver
	syncers  []*syncer

	names    map[string]*name
	namesExt map[string]*nameExt
	pidNames map[etf.Pid][]string
	locks    map[string]*lock
	mons     map[etf.Ref]*mon
	// globalLockDown is set when the lock on the resource global ended with its holder.
	globalLockDown bool

	lost   map[[2]etf.Atom]*lostConn
	xcre   int64 // this incarnation's creation extension in lost_connection reports
	seq    int64 // for tags and operation ids, like erlang:unique_integer([monotonic])
	timers map[uint64]func()
	timerN uint64

	calls map[etf.Ref]*call
	lk    locker
	reg   registrar

	soon []func() // internal messages, run before an event returns (see drain)
}

// New returns a server for cfg acting through env. It sends nothing until the first event.
func New(env Env, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{
		env:      env,
		cfg:      cfg,
		me:       cfg.Node,
		log:      cfg.Logger,
		pop:      !cfg.NoConnect,
		up:       make(map[etf.Atom]bool),
		known:    make(map[etf.Atom]int),
		pending:  make(map[etf.Atom]int),
		removing: make(map[etf.Atom]bool),
		synced:   make(map[etf.Atom]bool),
		sessions: make(map[etf.Atom]*session),
		resolve:  make(map[etf.Atom]*resolver),
		names:    make(map[string]*name),
		namesExt: make(map[string]*nameExt),
		pidNames: make(map[etf.Pid][]string),
		locks:    make(map[string]*lock),
		mons:     make(map[etf.Ref]*mon),
		lost:     make(map[[2]etf.Atom]*lostConn),
		timers:   make(map[uint64]func()),
		calls:    make(map[etf.Ref]*call),
	}
	s.xcre = env.Rand(1 << 62)
	s.lk.s = s
	s.lk.boss = s.me
	s.reg.s = s
	return s
}

// Owns reports whether pid is one of the server's processes, whose messages go to HandlePid.
func (s *Server) Owns(pid etf.Pid) bool {
	return pid == s.cfg.Server || pid == s.cfg.Locker || pid == s.cfg.Registrar
}

// NodeUp records that node connected as a visible node and starts connecting it to this node's partition.
// Events from node's connection must come after it.
func (s *Server) NodeUp(node etf.Atom) {
	defer s.drain()
	if node == s.me || s.up[node] {
		return
	}
	s.up[node] = true
	if s.cfg.NoConnect {
		return
	}
	s.nodeUp(node)
}

// NodeDown records that the connection to node ended: locks and names held by its processes go, and so does
// the node from this partition. Events from node's connection must come before it.
func (s *Server) NodeDown(node etf.Atom) {
	defer s.drain()
	if !s.up[node] {
		return
	}
	delete(s.up, node)
	s.nodeGone(node)
	s.callsDown(node)
	if s.cfg.NoConnect {
		return
	}
	s.nodedown(node, ndDisconnected)
}

// nodeGone ends every monitor on node's processes, as their DOWN messages would, and tells syncers.
func (s *Server) nodeGone(node etf.Atom) {
	for ref, m := range s.mons {
		if m.pid.Node == node {
			s.down(ref)
		}
	}
	for _, sy := range s.syncers {
		sy.done(node)
	}
	s.endSyncers()
}

// ConnectDone reports how a Connect to node ended.
func (s *Server) ConnectDone(node etf.Atom, ok bool) {
	defer s.drain()
	if ok {
		s.castName(node, etf.Tuple{etf.Atom("in_sync"), s.me, true})
		return
	}
	s.log.Warn("global: failed to connect", "node", node)
	for _, sy := range s.syncers {
		sy.done(node)
	}
	s.endSyncers()
	if !s.cfg.NoConnect {
		s.nodedown(node, ndDisconnected)
	}
}

// Down reports the end of a monitor started by Env.Monitor.
func (s *Server) Down(ref etf.Ref) {
	defer s.drain()
	s.down(ref)
}

// Timeout reports a timer started by Env.StartTimer.
func (s *Server) Timeout(id uint64) {
	defer s.drain()
	if f, ok := s.timers[id]; ok {
		delete(s.timers, id)
		f()
	}
}

// HandleName takes a message sent to global_name_server on this node: a gen_server call or cast, or a plain
// message.
func (s *Server) HandleName(msg etf.Term) {
	defer s.drain()
	t, ok := msg.(etf.Tuple)
	if ok && len(t) == 3 && t[0] == atomGenCall {
		s.handleCall(t[1], t[2])
		return
	}
	if ok && len(t) == 2 && t[0] == atomGenCast {
		s.handleCast(t[1])
		return
	}
	s.handleInfo(msg)
}

// HandlePid takes a message sent to one of the server's pids (see Owns): replies to the calls they made, and
// messages an older peer sends its locker directly.
func (s *Server) HandlePid(to etf.Pid, msg etf.Term) {
	defer s.drain()
	if t, ok := msg.(etf.Tuple); ok && len(t) == 2 {
		if ref, ok := t[0].(etf.Ref); ok {
			if c := s.calls[ref]; c != nil {
				s.callReply(ref, c, t[1])
				return
			}
		}
	}
	if to == s.cfg.Server {
		s.handleInfo(msg)
		return
	}
	s.log.Debug("global: dropped a message", "to", to, "message", brief(msg))
}

// after runs f after d, on a Timeout event.
func (s *Server) after(d time.Duration, f func()) uint64 {
	s.timerN++
	s.timers[s.timerN] = f
	s.env.StartTimer(d, s.timerN)
	return s.timerN
}

// cancelTimer forgets a timer started by after.
func (s *Server) cancelTimer(id uint64) {
	delete(s.timers, id)
}

// later queues f to run before the current event returns, after what is queued already: the way the server
// sends its locker a message, or the locker its server.
func (s *Server) later(f func()) {
	s.soon = append(s.soon, f)
}

// drain runs what later queued, including what that queues in turn.
func (s *Server) drain() {
	for len(s.soon) > 0 {
		f := s.soon[0]
		s.soon = s.soon[1:]
		f()
	}
}

// unique returns the next of an increasing sequence, as erlang:unique_integer([monotonic]) does.
func (s *Server) unique() int64 {
	s.seq++
	return s.seq
}

// castName sends a gen_server cast to global_name_server on node.
func (s *Server) castName(node etf.Atom, req etf.Term) {
	s.env.SendName(s.cfg.Server, Name, node, etf.Tuple{atomGenCast, req})
}

// sendName sends a plain message to global_name_server on node (OTP's gns_volatile_send).
func (s *Server) sendName(node etf.Atom, msg etf.Term) {
	s.env.SendName(s.cfg.Server, Name, node, msg)
}

// badRequest is the answer to a call the server does not take.
func badRequest(req etf.Term) etf.Term {
	return etf.Tuple{atomError, etf.Tuple{atomBadRequest, req}}
}

// termKey is a map key for any term: its encoding.
func termKey(t etf.Term) (string, error) {
	b, err := etf.Encode(t)
	if err != nil {
		return "", fmt.Errorf("global: %w", err)
	}
	return string(b), nil
}

// pidLess orders pids as the runtime does: by serial, number, node name, then creation.
func pidLess(a, b etf.Pid) bool {
	if a.ID>>32 != b.ID>>32 {
		return a.ID>>32 < b.ID>>32
	}
	if uint32(a.ID) != uint32(b.ID) {
		return uint32(a.ID) < uint32(b.ID)
	}
	if a.Node != b.Node {
		return a.Node < b.Node
	}
	return a.Creation < b.Creation
}

// intOf reads a small integer term.
func intOf(t etf.Term) (int, bool) {
	v, ok := t.(int64)
	return int(v), ok
}

// tagEq reports whether two sync tags are the same; a missing tag (nil) matches nothing.
func tagEq(a, b etf.Term) bool {
	return a != nil && b != nil && etf.Equal(a, b)
}
