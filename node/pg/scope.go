package pg

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/hornbeam-go/hornbeam/etf"
)

// Env is what a Scope needs from the node it runs on. The Scope calls it with its lock held, so that what it
// sends to each peer goes out in order; Env's methods must not call the Scope back.
type Env interface {
	// Send sends msg from the scope process to the pid to on another node, when that node is connected;
	// otherwise the message is dropped (erlang:send/3 with noconnect).
	Send(to etf.Pid, msg etf.Term)
	// SendReg sends msg from the scope process to the process registered as name on node, when that node is
	// connected; otherwise the message is dropped.
	SendReg(name, node etf.Atom, msg etf.Term)
	// Monitor makes the scope process monitor pid, a scope process on another node; when pid ends while its
	// node stays connected, the node calls Scope.Down(pid). The end of the connection is NodeDown's business.
	Monitor(pid etf.Pid)
	// Nodes returns the nodes connected now, visible or hidden.
	Nodes() []etf.Atom
}

// EventKind says whether an Event is a join or a leave.
type EventKind int

// The kinds of Event.
const (
	// Joined means that Pids joined Group.
	Joined EventKind = iota + 1
	// Left means that Pids left Group.
	Left
)

// String returns join or leave, the atoms OTP's pg:monitor_scope/1 sends.
func (k EventKind) String() string {
	if k == Joined {
		return "join"
	}
	return "leave"
}

// Event is one change of a group's members, local or remote.
type Event struct {
	Kind  EventKind
	Group etf.Term
	Pids  []etf.Pid
}

// ErrNotJoined is returned by Leave when none of the pids was in the group.
var ErrNotJoined = errors.New("pg: not joined")

// Atoms of the protocol.
var (
	atomDiscover = etf.Atom("discover")
	atomGenCast  = etf.Atom("$gen_cast")
	atomSync     = etf.Atom("sync")
	atomJoin     = etf.Atom("join")
	atomLeave    = etf.Atom("leave")
)

// group is one group's members on one node: its name as first seen, and its pids, once per join.
type group struct {
	name etf.Term
	pids []etf.Pid
}

// groups are one node's groups by key.
type groups map[string]*group

// Scope is this node's scope process of one pg scope: its own members and those of the scopes it knows on
// other nodes. It is safe for concurrent use.
type Scope struct {
	name etf.Atom
	self etf.Pid
	env  Env

	mu       sync.Mutex
	local    groups
	peers    map[etf.Pid]groups // the scope processes known on other nodes and their members
	watchers map[int]func(Event)
	watchSeq int
}

// New returns the scope name whose process on this node is self. It sends nothing: call Discover once the node
// runs.
func New(name etf.Atom, self etf.Pid, env Env) *Scope {
	return &Scope{
		name:     name,
		self:     self,
		env:      env,
		local:    groups{},
		peers:    map[etf.Pid]groups{},
		watchers: map[int]func(Event){},
	}
}

// Name returns the scope's name, which its process is registered under on every node.
func (s *Scope) Name() etf.Atom { return s.name }

// Pid returns the scope process on this node.
func (s *Scope) Pid() etf.Pid { return s.self }

// Discover sends {discover, Self} to the scope on every connected node where no scope process is known yet.
// Call it when the scope starts and then periodically: a scope that starts on a node after the connection, or
// one on a node connected hidden, does not discover this one by itself.
func (s *Scope) Discover() {
	s.mu.Lock()
	defer s.mu.Unlock()
	known := make(map[etf.Atom]bool, len(s.peers))
	for p := range s.peers {
		known[p.Node] = true
	}
	for _, node := range s.env.Nodes() {
		if !known[node] && node != s.self.Node {
			s.env.SendReg(s.name, node, etf.Tuple{atomDiscover, s.self})
		}
	}
}

// NodeUp discovers the scope on node, which has just connected.
func (s *Scope) NodeUp(node etf.Atom) {
	if node == s.self.Node {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.env.SendReg(s.name, node, etf.Tuple{atomDiscover, s.self})
}

// NodeDown forgets the scope process on node, which has disconnected: its members leave.
func (s *Scope) NodeDown(node etf.Atom) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.peers {
		if p.Node == node {
			s.dropPeer(p)
		}
	}
}

// Down forgets the scope process pid, which a monitor reported ended: its members leave.
func (s *Scope) Down(pid etf.Pid) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropPeer(pid)
}

// Handle acts on a message that arrived for the scope process, by its name or its pid. It returns an error,
// and changes nothing, for a message that is not one of pg's.
func (s *Scope) Handle(msg etf.Term) error {
	t, ok := msg.(etf.Tuple)
	if !ok || len(t) == 0 {
		return s.unexpected(msg)
	}
	switch {
	case len(t) == 2 && t[0] == atomDiscover:
		peer, ok := t[1].(etf.Pid)
		if !ok || peer.Node == s.self.Node {
			return s.unexpected(msg)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.discovered(peer)
		return nil
	case len(t) == 2 && t[0] == atomGenCast:
		c, ok := t[1].(etf.Tuple)
		if !ok || len(c) != 3 || c[0] != atomSync {
			return s.unexpected(msg)
		}
		peer, ok := c[1].(etf.Pid)
		if !ok || peer.Node == s.self.Node {
			return s.unexpected(msg)
		}
		gs, err := syncGroups(c[2])
		if err != nil {
			return fmt.Errorf("pg: scope %s: sync from %v: %w", s.name, peer, err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.synced(peer, gs)
		return nil
	case len(t) == 4 && t[0] == atomJoin:
		peer, ok := t[1].(etf.Pid)
		if !ok {
			return s.unexpected(msg)
		}
		k, err := key(t[2])
		if err != nil {
			return fmt.Errorf("pg: scope %s: join from %v: %w", s.name, peer, err)
		}
		pids, err := pidsOf(t[3])
		if err != nil {
			return fmt.Errorf("pg: scope %s: join from %v: %w", s.name, peer, err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if gs, ok := s.peers[peer]; ok {
			s.add(gs, k, t[2], pids)
		}
		return nil
	case len(t) == 4 && t[0] == atomLeave:
		peer, ok := t[1].(etf.Pid)
		if !ok {
			return s.unexpected(msg)
		}
		pids, err := pidsOf(t[2])
		if err != nil {
			return fmt.Errorf("pg: scope %s: leave from %v: %w", s.name, peer, err)
		}
		names, ok := etf.Elems(t[3])
		if !ok {
			return s.unexpected(msg)
		}
		keys := make([]string, len(names))
		for i, g := range names {
			if keys[i], err = key(g); err != nil {
				return fmt.Errorf("pg: scope %s: leave from %v: %w", s.name, peer, err)
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if gs, ok := s.peers[peer]; ok {
			for _, k := range keys {
				s.remove(gs, k, pids)
			}
		}
		return nil
	}
	return s.unexpected(msg)
}

func (s *Scope) unexpected(msg etf.Term) error {
	return fmt.Errorf("pg: scope %s: unexpected message %v", s.name, msg)
}

// discovered answers {discover, Peer}: Peer gets this node's members and, when it was not known, is monitored
// and discovered in turn.
func (s *Scope) discovered(peer etf.Pid) {
	s.env.Send(peer, etf.Tuple{atomGenCast, etf.Tuple{atomSync, s.self, s.localList()}})
	if _, ok := s.peers[peer]; ok {
		return
	}
	s.env.Monitor(peer)
	s.env.Send(peer, etf.Tuple{atomDiscover, s.self})
	s.peers[peer] = groups{}
}

// synced replaces what is known of peer's members with gs; a peer not known before is monitored.
func (s *Scope) synced(peer etf.Pid, gs groups) {
	old, ok := s.peers[peer]
	if !ok {
		s.env.Monitor(peer)
	}
	for k, g := range old {
		if n, ok := gs[k]; ok {
			s.notify(Left, g.name, subtract(g.pids, n.pids))
		} else {
			s.notify(Left, g.name, g.pids)
		}
	}
	for k, g := range gs {
		if o, ok := old[k]; ok {
			s.notify(Joined, g.name, subtract(g.pids, o.pids))
		} else {
			s.notify(Joined, g.name, g.pids)
		}
	}
	s.peers[peer] = gs
}

// dropPeer forgets peer and its members.
func (s *Scope) dropPeer(peer etf.Pid) {
	gs, ok := s.peers[peer]
	if !ok {
		return
	}
	delete(s.peers, peer)
	for _, g := range gs {
		s.notify(Left, g.name, g.pids)
	}
}

// Join adds pids, processes of this node, to group, and tells every known scope. A pid may join a group more
// than once; it is then a member as many times. It fails when a pid is not on this node or group does not
// encode as a term.
func (s *Scope) Join(group etf.Term, pids ...etf.Pid) error {
	k, err := s.checkLocal(group, pids)
	if err != nil || len(pids) == 0 {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(s.local, k, group, pids)
	s.broadcast(etf.Tuple{atomJoin, s.self, group, pidOrPids(pids)})
	return nil
}

// Leave removes pids, processes of this node, from group once each, and tells every known scope. It returns
// ErrNotJoined when none of them was in group, and fails like Join.
func (s *Scope) Leave(group etf.Term, pids ...etf.Pid) error {
	k, err := s.checkLocal(group, pids)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	left := s.remove(s.local, k, pids)
	if len(left) == 0 {
		return ErrNotJoined
	}
	s.broadcast(etf.Tuple{atomLeave, s.self, pidOrPids(left), etf.List{group}})
	return nil
}

func (s *Scope) checkLocal(group etf.Term, pids []etf.Pid) (string, error) {
	for _, p := range pids {
		if p.Node != s.self.Node {
			return "", fmt.Errorf("pg: scope %s: %v is not a process of %s", s.name, p, s.self.Node)
		}
	}
	k, err := key(group)
	if err != nil {
		return "", fmt.Errorf("pg: scope %s: %w", s.name, err)
	}
	return k, nil
}

// broadcast sends msg to every known scope.
func (s *Scope) broadcast(msg etf.Term) {
	for p := range s.peers {
		s.env.Send(p, msg)
	}
}

// add appends pids to the group k of gs, named name, and reports the join.
func (s *Scope) add(gs groups, k string, name etf.Term, pids []etf.Pid) {
	if len(pids) == 0 {
		return
	}
	g := gs[k]
	if g == nil {
		g = &group{name: name}
		gs[k] = g
	}
	g.pids = append(g.pids, pids...)
	s.notify(Joined, g.name, pids)
}

// remove takes one of each of pids out of the group k of gs, reports the leave and returns the pids taken out.
func (s *Scope) remove(gs groups, k string, pids []etf.Pid) []etf.Pid {
	g := gs[k]
	if g == nil {
		return nil
	}
	var left []etf.Pid
	for _, p := range pids {
		if i := slices.Index(g.pids, p); i >= 0 {
			g.pids = slices.Delete(g.pids, i, i+1)
			left = append(left, p)
		}
	}
	if len(g.pids) == 0 {
		delete(gs, k)
	}
	s.notify(Left, g.name, left)
	return left
}

// localList returns this node's members as a sync carries them: [{Group, [Pid]}].
func (s *Scope) localList() etf.List {
	l := make(etf.List, 0, len(s.local))
	for _, g := range s.local {
		l = append(l, etf.Tuple{g.name, pidList(g.pids)})
	}
	return l
}

// Members returns the members of group on every node the scope knows, this one included, sorted by node and
// pid; like pg:get_members/2.
func (s *Scope) Members(group etf.Term) []etf.Pid {
	k, err := key(group)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var pids []etf.Pid
	if g := s.local[k]; g != nil {
		pids = append(pids, g.pids...)
	}
	for _, gs := range s.peers {
		if g := gs[k]; g != nil {
			pids = append(pids, g.pids...)
		}
	}
	slices.SortFunc(pids, comparePids)
	return pids
}

// LocalMembers returns the members of group on this node, in the order they joined; like
// pg:get_local_members/2 reversed.
func (s *Scope) LocalMembers(group etf.Term) []etf.Pid {
	k, err := key(group)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.local[k]; g != nil {
		return slices.Clone(g.pids)
	}
	return nil
}

// Groups returns every group with a member on some node the scope knows, in Erlang's term order; like
// pg:which_groups/1.
func (s *Scope) Groups() []etf.Term {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	var names []etf.Term
	collect := func(gs groups) {
		for k, g := range gs {
			if !seen[k] {
				seen[k] = true
				names = append(names, g.name)
			}
		}
	}
	collect(s.local)
	for _, gs := range s.peers {
		collect(gs)
	}
	slices.SortFunc(names, etf.Compare)
	return names
}

// Peers returns the scope processes known on other nodes, sorted by node.
func (s *Scope) Peers() []etf.Pid {
	s.mu.Lock()
	defer s.mu.Unlock()
	peers := make([]etf.Pid, 0, len(s.peers))
	for p := range s.peers {
		peers = append(peers, p)
	}
	slices.SortFunc(peers, comparePids)
	return peers
}

// Watch calls fn with every later change of any group's members, local or remote, in the order the scope
// makes them, until cancel is called; like pg:monitor_scope/1. fn runs with the scope locked: it must return
// promptly and must not call the Scope.
func (s *Scope) Watch(fn func(Event)) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchSeq++
	id := s.watchSeq
	s.watchers[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.watchers, id)
	}
}

// notify tells every watcher of a change; nothing when pids is empty.
func (s *Scope) notify(kind EventKind, group etf.Term, pids []etf.Pid) {
	if len(pids) == 0 {
		return
	}
	for _, fn := range s.watchers {
		fn(Event{Kind: kind, Group: group, Pids: slices.Clone(pids)})
	}
}

// syncGroups reads the Groups of a sync, [{Group, [Pid]}]; a group listed twice gets the pids of both.
func syncGroups(t etf.Term) (groups, error) {
	l, ok := etf.Elems(t)
	if !ok {
		return nil, fmt.Errorf("groups %v are not a list", t)
	}
	gs := make(groups, len(l))
	for _, e := range l {
		pair, ok := e.(etf.Tuple)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("%v is not {Group, Pids}", e)
		}
		k, err := key(pair[0])
		if err != nil {
			return nil, err
		}
		pids, err := pidsOf(pair[1])
		if err != nil {
			return nil, err
		}
		if len(pids) == 0 {
			continue
		}
		if g := gs[k]; g != nil {
			g.pids = append(g.pids, pids...)
		} else {
			gs[k] = &group{name: pair[0], pids: pids}
		}
	}
	return gs, nil
}

// pidsOf reads a pid or a list of pids.
func pidsOf(t etf.Term) ([]etf.Pid, error) {
	if p, ok := t.(etf.Pid); ok {
		return []etf.Pid{p}, nil
	}
	l, ok := etf.Elems(t)
	if !ok {
		return nil, fmt.Errorf("%v is not a pid or a list of pids", t)
	}
	pids := make([]etf.Pid, len(l))
	for i, e := range l {
		if pids[i], ok = e.(etf.Pid); !ok {
			return nil, fmt.Errorf("%v in %v is not a pid", e, t)
		}
	}
	return pids, nil
}

// pidOrPids is the one pid, or the list, a join or leave carries.
func pidOrPids(pids []etf.Pid) etf.Term {
	if len(pids) == 1 {
		return pids[0]
	}
	return pidList(pids)
}

func pidList(pids []etf.Pid) etf.List {
	l := make(etf.List, len(pids))
	for i, p := range pids {
		l[i] = p
	}
	return l
}

// subtract returns the pids of a that b does not take away, one of a's for each of b's.
func subtract(a, b []etf.Pid) []etf.Pid {
	rest := slices.Clone(a)
	for _, p := range b {
		if i := slices.Index(rest, p); i >= 0 {
			rest = slices.Delete(rest, i, i+1)
		}
	}
	return rest
}

func comparePids(a, b etf.Pid) int {
	return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.ID, b.ID), cmp.Compare(a.Creation, b.Creation))
}

// key returns a string that two groups share exactly when they are the same term (=:=): their external format,
// with the pairs of any map in them sorted by key.
func key(group etf.Term) (string, error) {
	switch g := group.(type) {
	case []byte:
		return "b" + string(g), nil
	case string:
		return "b" + g, nil
	}
	if hasMap(group) {
		group = sortMaps(group)
	}
	b, err := etf.Encode(group)
	if err != nil {
		return "", fmt.Errorf("group %v: %w", group, err)
	}
	return "t" + string(b), nil
}

// hasMap reports whether t is or holds a map.
func hasMap(t etf.Term) bool {
	switch v := t.(type) {
	case etf.Map:
		return true
	case etf.Tuple:
		return slices.ContainsFunc(v, hasMap)
	case etf.List:
		return slices.ContainsFunc(v, hasMap)
	case etf.ImproperList:
		return slices.ContainsFunc(v.Elems, hasMap) || hasMap(v.Tail)
	}
	return false
}

// sortMaps returns a copy of t with the pairs of every map in it sorted by key.
func sortMaps(t etf.Term) etf.Term {
	switch v := t.(type) {
	case etf.Map:
		m := make(etf.Map, len(v))
		for i, p := range v {
			m[i] = etf.Pair{Key: sortMaps(p.Key), Value: sortMaps(p.Value)}
		}
		slices.SortFunc(m, func(a, b etf.Pair) int { return etf.Compare(a.Key, b.Key) })
		return m
	case etf.Tuple:
		return etf.Tuple(sortEach(v))
	case etf.List:
		return etf.List(sortEach(v))
	case etf.ImproperList:
		return etf.ImproperList{Elems: sortEach(v.Elems), Tail: sortMaps(v.Tail)}
	}
	return t
}

func sortEach(ts []etf.Term) []etf.Term {
	out := make([]etf.Term, len(ts))
	for i, e := range ts {
		out[i] = sortMaps(e)
	}
	return out
}
