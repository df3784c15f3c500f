package node

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/node/global"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
)

// OTP's global on this node: node/global's state machine, fed by one goroutine (globalLoop.run) with what the
// connections read for global_name_server and for the machine's pids, with visible peers coming and going, and
// with the ends of its monitors. All of it is plugged in through the transport's table of served names and
// pids (dist.Services): global_name_server is a served name, the server's, locker's and registrar's pids are
// served pids, and a peer watcher reports node ups and downs. It takes the place of ergo's stub global_name_server for everything from the wire.

// globalLoop runs the global server: events queue up in order and one goroutine applies them.
type globalLoop struct {
	n      *Node
	srv    *global.Server
	server etf.Pid // the name server's pid, which monitors for it

	mu   sync.Mutex
	q    []func()
	kick chan struct{}
	done chan struct{} // closed when the loop has stopped

	monsMu sync.Mutex
	mons   map[etf.Ref]etf.Atom // monitors the server holds on remote pids, with the pid's node

	peersMu sync.Mutex
	peers   map[string]*dist.Conn // the connection each visible peer was reported up with

	local map[etf.Ref]etf.Pid // monitors on pids of this node; the loop's own
}

// localCheck is how often the loop looks for the end of the local processes global monitors (a name of a
// process of this node registered from Go): neither ergo nor a served pid has a monitor for a watcher that is
// not an ergo process.
const localCheck = time.Second

// startGlobal starts global's server for n, whose pids are of creation, and serves its name and pids; the
// loop stops with the node's context. A hidden node's server takes no part in connecting nodes, as OTP's does
// on a node that sees no visible peer.
func startGlobal(n *Node, creation uint32) *globalLoop {
	g := &globalLoop{
		n:     n,
		kick:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		mons:  make(map[etf.Ref]etf.Atom),
		peers: make(map[string]*dist.Conn),
		local: make(map[etf.Ref]etf.Pid),
	}
	pid := func(k uint64) etf.Pid {
		return etf.Pid{Node: etf.Atom(n.name), ID: globalPidSerial<<32 | k, Creation: creation}
	}
	_, host, _ := strings.Cut(n.name, "@")
	g.server = pid(1)
	g.srv = global.New(globalEnv{g}, global.Config{
		Node:      etf.Atom(n.name),
		Server:    g.server,
		Locker:    pid(2),
		Registrar: pid(3),
		Host:      host,
		NoConnect: n.opts.Hidden,
		Logger:    n.log,
	})
	n.served.ServeName(global.Name, dist.NameService{Lasting: true, Message: func(_ *dist.Conn, _ etf.Pid, msg etf.Term) (bool, error) {
		g.do(func() { g.srv.HandleName(msg) })
		return true, nil
	}})
	n.served.ServePids(dist.PidService{
		Owns: g.owns,
		Message: func(_ *dist.Conn, _, to etf.Pid, msg etf.Term) bool {
			g.handlePid(to, msg)
			return true
		},
		// The server's pids live as long as the node and trap exits, as OTP's do: exit signals, monitors and
		// demonitors on them need nothing.
		Exit:      func(*dist.Conn, etf.Pid, etf.Pid, etf.Term) bool { return true },
		Monitor:   func(*dist.Conn, etf.Pid, etf.Pid, etf.Ref) bool { return true },
		Demonitor: func(*dist.Conn, etf.Pid, etf.Pid, etf.Ref) bool { return true },
		Down: func(_ *dist.Conn, _ etf.Term, ref etf.Ref, _ etf.Term) bool {
			if !g.takeMonitor(ref) {
				return false
			}
			g.down(ref)
			return true
		},
	})
	n.served.WatchPeers(g.peer)
	n.srv.spawn(g.run)
	return g
}

func (g *globalLoop) run() {
	defer close(g.done)
	tick := time.NewTicker(localCheck)
	defer tick.Stop()
	for {
		g.mu.Lock()
		q := g.q
		g.q = nil
		g.mu.Unlock()
		for _, f := range q {
			f()
		}
		select {
		case <-g.kick:
		case <-tick.C:
			g.checkLocal()
		case <-g.n.ctx.Done():
			return
		}
	}
}

// checkLocal reports the end of the local processes global monitors.
func (g *globalLoop) checkLocal() {
	for ref, pid := range g.local {
		if !g.n.alive(pid) {
			delete(g.local, ref)
			g.srv.Down(ref)
		}
	}
}

// alive reports whether pid is a live process of this node: a pid served by Go code (dist.Services) while
// its service says so, or a live ergo process.
func (n *Node) alive(pid etf.Pid) bool {
	if pid.Node != etf.Atom(n.name) {
		return false
	}
	if svc := n.served.Pid(pid); svc != nil {
		return svc.Alive == nil || svc.Alive(pid)
	}
	p := n.ergo.ProcessByPid(pid)
	return p != nil && p.IsAlive()
}

// do queues f to run on the loop, after every event queued before.
func (g *globalLoop) do(f func()) {
	g.mu.Lock()
	g.q = append(g.q, f)
	g.mu.Unlock()
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// owns reports whether pid is one of the global server's.
func (g *globalLoop) owns(pid etf.Pid) bool {
	return pid.Node == etf.Atom(g.n.name) && pid.ID>>32 == globalPidSerial
}

// peer tells the server of a visible peer coming up or going down. A peer is reported up with one connection
// at a time: should a new connection be served before the old one's end, the server hears of the old one
// going down first. Hidden peers, and every peer of a hidden node, are left out, as OTP's global sees only
// visible nodes.
func (g *globalLoop) peer(c *dist.Conn, up bool) {
	if g.n.opts.Hidden || c.Hidden() {
		return
	}
	peer := c.Peer()
	node := etf.Atom(peer)
	g.peersMu.Lock()
	defer g.peersMu.Unlock()
	old := g.peers[peer]
	switch {
	case up:
		if old != nil {
			g.nodeDown(node)
		}
		g.peers[peer] = c
		g.do(func() { g.srv.NodeUp(node) })
	case old == c:
		delete(g.peers, peer)
		g.nodeDown(node)
	}
}

// nodeDown forgets the server's monitors on node's pids, which the node's end ends, and tells the server.
func (g *globalLoop) nodeDown(node etf.Atom) {
	g.monsMu.Lock()
	for ref, on := range g.mons {
		if on == node {
			delete(g.mons, ref)
		}
	}
	g.monsMu.Unlock()
	g.do(func() { g.srv.NodeDown(node) })
}

// takeMonitor reports whether ref is a live monitor of the global server, and forgets it.
func (g *globalLoop) takeMonitor(ref etf.Ref) bool {
	g.monsMu.Lock()
	defer g.monsMu.Unlock()
	if _, ok := g.mons[ref]; !ok {
		return false
	}
	delete(g.mons, ref)
	return true
}

// handlePid takes a message to one of the server's pids.
func (g *globalLoop) handlePid(to etf.Pid, msg etf.Term) { g.do(func() { g.srv.HandlePid(to, msg) }) }

// down takes the end of one of the server's monitors.
func (g *globalLoop) down(ref etf.Ref) { g.do(func() { g.srv.Down(ref) }) }

// wait runs f on the loop and waits for it to call back, or for ctx's end. It fails with hooks.KindClosed
// once the node has stopped.
func (g *globalLoop) wait(ctx context.Context, f func(done func())) error {
	ch := make(chan struct{})
	var once sync.Once
	g.do(func() { f(func() { once.Do(func() { close(ch) }) }) })
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return hooks.ErrorOf(ctx.Err())
	case <-g.done:
		return &hooks.Error{Kind: hooks.KindClosed}
	}
}

// HooksPid returns the pid of hornbeam_hooks on this node, for instance to register it with RegisterGlobal.
func (n *Node) HooksPid() etf.Pid { return n.srv.pid }

// RegisterGlobal registers name for pid in the whole cluster, as global:register_name/2 does: every visible
// node connected to this one, BEAM or Go, then resolves global:whereis_name(Name) to pid, and global:send/2
// reaches it. pid may be any live process of this node (an ergo process, hornbeam_hooks' pid from HooksPid,
// or any other pid this node serves from Go code, such as an exposed service's) or a pid of another node. It
// blocks until the name is registered on every node or ctx ends, and reports false when the name or the pid
// already has a registration; a pid of this node that is not alive is an error of Kind KindNoproc. The name
// goes with UnregisterGlobal, when pid exits (a process of this node is looked at once a second), or when
// pid's node goes down. Every BEAM node monitors the pid it registers: a served pid's service must take
// MONITOR_P and send MONITOR_P_EXIT when the pid ends (one that leaves monitors to ergo is answered noproc, and
// the BEAM nodes drop its name at once). When ctx ends first the registration is still made later, as global's registrar makes
// it whatever happens to its caller. On a hidden node the name is known to this node only.
func (n *Node) RegisterGlobal(ctx context.Context, name etf.Term, pid etf.Pid) (bool, error) {
	if name == nil {
		return false, hooks.BadArg(fmt.Sprintf("node: RegisterGlobal of a nil name for %v", pid))
	}
	if pid.Node == etf.Atom(n.name) && !n.alive(pid) {
		return false, &hooks.Error{Kind: KindNoproc, Detail: pid}
	}
	var yes bool
	err := n.global.wait(ctx, func(done func()) {
		n.global.srv.Register(name, pid, nil, func(ok bool) { yes = ok; done() })
	})
	return yes, err
}

// UnregisterGlobal removes name from the whole cluster, as global:unregister_name/1 does; it blocks until done
// or ctx ends.
func (n *Node) UnregisterGlobal(ctx context.Context, name etf.Term) error {
	return n.global.wait(ctx, func(done func()) { n.global.srv.Unregister(name, done) })
}

// WhereisGlobal returns the pid registered globally as name, as global:whereis_name/1 does: a pid of this node
// only while it is alive. It blocks only behind the events global has queued, or until ctx ends.
func (n *Node) WhereisGlobal(ctx context.Context, name etf.Term) (etf.Pid, bool, error) {
	var pid etf.Pid
	var ok bool
	err := n.global.wait(ctx, func(done func()) {
		pid, ok = n.global.srv.Whereis(name)
		if ok && pid.Node == etf.Atom(n.name) && !n.alive(pid) {
			ok = false
		}
		done()
	})
	return pid, ok, err
}

// SyncGlobal blocks until this node's global names agree with those of every visible connected node, as
// global:sync/0 does, or until ctx ends.
func (n *Node) SyncGlobal(ctx context.Context) error {
	return n.global.wait(ctx, func(done func()) { n.global.srv.Sync(nil, done) })
}

// globalEnv is what the global server acts through.
type globalEnv struct{ g *globalLoop }

func (e globalEnv) Send(_, to etf.Pid, msg etf.Term) {
	n := e.g.n
	if to.Node == etf.Atom(n.name) {
		if e.g.owns(to) {
			e.g.handlePid(to, msg)
			return
		}
		if err := n.srv.proc.Send(to, dist.ToErgo(msg)); err != nil {
			n.log.Debug("global: message not delivered", "to", to, "error", err)
		}
		return
	}
	if c := n.conn(to.Node); c != nil {
		if err := c.SendTo(to, msg); err != nil {
			n.log.Debug("global: message not sent", "to", to, "error", err)
		}
	}
}

func (e globalEnv) SendName(from etf.Pid, name, node etf.Atom, msg etf.Term) {
	n := e.g.n
	if node == etf.Atom(n.name) {
		if name == global.Name {
			e.g.do(func() { e.g.srv.HandleName(msg) })
		}
		return
	}
	if c := n.conn(node); c != nil {
		if err := c.SendName(from, name, msg); err != nil {
			n.log.Debug("global: message not sent", "to", name, "node", node, "error", err)
		}
	}
}

func (e globalEnv) Reply(from etf.Term, reply etf.Term) {
	f, ok := from.(etf.Tuple)
	if !ok || len(f) != 2 {
		return
	}
	pid, ok := f[0].(etf.Pid)
	if !ok {
		return
	}
	if c := e.g.n.conn(pid.Node); c != nil {
		if err := c.Reply(from, reply); err != nil {
			e.g.n.log.Debug("global: reply not sent", "to", pid, "error", err)
		}
	}
}

// Monitor monitors pid. A pid of this node is looked at once a second (see checkLocal). For a remote pid, as
// erlang:monitor/2 does, it connects to the pid's node first when needed (a name global learns from one node
// may be held by a node it connects to next), and the monitor ends with noconnection when that fails.
func (e globalEnv) Monitor(pid etf.Pid) etf.Ref {
	g := e.g
	ref := g.n.makeRef()
	if pid.Node == etf.Atom(g.n.name) {
		if g.n.alive(pid) {
			g.local[ref] = pid
		} else {
			g.down(ref)
		}
		return ref
	}
	g.monsMu.Lock()
	g.mons[ref] = pid.Node
	g.monsMu.Unlock()
	if c := g.n.conn(pid.Node); c != nil {
		g.sendMonitor(c, pid, ref)
		return ref
	}
	g.n.srv.spawn(func() {
		c, ok := g.connect(pid.Node)
		if !ok {
			if g.takeMonitor(ref) {
				g.down(ref)
			}
			return
		}
		g.sendMonitor(c, pid, ref)
	})
	return ref
}

// sendMonitor sends the MONITOR_P of the server's monitor ref on pid, unless the monitor has ended already.
func (g *globalLoop) sendMonitor(c *dist.Conn, pid etf.Pid, ref etf.Ref) {
	g.monsMu.Lock()
	_, live := g.mons[ref]
	g.monsMu.Unlock()
	if !live {
		return
	}
	if err := c.SendMonitor(g.server, pid, ref); err != nil && g.takeMonitor(ref) {
		g.down(ref)
	}
}

func (e globalEnv) Demonitor(pid etf.Pid, ref etf.Ref) {
	delete(e.g.local, ref)
	if !e.g.takeMonitor(ref) {
		return
	}
	if c := e.g.n.conn(pid.Node); c != nil {
		if err := c.SendDemonitor(e.g.server, pid, ref); err != nil {
			e.g.n.log.Debug("global: demonitor not sent", "pid", pid, "error", err)
		}
	}
}

// Exit sends an exit signal: to an ergo process of this node, or to a pid on another node. A pid this node
// serves from Go code (hornbeam_hooks, a service) is not ended; its name is gone from global already.
func (e globalEnv) Exit(from, pid etf.Pid, reason etf.Term) {
	n := e.g.n
	if pid.Node == etf.Atom(n.name) {
		if n.served.Pid(pid) != nil {
			n.log.Info("global: a served pid is not ended", "pid", pid, "reason", reason)
			return
		}
		_ = n.exitErgo(pid, reason)
		return
	}
	if c := n.conn(pid.Node); c != nil {
		if err := c.SendExit2(from, pid, reason); err != nil {
			n.log.Debug("global: exit not sent", "pid", pid, "error", err)
		}
	}
}

func (e globalEnv) Connect(node etf.Atom) {
	g := e.g
	g.n.srv.spawn(func() {
		_, ok := g.connect(node)
		g.do(func() { g.srv.ConnectDone(node, ok) })
	})
}

// connect returns the connection to node, connecting first when there is none. global makes both nodes of a
// new pair connect to each other at about the same time; the handshake keeps one of the two connections, and
// connTo returns it either way.
func (g *globalLoop) connect(node etf.Atom) (*dist.Conn, bool) {
	ctx, cancel := context.WithTimeout(g.n.ctx, connectWait)
	defer cancel()
	c, err := g.n.connTo(ctx, node)
	return c, err == nil
}

func (e globalEnv) Disconnect(node etf.Atom) {
	if c := e.g.n.conn(node); c != nil {
		c.Stop()
	}
}

func (e globalEnv) StartTimer(d time.Duration, id uint64) {
	time.AfterFunc(d, func() { e.g.do(func() { e.g.srv.Timeout(id) }) })
}

func (e globalEnv) MakeRef() etf.Ref { return e.g.n.makeRef() }

func (e globalEnv) Rand(n int64) int64 { return rand.Int64N(n) }
