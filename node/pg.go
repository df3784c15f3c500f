package node

import (
	"sync"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
	"github.com/hornbeam-go/hornbeam/node/pg"
)

// The node's peer of OTP's pg scope (package node/pg): its scope process and one member per registered hook, in
// the group <<AppPath>>, are pids of this node that no ergo process backs, served through dist.Services. Joins and
// leaves follow the engine's registry (hooks.Engine.Observe). A member answers the requests of a named service
// (service.go) for its app path, and lives from its hook's registration to its unregistration: a monitor on it
// then gets DOWN with reason shutdown, and one set up later noproc at once. The scope process lives as long as
// the node, whose end the peers see as noconnection, so monitors on it need nothing. hornbeam_hooks' own pid is
// the node's member of the group hornbeam_hooks (an atom), where the Erlang client looks for Go nodes.

// pgRediscover is how often the scope asks again the connected nodes where it knows no scope process, so that
// a scope started there after the connection, or on a node connected hidden, finds this one within that time.
const pgRediscover = 500 * time.Millisecond

var atomShutdown = etf.Atom("shutdown")

// pgPeer runs the node's pg scope; it is also the scope's pg.Env.
type pgPeer struct {
	n     *Node
	scope *pg.Scope

	mu       sync.Mutex
	seq      uint64
	members  map[string]*pgMember // by app path
	byPid    map[etf.Pid]*pgMember
	scopeMon map[etf.Ref]etf.Pid // the scope's monitors on remote scope processes

	unobserve func()
	done      chan struct{}
	wg        sync.WaitGroup
}

// pgMember is the pid of one hook in its group, and the monitors and links remote processes keep on it.
type pgMember struct {
	appPath  string
	pid      etf.Pid
	monitors map[etf.Ref]etf.Pid // by reference, the monitoring pid
	links    map[etf.Pid]bool    // the linked pids
}

// startPG starts the scope named name: it serves the scope's name and pids, discovers the connected nodes'
// scopes now, as they connect and every pgRediscover, joins hornbeam_hooks' pid to the group hornbeam_hooks and
// a member for every hook the engine has and gets.
func (n *Node) startPG(name etf.Atom) {
	p := &pgPeer{
		n:        n,
		members:  make(map[string]*pgMember),
		byPid:    make(map[etf.Pid]*pgMember),
		scopeMon: make(map[etf.Ref]etf.Pid),
		done:     make(chan struct{}),
	}
	p.scope = pg.New(name, p.newPid(), p)
	n.pg = p
	n.served.ServeName(name, dist.NameService{Lasting: true, Message: func(c *dist.Conn, _ etf.Pid, msg etf.Term) (bool, error) {
		p.handle(c, msg)
		return true, nil
	}})
	n.served.ServePids(dist.PidService{
		Owns:      p.owns,
		Message:   func(c *dist.Conn, from, to etf.Pid, msg etf.Term) bool { p.deliver(c, from, to, msg); return true },
		Monitor:   func(c *dist.Conn, from, to etf.Pid, ref etf.Ref) bool { p.monitor(c, from, to, ref); return true },
		Demonitor: func(_ *dist.Conn, _, to etf.Pid, ref etf.Ref) bool { p.demonitor(to, ref); return true },
		Link:      func(_ *dist.Conn, from, to etf.Pid, on bool) bool { p.link(from, to, on); return true },
		Exit:      func(_ *dist.Conn, from, to etf.Pid, _ etf.Term) bool { p.linkExit(from, to); return true },
		Down:      func(_ *dist.Conn, _ etf.Term, ref etf.Ref, _ etf.Term) bool { return p.monitorExit(ref) },
	})
	n.served.WatchPeers(func(c *dist.Conn, up bool) {
		if up {
			p.nodeUp(c.Peer())
		} else {
			p.nodeDown(c.Peer())
		}
	})
	if err := p.scope.Join(nameHooks, n.srv.pid); err != nil {
		n.log.Warn("node: pg join failed", "group", nameHooks, "error", err)
	}
	p.unobserve = n.opts.Engine.Observe(p.registry)
	p.scope.Discover()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(pgRediscover)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.scope.Discover()
			case <-p.done:
				return
			}
		}
	}()
}

// stop stops following the registry and rediscovering.
func (p *pgPeer) stop() {
	p.unobserve()
	close(p.done)
	p.wg.Wait()
}

// newPid returns a pid of this node for the scope or a member.
func (p *pgPeer) newPid() etf.Pid {
	p.seq++
	return etf.Pid{Node: etf.Atom(p.n.name), ID: pgPidSerial<<32 | p.seq, Creation: p.n.srv.pid.Creation}
}

// PG returns the node's pg scope, through which Go reads the groups' members on every node; nil when
// Options.NoPG is set.
func (n *Node) PG() *pg.Scope {
	if n.pg == nil {
		return nil
	}
	return n.pg.scope
}

// registry is the engine's observer: a member joins <<AppPath>> when a hook is registered and leaves when it is
// unregistered.
func (p *pgPeer) registry(appPath string, registered bool) {
	group := []byte(appPath)
	if registered {
		p.mu.Lock()
		m := &pgMember{appPath: appPath, pid: p.newPid(), monitors: make(map[etf.Ref]etf.Pid), links: make(map[etf.Pid]bool)}
		p.members[appPath] = m
		p.byPid[m.pid] = m
		p.mu.Unlock()
		if err := p.scope.Join(group, m.pid); err != nil {
			p.n.log.Warn("node: pg join failed", "app_path", appPath, "error", err)
		}
		return
	}
	p.mu.Lock()
	m := p.members[appPath]
	delete(p.members, appPath)
	if m != nil {
		delete(p.byPid, m.pid)
	}
	p.mu.Unlock()
	if m == nil {
		return
	}
	if err := p.scope.Leave(group, m.pid); err != nil {
		p.n.log.Warn("node: pg leave failed", "app_path", appPath, "error", err)
	}
	for ref, from := range m.monitors {
		p.down(m.pid, from, ref, atomShutdown)
	}
	for to := range m.links {
		p.exit(m.pid, to, atomShutdown)
	}
}

// exit sends the end of the local pid to the remote process linked to it.
func (p *pgPeer) exit(pid, to etf.Pid, reason etf.Term) {
	if c := p.n.conn(to.Node); c != nil {
		if err := c.SendExit(pid, to, reason); err != nil {
			p.n.log.Debug("node: pg EXIT not sent", "peer", c.Peer(), "error", err)
		}
	}
}

// link links (on) or unlinks the remote pid from and the member to; a link to a member that is gone gets
// noproc at once. A link to the scope process needs nothing: it lives as long as the node.
func (p *pgPeer) link(from, to etf.Pid, on bool) {
	if to == p.scope.Pid() {
		return
	}
	p.mu.Lock()
	m := p.byPid[to]
	if m != nil {
		if on {
			m.links[from] = true
		} else {
			delete(m.links, from)
		}
	}
	p.mu.Unlock()
	if m == nil && on {
		p.exit(to, from, atomNoproc)
	}
}

// linkExit takes an exit signal to a member or the scope process: a link's ends it, since the member lives
// as long as its hook, and an exit/2 is ignored for the same reason.
func (p *pgPeer) linkExit(from, to etf.Pid) {
	p.link(from, to, false)
}

// down sends the end of the local pid to the remote process that monitored it under ref.
func (p *pgPeer) down(pid, to etf.Pid, ref etf.Ref, reason etf.Term) {
	c := p.n.conn(to.Node)
	if c == nil {
		return
	}
	if err := c.SendMonitorExit(pid, to, ref, reason); err != nil {
		p.n.log.Debug("node: pg DOWN not sent", "peer", c.Peer(), "error", err)
	}
}

// owns reports whether pid is the scope process or a member, live or gone.
func (p *pgPeer) owns(pid etf.Pid) bool {
	return pid.Node == etf.Atom(p.n.name) && pid.ID>>32 == pgPidSerial
}

// deliver acts on a message to the scope process or a member; one to a member that is gone is dropped.
func (p *pgPeer) deliver(c *dist.Conn, from, to etf.Pid, msg etf.Term) {
	if to == p.scope.Pid() {
		p.handle(c, msg)
		return
	}
	p.mu.Lock()
	m := p.byPid[to]
	p.mu.Unlock()
	if m == nil {
		p.n.log.Debug("node: dropped a message to a pg member that is gone", "peer", c.Peer(), "to", to)
		return
	}
	p.n.serveService(c, m.appPath, msg)
}

// handle hands a message for the scope, by name or pid, to it.
func (p *pgPeer) handle(c *dist.Conn, msg etf.Term) {
	if err := p.scope.Handle(msg); err != nil {
		p.n.log.Debug("node: dropped a message to the pg scope", "peer", c.Peer(), "error", err)
	}
}

// monitor makes from monitor the local pid to under ref: nothing for the scope process, which lives as long as
// the node; noproc at once for a member that is gone.
func (p *pgPeer) monitor(c *dist.Conn, from, to etf.Pid, ref etf.Ref) {
	if to == p.scope.Pid() {
		return
	}
	p.mu.Lock()
	m := p.byPid[to]
	if m != nil {
		m.monitors[ref] = from
	}
	p.mu.Unlock()
	if m == nil {
		p.down(to, from, ref, atomNoproc)
	}
}

// demonitor removes the monitor under ref on the local pid to.
func (p *pgPeer) demonitor(to etf.Pid, ref etf.Ref) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if m := p.byPid[to]; m != nil {
		delete(m.monitors, ref)
	}
}

// monitorExit tells the scope that a remote scope process it monitored under ref ended; false when ref is not
// one of the scope's.
func (p *pgPeer) monitorExit(ref etf.Ref) bool {
	p.mu.Lock()
	pid, ok := p.scopeMon[ref]
	delete(p.scopeMon, ref)
	p.mu.Unlock()
	if ok {
		p.scope.Down(pid)
	}
	return ok
}

// nodeUp discovers the scope on a node that has just connected.
func (p *pgPeer) nodeUp(peer string) {
	p.scope.NodeUp(etf.Atom(peer))
}

// nodeDown forgets what the disconnected node had: its scope's members, and its monitors.
func (p *pgPeer) nodeDown(peer string) {
	node := etf.Atom(peer)
	p.mu.Lock()
	for ref, pid := range p.scopeMon {
		if pid.Node == node {
			delete(p.scopeMon, ref)
		}
	}
	for _, m := range p.members {
		for ref, from := range m.monitors {
			if from.Node == node {
				delete(m.monitors, ref)
			}
		}
		for from := range m.links {
			if from.Node == node {
				delete(m.links, from)
			}
		}
	}
	p.mu.Unlock()
	p.scope.NodeDown(node)
}

// Send implements pg.Env: a SEND from the scope process when the node is connected.
func (p *pgPeer) Send(to etf.Pid, msg etf.Term) {
	if c := p.n.conn(to.Node); c != nil {
		if err := c.SendTo(to, msg); err != nil {
			p.n.log.Debug("node: pg message not sent", "peer", c.Peer(), "error", err)
		}
	}
}

// SendReg implements pg.Env: a REG_SEND from the scope process when the node is connected.
func (p *pgPeer) SendReg(name, node etf.Atom, msg etf.Term) {
	if c := p.n.conn(node); c != nil {
		if err := c.SendName(p.scope.Pid(), name, msg); err != nil {
			p.n.log.Debug("node: pg message not sent", "peer", c.Peer(), "error", err)
		}
	}
}

// Monitor implements pg.Env: a MONITOR_P from the scope process, whose MONITOR_P_EXIT reaches monitorExit.
func (p *pgPeer) Monitor(pid etf.Pid) {
	c := p.n.conn(pid.Node)
	if c == nil {
		return
	}
	ref := p.n.makeRef()
	p.mu.Lock()
	p.scopeMon[ref] = pid
	p.mu.Unlock()
	if err := c.SendMonitor(p.scope.Pid(), pid, ref); err != nil {
		p.n.log.Debug("node: pg monitor not sent", "peer", c.Peer(), "error", err)
	}
}

// Nodes implements pg.Env: the nodes with a serving connection.
func (p *pgPeer) Nodes() []etf.Atom { return p.n.tr.Nodes() }
