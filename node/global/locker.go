package global

import (
	"strings"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
)

// The locker takes the lock {global, [LockerA, LockerB]} (the two lockers' pids in term order) on every node of
// both partitions before two connecting nodes exchange their names. Both lockers use the same lock id, so the
// nodes they both lock are locked for both. One side (either, or both at once) picks a node waiting to connect,
// locks the boss (the greatest node name of its partition), itself and the other node, then the rest of its
// partition, and sends {lock_set, Self, true, Known, HisTag}; the other side, on that message, locks its own
// partition and answers the same way. Lockers talk through the servers (a cast of lock_set to
// global_name_server), never directly.
//
// OTP's locker is a process with a selective receive: while it takes a lock or holds one it leaves messages it
// is not waiting for in its mailbox. This one keeps them in queue and takes them up when it is idle again.

// him is a node waiting for its connect's lock (OTP's #him{}).
type him struct {
	node          etf.Atom
	locker        etf.Pid
	vsn           int
	myTag, hisTag etf.Term
}

// Messages from the server to its locker.
type (
	hisTheLocker struct{ h him }
	cancelLock   struct {
		node etf.Atom
		tag  etf.Term
		f    func() // run before the lock is let go
	}
	lockSet struct {
		pid    etf.Pid
		set    bool
		tag    etf.Term
		tagged bool // version 8 and later tag lock_set with the receiver's tag
	}
	addKnown    struct{ nodes []etf.Atom }
	removeKnown struct{ node etf.Atom }
)

type lockerState int

const (
	lkIdle        lockerState = iota
	lkLocking                 // setting the lock on the partition
	lkWaitLockSet             // locked ours; waiting for the other side's lock_set
	lkWaitCancel              // both locked; holding the lock until the server cancels the connect
)

type locker struct {
	s          *Server
	local      []him // nodes on this host, served first
	remote     []him
	known      []etf.Atom
	boss       etf.Atom
	justSynced bool
	state      lockerState
	queue      []any // messages left for later while busy
	pumping    bool
	timer      uint64

	cur    him        // the connect the lock is for
	lockID etf.Term   // {global, [LockerA, LockerB]}
	nodes  []etf.Atom // where the lock was set, to release it
}

// toLocker sends msg to the locker: it runs after what the current event already queued.
func (s *Server) toLocker(msg any) {
	s.later(func() { s.lk.receive(msg) })
}

func (l *locker) receive(msg any) {
	switch m := msg.(type) {
	case addKnown:
		l.known = append(append([]etf.Atom(nil), m.nodes...), l.known...)
		l.boss = l.theBoss()
		l.rearm()
		return
	case removeKnown:
		for i, n := range l.known {
			if n == m.node {
				l.known = append(l.known[:i:i], l.known[i+1:]...)
				break
			}
		}
		l.boss = l.theBoss()
		l.rearm()
		return
	}
	l.queue = append(l.queue, msg)
	l.pump()
}

// pump takes up queued messages the locker's state lets it take, in order. Called again while it runs (a
// message that changes the state), it returns at once: the running loop starts over.
func (l *locker) pump() {
	if l.pumping {
		return
	}
	l.pumping = true
	defer func() { l.pumping = false }()
	for i := 0; i < len(l.queue); {
		msg := l.queue[i]
		var took bool
		switch l.state {
		case lkIdle:
			l.idleMsg(msg)
			took = true
		case lkWaitLockSet:
			took = l.waitLockSetMsg(msg)
		case lkWaitCancel:
			took = l.waitCancelMsg(msg)
		}
		if !took {
			i++
			continue
		}
		l.queue = append(l.queue[:i:i], l.queue[i+1:]...)
		i = 0
	}
	l.rearm()
}

// idleMsg takes a message while no lock is being taken or held.
func (l *locker) idleMsg(msg any) {
	switch m := msg.(type) {
	case hisTheLocker:
		if l.s.isLocal(m.h.node) {
			l.local = append([]him{m.h}, l.local...)
		} else {
			l.remote = append([]him{m.h}, l.remote...)
		}
	case cancelLock:
		if m.tag != nil {
			l.removeNode(m.node, m.tag)
		}
	case lockSet:
		if !m.set {
			return
		}
		h, ok := l.find(m.pid.Node)
		if !ok || (m.tagged && !tagEq(h.myTag, m.tag)) {
			l.sendLockSet(false, m.pid, 5, int64(0))
			return
		}
		l.spontaneous(m.pid, h)
	}
}

// spontaneous answers the other side's lock_set: lock our partition with its lock id and answer.
func (l *locker) spontaneous(his etf.Pid, h him) {
	id := l.lockIDWith(his)
	l.state = lkLocking
	l.lockNodesSafely(id, nil, func(ok bool) {
		l.sendLockSet(ok, his, h.vsn, h.hisTag)
		if !ok {
			l.justSynced = false
			l.idle()
			return
		}
		l.s.later(func() { l.s.lockIsSet(h.node, h.myTag, id) })
		l.hold(h, id, append([]etf.Atom{l.s.me}, l.known...))
	})
}

// timeout picks a node to connect when no global lock is held here.
func (l *locker) timeout() {
	l.timer = 0
	if l.state != lkIdle {
		return
	}
	if l.s.globalLockSet() {
		l.rearm()
		return
	}
	l.selectNode()
}

// selectNode locks our partition and the other node for one of the waiting nodes, then tells it.
func (l *locker) selectNode() {
	useRemote := len(l.local) == 0
	list := &l.local
	if useRemote {
		list = &l.remote
	}
	var others []him
	for _, h := range *list {
		if !l.isKnown(h.node) {
			others = append(others, h)
		}
	}
	*list = others
	if len(others) == 0 {
		l.rearm()
		return
	}
	h := others[l.s.env.Rand(int64(len(others)))]
	id := l.lockIDWith(h.locker)
	l.state = lkLocking
	l.lockNodesSafely(id, []etf.Atom{h.node}, func(ok bool) {
		if !ok {
			l.idle()
			return
		}
		nodes := append([]etf.Atom{l.s.me, h.node}, l.known...)
		l.sendLockSet(true, h.locker, h.vsn, h.hisTag)
		l.cur, l.lockID, l.nodes = h, id, nodes
		l.state = lkWaitLockSet
		l.pump()
	})
}

// waitLockSetMsg takes the other side's answer, or the connect's cancel, after selectNode.
func (l *locker) waitLockSetMsg(msg any) bool {
	switch m := msg.(type) {
	case lockSet:
		if m.pid.Node != l.cur.node {
			return false
		}
		if m.tagged && !tagEq(m.tag, l.cur.myTag) {
			return true // an answer to an older attempt
		}
		if !m.set {
			l.release()
			l.idle()
			return true
		}
		h, id := l.cur, l.lockID
		l.s.later(func() { l.s.lockIsSet(h.node, h.myTag, id) })
		l.hold(h, id, l.nodes)
		return true
	case cancelLock:
		if m.node != l.cur.node || !tagEq(m.tag, l.cur.myTag) {
			return false
		}
		if m.f != nil {
			m.f()
		}
		l.release()
		l.removeNode(m.node, m.tag)
		l.idle()
		return true
	}
	return false
}

// hold keeps the lock until the server cancels the connect.
func (l *locker) hold(h him, id etf.Term, nodes []etf.Atom) {
	l.cur, l.lockID, l.nodes = h, id, nodes
	l.state = lkWaitCancel
	l.pump()
}

// waitCancelMsg lets the lock go when the server ends the connect, after running its function (new_nodes).
func (l *locker) waitCancelMsg(msg any) bool {
	m, ok := msg.(cancelLock)
	if !ok || m.node != l.cur.node || !tagEq(m.tag, l.cur.myTag) {
		return false
	}
	if m.f != nil {
		m.f()
	}
	l.release()
	l.removeNode(m.node, m.tag)
	l.justSynced = true
	l.idle()
	return true
}

// release deletes the held lock everywhere, the boss last.
func (l *locker) release() {
	l.s.deleteGlobalLock(l.s.cfg.Locker, l.lockID, l.nodes)
	l.cur, l.lockID, l.nodes = him{}, nil, nil
}

// idle returns to waiting and takes up what was left for later.
func (l *locker) idle() {
	l.state = lkIdle
	l.pump()
}

// rearm starts the wait before the next selectNode: none when no node waits, none after a success, else
// OTP's 200 ms for a lone node or 1 s plus 100 ms a known node, at most 3 s.
func (l *locker) rearm() {
	if l.state != lkIdle {
		return
	}
	if l.timer != 0 {
		l.s.cancelTimer(l.timer)
		l.timer = 0
	}
	if len(l.local) == 0 && len(l.remote) == 0 {
		return
	}
	var d time.Duration
	switch {
	case l.justSynced:
	case len(l.known) == 0:
		d = 200 * time.Millisecond
	default:
		d = min(time.Second+time.Duration(len(l.known))*100*time.Millisecond, 3*time.Second)
	}
	l.justSynced = false
	l.timer = l.s.after(d, l.timeout)
}

// lockNodesSafely sets id on the boss, then on this node and extra, then on the rest of the partition; on a
// failure it lets go what it set. done runs later, never within the call.
func (l *locker) lockNodesSafely(id etf.Term, extra []etf.Atom, done func(bool)) {
	s := l.s
	from := s.cfg.Locker
	first := []etf.Atom{l.boss}
	if l.boss != s.me && !s.canSetLock(id) {
		s.later(func() { done(false) })
		return
	}
	s.setLockOn(from, id, first, func(ok bool) {
		if !ok {
			done(false)
			return
		}
		second := without(append([]etf.Atom{s.me}, extra...), first)
		s.setLockOn(from, id, second, func(ok bool) {
			if !ok {
				s.delLockOn(from, id, first, nil)
				done(false)
				return
			}
			s.setLockOn(from, id, without(l.known, first), func(ok bool) {
				if !ok {
					s.delLockOn(from, id, append(first, second...), nil)
				}
				done(ok)
			})
		})
	})
}

// sendLockSet tells the other locker whether our side is locked, through its server from version 6.
func (l *locker) sendLockSet(set bool, his etf.Pid, vsn int, hisTag etf.Term) {
	known := atomTerms(l.known)
	msg := etf.Tuple{etf.Atom("lock_set"), l.s.cfg.Locker, set, known, hisTag}
	if vsn < verifyConnectVsn {
		msg = msg[:4]
	}
	if vsn < 6 {
		l.s.env.Send(l.s.cfg.Locker, his, msg)
		return
	}
	l.s.castName(his.Node, msg)
}

// lockIDWith is the lock id of a connect with the locker his: {global, [A, B]} in term order.
func (l *locker) lockIDWith(his etf.Pid) etf.Term {
	me := l.s.cfg.Locker
	if pidLess(his, me) {
		return etf.Tuple{atomGlobal, etf.List{his, me}}
	}
	return etf.Tuple{atomGlobal, etf.List{me, his}}
}

func (l *locker) theBoss() etf.Atom {
	return theBoss(append([]etf.Atom{l.s.me}, l.known...))
}

func (l *locker) isKnown(node etf.Atom) bool {
	for _, n := range l.known {
		if n == node {
			return true
		}
	}
	return false
}

func (l *locker) find(node etf.Atom) (him, bool) {
	for _, h := range l.local {
		if h.node == node {
			return h, true
		}
	}
	for _, h := range l.remote {
		if h.node == node {
			return h, true
		}
	}
	return him{}, false
}

func (l *locker) removeNode(node etf.Atom, tag etf.Term) {
	drop := func(hs []him) []him {
		for i, h := range hs {
			if h.node == node && tagEq(h.myTag, tag) {
				return append(hs[:i:i], hs[i+1:]...)
			}
		}
		return hs
	}
	l.local = drop(l.local)
	l.remote = drop(l.remote)
}

// isLocal reports whether node runs on this node's host.
func (s *Server) isLocal(node etf.Atom) bool {
	_, host, ok := strings.Cut(string(node), "@")
	return ok && s.cfg.Host != "" && host == s.cfg.Host
}

// theBoss is the greatest of nodes.
func theBoss(nodes []etf.Atom) etf.Atom {
	var b etf.Atom
	for _, n := range nodes {
		if n > b {
			b = n
		}
	}
	return b
}

// without returns the nodes of a that are not in b.
func without(a, b []etf.Atom) []etf.Atom {
	var out []etf.Atom
outer:
	for _, n := range a {
		for _, m := range b {
			if n == m {
				continue outer
			}
		}
		out = append(out, n)
	}
	return out
}
