package hooks

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
)

// Options configures an Engine; the zero value is ready to use.
type Options struct {
	// Window is how many chunks a Go stream producer may run ahead of its consumer; 0 means DefaultWindow.
	Window int
	// ResultTTL is how long a finished async task's result is kept for AwaitResult, from when it finished; 0 means 5 minutes.
	ResultTTL time.Duration
	// TaskTimeout bounds how long an async task may run before its result is {error, timeout}; 0 means no bound.
	TaskTimeout time.Duration
	// MaxAsync is how many async tasks run at once; the rest wait, in order, without a goroutine. 0 means 1024.
	MaxAsync int
}

// DefaultResultTTL is the ResultTTL of the zero Options.
const DefaultResultTTL = 5 * time.Minute

// DefaultMaxAsync is the MaxAsync of the zero Options.
const DefaultMaxAsync = 1024

// Validate reports the first field that is out of range.
func (o Options) Validate() error {
	switch {
	case o.Window < 0:
		return fmt.Errorf("hooks: Options.Window is %d; want 0 or more", o.Window)
	case o.ResultTTL < 0:
		return fmt.Errorf("hooks: Options.ResultTTL is %v; want 0 or more", o.ResultTTL)
	case o.TaskTimeout < 0:
		return fmt.Errorf("hooks: Options.TaskTimeout is %v; want 0 or more", o.TaskTimeout)
	case o.MaxAsync < 0:
		return fmt.Errorf("hooks: Options.MaxAsync is %d; want 0 or more", o.MaxAsync)
	}
	return nil
}

// Engine is the hook registry and the engine that runs calls on it. It is
// safe for concurrent use; the call path reads the registry and the
// interceptor chain without locks. An Engine owns its goroutines (the janitor
// that reclaims async results, async tasks, Go stream producers, and handlers
// that outlive their caller's deadline); Close stops them.
type Engine struct {
	opts Options

	regMu     sync.Mutex
	reg       atomic.Pointer[map[string]*entry]
	observers map[int]Observer // guarded by regMu
	obsSeq    int

	chainMu sync.Mutex
	chain   atomic.Pointer[chain]

	tasks taskTable

	closeOnce sync.Once
	closed    atomic.Bool
	spawnMu   sync.RWMutex
	wg        sync.WaitGroup
	base      context.Context
	stop      context.CancelCauseFunc
	done      chan struct{}
}

// New returns an Engine configured by opts; zero fields take their defaults.
// It panics if opts.Validate fails. Call Close to stop its goroutines.
func New(opts Options) *Engine {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	if opts.Window == 0 {
		opts.Window = DefaultWindow
	}
	if opts.ResultTTL == 0 {
		opts.ResultTTL = DefaultResultTTL
	}
	if opts.MaxAsync == 0 {
		opts.MaxAsync = DefaultMaxAsync
	}
	e := &Engine{opts: opts, done: make(chan struct{})}
	e.base, e.stop = context.WithCancelCause(context.Background())
	e.reg.Store(&map[string]*entry{})
	e.chain.Store(&chain{})
	e.tasks.init()
	e.spawn(e.janitor)
	return e
}

// Close stops the engine: later calls fail with closed; queued and running
// async tasks finish with {error, closed} and their contexts are cancelled, as
// are open streams' contexts. It then waits for the engine's goroutines to
// return: the janitor, async tasks, Go stream producers, and the handlers of
// Execute calls whose context can be done (which run on their own goroutine
// and are not cancelled by Close). Close is idempotent and returns nil.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.spawnMu.Lock()
		e.closed.Store(true)
		e.spawnMu.Unlock()
		e.stop(ErrClosed)
		close(e.done)
		e.tasks.closeAll()
		e.wg.Wait()
	})
	return nil
}

// spawn runs f on a goroutine that Close waits for; false once the engine is closed.
func (e *Engine) spawn(f func()) bool {
	e.spawnMu.RLock()
	defer e.spawnMu.RUnlock()
	if e.closed.Load() {
		return false
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f()
	}()
	return true
}

// entry is one registration.
type entry struct {
	h     Handler
	info  Info
	limit limiter
	stats counters
}

// RegisterOption configures one registration.
type RegisterOption func(*entry)

// WithLimit bounds the calls and streams running on the hook at once to
// maxInFlight (0 means no bound); up to maxQueue more wait for a slot, in no
// particular order, until their context is done; beyond that a call fails at
// once with overloaded.
func WithLimit(maxInFlight, maxQueue int) RegisterOption {
	return func(en *entry) {
		en.limit.init(maxInFlight, maxQueue)
	}
}

// Register makes h the hook for appPath, replacing any previous one (calls
// already running on it finish; its counters start again from zero). It fails
// with badarg for an empty appPath, a nil h or a negative limit, and with
// closed once the engine is closed.
func (e *Engine) Register(appPath string, h Handler, opts ...RegisterOption) error {
	if appPath == "" {
		return BadArg("hooks: empty app path")
	}
	if h == nil {
		return BadArg("hooks: nil handler for " + appPath)
	}
	if e.closed.Load() {
		return ErrClosed
	}
	en := &entry{h: h, info: Info{AppPath: appPath, Kind: KindGoHandler}}
	if d, ok := h.(Describer); ok {
		en.info.Kind, en.info.Owner = d.Describe()
	}
	for _, o := range opts {
		o(en)
	}
	if en.limit.max < 0 || en.limit.maxQueue < 0 {
		return BadArg(fmt.Sprintf("hooks: WithLimit(%d, %d) for %s; want 0 or more", en.limit.max, en.limit.maxQueue, appPath))
	}
	e.regMu.Lock()
	defer e.regMu.Unlock()
	m := maps.Clone(*e.reg.Load())
	_, replaced := m[appPath]
	m[appPath] = en
	e.reg.Store(&m)
	if !replaced {
		e.notify(appPath, true)
	}
	return nil
}

// Unregister removes the hook for appPath and reports whether there was one.
// Calls already running on it finish.
func (e *Engine) Unregister(appPath string) bool {
	e.regMu.Lock()
	defer e.regMu.Unlock()
	old := *e.reg.Load()
	if _, ok := old[appPath]; !ok {
		return false
	}
	m := maps.Clone(old)
	delete(m, appPath)
	e.reg.Store(&m)
	e.notify(appPath, false)
	return true
}

// Observer is told that appPath became registered (true) or stopped being registered (false).
type Observer func(appPath string, registered bool)

// Observe calls o for every hook registered now, in app path order, then for every app path that becomes
// registered or unregistered later, in the order of the changes, until cancel is called. Replacing a hook with
// Register is no change. o runs with the registry locked: it must return promptly and must not call Register,
// Unregister or Observe.
func (e *Engine) Observe(o Observer) (cancel func()) {
	e.regMu.Lock()
	defer e.regMu.Unlock()
	for _, p := range slices.Sorted(maps.Keys(*e.reg.Load())) {
		o(p, true)
	}
	if e.observers == nil {
		e.observers = make(map[int]Observer)
	}
	e.obsSeq++
	id := e.obsSeq
	e.observers[id] = o
	return func() {
		e.regMu.Lock()
		defer e.regMu.Unlock()
		delete(e.observers, id)
	}
}

// notify tells the observers of a change; regMu is held.
func (e *Engine) notify(appPath string, registered bool) {
	for _, o := range e.observers {
		o(appPath, registered)
	}
}

// Find returns the hook registered under appPath.
func (e *Engine) Find(appPath string) (Info, bool) {
	en := (*e.reg.Load())[appPath]
	if en == nil {
		return Info{}, false
	}
	return en.info, true
}

// All returns every registered hook, sorted by app path.
func (e *Engine) All() []Info {
	m := *e.reg.Load()
	infos := make([]Info, 0, len(m))
	for _, en := range m {
		infos = append(infos, en.info)
	}
	slices.SortFunc(infos, func(a, b Info) int { return strings.Compare(a.AppPath, b.AppPath) })
	return infos
}

// Stats returns a snapshot of the counters of the hook registered under appPath.
func (e *Engine) Stats(appPath string) (Stats, bool) {
	en := (*e.reg.Load())[appPath]
	if en == nil {
		return Stats{}, false
	}
	return en.snapshot(), true
}

// Execute runs call on its hook and returns the value, or an error that is
// always an *Error (see Reply and ReasonOf). Node-level interceptors run
// first, then interceptors; see Interceptor for the order. The handler gets
// ctx; if ctx is done before the handler returns, Execute returns timeout (or
// cancelled) at once and the handler's result is dropped.
func (e *Engine) Execute(ctx context.Context, call Call, interceptors ...Interceptor) (etf.Term, error) {
	if e.closed.Load() {
		return nil, ErrClosed
	}
	ics := icList{node: e.chain.Load(), extra: interceptors}
	if !ics.node.call && !anyCall(interceptors) {
		return e.invoke(ctx, call, false)
	}
	p := new(Call)
	*p = call
	return e.intercept(ctx, p, ics, false)
}

// ExecuteDeferred starts call without holding this goroutine while it runs, when its hook's handler can
// answer from a goroutine of its own (Deferrer), no interceptor applies and the hook has no limit: done then
// gets what Execute would return (the result rule applied, errors as *Error) exactly once, on whichever
// goroutine brings the outcome, perhaps before ExecuteDeferred returns; it returns true. Otherwise it returns
// false having done nothing, and the caller uses Execute. A timeout above 0 bounds the call as a context
// deadline bounds Execute: done gets timeout then, the handler is told to abandon the call and its result is
// dropped. Nothing else cancels a deferred call but its handler's end (a Python worker's exit fails it with
// worker_exit).
func (e *Engine) ExecuteDeferred(call Call, timeout time.Duration, done func(etf.Term, error)) bool {
	if e.closed.Load() || e.chain.Load().call || strings.HasPrefix(call.Action, "_") {
		return false
	}
	en := (*e.reg.Load())[call.AppPath]
	if en == nil || en.limit.sem != nil {
		return false
	}
	d, ok := en.h.(Deferrer)
	if !ok {
		return false
	}
	en.stats.calls.Add(1)
	en.stats.inFlight.Add(1)
	dc := &deferredCall{en: en, start: time.Now(), done: done}
	abandon, ok := d.ExecuteDeferred(call, dc.answer)
	if !ok {
		en.stats.calls.Add(^uint64(0))
		en.release(-1)
		return false
	}
	if timeout > 0 {
		dc.mu.Lock()
		if !dc.over {
			dc.abandon = abandon
			dc.timer = time.AfterFunc(timeout, dc.expire)
		}
		dc.mu.Unlock()
	}
	return true
}

// deferredCall is one call started by ExecuteDeferred: the first of its answer and its deadline ends it.
type deferredCall struct {
	en    *entry
	start time.Time
	done  func(etf.Term, error)

	mu      sync.Mutex
	over    bool        // answered or expired
	timer   *time.Timer // the deadline, if any
	abandon func()      // tells the handler to drop the call, at the deadline
}

// answer takes the handler's outcome, unless the deadline came first.
func (dc *deferredCall) answer(v etf.Term, err error) {
	dc.mu.Lock()
	if dc.over {
		dc.mu.Unlock()
		return
	}
	dc.over = true
	t := dc.timer
	dc.mu.Unlock()
	if t != nil {
		t.Stop()
	}
	if err != nil {
		err = ErrorOf(err)
	} else {
		v, err = ResultOf(v)
	}
	dc.finish(v, err)
}

// expire ends the call with timeout at its deadline, unless it was answered, and abandons it.
func (dc *deferredCall) expire() {
	dc.mu.Lock()
	if dc.over {
		dc.mu.Unlock()
		return
	}
	dc.over = true
	abandon := dc.abandon
	dc.mu.Unlock()
	dc.finish(nil, ErrTimeout)
	if abandon != nil {
		abandon()
	}
}

// finish counts the outcome and hands it to done.
func (dc *deferredCall) finish(v etf.Term, err error) {
	dc.en.release(time.Since(dc.start))
	if err != nil {
		dc.en.stats.errors.Add(1)
		v = nil
	}
	dc.done(v, err)
}

// invoke routes call to its hook and runs the handler. inline runs it on
// this goroutine even when ctx can be done (async tasks do).
func (e *Engine) invoke(ctx context.Context, call Call, inline bool) (etf.Term, error) {
	en := (*e.reg.Load())[call.AppPath]
	if en == nil {
		return nil, NotFound(call.AppPath)
	}
	if strings.HasPrefix(call.Action, "_") {
		return nil, UnknownAction(call.Action)
	}
	en.stats.calls.Add(1)
	v, err := e.run(ctx, en, call, inline)
	if err != nil {
		en.stats.errors.Add(1)
		return nil, err
	}
	return v, nil
}

func (e *Engine) run(ctx context.Context, en *entry, call Call, inline bool) (etf.Term, error) {
	if ctx.Err() != nil {
		return nil, ctxError(ctx)
	}
	if err := en.acquire(ctx); err != nil {
		return nil, err
	}
	if inline || ctx.Done() == nil {
		return en.execute(ctx, call)
	}
	type result struct {
		v   etf.Term
		err error
	}
	ch := make(chan result, 1)
	if !e.spawn(func() {
		v, err := en.execute(ctx, call)
		ch <- result{v, err}
	}) {
		en.release(-1)
		return nil, ErrClosed
	}
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return nil, ctxError(ctx)
	}
}

// execute runs the handler in a slot already acquired, and releases it.
func (en *entry) execute(ctx context.Context, call Call) (v etf.Term, err error) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, panicError(r)
		}
		en.release(time.Since(start))
	}()
	v, err = en.h.Execute(ctx, call)
	if err != nil {
		return nil, ErrorOf(err)
	}
	return ResultOf(v)
}
