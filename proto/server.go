package proto

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// Transport is how a Server reaches the callers of one transport (a distribution connection, the local ergo
// processes, a port session). A Caller's transport must be comparable: Gone releases what the callers of one
// transport hold.
type Transport interface {
	// Send delivers msg, a stream message, to the caller pid.
	Send(to etf.Pid, msg etf.Term) error
	// Monitor returns the reference under which pid's end will be reported to Server.Down. It is called with
	// the server's lock held, so it must neither block nor call the server.
	Monitor(pid etf.Pid) etf.Ref
	// Watch starts the monitor Monitor named, once the lock is released; it may do nothing.
	Watch(pid etf.Pid, ref etf.Ref)
	// Demonitor removes the monitor ref on pid, which holds nothing any more.
	Demonitor(pid etf.Pid, ref etf.Ref)
	// Context is the parent of the streams opened for the transport's callers.
	Context() context.Context
}

// Caller is who made a request: Pid reached through T. A caller with no Pid (an rpc, a Python process) holds
// nothing: its tasks are not released when it goes.
type Caller struct {
	Pid etf.Pid
	T   Transport
}

// Options configures NewServer. Engine is required, and MakeRef for a server whose callers open streams.
type Options struct {
	// Engine runs the requests.
	Engine *hooks.Engine
	// Node is the name of the node the server runs on; {reg, AppPath, {erlang, Server}} with a Server there is
	// a bad request.
	Node etf.Atom
	// MakeRef makes the references of streams.
	MakeRef func() etf.Ref
	// Register serves {reg, AppPath, {erlang, Server}} and returns its reply; it is called with a Server on
	// another node. When nil, reg is answered as a bad request.
	Register func(appPath string, server etf.Pid) etf.Term
	// Logger receives the server's logs; slog.Default() when nil.
	Logger *slog.Logger
}

// Server serves the hooks protocol over a hooks.Engine for every transport of one node or session: it answers
// requests (Handle), steers the streams it produces (Steer) and keeps what each caller holds, async tasks and
// open streams, so that it is released when the caller goes (Down, Gone). It does no I/O of its own: replies
// are returned, stream messages go out through the caller's Transport.
type Server struct {
	opts Options
	eng  *hooks.Engine
	log  *slog.Logger

	wg sync.WaitGroup // producer goroutines, and what Go starts

	mu      sync.Mutex
	holders map[etf.Pid]*holder
	byMon   map[etf.Ref]*holder
	streams map[etf.Ref]*stream
	tasks   map[hooks.TaskID]*holder
}

// NewServer returns a Server for opts.
func NewServer(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Server{
		opts:    opts,
		eng:     opts.Engine,
		log:     opts.Logger,
		holders: make(map[etf.Pid]*holder),
		byMon:   make(map[etf.Ref]*holder),
		streams: make(map[etf.Ref]*stream),
		tasks:   make(map[hooks.TaskID]*holder),
	}
}

// Go runs f on a goroutine that Wait waits for.
func (s *Server) Go(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// Wait waits for the goroutines the server started; the contexts they run under must be ending.
func (s *Server) Wait() {
	s.wg.Wait()
}

// Handle answers one request term from cl: Parse, then Serve, or BadRequest. then, when not nil, must run once
// the reply is on its way: it starts what follows the reply (a stream's chunks).
func (s *Server) Handle(ctx context.Context, cl Caller, req etf.Term) (reply etf.Term, then func()) {
	r, ok := Parse(req)
	if !ok {
		return BadRequest(req), nil
	}
	return s.Serve(ctx, cl, r)
}

// HandleDeferred is Handle for a transport that can send a reply from any goroutine: an execute whose hook
// answers from a goroutine of its own (hooks.Engine.ExecuteDeferred, a Python worker's) is only started,
// deferred is true, and its reply goes to send when it comes or at the request's timeout, on the goroutine that
// brings it (perhaps before HandleDeferred returns). Any other request is answered as Handle answers it.
func (s *Server) HandleDeferred(ctx context.Context, cl Caller, req etf.Term, send func(reply etf.Term)) (reply etf.Term, then func(), deferred bool) {
	r, ok := Parse(req)
	if !ok {
		return BadRequest(req), nil, false
	}
	if r.Op == AtomExecute && s.eng.ExecuteDeferred(r.Call, r.Timeout, func(v etf.Term, err error) { send(hooks.Reply(v, err)) }) {
		return nil, nil, true
	}
	reply, then = s.Serve(ctx, cl, r)
	return reply, then, false
}

// Serve answers a parsed request from cl, as Handle does. ctx bounds the request: execute and await_result
// end with it.
func (s *Server) Serve(ctx context.Context, cl Caller, r Request) (reply etf.Term, then func()) {
	for i := range ops {
		if ops[i].name == r.Op {
			return ops[i].serve(s, ctx, cl, r)
		}
	}
	return BadRequest(r.Term), nil
}

// op is one row of the protocol: a request {name, ...} of minLen to maxLen elements (all is the bare atom).
type op struct {
	name           etf.Atom
	minLen, maxLen int
	parse          func(t etf.Tuple) (Request, bool)
	serve          func(s *Server, ctx context.Context, cl Caller, r Request) (etf.Term, func())
}

// ops is the protocol, op by op; the most frequent first.
var ops = []op{
	{AtomExecute, 5, 6, parseCall, (*Server).execute},
	{AtomExecuteAsync, 5, 5, parseCall, (*Server).executeAsync},
	{AtomAwaitResult, 3, 3, parseAwait, (*Server).awaitResult},
	{AtomStream, 5, 6, parseCall, (*Server).openStream},
	{AtomCancel, 2, 2, parseTask, (*Server).cancel},
	{AtomFind, 2, 2, parseAppPath, (*Server).find},
	{AtomAll, 0, 0, nil, (*Server).all},
	{AtomReg, 3, 3, parseReg, (*Server).reg},
	{AtomUnreg, 2, 2, parseAppPath, (*Server).unreg},
}

// inlineKey marks the context of a request run on its transport's own reading goroutine.
type inlineKey struct{}

// Inline marks ctx as that of a request run on its transport's reading goroutine, which is its own: execute
// with no timeout then runs the handler on it (see execute).
func Inline(ctx context.Context) context.Context {
	return context.WithValue(ctx, inlineKey{}, true)
}

func (s *Server) execute(ctx context.Context, _ Caller, r Request) (etf.Term, func()) {
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	} else if ctx.Value(inlineKey{}) != nil {
		// A context that is never done lets the engine run the handler on this goroutine instead of starting
		// one more per call. With no deadline to answer at, what is lost is the cancellation of the handler
		// when its caller's node goes away or this node stops: it runs to its end and its reply is dropped.
		ctx = context.WithoutCancel(ctx)
	}
	return hooks.Reply(s.eng.Execute(ctx, r.Call)), nil
}

func (s *Server) executeAsync(_ context.Context, cl Caller, r Request) (etf.Term, func()) {
	id, err := s.eng.ExecuteAsync(r.Call)
	if err != nil {
		return hooks.Reply(nil, err), nil
	}
	s.holdTask(cl, id)
	return etf.Tuple{AtomOK, []byte(id)}, nil
}

func (s *Server) awaitResult(ctx context.Context, _ Caller, r Request) (etf.Term, func()) {
	v, err := s.eng.AwaitResult(ctx, r.Task, r.Timeout)
	if !errors.Is(err, hooks.ErrTimeout) {
		s.forgetTask(r.Task)
	}
	return hooks.Reply(v, err), nil
}

func (s *Server) cancel(_ context.Context, _ Caller, r Request) (etf.Term, func()) {
	err := s.eng.Cancel(r.Task)
	s.forgetTask(r.Task)
	if err != nil {
		return hooks.Reply(nil, err), nil
	}
	return AtomOK, nil
}

func (s *Server) find(_ context.Context, _ Caller, r Request) (etf.Term, func()) {
	info, found := s.eng.Find(r.AppPath)
	if !found {
		return hooks.Reply(nil, hooks.NotFound(r.AppPath)), nil
	}
	return etf.Tuple{AtomOK, InfoTerm(info)}, nil
}

func (s *Server) all(context.Context, Caller, Request) (etf.Term, func()) {
	infos := s.eng.All()
	l := make(etf.List, len(infos))
	for i, info := range infos {
		l[i] = InfoTerm(info)
	}
	return etf.Tuple{AtomOK, l}, nil
}

func (s *Server) reg(_ context.Context, _ Caller, r Request) (etf.Term, func()) {
	if r.Server.Node == s.opts.Node || s.opts.Register == nil {
		return BadRequest(r.Term), nil
	}
	return s.opts.Register(r.AppPath, r.Server), nil
}

func (s *Server) unreg(_ context.Context, _ Caller, r Request) (etf.Term, func()) {
	s.eng.Unregister(r.AppPath)
	return AtomOK, nil
}

// Steer takes a message that steers a stream the server produces: {hornbeam_stream_credit, StreamRef, N}
// and {hornbeam_stream_close, StreamRef}. False for any other message.
func (s *Server) Steer(msg etf.Term) bool {
	t, ok := msg.(etf.Tuple)
	if !ok || len(t) < 2 {
		return false
	}
	ref, ok := t[1].(etf.Ref)
	if !ok {
		return false
	}
	switch {
	case t[0] == AtomStreamCredit && len(t) == 3:
		if n, ok := etf.Int(t[2]); ok && n > 0 {
			s.grant(ref, n)
			return true
		}
	case t[0] == AtomStreamClose && len(t) == 2:
		s.closeStream(ref)
		return true
	}
	return false
}
