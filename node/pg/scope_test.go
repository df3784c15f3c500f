package pg

import (
	"fmt"
	"testing"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/stretchr/testify/require"
)

const scopeName = etf.Atom("hornbeam")

// pid returns the pid <id> of node.
func pid(node etf.Atom, id uint64) etf.Pid {
	return etf.Pid{Node: node, ID: id, Creation: 1}
}

var (
	self  = pid("go@h", 100)
	beam  = pid("beam@h", 200) // the scope process on beam@h, as OTP's pg runs it
	memb1 = pid("beam@h", 201)
	memb2 = pid("beam@h", 202)
	mine1 = pid("go@h", 101)
	mine2 = pid("go@h", 102)
	calc  = []byte("demo.calculator")
	echo  = []byte("demo.echo")
)

// sent is one message a Scope sent: to is a pid or {Name, Node}.
type sent struct {
	to  etf.Term
	msg etf.Term
}

// fakeEnv records what the Scope does.
type fakeEnv struct {
	nodes     []etf.Atom
	sent      []sent
	monitored []etf.Pid
}

func (e *fakeEnv) Send(to etf.Pid, msg etf.Term) { e.sent = append(e.sent, sent{to, msg}) }
func (e *fakeEnv) SendReg(name, node etf.Atom, msg etf.Term) {
	e.sent = append(e.sent, sent{etf.Tuple{name, node}, msg})
}
func (e *fakeEnv) Monitor(pid etf.Pid) { e.monitored = append(e.monitored, pid) }
func (e *fakeEnv) Nodes() []etf.Atom   { return e.nodes }

// take returns what was sent and monitored since the last take.
func (e *fakeEnv) take() ([]sent, []etf.Pid) {
	s, m := e.sent, e.monitored
	e.sent, e.monitored = nil, nil
	return s, m
}

// newScope returns a scope on go@h with its fake environment and a record of its events.
func newScope(t *testing.T) (*Scope, *fakeEnv, *[]Event) {
	t.Helper()
	env := &fakeEnv{nodes: []etf.Atom{"beam@h"}}
	s := New(scopeName, self, env)
	var events []Event
	t.Cleanup(s.Watch(func(ev Event) { events = append(events, ev) }))
	return s, env, &events
}

// Messages as OTP 25's pg sends them.

func discover(from etf.Pid) etf.Tuple { return etf.Tuple{etf.Atom("discover"), from} }

func syncMsg(from etf.Pid, groups ...etf.Term) etf.Tuple {
	return etf.Tuple{etf.Atom("$gen_cast"), etf.Tuple{etf.Atom("sync"), from, etf.List(groups)}}
}

func pair(group etf.Term, pids ...etf.Pid) etf.Tuple { return etf.Tuple{group, pidList(pids)} }

func join(from etf.Pid, group etf.Term, pidOrPids etf.Term) etf.Tuple {
	return etf.Tuple{etf.Atom("join"), from, group, pidOrPids}
}

func leave(from etf.Pid, pidOrPids etf.Term, groups ...etf.Term) etf.Tuple {
	return etf.Tuple{etf.Atom("leave"), from, pidOrPids, etf.List(groups)}
}

// connect runs the exchange that makes the scope know beam with members, as when the BEAM scope ran before the
// connection.
func connect(t *testing.T, s *Scope, env *fakeEnv, groups ...etf.Term) {
	t.Helper()
	s.NodeUp("beam@h")
	require.NoError(t, s.Handle(syncMsg(beam, groups...)))
	require.NoError(t, s.Handle(discover(beam)))
	env.take()
}

func TestBEAMScopeBeforeConnection(t *testing.T) {
	s, env, _ := newScope(t)
	require.NoError(t, s.Join(calc, mine1))
	s.NodeUp("beam@h")
	got, mon := env.take()
	require.Equal(t, []sent{{etf.Tuple{scopeName, etf.Atom("beam@h")}, discover(self)}}, got)
	require.Empty(t, mon)

	// OTP's handle_info({discover, Peer}) answers with a sync cast, then discovers us since it did not know us.
	require.NoError(t, s.Handle(syncMsg(beam, pair(calc, memb1), pair(echo, memb2, memb1))))
	got, mon = env.take()
	require.Empty(t, got)
	require.Equal(t, []etf.Pid{beam}, mon, "a sync from an unknown scope monitors it")
	require.Equal(t, []etf.Pid{memb1, mine1}, s.Members(calc))
	require.Equal(t, []etf.Pid{memb1, memb2}, s.Members(echo))

	require.NoError(t, s.Handle(discover(beam)))
	got, mon = env.take()
	require.Equal(t, []sent{{beam, syncMsg(self, pair(calc, mine1))}}, got, "a known scope only gets a sync")
	require.Empty(t, mon)
	require.Equal(t, []etf.Pid{beam}, s.Peers())
}

func TestBEAMScopeAfterConnection(t *testing.T) {
	s, env, _ := newScope(t)
	require.NoError(t, s.Join(calc, mine1))
	s.NodeUp("beam@h")
	env.take() // the discover that no scope on beam@h received yet

	// pg:start(hornbeam) on beam@h: its init sends {discover, Pid} to {hornbeam, Node} for each of nodes().
	require.NoError(t, s.Handle(discover(beam)))
	got, mon := env.take()
	require.Equal(t, []sent{{beam, syncMsg(self, pair(calc, mine1))}, {beam, discover(self)}}, got)
	require.Equal(t, []etf.Pid{beam}, mon)

	require.NoError(t, s.Handle(syncMsg(beam, pair(calc, memb1))))
	got, mon = env.take()
	require.Empty(t, got)
	require.Empty(t, mon, "a known scope is monitored once")
	require.Equal(t, []etf.Pid{memb1, mine1}, s.Members(calc))
}

func TestDiscoverAsksOnlyNodesWithNoKnownScope(t *testing.T) {
	s, env, _ := newScope(t)
	env.nodes = []etf.Atom{"beam@h", "hidden@h", "go@h"}
	connect(t, s, env)
	s.Discover()
	got, _ := env.take()
	require.Equal(t, []sent{{etf.Tuple{scopeName, etf.Atom("hidden@h")}, discover(self)}}, got)
}

func TestLocalJoinAndLeaveGoToKnownScopes(t *testing.T) {
	s, env, events := newScope(t)
	require.NoError(t, s.Join(calc, mine1))
	got, _ := env.take()
	require.Empty(t, got, "no scope is known yet")

	connect(t, s, env)
	*events = nil
	require.NoError(t, s.Join(echo, mine1, mine2))
	require.NoError(t, s.Leave(calc, mine1))
	require.ErrorIs(t, s.Leave(calc, mine1), ErrNotJoined)
	require.NoError(t, s.Leave(echo, mine1, mine2))
	got, _ = env.take()
	require.Equal(t, []sent{
		{beam, join(self, echo, etf.List{mine1, mine2})},
		{beam, leave(self, mine1, calc)},
		{beam, leave(self, etf.List{mine1, mine2}, echo)},
	}, got)
	require.Equal(t, []Event{
		{Joined, echo, []etf.Pid{mine1, mine2}},
		{Left, calc, []etf.Pid{mine1}},
		{Left, echo, []etf.Pid{mine1, mine2}},
	}, *events)
	require.Empty(t, s.Groups())
}

func TestJoinRejects(t *testing.T) {
	s, env, _ := newScope(t)
	tests := []struct {
		name  string
		group etf.Term
		pid   etf.Pid
	}{
		{"a pid of another node", calc, memb1},
		{"a group that does not encode", make(chan int), mine1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Error(t, s.Join(tt.group, tt.pid))
			require.Error(t, s.Leave(tt.group, tt.pid))
		})
	}
	got, _ := env.take()
	require.Empty(t, got)
	require.Empty(t, s.Groups())
}

func TestRemoteJoinAndLeave(t *testing.T) {
	s, env, events := newScope(t)
	connect(t, s, env)
	steps := []struct {
		msg  etf.Term
		want []etf.Pid
	}{
		{join(beam, calc, memb1), []etf.Pid{memb1}},
		{join(beam, calc, etf.List{memb2, memb1}), []etf.Pid{memb1, memb1, memb2}},
		{join(beam, echo, etf.List{}), []etf.Pid{memb1, memb1, memb2}},
		{leave(beam, memb1, calc, echo), []etf.Pid{memb1, memb2}},
		{leave(beam, etf.List{memb1, memb2}, calc), nil},
		{join(pid("other@h", 300), calc, memb1), nil}, // from a scope not known: dropped
		{leave(pid("other@h", 300), memb1, calc), nil},
	}
	for i, st := range steps {
		require.NoError(t, s.Handle(st.msg), "step %d", i)
		if got := s.Members(calc); fmt.Sprint(got) != fmt.Sprint(st.want) {
			t.Errorf("step %d: got %v; want %v", i, got, st.want)
		}
	}
	require.Empty(t, s.Groups(), "an empty join makes no group")
	got, _ := env.take()
	require.Empty(t, got, "remote changes are not answered")
	require.Equal(t, []Event{
		{Joined, calc, []etf.Pid{memb1}},
		{Joined, calc, []etf.Pid{memb2, memb1}},
		{Left, calc, []etf.Pid{memb1}},
		{Left, calc, []etf.Pid{memb1, memb2}},
	}, *events)
}

func TestSyncReplacesWhatIsKnown(t *testing.T) {
	s, env, events := newScope(t)
	connect(t, s, env, pair(calc, memb1), pair(echo, memb1))
	*events = nil
	require.NoError(t, s.Handle(syncMsg(beam, pair(calc, memb1, memb2), pair("new", memb2))))
	require.Equal(t, []etf.Pid{memb1, memb2}, s.Members(calc))
	require.Empty(t, s.Members(echo))
	require.Equal(t, []etf.Pid{memb2}, s.Members("new"))
	require.ElementsMatch(t, []Event{
		{Joined, calc, []etf.Pid{memb2}},
		{Left, echo, []etf.Pid{memb1}},
		{Joined, "new", []etf.Pid{memb2}},
	}, *events)
}

func TestScopeProcessRestart(t *testing.T) {
	s, env, events := newScope(t)
	require.NoError(t, s.Join(calc, mine1))
	connect(t, s, env, pair(calc, memb1))
	*events = nil

	s.Down(beam)
	require.Equal(t, []etf.Pid{mine1}, s.Members(calc))
	require.Empty(t, s.Peers())
	require.Equal(t, []Event{{Left, calc, []etf.Pid{memb1}}}, *events)
	require.NoError(t, s.Handle(join(beam, calc, memb2)), "a late join from the old process")
	require.Equal(t, []etf.Pid{mine1}, s.Members(calc))

	// The new scope process discovers us from its init.
	beam2 := pid("beam@h", 250)
	require.NoError(t, s.Handle(discover(beam2)))
	require.NoError(t, s.Handle(syncMsg(beam2, pair(calc, memb2))))
	got, mon := env.take()
	require.Equal(t, []sent{{beam2, syncMsg(self, pair(calc, mine1))}, {beam2, discover(self)}}, got)
	require.Equal(t, []etf.Pid{beam2}, mon)
	require.Equal(t, []etf.Pid{memb2, mine1}, s.Members(calc))
}

func TestNodeDownClearsItsMembersOnly(t *testing.T) {
	s, env, _ := newScope(t)
	connect(t, s, env, pair(calc, memb1))
	other := pid("other@h", 300)
	require.NoError(t, s.Handle(discover(other)))
	require.NoError(t, s.Handle(join(other, calc, pid("other@h", 301))))
	s.NodeDown("beam@h")
	require.Equal(t, []etf.Pid{pid("other@h", 301)}, s.Members(calc))
	require.Equal(t, []etf.Pid{other}, s.Peers())
	s.NodeDown("beam@h")
	s.Down(beam)
	require.Equal(t, []etf.Pid{other}, s.Peers(), "a second nodedown or DOWN changes nothing")
}

func TestGroupsCompareAsTerms(t *testing.T) {
	s, env, _ := newScope(t)
	connect(t, s, env)
	m1 := etf.Map{{Key: etf.Atom("a"), Value: int64(1)}, {Key: etf.Atom("b"), Value: int64(2)}}
	m2 := etf.Map{{Key: etf.Atom("b"), Value: int64(2)}, {Key: etf.Atom("a"), Value: int64(1)}}
	require.NoError(t, s.Handle(join(beam, etf.Tuple{m1}, memb1)))
	require.NoError(t, s.Handle(join(beam, []byte("bin"), memb1)))
	require.NoError(t, s.Join("bin", mine1))
	tests := []struct {
		group etf.Term
		want  []etf.Pid
	}{
		{etf.Tuple{m2}, []etf.Pid{memb1}},
		{"bin", []etf.Pid{memb1, mine1}},
		{[]byte("bin"), []etf.Pid{memb1, mine1}},
		{etf.Atom("bin"), nil},
		{int64(1), nil},
	}
	for _, tt := range tests {
		if got := s.Members(tt.group); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Members(%v): got %v; want %v", tt.group, got, tt.want)
		}
	}
	require.Len(t, s.Groups(), 2)
}

func TestHandleRejectsWhatIsNotPg(t *testing.T) {
	s, env, events := newScope(t)
	connect(t, s, env, pair(calc, memb1))
	*events = nil
	tests := []etf.Term{
		etf.Atom("hello"),
		etf.Tuple{},
		etf.Tuple{etf.Atom("discover"), etf.Atom("nopid")},
		etf.Tuple{etf.Atom("discover"), mine1}, // a scope of our own node
		etf.Tuple{etf.Atom("$gen_cast"), etf.Atom("sync")},
		etf.Tuple{etf.Atom("$gen_cast"), etf.Tuple{etf.Atom("sync"), beam, etf.Atom("notalist")}},
		etf.Tuple{etf.Atom("$gen_cast"), etf.Tuple{etf.Atom("sync"), beam, etf.List{etf.Tuple{calc}}}},
		etf.Tuple{etf.Atom("$gen_cast"), etf.Tuple{etf.Atom("sync"), beam, etf.List{etf.Tuple{calc, etf.List{int64(1)}}}}},
		etf.Tuple{etf.Atom("$gen_call"), etf.Tuple{memb1, etf.Atom("tag")}, etf.Atom("monitor")},
		join(beam, calc, etf.Atom("notapid")),
		etf.Tuple{etf.Atom("leave"), beam, memb1, calc},
	}
	for _, msg := range tests {
		if err := s.Handle(msg); err == nil {
			t.Errorf("Handle(%v): got nil; want an error", msg)
		}
	}
	require.Equal(t, []etf.Pid{memb1}, s.Members(calc))
	require.Equal(t, []etf.Pid{beam}, s.Peers())
	got, mon := env.take()
	require.Empty(t, got)
	require.Empty(t, mon)
	require.Empty(t, *events)
}

func TestWatchCancel(t *testing.T) {
	s, _, events := newScope(t)
	var mine []Event
	cancel := s.Watch(func(ev Event) { mine = append(mine, ev) })
	require.NoError(t, s.Join(calc, mine1))
	cancel()
	require.NoError(t, s.Join(calc, mine2))
	require.Len(t, mine, 1)
	require.Len(t, *events, 2)
	require.Equal(t, "join", mine[0].Kind.String())
}

// bus carries messages between scopes on several nodes, in order, as connections do.
type bus struct {
	scopes map[etf.Atom]*Scope
	up     map[etf.Atom]map[etf.Atom]bool // who is connected to whom
	queue  []busMsg
}

type busMsg struct {
	from, to etf.Atom
	pid      etf.Pid // zero when sent by name
	msg      etf.Term
}

type busEnv struct {
	b    *bus
	node etf.Atom
}

func (e busEnv) Send(to etf.Pid, msg etf.Term) {
	if e.b.up[e.node][to.Node] {
		e.b.queue = append(e.b.queue, busMsg{e.node, to.Node, to, msg})
	}
}

func (e busEnv) SendReg(_, node etf.Atom, msg etf.Term) {
	if e.b.up[e.node][node] {
		e.b.queue = append(e.b.queue, busMsg{e.node, node, etf.Pid{}, msg})
	}
}

func (e busEnv) Monitor(etf.Pid) {}

func (e busEnv) Nodes() []etf.Atom {
	var nodes []etf.Atom
	for n, ok := range e.b.up[e.node] {
		if ok {
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// connect connects a and b and tells both scopes.
func (b *bus) connect(a, c etf.Atom) {
	b.up[a][c], b.up[c][a] = true, true
	b.scopes[a].NodeUp(c)
	b.scopes[c].NodeUp(a)
}

func (b *bus) disconnect(a, c etf.Atom) {
	b.up[a][c], b.up[c][a] = false, false
	b.scopes[a].NodeDown(c)
	b.scopes[c].NodeDown(a)
}

// run delivers messages until none is left.
func (b *bus) run(t *testing.T) {
	t.Helper()
	for len(b.queue) > 0 {
		m := b.queue[0]
		b.queue = b.queue[1:]
		s := b.scopes[m.to]
		if m.pid != (etf.Pid{}) && m.pid != s.Pid() {
			t.Fatalf("message for %v, which is not %v's scope", m.pid, m.to)
		}
		require.NoError(t, s.Handle(m.msg))
	}
}

func TestScopesOnTwoGoNodes(t *testing.T) {
	b := &bus{scopes: map[etf.Atom]*Scope{}, up: map[etf.Atom]map[etf.Atom]bool{}}
	for i, n := range []etf.Atom{"a@h", "b@h", "c@h"} {
		b.scopes[n] = New(scopeName, pid(n, uint64(i)), busEnv{b, n})
		b.up[n] = map[etf.Atom]bool{}
	}
	a1, b1 := pid("a@h", 10), pid("b@h", 10)
	require.NoError(t, b.scopes["a@h"].Join(calc, a1))
	b.connect("a@h", "b@h")
	require.NoError(t, b.scopes["b@h"].Join(calc, b1)) // while the discovery is under way
	b.run(t)
	b.connect("c@h", "a@h")
	b.connect("c@h", "b@h")
	b.run(t)
	for n, s := range b.scopes {
		if got := s.Members(calc); fmt.Sprint(got) != fmt.Sprint([]etf.Pid{a1, b1}) {
			t.Errorf("%s: got %v; want %v", n, got, []etf.Pid{a1, b1})
		}
	}
	b.disconnect("a@h", "c@h")
	require.NoError(t, b.scopes["b@h"].Leave(calc, b1))
	b.run(t)
	require.Empty(t, b.scopes["c@h"].Members(calc))
	require.Equal(t, []etf.Pid{a1}, b.scopes["b@h"].Members(calc))
	require.Equal(t, []etf.Pid{a1}, b.scopes["a@h"].Members(calc))
}
