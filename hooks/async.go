package hooks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
)

// TaskID names an async task: 16 bytes from crypto/rand in unpadded base64url,
// 22 characters. Transports send it as a binary of those characters.
type TaskID string

func newTaskID() TaskID {
	var b [16]byte
	rand.Read(b[:])
	return TaskID(base64.RawURLEncoding.EncodeToString(b[:]))
}

// task is one async call; its result, once set, never changes.
type task struct {
	id   TaskID
	call Call
	ics  []Interceptor
	done chan struct{} // closed when the result is set

	mu       sync.Mutex
	finished bool
	cancel   context.CancelCauseFunc // set while running
	value    etf.Term
	err      *Error
}

// finish sets the result unless it is already set, and reports whether it did.
func (t *task) finish(v etf.Term, err *Error) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.finished {
		return false
	}
	t.finished, t.value, t.err = true, v, err
	t.call, t.ics = Call{}, nil
	close(t.done)
	return true
}

// outcome returns the result of a finished task.
func (t *task) outcome() (etf.Term, error) {
	if t.err != nil {
		return nil, t.err
	}
	return t.value, nil
}

// expiry is when a finished task's result is reclaimed.
type expiry struct {
	id TaskID
	at time.Time
}

// taskTable holds the tasks by id, the tasks waiting to run, and the finished
// ones in the order they expire.
type taskTable struct {
	mu      sync.Mutex
	byID    map[TaskID]*task
	queue   []*task // waiting to run, oldest first
	running int     // goroutines running tasks
	expires []expiry
	stale   int           // entries of expires whose task was released
	wake    chan struct{} // tells the janitor that expires was empty
}

func (tt *taskTable) init() {
	tt.byID = make(map[TaskID]*task)
	tt.wake = make(chan struct{}, 1)
}

func (tt *taskTable) get(id TaskID) *task {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.byID[id]
}

// closeAll finishes every queued and running task with closed.
func (tt *taskTable) closeAll() {
	tt.mu.Lock()
	ts := make([]*task, 0, len(tt.byID))
	for _, t := range tt.byID {
		ts = append(ts, t)
	}
	tt.queue = nil
	tt.mu.Unlock()
	for _, t := range ts {
		t.finish(nil, ErrClosed)
	}
}

// ExecuteAsync starts call as an async task and returns its id at once; the
// task runs through the interceptors as Execute does. At most Options.MaxAsync
// tasks run at once; the others wait in order. A task that runs longer than
// Options.TaskTimeout finishes with {error, timeout}. It fails only with closed.
func (e *Engine) ExecuteAsync(call Call, interceptors ...Interceptor) (TaskID, error) {
	if e.closed.Load() {
		return "", ErrClosed
	}
	t := &task{id: newTaskID(), call: call, ics: interceptors, done: make(chan struct{})}
	tt := &e.tasks
	tt.mu.Lock()
	if e.closed.Load() {
		tt.mu.Unlock()
		return "", ErrClosed
	}
	tt.byID[t.id] = t
	if tt.running >= e.opts.MaxAsync {
		tt.queue = append(tt.queue, t)
		tt.mu.Unlock()
		return t.id, nil
	}
	tt.running++
	tt.mu.Unlock()
	if !e.spawn(func() { e.work(t) }) {
		tt.mu.Lock()
		tt.running--
		tt.mu.Unlock()
		e.finish(t, nil, ErrClosed)
	}
	return t.id, nil
}

// work runs t, then the queued tasks, until the queue is empty.
func (e *Engine) work(t *task) {
	tt := &e.tasks
	for t != nil {
		e.runTask(t)
		tt.mu.Lock()
		t = nil
		if len(tt.queue) > 0 {
			t = tt.queue[0]
			tt.queue[0] = nil
			tt.queue = tt.queue[1:]
		} else {
			tt.running--
		}
		tt.mu.Unlock()
	}
}

func (e *Engine) runTask(t *task) {
	ctx, cancel := context.WithCancelCause(e.base)
	defer cancel(nil)
	if e.opts.TaskTimeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeoutCause(ctx, e.opts.TaskTimeout, ErrTimeout)
		defer stop()
	}
	t.mu.Lock()
	if t.finished {
		t.mu.Unlock()
		return
	}
	t.cancel = cancel
	call, ics := t.call, t.ics
	t.mu.Unlock()
	stop := context.AfterFunc(ctx, func() { e.finish(t, nil, ctxError(ctx)) })
	defer stop()
	var v etf.Term
	var err error
	if l := (icList{node: e.chain.Load(), extra: ics}); l.node.call || anyCall(ics) {
		v, err = e.intercept(ctx, &call, l, true)
	} else {
		v, err = e.invoke(ctx, call, true)
	}
	if ctx.Err() != nil {
		e.finish(t, nil, ctxError(ctx))
		return
	}
	e.finish(t, v, ErrorOf(err))
}

// finish sets t's result and schedules its reclaiming.
func (e *Engine) finish(t *task, v etf.Term, err *Error) {
	if !t.finish(v, err) {
		return
	}
	tt := &e.tasks
	tt.mu.Lock()
	tt.expires = append(tt.expires, expiry{t.id, time.Now().Add(e.opts.ResultTTL)})
	first := len(tt.expires) == 1
	tt.mu.Unlock()
	if first {
		select {
		case tt.wake <- struct{}{}:
		default:
		}
	}
}

// AwaitResult waits for the result of task id, for at most timeout (0 only
// looks, a negative timeout waits until ctx is done), and returns it as Execute
// would. Any number of callers may await the same task, before or after it
// finishes, until its result is reclaimed Options.ResultTTL after it finished.
// On timeout it returns timeout and the result stays for a later call; ctx done
// returns timeout or cancelled. An unknown or reclaimed id is task_not_found.
func (e *Engine) AwaitResult(ctx context.Context, id TaskID, timeout time.Duration) (etf.Term, error) {
	t := e.tasks.get(id)
	if t == nil {
		return nil, TaskNotFound(id)
	}
	select {
	case <-t.done:
		return t.outcome()
	default:
	}
	if timeout == 0 {
		return nil, ErrTimeout
	}
	var expired <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		expired = timer.C
	}
	select {
	case <-t.done:
		return t.outcome()
	case <-expired:
		return nil, ErrTimeout
	case <-ctx.Done():
		return nil, ctxError(ctx)
	}
}

// Cancel cancels task id: a task that has not finished finishes at once with
// {error, cancelled} and its context is cancelled; a finished task keeps its
// result. An unknown or reclaimed id is task_not_found.
func (e *Engine) Cancel(id TaskID) error {
	t := e.tasks.get(id)
	if t == nil {
		return TaskNotFound(id)
	}
	e.finish(t, nil, ErrCancelled)
	t.mu.Lock()
	cancel := t.cancel
	t.mu.Unlock()
	if cancel != nil {
		cancel(ErrCancelled)
	}
	return nil
}

// Release forgets task id at once, as when the caller that would await it has gone: a task that has not
// finished is cancelled, as Cancel does, and its result is dropped now instead of Options.ResultTTL after it
// finished; AwaitResult then answers task_not_found. An unknown or reclaimed id is ignored.
func (e *Engine) Release(id TaskID) {
	if e.Cancel(id) != nil {
		return
	}
	tt := &e.tasks
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if _, ok := tt.byID[id]; !ok {
		return
	}
	delete(tt.byID, id)
	tt.stale++
	if tt.stale > len(tt.expires)/2 {
		tt.compact()
	}
}

// compact drops the entries of expires whose task was released. tt.mu is held.
func (tt *taskTable) compact() {
	kept := tt.expires[:0]
	for _, x := range tt.expires {
		if _, ok := tt.byID[x.id]; ok {
			kept = append(kept, x)
		}
	}
	clear(tt.expires[len(kept):])
	tt.expires, tt.stale = kept, 0
	if len(kept) < cap(kept)/4 {
		tt.expires = append([]expiry(nil), kept...)
	}
}

// Tasks returns how many async tasks the engine holds: queued, running, and finished with a result kept.
func (e *Engine) Tasks() int {
	e.tasks.mu.Lock()
	defer e.tasks.mu.Unlock()
	return len(e.tasks.byID)
}

// janitor reclaims expired results until the engine closes, sleeping until
// the next expiry.
func (e *Engine) janitor() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var next <-chan time.Time
		if wait, ok := e.tasks.reap(time.Now()); ok {
			timer.Reset(wait)
			next = timer.C
		}
		select {
		case <-e.done:
			return
		case <-e.tasks.wake:
		case <-next:
		}
	}
}

// reap removes the tasks whose results expired by now and returns how long
// until the next one expires, if any is due.
func (tt *taskTable) reap(now time.Time) (time.Duration, bool) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	i := 0
	for ; i < len(tt.expires) && !tt.expires[i].at.After(now); i++ {
		delete(tt.byID, tt.expires[i].id)
	}
	tt.expires = tt.expires[i:]
	if len(tt.expires) == 0 {
		tt.expires = nil
		return 0, false
	}
	return tt.expires[0].at.Sub(now), true
}
