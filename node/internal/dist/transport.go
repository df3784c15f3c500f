package dist

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/ergo-services/ergo/lib"
	ergonode "github.com/ergo-services/ergo/node"
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/internal/rawio"
	"github.com/hornbeam-go/hornbeam/node/internal/handshake"
)

// Config is what the transport takes from its node. Every field is required.
type Config struct {
	// Node is the node's name, name@host.
	Node string
	// MaxMessageSize is the largest packet read from a peer; bigger ones are logged and skipped.
	MaxMessageSize int
	// MaxInflatedSize is the largest size a compressed term of a packet may declare.
	MaxInflatedSize int
	// TickInterval is how often an idle connection ticks; a peer silent for four intervals is dropped.
	TickInterval time.Duration
	// SendQueue is how many packets a connection queues before senders wait for its writer.
	SendQueue int
	// Coalesce is the longest coalescing sleep of a plain TCP connection's reader; off when not positive.
	Coalesce time.Duration
	// Logger receives the transport's logs.
	Logger *slog.Logger
	// Context is the parent of every connection's context.
	Context context.Context
	// Go runs f on a goroutine that the node waits for when it stops: a reader that the watchdog hands reading to.
	Go func(f func())
	// MakeRef returns a new reference of the node, to monitor a peer's callers of hornbeam_hooks with.
	MakeRef func() etf.Ref
	// Exit takes an exit signal other than normal that a peer sent, with exit/2, to a local pid no service
	// serves: it ends the ergo process there is, if any.
	Exit func(to etf.Pid, reason etf.Term) error
	// Spawn serves the SPAWN_REQUESTs it takes; the rest go to ergo.
	Spawn SpawnFunc
}

// SpawnFunc serves a SPAWN_REQUEST from c's peer: from asks, under req, for a process running m:f(args...) with
// the spawn options opts. It answers with Conn.SendSpawnReply and reports true, or reports false to leave the
// request to ergo.
type SpawnFunc func(c *Conn, req etf.Ref, from etf.Pid, m, f etf.Atom, args, opts []etf.Term) (taken bool, err error)

// Transport is a node's set of distribution connections: it makes and serves them for ergo (Proto), keeps the
// serving ones by peer, and holds the table of what Go code serves (Served), which each connection's dispatch
// consults first. It stands for hornbeam_hooks' pid (Open) in the replies and monitors it sends.
type Transport struct {
	cfg    Config
	log    *slog.Logger
	served Services
	watch  *rawio.Watchdog

	ready    chan struct{} // closed by Open; readers wait for it
	self     etf.Pid       // hornbeam_hooks' pid; set by Open
	selfTerm etf.Term      // self as a term, boxed once for the replies that carry it

	mu    sync.Mutex
	conns map[string]*Conn // serving connections by peer name
}

// New returns the transport of a node; no connection is served before Open.
func New(cfg Config) *Transport {
	return &Transport{
		cfg:   cfg,
		log:   cfg.Logger,
		watch: rawio.NewWatchdog(),
		ready: make(chan struct{}),
		conns: make(map[string]*Conn),
	}
}

// Open starts serving connections, as hornbeam_hooks' pid self: replies and callers' monitors go out from it.
func (t *Transport) Open(self etf.Pid) {
	t.self, t.selfTerm = self, self
	close(t.ready)
}

// Stop stops the watchdog of the readers; the connections end with the node's context and ergo.
func (t *Transport) Stop() {
	t.watch.Stop()
}

// Served returns the table of the names and pids Go code serves.
func (t *Transport) Served() *Services { return &t.served }

// Conn returns the serving connection to peer, or nil.
func (t *Transport) Conn(peer etf.Atom) *Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conns[string(peer)]
}

// Nodes returns the peers with a serving connection, sorted.
func (t *Transport) Nodes() []etf.Atom {
	t.mu.Lock()
	defer t.mu.Unlock()
	nodes := make([]etf.Atom, 0, len(t.conns))
	for peer := range t.conns {
		nodes = append(nodes, etf.Atom(peer))
	}
	slices.Sort(nodes)
	return nodes
}

// Proto is the Erlang distribution protocol, to plug into ergo as node.Options.Proto.
func (t *Transport) Proto() ergonode.ProtoInterface { return ergoProto{t} }

// ergoProto is the transport as ergo's node.ProtoInterface. ergo hands each handshaked connection here (see
// handshake.Acceptor for the ones peers open).
type ergoProto struct {
	t *Transport
}

// Init makes the connection for a completed handshake; its goroutines start in Serve.
func (p ergoProto) Init(_ context.Context, nc lib.NetReadWriter, _ string, d ergonode.HandshakeDetails) (ergonode.ConnectionInterface, error) {
	return newConn(p.t, handshake.ServedConn(nc, d), d), nil
}

// Serve runs the connection until the link fails or the node stops.
func (p ergoProto) Serve(ci ergonode.ConnectionInterface, router ergonode.CoreRouter) {
	c := ci.(*Conn)
	<-p.t.ready
	c.serve(router)
}

// Terminate stops the connection; Serve has returned by then.
func (p ergoProto) Terminate(ci ergonode.ConnectionInterface) {
	ci.(*Conn).Stop()
}
