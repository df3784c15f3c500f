package python

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/internal/rawio"
	"github.com/hornbeam-go/hornbeam/proto"
)

// KindPython is the hooks.Info Kind of hooks served by Python processes.
const KindPython = "python"

// poolIDs numbers pools, so each knows its own hooks.
var poolIDs atomic.Int64

// Defaults for the zero fields of Config.
const (
	DefaultStartTimeout = 30 * time.Second
	DefaultMinBackoff   = 100 * time.Millisecond
	DefaultMaxBackoff   = 10 * time.Second
	// DefaultStopTimeout is how long Close waits for a worker to exit after EOF before killing it.
	DefaultStopTimeout = 3 * time.Second
)

// Config says which Python workers a Pool runs. The zero value runs no
// workers: such a pool serves only processes that attach over a socket.
type Config struct {
	// Module is what each worker runs, "module" or "module:function": the worker
	// imports module (from PythonPath) and calls function() once.
	Module string
	// Workers is how many worker processes run Module; 0 means 1 when Module is set.
	Workers int
	// Python is the interpreter; "" means $HORNBEAM_PYTHON, else "python3" on PATH.
	Python string
	// PythonPath lists directories searched for Module, after the embedded hornbeam_erlang package.
	PythonPath []string
	// Dir is the workers' working directory; "" means the node's.
	Dir string
	// Env holds extra KEY=VALUE environment entries for the workers.
	Env []string
	// Output receives the workers' stdout and stderr; nil means os.Stderr.
	Output io.Writer
	// StartTimeout bounds how long a worker may take to say ready; 0 means DefaultStartTimeout.
	StartTimeout time.Duration
	// MinBackoff and MaxBackoff bound the delay before restarting a worker
	// that exited; it doubles after each failed start. 0 means the defaults.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives the pool's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Validate reports the first field that is out of range.
func (c Config) Validate() error {
	switch {
	case c.Workers < 0:
		return fmt.Errorf("python: Config.Workers is %d; want 0 or more", c.Workers)
	case c.Workers > 0 && c.Module == "":
		return errors.New("python: Config.Workers is set but Config.Module is empty")
	case strings.HasPrefix(c.Module, ":") || strings.HasSuffix(c.Module, ":"):
		return fmt.Errorf("python: Config.Module %q; want module or module:function", c.Module)
	case c.StartTimeout < 0 || c.MinBackoff < 0 || c.MaxBackoff < 0:
		return errors.New("python: Config.StartTimeout, MinBackoff and MaxBackoff must not be negative")
	case c.MaxBackoff > 0 && c.MinBackoff > c.MaxBackoff:
		return fmt.Errorf("python: Config.MinBackoff %v exceeds MaxBackoff %v", c.MinBackoff, c.MaxBackoff)
	}
	return nil
}

// Pool runs Python worker processes and serves processes that attach over a
// Unix socket. Every app path a process registers becomes a hook of kind
// "python" in the engine; a call goes to the least busy process that
// registered its app path. A worker that exits is restarted with backoff; its
// calls in flight fail at once with {worker_exit, Detail}. A Pool owns its
// processes and goroutines; Close stops them.
type Pool struct {
	eng *hooks.Engine
	srv *proto.Server // serves the hooks-protocol requests of the processes
	// watch hands a link's reading to a new goroutine when an execute it runs inline takes long
	watch *rawio.Watchdog
	id    etf.Atom // the Owner of its hooks
	cfg   Config
	log   *slog.Logger
	dir   string // where the embedded package is unpacked
	pyp   string // the workers' PYTHONPATH
	// spin is how long a link polls for what it waits on before it parks (see SpinEnv); 0 never does
	spin time.Duration

	mu        sync.Mutex
	closed    bool
	routes    map[string][]*link
	links     map[*link]bool
	listeners []net.Listener

	done chan struct{}
	wg   sync.WaitGroup
}

// SpinEnv names the environment variable that bounds, in microseconds, how long each end of a link to a
// Python process polls for the next frame before it sleeps (docs/python.md, "Latency"): the node's side
// here, and the Python side in hornbeam_erlang, which workers inherit it for. 0 turns polling off; unset,
// the bound is rawio.LocalSpin.
const SpinEnv = "HORNBEAM_SPIN_US"

// spinFromEnv returns the bound SpinEnv sets, or rawio.LocalSpin.
func spinFromEnv() time.Duration {
	us, err := strconv.Atoi(os.Getenv(SpinEnv))
	if err != nil || us < 0 {
		return rawio.LocalSpin
	}
	return time.Duration(us) * time.Microsecond
}

// Start unpacks the hornbeam_erlang package, starts cfg.Workers workers and
// waits until each has said ready. It fails if cfg is invalid or if a worker
// exits or times out before it is ready; then nothing is left running.
func Start(eng *hooks.Engine, cfg Config) (*Pool, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Module != "" && cfg.Workers == 0 {
		cfg.Workers = 1
	}
	if cfg.Python == "" {
		cfg.Python = os.Getenv("HORNBEAM_PYTHON")
	}
	if cfg.Python == "" {
		cfg.Python = "python3"
	}
	if cfg.Output == nil {
		cfg.Output = os.Stderr
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Pool{
		eng: eng, cfg: cfg, log: cfg.Logger, id: etf.Atom(fmt.Sprintf("python_pool_%d", poolIDs.Add(1))),
		routes: map[string][]*link{}, links: map[*link]bool{}, done: make(chan struct{}),
		srv:   proto.NewServer(proto.Options{Engine: eng, Logger: cfg.Logger}),
		watch: rawio.NewWatchdog(), spin: spinFromEnv(),
	}
	if cfg.Workers == 0 {
		return p, nil
	}
	dir, err := unpack()
	if err != nil {
		p.watch.Stop()
		return nil, err
	}
	p.dir = dir
	p.pyp = strings.Join(append([]string{dir}, cfg.PythonPath...), string(os.PathListSeparator))
	first := make([]*worker, cfg.Workers)
	errs := make([]error, cfg.Workers)
	var wg sync.WaitGroup
	for i := range first {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first[i], errs[i] = p.spawn(i + 1)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, w := range first {
			if w != nil {
				w.stop(p, hooks.ErrClosed)
			}
		}
		os.RemoveAll(dir)
		p.watch.Stop()
		return nil, err
	}
	for i, w := range first {
		p.wg.Add(1)
		go p.supervise(i+1, w)
	}
	return p, nil
}

// handler is the hooks.Handler of one app path served by Python processes.
type handler struct {
	p    *Pool
	path string
}

// Execute runs the call on the least busy process serving the app path.
func (h *handler) Execute(ctx context.Context, call hooks.Call) (etf.Term, error) {
	l := h.p.pick(h.path)
	if l == nil {
		return nil, hooks.NotFound(h.path)
	}
	return l.call(ctx, call)
}

// ExecuteDeferred sends the call to the least busy process serving the app path and returns; the link's
// reader hands the reply to done. False when no process serves the path (Execute then says not_found).
func (h *handler) ExecuteDeferred(call hooks.Call, done func(etf.Term, error)) (abandon func(), ok bool) {
	l := h.p.pick(h.path)
	if l == nil {
		return nil, false
	}
	return l.callDeferred(call, done), true
}

// Stream opens the call as a stream on the least busy process serving the app path.
func (h *handler) Stream(ctx context.Context, call hooks.Call) (hooks.Stream, error) {
	l := h.p.pick(h.path)
	if l == nil {
		return nil, hooks.NotFound(h.path)
	}
	return l.stream(ctx, call)
}

// Describe reports kind "python"; the owner is the pool's id.
func (h *handler) Describe() (string, etf.Term) {
	return KindPython, h.p.id
}

// pick returns the least busy process serving path, or nil.
func (p *Pool) pick(path string) *link {
	p.mu.Lock()
	defer p.mu.Unlock()
	var best *link
	for _, l := range p.routes[path] {
		if best == nil || l.busy.Load() < best.busy.Load() {
			best = l
		}
	}
	return best
}

// register records that l serves path, registering the hook if l is the first.
func (p *Pool) register(l *link, path string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return hooks.ErrClosed
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return l.err
	}
	if l.paths[path] {
		l.mu.Unlock()
		return nil
	}
	l.paths[path] = true
	l.mu.Unlock()
	if len(p.routes[path]) == 0 {
		if err := p.eng.Register(path, &handler{p: p, path: path}); err != nil {
			l.mu.Lock()
			delete(l.paths, path)
			l.mu.Unlock()
			return err
		}
	}
	p.routes[path] = append(p.routes[path], l)
	return nil
}

// drop removes l from the processes serving path, and the hook with the last one.
func (p *Pool) drop(l *link, path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	links := p.routes[path]
	for i, x := range links {
		if x == l {
			links = append(links[:i:i], links[i+1:]...)
			break
		}
	}
	if len(links) > 0 {
		p.routes[path] = links
		return
	}
	delete(p.routes, path)
	if info, ok := p.eng.Find(path); ok && info.Kind == KindPython && info.Owner == p.id {
		p.eng.Unregister(path)
	}
}

// track adds or removes a live link; false once the pool is closed.
func (p *Pool) track(l *link, live bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if live && p.closed {
		return false
	}
	if live {
		p.links[l] = true
	} else {
		delete(p.links, l)
	}
	return true
}

// worker is one running worker process.
type worker struct {
	cmd    *exec.Cmd
	link   *link
	waited chan struct{} // closed when cmd.Wait returns
}

// spawn starts a worker process for slot and waits until it is ready.
func (p *Pool) spawn(slot int) (*worker, error) {
	toPyR, toPyW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("python: pipe for worker %d: %w", slot, err)
	}
	fromPyR, fromPyW, err := os.Pipe()
	if err != nil {
		toPyR.Close()
		toPyW.Close()
		return nil, fmt.Errorf("python: pipe for worker %d: %w", slot, err)
	}
	t := &tail{}
	cmd := exec.Command(p.cfg.Python, "-m", "hornbeam_erlang.worker", p.cfg.Module)
	cmd.Dir = p.cfg.Dir
	cmd.ExtraFiles = []*os.File{toPyR, fromPyW}
	cmd.Env = append(os.Environ(), "HORNBEAM_PORT_FDS=3,4", "PYTHONPATH="+p.pythonPath())
	cmd.Env = append(cmd.Env, p.cfg.Env...)
	cmd.Stdout = io.MultiWriter(p.cfg.Output, t)
	cmd.Stderr = cmd.Stdout
	err = cmd.Start()
	toPyR.Close()
	fromPyW.Close()
	if err != nil {
		toPyW.Close()
		fromPyR.Close()
		return nil, fmt.Errorf("python: starting worker %d: %w", slot, err)
	}
	w := &worker{cmd: cmd, waited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(w.waited)
	}()
	w.link = newLink(p, fmt.Sprintf("worker %d (pid %d)", slot, cmd.Process.Pid), fromPyR, fromPyR, toPyW, toPyW)
	w.link.slot = slot
	if !p.track(w.link, true) {
		w.stop(p, hooks.ErrClosed)
		return nil, hooks.ErrClosed
	}
	timer := time.NewTimer(p.cfg.StartTimeout)
	defer timer.Stop()
	for _, ch := range []chan struct{}{w.link.hello, w.link.ready} {
		select {
		case <-ch:
		case <-w.link.eof:
			reason := w.stop(p, nil)
			return nil, fmt.Errorf("python: worker %d exited before it was ready (%s): %s", slot, reason, t.String())
		case <-timer.C:
			w.stop(p, nil)
			return nil, fmt.Errorf("python: worker %d not ready within %v: %s", slot, p.cfg.StartTimeout, t.String())
		case <-p.done:
			w.stop(p, hooks.ErrClosed)
			return nil, hooks.ErrClosed
		}
	}
	return w, nil
}

func (p *Pool) pythonPath() string {
	if old := os.Getenv("PYTHONPATH"); old != "" {
		return p.pyp + string(os.PathListSeparator) + old
	}
	return p.pyp
}

// stop ends the worker: EOF first, a kill if it has not exited within
// DefaultStopTimeout (at once if it already closed its end), then the link's
// shutdown with err, or {worker_exit, Status} when err is nil. It returns the
// exit status text.
func (w *worker) stop(p *Pool, err *hooks.Error) string {
	w.link.out.Close()
	grace := DefaultStopTimeout
	select {
	case <-w.link.eof:
		grace = 200 * time.Millisecond
	default:
	}
	select {
	case <-w.waited:
	case <-time.After(grace):
		w.cmd.Process.Kill()
		select {
		case <-w.waited:
		case <-time.After(grace):
		}
	}
	reason := "no exit status"
	if w.cmd.ProcessState != nil {
		reason = w.cmd.ProcessState.String()
	}
	if err == nil {
		err = workerExit(reason)
	}
	w.link.shutdown(err)
	p.track(w.link, false)
	return reason
}

// supervise waits for worker w of slot to exit and restarts it with backoff until the pool closes.
func (p *Pool) supervise(slot int, w *worker) {
	defer p.wg.Done()
	backoff := p.cfg.MinBackoff
	for {
		started := time.Now()
		select {
		case <-w.link.eof:
			reason := w.stop(p, nil)
			p.log.Warn("python: worker exited", "worker", slot, "status", reason)
		case <-p.done:
			w.stop(p, hooks.ErrClosed)
			return
		}
		if time.Since(started) > 10*p.cfg.MaxBackoff {
			backoff = p.cfg.MinBackoff
		}
		for {
			select {
			case <-time.After(backoff):
			case <-p.done:
				return
			}
			backoff = min(2*backoff, p.cfg.MaxBackoff)
			next, err := p.spawn(slot)
			if err == nil {
				w = next
				break
			}
			if errors.Is(err, hooks.ErrClosed) {
				return
			}
			p.log.Warn("python: restarting worker failed", "worker", slot, "err", err)
		}
	}
}

// Workers returns the OS process ids of the running workers, by slot; 0 for a slot that is restarting.
func (p *Pool) Workers() []int {
	pids := make([]int, p.cfg.Workers)
	p.mu.Lock()
	defer p.mu.Unlock()
	for l := range p.links {
		select {
		case <-l.hello:
			if l.slot >= 1 && l.slot <= len(pids) {
				pids[l.slot-1] = int(l.osPid)
			}
		default:
		}
	}
	return pids
}

// Serve accepts processes attaching over ln (attach mode, HORNBEAM_SOCKET)
// until ln fails or the pool closes; Close closes ln. It returns nil after Close.
func (p *Pool) Serve(ln net.Listener) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		ln.Close()
		return hooks.ErrClosed
	}
	p.listeners = append(p.listeners, ln)
	p.wg.Add(1)
	p.mu.Unlock()
	defer p.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-p.done:
				return nil
			default:
			}
			return fmt.Errorf("python: accepting attached processes: %w", err)
		}
		l := newLink(p, "attached "+conn.RemoteAddr().String(), conn, conn, conn, conn)
		if !p.track(l, true) {
			l.shutdown(hooks.ErrClosed)
			return nil
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			select {
			case <-l.eof:
				l.shutdown(workerExit("disconnected"))
			case <-p.done:
				l.shutdown(hooks.ErrClosed)
			}
			p.track(l, false)
		}()
	}
}

// ListenUnix listens on the Unix socket path (replacing a stale socket file)
// and serves attaching processes on it in the background.
func (p *Pool) ListenUnix(path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("python: %w", err)
	}
	go func() {
		if err := p.Serve(ln); err != nil && !errors.Is(err, hooks.ErrClosed) {
			p.log.Error("python: attach listener stopped", "err", err)
		}
	}()
	return nil
}

// Close stops the pool: listeners close, workers get EOF and are killed if
// they have not exited within DefaultStopTimeout, calls in flight fail with
// closed, and the hooks go. It waits for its goroutines and is idempotent.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	close(p.done)
	listeners := p.listeners
	p.mu.Unlock()
	for _, ln := range listeners {
		ln.Close()
	}
	p.wg.Wait()
	p.watch.Stop()
	if p.dir != "" {
		os.RemoveAll(p.dir)
	}
	return nil
}

// tail keeps the last bytes a worker wrote, for start errors.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 2048

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > tailSize {
		t.buf = t.buf[len(t.buf)-tailSize:]
	}
	return len(b), nil
}

// String returns the kept output, trimmed.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// unpack writes the embedded hornbeam_erlang package into a new temporary directory and returns it.
func unpack() (string, error) {
	dir, err := os.MkdirTemp("", "hornbeam-python-")
	if err != nil {
		return "", fmt.Errorf("python: %w", err)
	}
	entries, err := pkgFS.ReadDir(pkgName)
	if err == nil {
		err = os.Mkdir(filepath.Join(dir, pkgName), 0o755)
	}
	for _, e := range entries {
		if err != nil {
			break
		}
		var b []byte
		b, err = pkgFS.ReadFile(pkgName + "/" + e.Name())
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, pkgName, e.Name()), b, 0o644)
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("python: unpacking %s: %w", pkgName, err)
	}
	return dir, nil
}
