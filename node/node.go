package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ergo-services/ergo"
	"github.com/ergo-services/ergo/gen"
	ergonode "github.com/ergo-services/ergo/node"
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
	"github.com/hornbeam-go/hornbeam/node/internal/handshake"
	"github.com/hornbeam-go/hornbeam/node/internal/rpc"
)

// Defaults of Options.
const (
	// DefaultName is the node name when Options.Name is empty.
	DefaultName = "hornbeam@localhost"
	// DefaultMaxMessageSize is the largest packet read when Options.MaxMessageSize is zero: 128 MiB.
	DefaultMaxMessageSize = 128 << 20
	// DefaultMaxInflatedSize is the largest compressed term inflated when Options.MaxInflatedSize is zero: 16 MiB.
	DefaultMaxInflatedSize = 16 << 20
	// DefaultTickInterval is the tick interval when Options.TickInterval is zero (Erlang's net_ticktime 60).
	DefaultTickInterval = 15 * time.Second
	// DefaultSendQueue is the packets a connection queues when Options.SendQueue is zero.
	DefaultSendQueue = 1024
	// DefaultCoalesce is the longest coalescing sleep when Options.Coalesce is zero.
	DefaultCoalesce = 250 * time.Microsecond
	// DefaultPGScope is the pg scope the node runs when Options.PGScope is empty.
	DefaultPGScope = "hornbeam"
)

// Options configures Start. Every field but Cookie and Engine has a usable zero value.
type Options struct {
	// Name is the node's name, name@host; DefaultName when empty.
	Name string
	// Cookie is the distribution cookie; required.
	Cookie string
	// ListenBegin and ListenEnd bound the port the node listens on (15000..65000 when zero).
	ListenBegin, ListenEnd uint16
	// TLS, when set, makes every distribution connection use TLS.
	TLS *tls.Config
	// Engine runs the hooks served as hornbeam_hooks; required.
	Engine *hooks.Engine
	// Logger receives the node's logs; slog.Default() when nil.
	Logger *slog.Logger
	// MaxMessageSize is the largest packet read from a peer; bigger ones are logged and skipped.
	MaxMessageSize int
	// MaxInflatedSize is the largest size a compressed term of a packet may declare; a packet with a bigger one
	// is refused before anything is inflated, so a small packet cannot make the node allocate much.
	MaxInflatedSize int
	// TickInterval is how often an idle connection sends a tick; a peer silent for four intervals is dropped.
	// It matches Erlang's net_ticktime/4 (15 s for the default 60).
	TickInterval time.Duration
	// SendQueue is how many packets a connection queues before senders wait for its writer.
	SendQueue int
	// Coalesce is the longest a plain TCP connection's reader sleeps, while its peer has many calls in flight,
	// to read, serve and answer their requests in batches; DefaultCoalesce when zero, off when negative.
	Coalesce time.Duration
	// Hidden makes the node a hidden one, as erl -hidden and C nodes are: peers list it in nodes(hidden), not
	// in nodes(), and global leaves it out (docs/protocol.md, "Visible or hidden" and "global").
	Hidden bool
	// PGScope is the OTP pg scope in which every hook has a member, a pid of this node, in the group
	// <<AppPath>>; DefaultPGScope when empty.
	PGScope string
	// NoPG, when set, runs no pg scope.
	NoPG bool
}

// Validate fills defaults in and reports the first bad field.
func (o *Options) Validate() error {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if name, host, ok := strings.Cut(o.Name, "@"); !ok || name == "" || host == "" || strings.Contains(host, "@") {
		return fmt.Errorf("node: Options.Name %q is not name@host", o.Name)
	}
	if o.Cookie == "" {
		return errors.New("node: Options.Cookie is empty")
	}
	if o.Engine == nil {
		return errors.New("node: Options.Engine is nil")
	}
	if o.ListenEnd != 0 && o.ListenBegin > o.ListenEnd {
		return fmt.Errorf("node: Options.ListenBegin %d is above ListenEnd %d", o.ListenBegin, o.ListenEnd)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.MaxInflatedSize <= 0 {
		o.MaxInflatedSize = DefaultMaxInflatedSize
	}
	if o.TickInterval <= 0 {
		o.TickInterval = DefaultTickInterval
	}
	if o.SendQueue <= 0 {
		o.SendQueue = DefaultSendQueue
	}
	if o.Coalesce == 0 {
		o.Coalesce = DefaultCoalesce
	}
	if o.PGScope == "" {
		o.PGScope = DefaultPGScope
	}
	if len(o.PGScope) > 255 || reservedName(etf.Atom(o.PGScope)) {
		return fmt.Errorf("node: Options.PGScope %q is not a free registered name", o.PGScope)
	}
	return nil
}

// Node is a running distributed Erlang node served by ergo with this package's distribution protocol.
type Node struct {
	name string
	opts Options
	log  *slog.Logger
	ergo ergonode.Node
	srv  *server
	rpc  *rpc.Server          // rex and erpc
	acc  *handshake.Acceptor  // the listening port
	hs   *handshake.Handshake // the handshake both ways, which settles simultaneous connects
	pg   *pgPeer              // nil when Options.NoPG is set
	// global is OTP global's name server on this node (global.go).
	global *globalLoop

	ctx    context.Context // parent of every connection's context; cancelled by Stop
	cancel context.CancelFunc

	tr     *dist.Transport // the distribution connections
	served *dist.Services  // the transport's table of names and pids served by Go code, and peer watchers

	stopOnce sync.Once
	done     chan struct{}
	ctxWatch sync.WaitGroup // the goroutine that stops the node when Start's ctx ends
}

// Start starts a node named opts.Name, registers it with EPMD (starting an embedded EPMD when none runs),
// and serves hornbeam_hooks with opts.Engine. The node stops when ctx is done or Stop is called. Several
// nodes may run in one process.
func Start(ctx context.Context, opts Options) (*Node, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	n := &Node{
		name: opts.Name,
		opts: opts,
		log:  opts.Logger.With("node", opts.Name),
		done: make(chan struct{}),
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.srv = newServer(n)
	n.rpc = rpc.New(rpc.Config{Node: etf.Atom(opts.Name), PidSerial: rpcPidSerial, Server: n.srv.p, Logger: n.log})
	n.tr = dist.New(dist.Config{
		Node:            opts.Name,
		MaxMessageSize:  opts.MaxMessageSize,
		MaxInflatedSize: opts.MaxInflatedSize,
		TickInterval:    opts.TickInterval,
		SendQueue:       opts.SendQueue,
		Coalesce:        opts.Coalesce,
		Logger:          n.log,
		Context:         n.ctx,
		Go:              n.srv.spawn,
		MakeRef:         n.makeRef,
		Exit:            n.exitErgo,
		Spawn:           n.rpc.SpawnRequest,
	})
	n.served = n.tr.Served()
	flags := ergonode.Flags{
		Enable:            true,
		EnableBigCreation: true,
		EnableBigPidRef:   true,
		EnableAlias:       true,
		EnableRemoteSpawn: true,
	}
	acc, err := handshake.Listen(handshake.Config{
		Name: opts.Name, ListenBegin: opts.ListenBegin, ListenEnd: opts.ListenEnd, TLS: opts.TLS, Logger: n.log,
	})
	if err != nil {
		n.cancel()
		n.tr.Stop()
		return nil, fmt.Errorf("node: start %s: %w", n.name, err)
	}
	n.acc = acc
	n.hs = handshake.New(n.log, opts.Hidden, n.acc)
	en, err := ergo.StartNode(n.name, opts.Cookie, ergonode.Options{
		Listeners: []ergonode.Listener{n.acc.ErgoListener()},
		Registrar: n.acc.Registrar(),
		Flags:     flags,
		TLS:       opts.TLS,
		Handshake: n.hs,
		Proto:     n.tr.Proto(),
		System:    ergonode.System{DisableAnonMetrics: true},
	})
	if err != nil {
		n.acc.Stop()
		n.cancel()
		n.tr.Stop()
		return nil, fmt.Errorf("node: start %s: %w", n.name, err)
	}
	n.ergo = en
	p, err := en.Spawn(string(nameHooks), gen.ProcessOptions{MailboxSize: hooksMailbox}, &hooksProcess{srv: n.srv})
	if err != nil {
		n.acc.Stop()
		en.Stop()
		n.cancel()
		n.tr.Stop()
		return nil, fmt.Errorf("node: start %s: spawn %s: %w", n.name, nameHooks, err)
	}
	n.srv.start(p)
	n.rpc.Open(p.Self().Creation)
	n.serveBuiltins()
	n.global = startGlobal(n, p.Self().Creation)
	if !opts.NoPG {
		n.startPG(etf.Atom(opts.PGScope))
	}
	n.tr.Open(p.Self())
	n.acc.Start(opts.Cookie, en)
	n.ctxWatch.Add(1)
	go func() {
		defer n.ctxWatch.Done()
		select {
		case <-ctx.Done():
			n.shutdown()
		case <-n.done:
		}
	}()
	return n, nil
}

// conn returns the serving connection to peer, or nil.
func (n *Node) conn(peer etf.Atom) *dist.Conn {
	return n.tr.Conn(peer)
}

// Name returns the node's name, name@host.
func (n *Node) Name() string { return n.name }

// Stop closes every connection, stops hornbeam_hooks and the ergo node, cancels running handlers and waits for
// the node's goroutines. It may be called more than once.
func (n *Node) Stop() {
	n.shutdown()
	n.ctxWatch.Wait()
}

func (n *Node) shutdown() {
	n.stopOnce.Do(func() {
		close(n.done)
		n.cancel()
		n.acc.Stop()
		if n.pg != nil {
			n.pg.stop()
		}
		n.ergo.Stop()
		n.srv.stop()
		n.tr.Stop()
	})
}

// makeRef returns a new reference of this node.
func (n *Node) makeRef() etf.Ref {
	return n.ergo.MakeRef()
}

// exitErgo ends the ergo process pid with reason, when there is one.
func (n *Node) exitErgo(pid etf.Pid, reason etf.Term) error {
	p := n.ergo.ProcessByPid(pid)
	if p == nil {
		return nil
	}
	return p.Exit(dist.ReasonString(reason))
}

// brief renders a term a peer sent for a log line or an error, within etf.BriefDepth and etf.BriefBytes.
func brief(t etf.Term) string {
	return etf.Brief(t, etf.BriefDepth, etf.BriefBytes)
}
