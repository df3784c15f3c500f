package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/hornbeam-go/hornbeam/internal/loglimit"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
	"github.com/hornbeam-go/hornbeam/node/internal/handshake"
	"github.com/stretchr/testify/require"
)

// logBuffer collects a node's log lines, every level, for tests that check what was logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor waits up to timeout for the log to contain s.
func (b *logBuffer) waitFor(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return strings.Contains(b.String(), s) }, timeout, 10*time.Millisecond,
		"log lacks %q:\n%s", s, b.String())
}

// startLoggedNode starts a Go node whose log, at debug level, goes to the returned buffer.
func startLoggedNode(t *testing.T, hidden bool) (*Node, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	n, err := Start(context.Background(), Options{Name: uniqueName("go"), Cookie: testCookie, Engine: hookstest.Engine(t),
		Hidden: hidden, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	t.Cleanup(func() {
		n.Stop()
		if t.Failed() {
			t.Logf("node log:\n%s", logs.String())
		}
	})
	return n, logs
}

// timedPing is an erl script that prints net_adm:ping(Go) and the milliseconds it took.
const timedPing = `T0 = erlang:monotonic_time(millisecond), P = net_adm:ping(Go),
	io:format("~p ~p~n", [P, erlang:monotonic_time(millisecond) - T0])`

// requireQuickPong checks timedPing's output: pong within limit.
func requireQuickPong(t *testing.T, out string, limit time.Duration) {
	t.Helper()
	f := strings.Fields(out)
	require.Len(t, f, 2, out)
	require.Equal(t, "pong", f[0], out)
	ms, err := strconv.Atoi(f[1])
	require.NoError(t, err, out)
	require.Less(t, time.Duration(ms)*time.Millisecond, limit, "ping took %d ms", ms)
	t.Logf("ping took %d ms", ms)
}

// dialMany opens n TCP connections to addr that send nothing, from sources loopback addresses in turn
// (127.0.0.1, 127.0.0.2, ...), closed at cleanup.
func dialMany(t *testing.T, addr net.Addr, n, sources int) {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for i := range n {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%sources))}}
		c, err := d.Dial("tcp", addr.String())
		require.NoError(t, err)
		conns = append(conns, c)
	}
}

func TestSilentSocketsDoNotDelayPeers(t *testing.T) {
	requireErl(t)
	tests := []struct {
		name    string
		sockets int
		sources int // distinct source addresses, 127.0.0.1 and up
	}{
		{"200 from one address", 200, 1},
		{"300 from 30 addresses", 300, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, logs := startLoggedNode(t, false)
			dialMany(t, n.acc.Addr(), tt.sockets, tt.sources)
			requireQuickPong(t, runErl(t, testCookie, n.Name(), timedPing, 20*time.Second), time.Second)
			logs.waitFor(t, "handshake dropped to make room for newer ones", time.Second)
		})
	}
}

func TestSlowLorisDoesNotBlock(t *testing.T) {
	requireErl(t)
	n, _ := startLoggedNode(t, false)
	// A name message of 200 bytes, trickled a byte every 50 ms: 10 s if the node waited for all of it.
	c, err := net.Dial("tcp", n.acc.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	start := time.Now()
	go func() {
		msg := append([]byte{0, 200, hsName}, bytes.Repeat([]byte{0}, 199)...)
		for _, b := range msg {
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	requireQuickPong(t, runErl(t, testCookie, n.Name(), timedPing, 20*time.Second), time.Second)
	_, err = io.ReadAll(c)
	closedAfter := time.Since(start)
	require.GreaterOrEqual(t, closedAfter, handshake.Timeout-100*time.Millisecond, "got closed after %v", closedAfter)
	require.Less(t, closedAfter, handshake.Timeout+2*time.Second, "got closed after %v; err %v", closedAfter, err)
}

func TestBadNameMessageRefused(t *testing.T) {
	requireErl(t)
	n, logs := startLoggedNode(t, false)
	tests := []struct {
		name string
		msg  []byte
		log  string
	}{
		{"name longer than its message", handshake.FrameName(0, 200, "a@b"), "the name's declared length 200 exceeds the 3 bytes left in the message"},
		{"message over the bound", []byte{0xff, 0xff, hsName}, "a 65535-byte message (at most 274)"},
		{"version 5", append([]byte{0, 10, hsOldName, 0, 5, 0, 0, 0, 0}, "a@b"...), "a version 5 name message"},
		{"not name@host", handshake.FrameName(0, 3, "abc"), `node name \"abc\" is not name@host`},
		{"dynamic name", handshake.FrameName(handshake.FlagNameMe, 3, "a@b"), "dynamic node names are not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", n.acc.Addr().String())
			require.NoError(t, err)
			defer c.Close()
			_, err = c.Write(tt.msg)
			require.NoError(t, err)
			require.NoError(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
			got, err := io.ReadAll(c)
			if !errors.Is(err, syscall.ECONNRESET) { // the node closed with bytes left unread
				require.NoError(t, err, "the node should close the connection at once")
			}
			require.Empty(t, got)
			logs.waitFor(t, tt.log, time.Second)
		})
	}
	requireQuickPong(t, runErl(t, testCookie, n.Name(), timedPing, 20*time.Second), time.Second)
}

// The send_name bytes these tests write (erl_dist_protocol.html, "Distribution Handshake"), as package handshake
// spells them for the node itself.
const (
	hsName    = 'N'
	hsOldName = 'n'
)

func TestWrongCookieLogged(t *testing.T) {
	requireErl(t)
	n, logs := startLoggedNode(t, false)

	in := startErl(t, "not_the_cookie", n.Name(), `io:format("~p~n", [net_adm:ping(Go)]), halt()`)
	require.Equal(t, "pang", strings.TrimSpace(in.wait(t, 20*time.Second)))
	logs.waitFor(t, "rejected connection from "+in.name+": invalid challenge reply (cookie mismatch?)", time.Second)

	out := startErl(t, "not_the_cookie", n.Name(), `io:format("ready~n"), receive after infinity -> ok end`)
	out.waitLine(t, "ready", 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := n.RPC(ctx, out.name, "erlang", "node")
	requireKind(t, err, "nodedown")
	logs.waitFor(t, "connection to "+out.name+" rejected: peer closed the link after our challenge reply (cookie mismatch?)", time.Second)
}

func TestHidden(t *testing.T) {
	requireErl(t)
	for _, hidden := range []bool{false, true} {
		t.Run(fmt.Sprintf("hidden=%v", hidden), func(t *testing.T) {
			n, _ := startLoggedNode(t, hidden)
			// The erl node connects to the Go node. A hidden node is out of global's way: global:sync() returns.
			sync := "ok"
			if hidden {
				sync = `begin Self = self(), spawn(fun() -> Self ! {synced, global:sync()} end),
					receive {synced, R} -> R after 2000 -> timeout end end`
			}
			out := runErl(t, testCookie, n.Name(), `P = net_adm:ping(Go), S = `+sync+`,
				io:format("~p~n", [{P, lists:member(Go, nodes(hidden)), lists:member(Go, nodes()), S}])`, 20*time.Second)
			require.Equal(t, fmt.Sprintf("{pong,%v,%v,ok}", hidden, !hidden), strings.TrimSpace(out))

			// The Go node connects to the erl node.
			e := startErl(t, testCookie, n.Name(), `io:format("ready~n"), receive after infinity -> ok end`)
			e.waitLine(t, "ready", 20*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			visible, err := n.RPC(ctx, e.name, "erlang", "nodes")
			require.NoError(t, err)
			hiddenNodes, err := n.RPC(ctx, e.name, "erlang", "nodes", etf.Atom("hidden"))
			require.NoError(t, err)
			goNode := etf.List{etf.Atom(n.Name())}
			if hidden {
				require.True(t, etf.Equal(goNode, hiddenNodes), "got nodes(hidden) %v", hiddenNodes)
				require.True(t, etf.Equal(etf.List{}, visible), "got nodes() %v", visible)
			} else {
				require.True(t, etf.Equal(goNode, visible), "got nodes() %v", visible)
				require.True(t, etf.Equal(etf.List{}, hiddenNodes), "got nodes(hidden) %v", hiddenNodes)
			}
		})
	}
}

// TestPeerHidden: a connection knows whether its peer is a hidden node, whichever side opened it.
func TestPeerHidden(t *testing.T) {
	requireErl(t)
	tests := []struct {
		name    string
		erlArgs []string
		connect string // how erl connects to the Go node; empty: the Go node connects to erl
		want    bool
	}{
		{"visible peer connects", nil, "pong = net_adm:ping(Go)", false},
		{"hidden peer connects", nil, "true = net_kernel:hidden_connect_node(Go)", true},
		{"Go connects to a visible peer", nil, "", false},
		{"Go connects to a hidden peer", []string{"-hidden"}, "", true},
	}
	n := startNode(t, hookstest.Engine(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			script := `io:format("ready~n"), receive after infinity -> ok end`
			if tt.connect != "" {
				script = tt.connect + ", " + script
			}
			e := startErl(t, testCookie, n.Name(), script, tt.erlArgs...)
			e.waitLine(t, "ready", 20*time.Second)
			if tt.connect == "" {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_, err := n.RPC(ctx, e.name, "erlang", "node")
				require.NoError(t, err)
			}
			var c *dist.Conn
			require.Eventually(t, func() bool { c = n.conn(etf.Atom(e.name)); return c != nil }, 5*time.Second,
				10*time.Millisecond, "no connection to %s", e.name)
			require.Equal(t, tt.want, c.Hidden(), "got hidden %v; want %v", c.Hidden(), tt.want)
		})
	}
}

func TestReconnectAfterDisconnect(t *testing.T) {
	requireErl(t)
	n, _ := startLoggedNode(t, false)
	out := runErl(t, testCookie, n.Name(), `
		Ps = [begin R = net_adm:ping(Go), erlang:disconnect_node(Go), R end || _ <- lists:seq(1, 20)],
		io:format("~p~n", [lists:usort(Ps)])`, 30*time.Second)
	require.Equal(t, "[pong]", strings.TrimSpace(out))
	// Every hand-off ended with its connection.
	require.Eventually(t, func() bool {
		handshakes, handOffs := n.acc.Open()
		return handOffs == 0 && handshakes == 0
	}, 5*time.Second, 10*time.Millisecond)
}

func TestRefusalsLoggedWithinBudget(t *testing.T) {
	n, logs := startLoggedNode(t, false)
	for range 100 {
		c, err := net.Dial("tcp", n.acc.Addr().String())
		require.NoError(t, err)
		_, err = c.Write(handshake.FrameName(0, 200, "a@b"))
		require.NoError(t, err)
		_, _ = io.ReadAll(c)
		_ = c.Close()
	}
	got := strings.Count(logs.String(), "handshake refused")
	require.Equal(t, loglimit.Burst, got, "got %d refusal lines; want %d", got, loglimit.Burst)
}

// TestSimultaneousConnect: two Go nodes connect to each other at the same moment, as global makes them do. As
// OTP's handshake settles it, one connection wins: both connects succeed with it, and neither node sees its
// peer go down.
func TestSimultaneousConnect(t *testing.T) {
	for round := range 10 {
		a, logsA := startLoggedNode(t, false)
		b, logsB := startLoggedNode(t, false)
		var mu sync.Mutex
		events := map[string][]bool{}
		for _, n := range []*Node{a, b} {
			n.served.WatchPeers(func(c *dist.Conn, up bool) {
				mu.Lock()
				defer mu.Unlock()
				events[n.Name()] = append(events[n.Name()], up)
			})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := make(chan struct{})
		errs := make(chan error, 2)
		for _, pair := range [][2]*Node{{a, b}, {b, a}} {
			go func() {
				<-start
				_, err := pair[0].connTo(ctx, etf.Atom(pair[1].Name()))
				errs <- err
			}()
		}
		close(start)
		for range 2 {
			require.NoError(t, <-errs, "round %d", round)
		}
		cancel()
		// A lost connection would show within a tick of its peer's end.
		time.Sleep(100 * time.Millisecond)
		require.NotNil(t, a.conn(etf.Atom(b.Name())), "round %d", round)
		require.NotNil(t, b.conn(etf.Atom(a.Name())), "round %d", round)
		mu.Lock()
		got := fmt.Sprint(events[a.Name()], events[b.Name()])
		mu.Unlock()
		require.Equal(t, "[true] [true]", got, "round %d: peer events of a and b; logs:\n%s\n%s", round, logsA.String(), logsB.String())
		a.Stop()
		b.Stop()
	}
}

// TestSimultaneousConnectBEAM: a BEAM node and a Go node connect to each other at the same moment, round after
// round, with the BEAM node's name the smaller and the greater one: every connect succeeds with one connection,
// and each round brings exactly one node up and one down (the BEAM node's disconnect) on either side.
func TestSimultaneousConnectBEAM(t *testing.T) {
	requireErl(t)
	const rounds = 5
	// Node names compare as atoms do: "a…" < "e…" (the erl node's prefix) < "go…".
	for _, prefix := range []string{"a", "go"} {
		t.Run("go name "+prefix, func(t *testing.T) {
			logs := &logBuffer{}
			n, err := Start(context.Background(), Options{Name: uniqueName(prefix), Cookie: testCookie, Engine: hookstest.Engine(t),
				Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			require.NoError(t, err)
			t.Cleanup(n.Stop)
			var mu sync.Mutex
			var events []bool
			n.served.WatchPeers(func(c *dist.Conn, up bool) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, up)
			})
			base := time.Now().Add(3 * time.Second).UnixMilli()
			e := startErl(t, testCookie, n.Name(), fmt.Sprintf(`
				ok = net_kernel:monitor_nodes(true),
				Round = fun(I) ->
					timer:sleep(max(0, %d + I * 600 - os:system_time(millisecond))),
					R = net_kernel:connect_node(Go),
					timer:sleep(300),
					S = lists:member(Go, nodes()),
					erlang:disconnect_node(Go),
					{R, S}
				end,
				Rs = [Round(I) || I <- lists:seq(1, %d)],
				timer:sleep(100),
				Downs = fun D(N) -> receive {nodedown, _} -> D(N + 1) after 0 -> N end end,
				io:format("rounds ~w ~w~n", [lists:usort(Rs), Downs(0)]),
				halt().`, base, rounds))
			for i := 1; i <= rounds; i++ {
				time.Sleep(time.Until(time.UnixMilli(base + int64(i)*600)))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_, err := n.connTo(ctx, etf.Atom(e.name))
				cancel()
				require.NoError(t, err, "round %d", i)
			}
			require.Equal(t, fmt.Sprintf("[{true,true}] %d", rounds), e.waitPrefix(t, "rounds", 15*time.Second), "erl's connects, and its nodedowns")
			eventually(t, "the last disconnect seen", func() bool { return n.conn(etf.Atom(e.name)) == nil })
			mu.Lock()
			got := fmt.Sprint(events)
			mu.Unlock()
			want := strings.TrimSuffix(strings.Repeat("true false ", rounds), " ")
			require.Equal(t, "["+want+"]", got, "the Go node's peer events; log:\n%s", logs.String())
		})
	}
}
