package global

import (
	"github.com/hornbeam-go/hornbeam/etf"
)

// The connect protocol between two name servers A and B, after a node up on each side:
//
//	A → B  cast {init_connect, {Vsn, TagA}, A, {locker, _, _, LockerA}}     (and B → A alike)
//	B → A  {init_connect_ack, B, TagA, TagB}
//	       the lockers lock both partitions, trading {lock_set, Locker, true, Known, Tag} by way of the servers
//	A → B  cast {exchange, A, Names, [], TagB}                              once A's locker has the lock
//	A → B  cast {resolved, A, Resolved, KnownA, unused, NamesExt, TagB}     once A resolved B's names
//	A → C  cast {new_nodes, A, Ops, NamesExt, [{B, Vsn} | KnownB], Extra}  for every C that A knew before
//	C → B  cast {in_sync, C, true}                                          once C has connected to B
//
// A connect in progress is cancelled by {cancel_connect, Node, Tag}.

// session is what the server keeps about a connect in progress with one node; OTP keeps it in the process
// dictionary and erases it all at once (resetNodeState).
type session struct {
	myTag, hisTag etf.Term // the two sides' tags of this connect
	protVsn       etf.Term // the protocol version used with the node
	pre           *preConnect

	lockSet       bool     // our locker has locked both partitions, and no exchange came yet
	exchangeSet   bool     // the node's exchange came before our lock was set
	exchangeNames etf.Term // its names

	opsSet   bool        // our resolver is done
	ops      []etf.Term  // what it decided
	resolved *resolvedAt // the node's resolved, when it came before our resolver was done

	lockID etf.Term // the lock that connects the partitions
}

// preConnect is an init_connect that came before the node up.
type preConnect struct {
	vsn, hisTag, initMsg etf.Term
}

// resolvedAt is a resolved message kept until our resolver is done.
type resolvedAt struct {
	hisResolved, hisKnown, namesExt []etf.Term
}

// nodedownKind says why a node leaves the partition (OTP's handle_nodedown/3 What).
type nodedownKind int

const (
	ndDisconnected     nodedownKind = iota // the connection went down: report it (lost_connection)
	ndRemoveConnection                     // we asked for it to go down: expect its nodedown, report nothing
)

func (s *Server) sess(node etf.Atom) *session {
	ss := s.sessions[node]
	if ss == nil {
		ss = &session{}
		s.sessions[node] = ss
	}
	return ss
}

func (s *Server) myTag(node etf.Atom) etf.Term {
	if ss := s.sessions[node]; ss != nil {
		return ss.myTag
	}
	return nil
}

func (s *Server) hisTag(node etf.Atom) etf.Term {
	if ss := s.sessions[node]; ss != nil {
		return ss.hisTag
	}
	return nil
}

func (s *Server) resetNodeState(node etf.Atom) {
	delete(s.sessions, node)
}

// nodeUp starts a connect with node unless it is known or one is in progress (handle_nodeup).
func (s *Server) nodeUp(node etf.Atom) {
	if _, ok := s.known[node]; ok {
		return
	}
	if _, ok := s.resolve[node]; ok {
		return
	}
	ss := s.sess(node)
	if pre := ss.pre; pre != nil {
		ss.pre = nil
		s.later(func() { s.initConnect(node, pre.vsn, pre.hisTag, pre.initMsg) })
	}
	tag := s.unique()
	ss.myTag = tag
	init := etf.Tuple{atomLocker, atomNoLongerPid, etf.Map{}, s.cfg.Locker}
	s.castName(node, etf.Tuple{etf.Atom("init_connect"), etf.Tuple{int64(Version), tag}, s.me, init})
	s.resolve[node] = &resolver{tag: tag}
}

// initConnect takes a node's init_connect: {HisVsn, HisTag} and its locker.
func (s *Server) initConnect(node etf.Atom, vsnTerm, hisTag, initMsg etf.Term) {
	hisVsn, ok := intOf(vsnTerm)
	if !ok || hisVsn < minVsn {
		s.log.Warn("global: refused a connect of an unsupported protocol version", "node", node, "version", brief(vsnTerm))
		return
	}
	vsn := min(hisVsn, Version)
	if _, ok := s.pending[node]; ok {
		if hisVsn < verifyConnectVsn {
			s.env.Disconnect(node)
			s.log.Error("global: an out of sync connection attempt from an old node; disconnecting",
				"node", node, "version", hisVsn)
			return
		}
		s.sendCancelConnect(node, hisTag)
		s.restartConnect(node, s.myTag(node))
	}
	ss := s.sess(node)
	ss.protVsn = int64(vsn)
	ss.hisTag = hisTag
	r := s.resolve[node]
	if r == nil {
		ss.pre = &preConnect{vsn: vsnTerm, hisTag: hisTag, initMsg: initMsg}
		return
	}
	t, ok := initMsg.(etf.Tuple)
	var his etf.Pid
	if ok && len(t) == 4 && t[0] == atomLocker {
		his, ok = t[3].(etf.Pid)
	}
	if !ok || his.Node != node {
		s.log.Warn("global: dropped a malformed init_connect", "node", node, "message", brief(initMsg))
		return
	}
	s.toLocker(hisTheLocker{him{node: node, locker: his, vsn: vsn, myTag: r.tag, hisTag: hisTag}})
	if hisVsn >= verifyConnectVsn {
		s.sendName(node, etf.Tuple{etf.Atom("init_connect_ack"), s.me, hisTag, r.tag})
	}
	s.pending[node] = hisVsn
}

// restartConnect cancels the connect with node and, when node is up, starts a new one.
func (s *Server) restartConnect(node etf.Atom, myTag etf.Term) {
	s.cancelLocker(node, myTag, nil)
	s.resetNodeState(node)
	delete(s.pending, node)
	if myTag != nil && s.up[node] {
		s.nodeUp(node)
	}
}

// cancelLocker tells the locker to drop the connect with node tagged tag, running f first if it holds the
// lock, and stops its resolver.
func (s *Server) cancelLocker(node etf.Atom, tag etf.Term, f func()) {
	s.toLocker(cancelLock{node: node, tag: tag, f: f})
	if v, ok := s.pending[node]; ok && v >= verifyConnectVsn && tagEq(s.myTag(node), tag) {
		s.sendCancelConnect(node, s.hisTag(node))
	}
	if r := s.resolve[node]; r != nil && tagEq(r.tag, tag) {
		r.killed = true
		delete(s.resolve, node)
	}
}

func (s *Server) sendCancelConnect(node etf.Atom, hisTag etf.Term) {
	s.sendName(node, etf.Tuple{etf.Atom("cancel_connect"), s.me, hisTag})
}

// lockIsSet is the locker's report that both partitions are locked for the connect with node.
func (s *Server) lockIsSet(node etf.Atom, tag, lockID etf.Term) {
	if !tagEq(s.myTag(node), tag) {
		s.cancelLocker(node, tag, nil)
		return
	}
	ss := s.sess(node)
	s.castName(node, etf.Tuple{etf.Atom("exchange"), s.me, s.nameList(), etf.List{}, ss.hisTag})
	ss.lockID = lockID
	ss.lockSet = true
	if ss.exchangeSet {
		ss.exchangeSet = false
		s.exchange(node, ss.exchangeNames)
	}
}

// exchange resolves node's names once both its exchange and our lock are there.
func (s *Server) exchange(node etf.Atom, names etf.Term) {
	ss := s.sess(node)
	if !ss.lockSet {
		ss.exchangeSet, ss.exchangeNames = true, names
		return
	}
	ss.lockSet = false
	if r := s.resolve[node]; r != nil {
		s.startResolver(node, r, names)
	}
}

// exchangeOps is the resolver's result for node: tell node, and finish if its resolved came already.
func (s *Server) exchangeOps(node etf.Atom, tag etf.Term, ops, resolved []etf.Term) {
	if !tagEq(s.myTag(node), tag) {
		s.cancelLocker(node, tag, nil)
		return
	}
	ss := s.sess(node)
	known := s.knownList(s.nodeVsn(node))
	s.castName(node, etf.Tuple{etf.Atom("resolved"), s.me, list(resolved), known, atomUnused, s.namesExtList(), ss.hisTag})
	ss.ops, ss.opsSet = ops, true
	if r := ss.resolved; r != nil {
		ss.resolved = nil
		s.resolved(node, r.hisResolved, r.hisKnown, r.namesExt)
	}
}

// resolved finishes the connect with node: apply both sides' operations, take in node's partition, tell the
// nodes we knew before about it (by the locker, before it lets the lock go) and connect to node's nodes.
func (s *Server) resolved(node etf.Atom, hisResolved, hisKnown, namesExt []etf.Term) {
	ss := s.sess(node)
	ops := append(append([]etf.Term(nil), ss.ops...), hisResolved...)
	ss.ops, ss.opsSet = nil, false
	before := make(map[etf.Atom]int, len(s.known))
	for n, v := range s.known {
		before[n] = v
	}
	newNodes := s.nodeVsnList(append([]etf.Term{node}, hisKnown...))
	hisNodes := nodeList(hisKnown)
	s.syncOthers(hisNodes)
	vsn := ss.protVsn
	if vsn == nil {
		vsn = atomUndefined
	}
	lockID := ss.lockID
	if lockID == nil {
		lockID = atomUndefined
	}
	extra := etf.List{etf.Tuple{atomVsn, vsn}, etf.Tuple{atomLock, lockID}}
	s.doOps(ops, s.me, namesExt, extra)
	s.syncedWith(node)
	for _, n := range hisNodes {
		s.cancelResolvedLocker(n, nil)
	}
	msg := etf.Tuple{etf.Atom("new_nodes"), s.me, list(ops), list(namesExt), list(newNodes), extra}
	old := etf.Tuple{etf.Atom("new_nodes"), s.me, list(ops), list(namesExt), atomTerms(nodeList(newNodes)), extra}
	tell := func() {
		for n, v := range before {
			if v >= popVsn {
				s.castName(n, msg)
			} else {
				s.castName(n, old)
			}
		}
	}
	s.cancelResolvedLocker(node, tell)
	added := s.addToKnown(newNodes)
	s.toLocker(addKnown{added})
	s.synced[node] = true
}

// cancelResolvedLocker ends the connect with node, whose partition is now ours.
func (s *Server) cancelResolvedLocker(node etf.Atom, f func()) {
	tag := s.myTag(node)
	delete(s.pending, node)
	s.cancelLocker(node, tag, f)
	s.resetNodeState(node)
}

// newNodes takes another node's report of the nodes it connected to our partition.
func (s *Server) newNodes(conn etf.Atom, ops, namesExt, nodes []etf.Term, extra etf.Term) {
	added := s.addToKnown(nodes)
	s.syncOthers(added)
	s.doOps(ops, conn, namesExt, extra)
	s.toLocker(addKnown{added})
}

// inSync takes a node's report that it has connected to us from a partition we joined.
func (s *Server) inSync(node etf.Atom) {
	s.syncedWith(node)
	s.synced[node] = true
	delete(s.pending, node)
	s.cancelLocker(node, s.myTag(node), nil)
	s.resetNodeState(node)
}

// syncOthers connects to nodes; each reports in_sync to the node once connected (OTP's sync_other).
func (s *Server) syncOthers(nodes []etf.Atom) {
	for _, n := range nodes {
		if n != s.me {
			s.env.Connect(n)
		}
	}
}

// nodedown takes node out of the partition (handle_nodedown).
func (s *Server) nodedown(node etf.Atom, kind nodedownKind) {
	s.cancelLocker(node, s.myTag(node), nil)
	s.toLocker(removeKnown{node})
	s.resetNodeState(node)
	switch kind {
	case ndRemoveConnection:
		s.removing[node] = true
	case ndDisconnected:
		if s.removing[node] {
			delete(s.removing, node)
		} else {
			s.informConnectionLoss(node)
		}
	}
	delete(s.pending, node)
	delete(s.known, node)
	delete(s.synced, node)
}

// informConnectionLoss tells the partition that this node lost node, so that no node stays connected to both
// sides (prevent_overlapping_partitions).
func (s *Server) informConnectionLoss(node etf.Atom) {
	if !s.pop {
		return
	}
	msg := etf.Tuple{etf.Atom("lost_connection"), s.me, s.xcre, s.unique(), node}
	s.multicast(msg, node, popVsn)
}

// multicast sends msg to the name server of every known or pending node but ignore that speaks minVsn or
// later.
func (s *Server) multicast(msg etf.Term, ignore etf.Atom, minVsn int) {
	for n, v := range s.known {
		if n != ignore && v >= minVsn {
			s.sendName(n, msg)
		}
	}
	for n, v := range s.pending {
		if n != ignore && v >= minVsn {
			s.sendName(n, msg)
		}
	}
}

// lostConn is a lost_connection report already acted on.
type lostConn struct {
	xcre  etf.Term
	opID  int64
	timer uint64
}

// lostConnection takes {lost_connection, A, XCreationA, OpIdA, B}: A lost B. Pass it on once, then drop
// whichever of the two this node is connected to.
func (s *Server) lostConnection(msg etf.Tuple) {
	a, ok1 := msg[1].(etf.Atom)
	opID, ok2 := msg[3].(int64)
	b, ok3 := msg[4].(etf.Atom)
	if !ok1 || !ok2 || !ok3 {
		s.log.Warn("global: dropped a malformed lost_connection", "message", brief(msg))
		return
	}
	if !s.pop {
		return
	}
	key := [2]etf.Atom{a, b}
	lc := s.lost[key]
	if lc != nil && etf.Equal(lc.xcre, msg[2]) && opID <= lc.opID {
		return
	}
	s.multicast(msg, a, popVsn)
	if lc != nil {
		s.cancelTimer(lc.timer)
	}
	lc = &lostConn{xcre: msg[2], opID: opID}
	lc.timer = s.after(lostConnKeep, func() {
		if s.lost[key] == lc {
			delete(s.lost, key)
		}
	})
	s.lost[key] = lc
	rm := b
	if b == s.me {
		rm = a
	}
	if !s.potentiallyKnown(rm) {
		return
	}
	what := "requested disconnect from"
	if s.nodeVsn(rm) < popVsn {
		s.env.Disconnect(rm)
		what = "disconnected old"
	} else {
		s.sendName(rm, etf.Tuple{etf.Atom("remove_connection"), s.me})
	}
	s.log.Warn("global: "+what+" a node to prevent overlapping partitions", "node", rm)
	s.nodedown(rm, ndRemoveConnection)
}

// removeConnection takes a node's request to disconnect from it.
func (s *Server) removeConnection(node etf.Atom) {
	if !s.potentiallyKnown(node) {
		return
	}
	s.env.Disconnect(node)
	s.nodedown(node, ndRemoveConnection)
	s.log.Warn("global: disconnected a node to prevent overlapping partitions", "node", node)
}

func (s *Server) potentiallyKnown(node etf.Atom) bool {
	_, k := s.known[node]
	_, p := s.pending[node]
	return k || p
}

// nodeVsn is the protocol version of node: ours for this node, 0 when unknown.
func (s *Server) nodeVsn(node etf.Atom) int {
	if node == s.me {
		return Version
	}
	if v, ok := s.known[node]; ok {
		return v
	}
	if v, ok := s.pending[node]; ok {
		return v
	}
	return 0
}

// nodeVsnList turns nodes, each Node or {Node, Vsn}, into {Node, Vsn} pairs, filling unknown versions in.
func (s *Server) nodeVsnList(nodes []etf.Term) []etf.Term {
	out := make([]etf.Term, 0, len(nodes))
	for _, n := range nodes {
		switch t := n.(type) {
		case etf.Atom:
			out = append(out, etf.Tuple{t, int64(s.nodeVsn(t))})
		case etf.Tuple:
			if len(t) != 2 {
				continue
			}
			node, ok := t[0].(etf.Atom)
			if !ok {
				continue
			}
			if v, ok := intOf(t[1]); ok && v == 0 {
				out = append(out, etf.Tuple{node, int64(s.nodeVsn(node))})
			} else if ok {
				out = append(out, t)
			}
		}
	}
	return out
}

// nodeList returns the node names of nodes, each Node or {Node, Vsn}.
func nodeList(nodes []etf.Term) []etf.Atom {
	out := make([]etf.Atom, 0, len(nodes))
	for _, n := range nodes {
		switch t := n.(type) {
		case etf.Atom:
			out = append(out, t)
		case etf.Tuple:
			if len(t) == 2 {
				if a, ok := t[0].(etf.Atom); ok {
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// knownList is the known nodes as a peer of version vsn takes them: names, or {Node, Vsn} from version 7.
func (s *Server) knownList(vsn int) etf.List {
	out := etf.List{}
	for n, v := range s.known {
		if vsn < popVsn {
			out = append(out, n)
		} else {
			out = append(out, etf.Tuple{n, int64(v)})
		}
	}
	return out
}

// addToKnown adds nodes, each Node or {Node, Vsn}, to the known ones and returns those that were not.
func (s *Server) addToKnown(nodes []etf.Term) []etf.Atom {
	var added []etf.Atom
	for _, n := range nodes {
		node, vsn := etf.Atom(""), 0
		switch t := n.(type) {
		case etf.Atom:
			node = t
		case etf.Tuple:
			if len(t) != 2 {
				continue
			}
			a, ok1 := t[0].(etf.Atom)
			v, ok2 := intOf(t[1])
			if !ok1 || !ok2 {
				continue
			}
			node, vsn = a, v
		default:
			continue
		}
		if node == s.me {
			continue
		}
		if old, ok := s.known[node]; ok {
			if old < 0 {
				s.known[node] = vsn
			}
			continue
		}
		s.known[node] = vsn
		added = append(added, node)
	}
	return added
}

// atomTerms returns nodes as a list term.
func atomTerms(nodes []etf.Atom) etf.List {
	out := make(etf.List, len(nodes))
	for i, n := range nodes {
		out[i] = n
	}
	return out
}

// list returns ts as a list term, [] when empty.
func list(ts []etf.Term) etf.List {
	return append(etf.List{}, ts...)
}
