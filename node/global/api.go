package global

import (
	"slices"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
)

// DefaultMethod is the conflict resolution of names registered from Go, global:register_name/2's: on a
// conflict the pid on the greater node is killed.
var DefaultMethod = etf.Export{Module: atomGlobal, Function: "random_exit_name", Arity: 3}

// Register registers nm for pid on every node of the partition, as global:register_name/3 does with method
// (DefaultMethod when nil): under the global lock on all known nodes, and only when nm is free and pid has no
// other name. done gets true once registered, false when it was not (the name or pid was taken). Registrations
// and unregistrations run one at a time, in the order asked.
func (s *Server) Register(nm etf.Term, pid etf.Pid, method etf.Term, done func(bool)) {
	defer s.drain()
	if method == nil {
		method = DefaultMethod
	}
	s.reg.add(&regOp{nm: nm, pid: pid, method: method, register: true, done: func(r etf.Term) { done(r == atomYes) }})
}

// Unregister removes nm on every node of the partition, as global:unregister_name/1 does; done runs when done.
func (s *Server) Unregister(nm etf.Term, done func()) {
	defer s.drain()
	if s.where(nm) == atomUndefined {
		s.later(done)
		return
	}
	s.reg.add(&regOp{nm: nm, done: func(etf.Term) { done() }})
}

// Whereis returns the pid registered as nm in the partition, as global:whereis_name/1 does.
func (s *Server) Whereis(nm etf.Term) (etf.Pid, bool) {
	p, ok := s.where(nm).(etf.Pid)
	return p, ok
}

// Names returns the registered names, as global:registered_names/0 does.
func (s *Server) Names() []etf.Term {
	out := make([]etf.Term, 0, len(s.names))
	for _, n := range s.names {
		out = append(out, n.name)
	}
	return out
}

// Known returns the nodes of this node's partition, sorted.
func (s *Server) Known() []etf.Atom {
	out := make([]etf.Atom, 0, len(s.known))
	for n := range s.known {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Sync runs done once this node is synced with every node of nodes that is connected (every node NodeUp
// reported, when nodes is nil), or once those that are not went down, as global:sync/0,1 does.
func (s *Server) Sync(nodes []etf.Atom, done func()) {
	defer s.drain()
	if nodes == nil {
		for n := range s.up {
			nodes = append(nodes, n)
		}
	}
	s.startSync(nodes, done)
}

// syncer waits for this node to be synced with some nodes (OTP's sync process).
type syncer struct {
	wait  map[etf.Atom]bool
	reply func()
}

func (sy *syncer) done(node etf.Atom) {
	delete(sy.wait, node)
}

// startSync waits for nodes, but this node and those synced already or not connected.
func (s *Server) startSync(nodes []etf.Atom, reply func()) {
	sy := &syncer{wait: make(map[etf.Atom]bool), reply: reply}
	for _, n := range nodes {
		if n != s.me && !s.synced[n] && s.up[n] {
			sy.wait[n] = true
		}
	}
	s.syncers = append(s.syncers, sy)
	s.endSyncers()
}

// syncedWith tells the syncers this node is synced with node.
func (s *Server) syncedWith(node etf.Atom) {
	for _, sy := range s.syncers {
		sy.done(node)
	}
	s.endSyncers()
}

// endSyncers answers the syncers that wait for nothing more.
func (s *Server) endSyncers() {
	kept := s.syncers[:0]
	for _, sy := range s.syncers {
		if len(sy.wait) == 0 {
			s.later(sy.reply)
		} else {
			kept = append(kept, sy)
		}
	}
	s.syncers = kept
}

// registrar registers and unregisters names from Go one at a time, each under the lock {global, Registrar}
// on every known node (OTP's registrar process and trans_all_known/1).
type registrar struct {
	s     *Server
	queue []*regOp
	busy  bool
	times int
}

type regOp struct {
	nm, method etf.Term
	pid        etf.Pid
	register   bool
	done       func(etf.Term)
}

func (r *registrar) add(op *regOp) {
	r.queue = append(r.queue, op)
	r.next()
}

func (r *registrar) next() {
	if r.busy || len(r.queue) == 0 {
		return
	}
	r.busy = true
	r.times = 0
	r.lockKnown()
}

// lockKnown sets the registrar's lock on the boss, then on every known node, and checks that no node became
// known meanwhile; else it lets go and retries after a random sleep.
func (r *registrar) lockKnown() {
	s := r.s
	from := s.cfg.Registrar
	id := etf.Tuple{atomGlobal, from}
	known := s.Known()
	nodes := append([]etf.Atom{s.me}, known...)
	boss := []etf.Atom{theBoss(nodes)}
	retry := func() {
		s.after(randomSleep(s.env, r.times), r.lockKnown)
		r.times++
	}
	s.setLockOn(from, id, boss, func(ok bool) {
		if !ok {
			retry()
			return
		}
		s.setLockOn(from, id, nodes, func(ok bool) {
			if ok && len(without(s.Known(), known)) == 0 {
				r.run(id, nodes)
				return
			}
			s.delLockOn(from, id, nodes, nil)
			retry()
		})
	})
}

// run does the first queued operation on nodes, under the lock, then lets the lock go.
func (r *registrar) run(id etf.Term, nodes []etf.Atom) {
	s := r.s
	op := r.queue[0]
	finish := func(reply etf.Term) {
		s.deleteGlobalLock(s.cfg.Registrar, id, nodes)
		r.queue = r.queue[1:]
		r.busy = false
		op.done(reply)
		r.next()
	}
	if !op.register {
		s.multicall(s.cfg.Registrar, nodes, etf.Tuple{etf.Atom("unregister"), op.nm}, func([]nodeReply) { finish(atomOK) })
		return
	}
	if s.where(op.nm) != atomUndefined || len(s.pidNames[op.pid]) > 0 {
		if len(s.pidNames[op.pid]) > 0 {
			s.log.Error("global: a pid may have one name only", "pid", op.pid, "name", brief(op.nm))
		}
		s.later(func() { finish(atomNo) })
		return
	}
	req := etf.Tuple{etf.Atom("register"), op.nm, op.pid, op.method}
	s.multicall(s.cfg.Registrar, nodes, req, func([]nodeReply) { finish(atomYes) })
}

// randomSleep is OTP's back-off between lock attempts: up to 1/8 s the first time, doubling up to 8 s.
func randomSleep(env Env, times int) time.Duration {
	tmax := int64(8000)
	if times <= 5 {
		tmax = int64(1<<times) * 1000 / 8
	}
	return time.Duration(1+env.Rand(tmax)) * time.Millisecond
}
