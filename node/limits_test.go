package node

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"log/slog"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ergonode "github.com/ergo-services/ergo/node"
	"github.com/ergo-services/ergo/proto/dist"
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/internal/hookstest"
	"github.com/stretchr/testify/require"
)

// countingLog is a log destination that keeps the number of bytes written and the first lines.
type countingLog struct {
	mu   sync.Mutex
	n    int
	head strings.Builder
}

func (l *countingLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n += len(b)
	if l.head.Len() < 4<<10 {
		l.head.Write(b)
	}
	return len(b), nil
}

func (l *countingLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head.String()
}

func (l *countingLog) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// freePort returns a TCP port nothing listens on.
func freePort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// rawPeer connects to the node listening on port as a distribution peer, with ergo's handshake, and returns the
// socket on which it may write packets of its own, and its node name.
func rawPeer(t *testing.T, port uint16) (net.Conn, etf.Atom) {
	t.Helper()
	nc, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = nc.Close() })
	hs := dist.CreateHandshake(dist.HandshakeOptions{Version: dist.HandshakeVersion6})
	name := uniqueName("raw")
	require.NoError(t, hs.Init(name, 1, ergonode.Flags{Enable: true, EnableBigCreation: true, EnableBigPidRef: true, EnableAlias: true}))
	_, err = hs.Start(nc.RemoteAddr(), nc, false, testCookie)
	require.NoError(t, err)
	return nc, etf.Atom(name)
}

// compressedBinary returns the external term of a binary of size zero bytes, compressed, without its version byte.
func compressedBinary(t *testing.T, size int) []byte {
	t.Helper()
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	require.NoError(t, err)
	head := []byte{tagBinaryExt, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(head[1:], uint32(size-5))
	_, err = zw.Write(head)
	require.NoError(t, err)
	_, err = zw.Write(make([]byte, size-5))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	term := []byte{80, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(term[1:], uint32(size))
	return append(term, z.Bytes()...)
}

// tagBinaryExt is BINARY_EXT.
const tagBinaryExt = 109

// packet frames a pass-through packet whose control message is the term ctl (no version byte).
func packet(ctl []byte) []byte {
	p := make([]byte, 4, 6+len(ctl))
	binary.BigEndian.PutUint32(p, uint32(2+len(ctl)))
	p = append(p, typePassThrough, 131)
	return append(p, ctl...)
}

// procStatus returns a field of /proc/self/status in KiB.
func procStatus(t *testing.T, field string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			require.NoError(t, err)
			return kb
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// TestCompressedBomb: a peer sends compressed control messages that inflate to 100 MB (about 100 KB on the
// wire); the node refuses them before inflating, keeps the link, and logs a few short lines.
func TestCompressedBomb(t *testing.T) {
	if _, err := os.Stat("/proc/self/clear_refs"); err != nil {
		t.Skip("no /proc/self/clear_refs to reset the peak RSS with")
	}
	logs := &countingLog{}
	port := freePort(t)
	n, err := Start(context.Background(), Options{Name: uniqueName("go"), Cookie: testCookie, Engine: hookstest.Engine(t),
		ListenBegin: port, ListenEnd: port, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	require.NoError(t, err)
	t.Cleanup(n.Stop)
	nc, peer := rawPeer(t, port)
	bomb := packet(compressedBinary(t, 100<<20))
	t.Logf("a 100 MB compressed control message is %d bytes on the wire", len(bomb))
	_, err = nc.Write(bomb)
	require.NoError(t, err)
	time.Sleep(200 * time.Millisecond)
	// Collect often, so that the peak counts what the node keeps rather than garbage the collector has not reached.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	require.NoError(t, os.WriteFile("/proc/self/clear_refs", []byte("5"), 0))
	base := procStatus(t, "VmHWM")
	for range 20 {
		_, err = nc.Write(bomb)
		require.NoError(t, err)
	}
	time.Sleep(500 * time.Millisecond)
	grew := procStatus(t, "VmHWM") - base
	t.Logf("peak RSS grew by %d KiB; stderr holds %d bytes", grew, logs.size())
	require.Less(t, grew*1024, 2*len(bomb), "peak RSS growth")
	require.Less(t, logs.size(), 10<<10, "log bytes:\n%s", logs.text())
	require.Contains(t, logs.text(), "uncompressed size 104857600 above MaxSize 16777216")

	// From another peer, whose warnings are not held back yet, a malformed control message that inflates within
	// the bound is logged short, and its repeats are held back.
	nc, peer = rawPeer(t, port)
	before := logs.size()
	malformed := packet(compressedBinary(t, 8<<20))
	for range 50 {
		_, err = nc.Write(malformed)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return strings.Contains(logs.text(), "malformed control message <<0,0,0") },
		30*time.Second, 10*time.Millisecond, "log bytes:\n%s", logs.text())
	time.Sleep(time.Second)
	require.NotNil(t, n.conn(peer), "the link is kept")
	t.Logf("50 malformed messages logged %d bytes", logs.size()-before)
	require.Less(t, logs.size()-before, 10<<10, "log bytes:\n%s", logs.text())
}

// TestDeadCallerResultsReleased: 100k finished async results of an erl process are dropped within a second of
// its exit, not at the result TTL.
func TestDeadCallerResultsReleased(t *testing.T) {
	requireErl(t)
	e := hookstest.Engine(t)
	n := startNode(t, e)
	const tasks = 100_000
	erl := startErl(t, testCookie, n.Name(), `
		S = {hornbeam_hooks, Go},
		Self = self(),
		P = spawn(fun() ->
			Refs = [begin R = make_ref(), S ! {'$gen_call', {self(), R}, {execute_async, <<"echo">>, <<"echo">>, [I], #{}}}, R end
				|| I <- lists:seq(1, `+strconv.Itoa(tasks)+`)],
			[receive {R, {ok, _}} -> ok end || R <- Refs],
			Self ! started,
			receive stop -> ok end
		end),
		receive started -> ok end,
		io:format("started~n"),
		timer:sleep(3000),
		M = monitor(process, P),
		P ! stop,
		receive {'DOWN', M, _, _, _} -> io:format("exited~n") end,
		receive never -> ok end`)
	erl.waitLine(t, "started", 120*time.Second)
	require.Equal(t, tasks, e.Tasks())
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	erl.waitLine(t, "exited", 10*time.Second)
	exited := time.Now()
	require.Eventually(t, func() bool { return e.Tasks() == 0 }, 30*time.Second, time.Millisecond)
	took := time.Since(exited)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d results released %v after the caller exited; heap in use %d -> %d KiB",
		tasks, took, before.HeapInuse>>10, after.HeapInuse>>10)
	require.Less(t, took, time.Second)
}
