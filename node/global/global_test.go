package global

import (
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/stretchr/testify/require"
)

// The tests drive a Server for node b@h through a fake environment, replaying what an OTP 25 node a@h (and at
// times c@h) sends, in the order global.erl sends it.

const (
	nodeA = etf.Atom("a@h")
	nodeB = etf.Atom("b@h") // the server's own node
	nodeC = etf.Atom("c@h")
)

var (
	serverB    = etf.Pid{Node: nodeB, ID: 1, Creation: 1}
	lockerB    = etf.Pid{Node: nodeB, ID: 2, Creation: 1}
	registrarB = etf.Pid{Node: nodeB, ID: 3, Creation: 1}
	lockerA    = etf.Pid{Node: nodeA, ID: 40, Creation: 7}
	procA      = etf.Pid{Node: nodeA, ID: 90, Creation: 7}
	procC      = etf.Pid{Node: nodeC, ID: 91, Creation: 3}
	method     = etf.Export{Module: "global", Function: "random_exit_name", Arity: 3}
)

// sent is one thing the server did through the environment.
type sent struct {
	kind string   // send, reply, monitor, demonitor, exit, connect, disconnect
	to   etf.Term // a pid, {Name, Node}, a From, or a node
	msg  etf.Term
}

// fakeEnv records what the server does and hands out references and timers the test fires.
type fakeEnv struct {
	out    []sent
	refs   uint32
	timers map[uint64]time.Duration
}

func (e *fakeEnv) Send(_, to etf.Pid, msg etf.Term) { e.out = append(e.out, sent{"send", to, msg}) }
func (e *fakeEnv) SendName(_ etf.Pid, name, node etf.Atom, msg etf.Term) {
	e.out = append(e.out, sent{"send", etf.Tuple{name, node}, msg})
}
func (e *fakeEnv) Reply(from, reply etf.Term) { e.out = append(e.out, sent{"reply", from, reply}) }
func (e *fakeEnv) Monitor(pid etf.Pid) etf.Ref {
	e.out = append(e.out, sent{"monitor", pid, nil})
	return e.MakeRef()
}
func (e *fakeEnv) Demonitor(pid etf.Pid, _ etf.Ref) {
	e.out = append(e.out, sent{"demonitor", pid, nil})
}
func (e *fakeEnv) Exit(_, pid etf.Pid, reason etf.Term) {
	e.out = append(e.out, sent{"exit", pid, reason})
}
func (e *fakeEnv) Connect(node etf.Atom)    { e.out = append(e.out, sent{"connect", node, nil}) }
func (e *fakeEnv) Disconnect(node etf.Atom) { e.out = append(e.out, sent{"disconnect", node, nil}) }
func (e *fakeEnv) StartTimer(d time.Duration, id uint64) {
	e.timers[id] = d
}
func (e *fakeEnv) MakeRef() etf.Ref {
	e.refs++
	return etf.Ref{Node: nodeB, Creation: 1, ID: [5]uint32{e.refs}}
}
func (e *fakeEnv) Rand(int64) int64 { return 0 }

// take returns and forgets what the server did so far.
func (e *fakeEnv) take() []sent {
	out := e.out
	e.out = nil
	return out
}

func newTest(t *testing.T) (*Server, *fakeEnv) {
	t.Helper()
	env := &fakeEnv{timers: make(map[uint64]time.Duration)}
	s := New(env, Config{Node: nodeB, Server: serverB, Locker: lockerB, Registrar: registrarB, Host: "h",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return s, env
}

func cast(req etf.Term) etf.Term { return etf.Tuple{atomGenCast, req} }

func gcall(from etf.Pid, tag int64, req etf.Term) etf.Term {
	return etf.Tuple{atomGenCall, etf.Tuple{from, tag}, req}
}

func to(name etf.Atom, node etf.Atom) etf.Tuple { return etf.Tuple{name, node} }

// find returns the first record of kind to dest whose message matches, failing the test when there is none.
func find(t *testing.T, out []sent, kind string, dest etf.Term, match func(etf.Term) bool) sent {
	t.Helper()
	for _, o := range out {
		if o.kind == kind && etf.Equal(o.to, dest) && match(o.msg) {
			return o
		}
	}
	t.Fatalf("no %s to %v matched; got %v", kind, dest, out)
	return sent{}
}

// tagged matches a tuple whose first element is the atom tag.
func tagged(tag string) func(etf.Term) bool {
	return func(m etf.Term) bool {
		if c, ok := m.(etf.Tuple); ok && len(c) == 2 && c[0] == atomGenCast {
			m = c[1]
		}
		t, ok := m.(etf.Tuple)
		return ok && len(t) > 0 && t[0] == etf.Atom(tag)
	}
}

// body strips $gen_cast off a message.
func body(m etf.Term) etf.Tuple {
	t := m.(etf.Tuple)
	if t[0] == atomGenCast {
		return t[1].(etf.Tuple)
	}
	return t
}

// connectA runs the connect with a@h as OTP's side drives it when its locker goes first, and returns our tag.
func connectA(t *testing.T, s *Server, env *fakeEnv, names etf.List) etf.Term {
	t.Helper()
	s.NodeUp(nodeA)
	init := body(find(t, env.take(), "send", to(Name, nodeA), tagged("init_connect")).msg)
	require.Equal(t, etf.Tuple{int64(Version), init[1].(etf.Tuple)[1]}, init[1])
	require.Equal(t, nodeB, init[2])
	require.Equal(t, lockerB, init[3].(etf.Tuple)[3])
	myTag := init[1].(etf.Tuple)[1]

	s.HandleName(cast(etf.Tuple{etf.Atom("init_connect"), etf.Tuple{int64(8), int64(100)}, nodeA,
		etf.Tuple{atomLocker, atomNoLongerPid, etf.Map{}, lockerA}}))
	ack := find(t, env.take(), "send", to(Name, nodeA), tagged("init_connect_ack"))
	require.Equal(t, etf.Tuple{etf.Atom("init_connect_ack"), nodeB, int64(100), myTag}, ack.msg)

	// a's locker locks b (the boss: b@h > a@h) with the pair's lock id, then tells b's locker.
	id := etf.Tuple{atomGlobal, etf.List{lockerB, lockerA}}
	s.HandleName(gcall(lockerA, 1, etf.Tuple{etf.Atom("set_lock"), id}))
	require.Equal(t, []sent{{"reply", etf.Tuple{lockerA, int64(1)}, true}, {"monitor", lockerA, nil}}, sortReplyFirst(env.take()))
	s.HandleName(cast(etf.Tuple{etf.Atom("lock_set"), lockerA, true, etf.List{}, myTag}))
	out := env.take()
	set := body(find(t, out, "send", to(Name, nodeA), tagged("lock_set")).msg)
	require.Equal(t, etf.Tuple{etf.Atom("lock_set"), lockerB, true, etf.List{}, int64(100)}, set)
	ex := body(find(t, out, "send", to(Name, nodeA), tagged("exchange")).msg)
	require.Equal(t, etf.Tuple{etf.Atom("exchange"), nodeB, etf.List{}, etf.List{}, int64(100)}, ex)

	s.HandleName(cast(etf.Tuple{etf.Atom("exchange"), nodeA, names, etf.List{}, myTag}))
	res := body(find(t, env.take(), "send", to(Name, nodeA), tagged("resolved")).msg)
	require.Equal(t, etf.Tuple{etf.Atom("resolved"), nodeB, etf.List{}, etf.List{}, atomUnused, etf.List{}, int64(100)}, res)

	s.HandleName(cast(etf.Tuple{etf.Atom("resolved"), nodeA, etf.List{}, etf.List{}, atomUnused, etf.List{}, myTag}))
	require.True(t, s.globalLockSet(), "a's locker still holds the lock here")
	// a's server cancels its locker, which lets the lock go on every node of both partitions.
	s.HandleName(gcall(lockerA, 2, etf.Tuple{etf.Atom("del_lock"), id}))
	return myTag
}

// sortReplyFirst puts replies before the rest, keeping the order within each.
func sortReplyFirst(out []sent) []sent {
	var r, rest []sent
	for _, o := range out {
		if o.kind == "reply" {
			r = append(r, o)
		} else {
			rest = append(rest, o)
		}
	}
	return append(r, rest...)
}

func TestConnect(t *testing.T) {
	s, env := newTest(t)
	names := etf.List{etf.Tuple{etf.Atom("a_name"), procA, method}}
	connectA(t, s, env, names)
	out := env.take()
	find(t, out, "monitor", procA, func(etf.Term) bool { return true })
	require.Equal(t, []etf.Atom{nodeA}, s.Known())
	pid, ok := s.Whereis(etf.Atom("a_name"))
	require.True(t, ok)
	require.Equal(t, procA, pid)
	require.False(t, s.globalLockSet(), "the connect's lock is let go")

	synced := false
	s.Sync(nil, func() { synced = true })
	require.True(t, synced, "sync with a node already synced returns at once")
}

func TestSyncWaitsForConnect(t *testing.T) {
	s, env := newTest(t)
	s.NodeUp(nodeA)
	synced := false
	s.HandleName(gcall(procA, 5, etf.Tuple{etf.Atom("sync"), etf.List{nodeA, nodeB}}))
	s.Sync(nil, func() { synced = true })
	require.False(t, synced)
	for _, o := range env.take() {
		require.NotEqual(t, "reply", o.kind, "sync answered before the connect finished")
	}
	s.HandleName(cast(etf.Tuple{etf.Atom("in_sync"), nodeA, true}))
	require.True(t, synced)
	find(t, env.take(), "reply", etf.Tuple{procA, int64(5)}, func(m etf.Term) bool { return m == atomOK })
}

func TestSyncEndsOnNodeDown(t *testing.T) {
	s, _ := newTest(t)
	s.NodeUp(nodeA)
	synced := false
	s.Sync(nil, func() { synced = true })
	s.NodeDown(nodeA)
	require.True(t, synced)
}

func TestLocks(t *testing.T) {
	s, env := newTest(t)
	s.NodeUp(nodeA)
	env.take()
	tests := []struct {
		name string
		from etf.Pid
		req  etf.Term
		want etf.Term
	}{
		{"set", procA, etf.Tuple{etf.Atom("set_lock"), etf.Tuple{etf.Atom("r"), int64(1)}}, true},
		{"set again", procA, etf.Tuple{etf.Atom("set_lock"), etf.Tuple{etf.Atom("r"), int64(1)}}, true},
		{"same requester shares", procC, etf.Tuple{etf.Atom("set_lock"), etf.Tuple{etf.Atom("r"), int64(1)}}, true},
		{"other requester", procC, etf.Tuple{etf.Atom("set_lock"), etf.Tuple{etf.Atom("r"), int64(2)}}, false},
		{"del a", procA, etf.Tuple{etf.Atom("del_lock"), etf.Tuple{etf.Atom("r"), int64(1)}}, true},
		{"still held by c", procA, etf.Tuple{etf.Atom("set_lock"), etf.Tuple{etf.Atom("r"), int64(3)}}, false},
		{"del c", procC, etf.Tuple{etf.Atom("del_lock"), etf.Tuple{etf.Atom("r"), int64(1)}}, true},
		{"free", procA, etf.Tuple{etf.Atom("set_lock"), etf.Tuple{etf.Atom("r"), int64(3)}}, true},
		{"malformed id", procA, etf.Tuple{etf.Atom("set_lock"), etf.Atom("r")}, badRequest(etf.Tuple{etf.Atom("set_lock"), etf.Atom("r")})},
		{"unknown call", procA, etf.Atom("stop"), badRequest(etf.Atom("stop"))},
		{"protocol version", procA, etf.Atom("get_protocol_version"), int64(8)},
	}
	for i, tc := range tests {
		s.HandleName(gcall(tc.from, int64(i), tc.req))
		r := find(t, env.take(), "reply", etf.Tuple{tc.from, int64(i)}, func(etf.Term) bool { return true })
		if !etf.Equal(r.msg, tc.want) {
			t.Errorf("%s: got %v; want %v", tc.name, r.msg, tc.want)
		}
	}
}

func TestLockGoesWithHolder(t *testing.T) {
	s, env := newTest(t)
	s.NodeUp(nodeA)
	s.HandleName(gcall(procA, 1, etf.Tuple{etf.Atom("set_lock"), etf.Tuple{etf.Atom("r"), int64(1)}}))
	s.NodeDown(nodeA)
	env.take()
	s.HandleName(gcall(procC, 2, etf.Tuple{etf.Atom("set_lock"), etf.Tuple{etf.Atom("r"), int64(2)}}))
	find(t, env.take(), "reply", etf.Tuple{procC, int64(2)}, func(m etf.Term) bool { return m == true })
}

func TestRegisterFromPeer(t *testing.T) {
	s, env := newTest(t)
	s.NodeUp(nodeA)
	env.take()
	// global:register_name/2 on a: its registrar locks {global, Registrar} here, registers, unlocks.
	id := etf.Tuple{atomGlobal, procA}
	s.HandleName(gcall(procA, 1, etf.Tuple{etf.Atom("set_lock"), id}))
	s.HandleName(gcall(procA, 2, etf.Tuple{etf.Atom("register"), etf.Atom("n"), procC, method}))
	s.HandleName(gcall(procA, 3, etf.Tuple{etf.Atom("del_lock"), id}))
	find(t, env.take(), "reply", etf.Tuple{procA, int64(2)}, func(m etf.Term) bool { return m == atomYes })
	pid, ok := s.Whereis(etf.Atom("n"))
	require.True(t, ok)
	require.Equal(t, procC, pid)

	s.HandleName(gcall(procA, 4, etf.Tuple{etf.Atom("unregister"), etf.Atom("n")}))
	_, ok = s.Whereis(etf.Atom("n"))
	require.False(t, ok)
}

func TestRegisterFromGo(t *testing.T) {
	s, env := newTest(t)
	connectA(t, s, env, etf.List{})
	env.take()
	var got []bool
	s.Register(etf.Atom("go"), serverB, nil, func(ok bool) { got = append(got, ok) })
	// The boss is b, locked here; then every node: a gets the call.
	lock := find(t, env.take(), "send", to(Name, nodeA), func(m etf.Term) bool {
		c, ok := m.(etf.Tuple)
		return ok && c[0] == atomGenCall && body(etf.Tuple{atomGenCast, c[2]})[0] == etf.Atom("set_lock")
	}).msg.(etf.Tuple)
	require.Equal(t, etf.Tuple{etf.Atom("set_lock"), etf.Tuple{atomGlobal, registrarB}}, lock[2])
	ref := lock[1].(etf.Tuple)[1]
	s.HandlePid(registrarB, etf.Tuple{ref, true})
	reg := find(t, env.take(), "send", to(Name, nodeA), func(m etf.Term) bool {
		c, ok := m.(etf.Tuple)
		return ok && c[0] == atomGenCall && c[2].(etf.Tuple)[0] == etf.Atom("register")
	}).msg.(etf.Tuple)
	require.Equal(t, etf.Tuple{etf.Atom("register"), etf.Atom("go"), serverB, DefaultMethod}, reg[2])
	s.HandlePid(registrarB, etf.Tuple{reg[1].(etf.Tuple)[1], atomYes})
	require.Equal(t, []bool{true}, got)
	pid, ok := s.Whereis(etf.Atom("go"))
	require.True(t, ok)
	require.Equal(t, serverB, pid)

	s.Register(etf.Atom("go"), registrarB, nil, func(ok bool) { got = append(got, ok) })
	lock = find(t, env.take(), "send", to(Name, nodeA), func(m etf.Term) bool {
		c, ok := m.(etf.Tuple)
		return ok && c[0] == atomGenCall && c[2].(etf.Tuple)[0] == etf.Atom("set_lock")
	}).msg.(etf.Tuple)
	s.HandlePid(registrarB, etf.Tuple{lock[1].(etf.Tuple)[1], true})
	require.Equal(t, []bool{true, false}, got, "a taken name is refused")
}

func TestRegisterFromGoNodeDownMidway(t *testing.T) {
	s, env := newTest(t)
	connectA(t, s, env, etf.List{})
	env.take()
	done := false
	s.Register(etf.Atom("go"), serverB, nil, func(ok bool) { done = ok })
	s.NodeDown(nodeA)
	require.True(t, done, "a node that goes down gives no reply and blocks nothing")
}

func TestNewNodes(t *testing.T) {
	s, env := newTest(t)
	connectA(t, s, env, etf.List{})
	env.take()
	extra := etf.List{etf.Tuple{atomVsn, int64(8)}, etf.Tuple{atomLock, atomUndefined}}
	ops := etf.List{insertOp(etf.Atom("c_name"), procC, method)}
	s.HandleName(cast(etf.Tuple{etf.Atom("new_nodes"), nodeA, ops, etf.List{}, etf.List{etf.Tuple{nodeC, int64(8)}}, extra}))
	find(t, env.take(), "connect", nodeC, func(etf.Term) bool { return true })
	require.Equal(t, []etf.Atom{nodeA, nodeC}, s.Known())
	_, ok := s.Whereis(etf.Atom("c_name"))
	require.True(t, ok)
	s.ConnectDone(nodeC, true)
	in := find(t, env.take(), "send", to(Name, nodeC), tagged("in_sync"))
	require.Equal(t, etf.Tuple{etf.Atom("in_sync"), nodeB, true}, body(in.msg))
}

func TestNodeDownReportsLostConnection(t *testing.T) {
	s, env := newTest(t)
	connectA(t, s, env, etf.List{})
	s.HandleName(cast(etf.Tuple{etf.Atom("new_nodes"), nodeA, etf.List{}, etf.List{}, etf.List{etf.Tuple{nodeC, int64(8)}}, etf.List{}}))
	s.NodeUp(nodeC)
	env.take()
	s.NodeDown(nodeA)
	lost := find(t, env.take(), "send", to(Name, nodeC), tagged("lost_connection")).msg.(etf.Tuple)
	require.Equal(t, nodeB, lost[1])
	require.Equal(t, nodeA, lost[4])
	require.Equal(t, []etf.Atom{nodeC}, s.Known())
}

func TestLostConnectionRemovesNode(t *testing.T) {
	s, env := newTest(t)
	connectA(t, s, env, etf.List{})
	s.HandleName(cast(etf.Tuple{etf.Atom("new_nodes"), nodeA, etf.List{}, etf.List{}, etf.List{etf.Tuple{nodeC, int64(8)}}, etf.List{}}))
	s.NodeUp(nodeC)
	env.take()
	// c lost a: b passes the report on and asks a to disconnect, then forgets a.
	msg := etf.Tuple{etf.Atom("lost_connection"), nodeC, int64(77), int64(5), nodeA}
	s.HandleName(msg)
	out := env.take()
	find(t, out, "send", to(Name, nodeA), func(m etf.Term) bool {
		return etf.Equal(m, etf.Tuple{etf.Atom("remove_connection"), nodeB})
	})
	require.Equal(t, []etf.Atom{nodeC}, s.Known())
	s.HandleName(msg)
	require.Empty(t, env.take(), "a report seen before is ignored")
	// a's nodedown that follows reports nothing: b asked for it.
	s.NodeDown(nodeA)
	for _, o := range env.take() {
		require.False(t, tagged("lost_connection")(o.msg), "got %v", o)
	}
}

func TestRemoveConnection(t *testing.T) {
	s, env := newTest(t)
	connectA(t, s, env, etf.List{})
	env.take()
	s.HandleName(etf.Tuple{etf.Atom("remove_connection"), nodeA})
	find(t, env.take(), "disconnect", nodeA, func(etf.Term) bool { return true })
	require.Empty(t, s.Known())
}

func TestNoConnect(t *testing.T) {
	env := &fakeEnv{timers: make(map[uint64]time.Duration)}
	s := New(env, Config{Node: nodeB, Server: serverB, Locker: lockerB, Registrar: registrarB, NoConnect: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.NodeUp(nodeA)
	require.Empty(t, env.take(), "a hidden node starts no connect")
	s.HandleName(gcall(procA, 1, etf.Tuple{etf.Atom("set_lock"), etf.Tuple{etf.Atom("r"), int64(1)}}))
	find(t, env.take(), "reply", etf.Tuple{procA, int64(1)}, func(m etf.Term) bool { return m == true })
}

func TestCancelConnectRestarts(t *testing.T) {
	s, env := newTest(t)
	s.NodeUp(nodeA)
	first := body(find(t, env.take(), "send", to(Name, nodeA), tagged("init_connect")).msg)[1].(etf.Tuple)[1]
	s.HandleName(etf.Tuple{etf.Atom("cancel_connect"), nodeA, first})
	second := body(find(t, env.take(), "send", to(Name, nodeA), tagged("init_connect")).msg)[1].(etf.Tuple)[1]
	require.NotEqual(t, first, second)
}

func TestInitConnectAckMismatchRestarts(t *testing.T) {
	s, env := newTest(t)
	s.NodeUp(nodeA)
	s.HandleName(cast(etf.Tuple{etf.Atom("init_connect"), etf.Tuple{int64(8), int64(100)}, nodeA,
		etf.Tuple{atomLocker, atomNoLongerPid, etf.Map{}, lockerA}}))
	env.take()
	s.HandleName(etf.Tuple{etf.Atom("init_connect_ack"), nodeA, int64(-1), int64(100)})
	out := env.take()
	find(t, out, "send", to(Name, nodeA), tagged("cancel_connect"))
	find(t, out, "send", to(Name, nodeA), tagged("init_connect"))
}

func TestLockerInitiates(t *testing.T) {
	s, env := newTest(t)
	s.NodeUp(nodeA)
	myTag := body(find(t, env.take(), "send", to(Name, nodeA), tagged("init_connect")).msg)[1].(etf.Tuple)[1]
	s.HandleName(cast(etf.Tuple{etf.Atom("init_connect"), etf.Tuple{int64(8), int64(100)}, nodeA,
		etf.Tuple{atomLocker, atomNoLongerPid, etf.Map{}, lockerA}}))
	env.take()
	require.Len(t, env.timers, 1)
	var id uint64
	for k, d := range env.timers {
		id = k
		require.Equal(t, 200*time.Millisecond, d, "a lone node's locker waits 200 ms")
	}
	s.Timeout(id)
	// b locks itself (the boss), then a.
	lock := find(t, env.take(), "send", to(Name, nodeA), func(m etf.Term) bool {
		c, ok := m.(etf.Tuple)
		return ok && c[0] == atomGenCall
	}).msg.(etf.Tuple)
	lockID := etf.Tuple{atomGlobal, etf.List{lockerB, lockerA}}
	require.Equal(t, etf.Tuple{etf.Atom("set_lock"), lockID}, lock[2])
	s.HandlePid(lockerB, etf.Tuple{lock[1].(etf.Tuple)[1], true})
	set := body(find(t, env.take(), "send", to(Name, nodeA), tagged("lock_set")).msg)
	require.Equal(t, etf.Tuple{etf.Atom("lock_set"), lockerB, true, etf.List{}, int64(100)}, set)
	// a answers; b's server starts the exchange.
	s.HandleName(cast(etf.Tuple{etf.Atom("lock_set"), lockerA, true, etf.List{}, myTag}))
	find(t, env.take(), "send", to(Name, nodeA), tagged("exchange"))
}

func TestLockerDefersWhileHolding(t *testing.T) {
	s, env := newTest(t)
	s.NodeUp(nodeA)
	myTag := body(find(t, env.take(), "send", to(Name, nodeA), tagged("init_connect")).msg)[1].(etf.Tuple)[1]
	s.HandleName(cast(etf.Tuple{etf.Atom("init_connect"), etf.Tuple{int64(8), int64(100)}, nodeA,
		etf.Tuple{atomLocker, atomNoLongerPid, etf.Map{}, lockerA}}))
	s.HandleName(cast(etf.Tuple{etf.Atom("lock_set"), lockerA, true, etf.List{}, myTag}))
	env.take()
	require.Equal(t, lkWaitCancel, s.lk.state)
	// c's connect arrives while the lock for a is held: its his_the_locker waits.
	lockerC := etf.Pid{Node: nodeC, ID: 41, Creation: 3}
	s.NodeUp(nodeC)
	s.HandleName(cast(etf.Tuple{etf.Atom("init_connect"), etf.Tuple{int64(8), int64(200)}, nodeC,
		etf.Tuple{atomLocker, atomNoLongerPid, etf.Map{}, lockerC}}))
	require.Len(t, s.lk.queue, 1)
	// a's connect ends: the lock goes and c's request is taken up.
	s.HandleName(cast(etf.Tuple{etf.Atom("exchange"), nodeA, etf.List{}, etf.List{}, myTag}))
	s.HandleName(cast(etf.Tuple{etf.Atom("resolved"), nodeA, etf.List{}, etf.List{}, atomUnused, etf.List{}, myTag}))
	require.Equal(t, lkIdle, s.lk.state)
	require.Empty(t, s.lk.queue)
	_, ok := s.lk.find(nodeC)
	require.True(t, ok)
}

func TestNameConflictResolvedByRPC(t *testing.T) {
	s, env := newTest(t)
	s.NodeUp(nodeC)
	env.take()
	// b holds n for c's pid; z@h, greater than b@h, sends n for another pid. The smaller node, b, resolves
	// the conflict by rpc to c, the node of the pid b holds.
	nodeZ := etf.Atom("z@h")
	procZ := etf.Pid{Node: nodeZ, ID: 5, Creation: 1}
	s.HandleName(gcall(procC, 1, etf.Tuple{etf.Atom("register"), etf.Atom("n"), procC, method}))
	s.NodeUp(nodeZ)
	tag := body(find(t, env.take(), "send", to(Name, nodeZ), tagged("init_connect")).msg)[1].(etf.Tuple)[1]
	s.sess(nodeZ).hisTag = int64(1)
	s.sess(nodeZ).lockSet = true
	s.exchange(nodeZ, etf.List{etf.Tuple{etf.Atom("n"), procZ, method}})
	rpc := find(t, env.take(), "send", to("rex", nodeC), func(etf.Term) bool { return true }).msg.(etf.Tuple)
	req := rpc[2].(etf.Tuple)
	require.Equal(t, etf.Atom("resolve_it"), req[2])
	require.Equal(t, etf.List{method, etf.Atom("n"), procZ, procC}, req[3])
	s.HandlePid(serverB, etf.Tuple{rpc[1].(etf.Tuple)[1], procC})
	res := body(find(t, env.take(), "send", to(Name, nodeZ), tagged("resolved")).msg)
	require.Equal(t, etf.List{insertOp(etf.Atom("n"), procC, method)}, res[2], "our pid wins: z must insert it")
	require.Equal(t, tag, s.myTag(nodeZ))
}

func TestMalformedInput(t *testing.T) {
	s, env := newTest(t)
	s.NodeUp(nodeA)
	for _, m := range []etf.Term{
		etf.Atom("junk"),
		etf.Tuple{},
		cast(etf.Tuple{}),
		cast(etf.Tuple{etf.Atom("init_connect"), etf.Atom("v"), nodeA, etf.Atom("x")}),
		cast(etf.Tuple{etf.Atom("init_connect"), etf.Tuple{int64(3), int64(1)}, nodeA, etf.Atom("x")}),
		cast(etf.Tuple{etf.Atom("init_connect"), etf.Tuple{int64(8), int64(1)}, nodeA, etf.Atom("x")}),
		cast(etf.Tuple{etf.Atom("new_nodes"), nodeA, etf.Atom("x"), etf.List{}, etf.List{etf.Tuple{}}, etf.List{}}),
		cast(etf.Tuple{etf.Atom("new_nodes"), nodeA, etf.List{etf.Tuple{}}, etf.List{}, etf.List{etf.Tuple{}, int64(1)}, etf.List{}}),
		cast(etf.Tuple{etf.Atom("lock_set"), int64(1), true, etf.List{}}),
		etf.Tuple{etf.Atom("lost_connection"), int64(1), int64(1), int64(1), int64(1)},
		etf.Tuple{atomGenCall, etf.Atom("from"), etf.Atom("get_known")},
	} {
		t.Run(fmt.Sprint(m), func(t *testing.T) {
			require.NotPanics(t, func() { s.HandleName(m) })
		})
	}
	s.HandleName(gcall(procA, 9, etf.Atom("get_known")))
	find(t, env.take(), "reply", etf.Tuple{procA, int64(9)}, func(m etf.Term) bool { return etf.Equal(m, etf.List{}) })
}

// TestPidOrder checks pidLess against the order erl's lists:sort/1 gave these pids (serial, number, node,
// creation).
func TestPidOrder(t *testing.T) {
	p := func(node string, number, serial, creation uint32) etf.Pid {
		return etf.Pid{Node: etf.Atom(node), ID: uint64(serial)<<32 | uint64(number), Creation: creation}
	}
	sorted := []etf.Pid{p("a@x", 1, 0, 2), p("a@x", 1, 0, 9), p("b@x", 1, 0, 1), p("c@x", 1, 0, 0), p("a@x", 0, 1, 1)}
	for i := 0; i+1 < len(sorted); i++ {
		if !pidLess(sorted[i], sorted[i+1]) || pidLess(sorted[i+1], sorted[i]) {
			t.Errorf("pidLess(%v, %v): got false; want true", sorted[i], sorted[i+1])
		}
	}
}
