package proto

import (
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// Request is one request of the hooks protocol, read by Parse. Which fields are set depends on Op.
type Request struct {
	// Op is the request's op: AtomExecute, AtomExecuteAsync, AtomAwaitResult, AtomCancel, AtomStream,
	// AtomReg, AtomUnreg, AtomFind or AtomAll.
	Op etf.Atom
	// Call is the hook call of execute, execute_async and stream.
	Call hooks.Call
	// Timeout is execute's and stream's Opts timeout (0: none) and await_result's Timeout (negative: infinity).
	Timeout time.Duration
	// Window is a stream's credit window: its Opts window, else hooks.DefaultWindow.
	Window int
	// Task is the task of await_result and cancel.
	Task hooks.TaskID
	// AppPath is the app path of reg, unreg and find.
	AppPath string
	// Server is the handler process of {reg, AppPath, {erlang, Server}}.
	Server etf.Pid
	// Term is the request as it came, for the bad_request reply.
	Term etf.Term
}

// Parse reads a request term; false when it is no request of the protocol, which is answered BadRequest(t).
func Parse(t etf.Term) (Request, bool) {
	r := Request{Term: t}
	if t == AtomAll {
		r.Op = AtomAll
		return r, true
	}
	tt, ok := t.(etf.Tuple)
	if !ok || len(tt) < 2 {
		return r, false
	}
	for i := range ops {
		if o := &ops[i]; tt[0] == o.name {
			if len(tt) < o.minLen || len(tt) > o.maxLen {
				return r, false
			}
			// The row's parser fills a Request of its own: r, handed to a func value, would escape.
			p, ok := o.parse(tt)
			if !ok {
				return r, false
			}
			p.Op, p.Term = o.name, t
			return p, true
		}
	}
	return r, false
}

// parseCall reads {Op, AppPath, Action, Args, Kwargs} or {Op, AppPath, Action, Args, Kwargs, Opts}.
func parseCall(t etf.Tuple) (r Request, ok bool) {
	r.Window = hooks.DefaultWindow
	appPath, ok1 := etf.Text(t[1])
	action, ok2 := etf.Text(t[2])
	args, ok3 := etf.Elems(t[3])
	kwargs, ok4 := t[4].(etf.Map)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return r, false
	}
	if len(t) == 6 {
		m, ok := t[5].(etf.Map)
		if !ok {
			return r, false
		}
		for _, p := range m {
			v, ok := etf.Int(p.Value)
			switch {
			case p.Key == AtomTimeout && ok && v > 0:
				r.Timeout = time.Duration(v) * time.Millisecond
			case p.Key == AtomWindow && ok && v > 0:
				r.Window = v
			case p.Key == AtomTimeout || p.Key == AtomWindow:
				return r, false
			}
		}
	}
	r.Call = hooks.Call{AppPath: appPath, Action: action, Args: args, Kwargs: kwargs}
	return r, true
}

// parseTask reads {Op, TaskId}.
func parseTask(t etf.Tuple) (r Request, ok bool) {
	id, ok := t[1].([]byte)
	r.Task = hooks.TaskID(id)
	return r, ok
}

// parseAwait reads {await_result, TaskId, Timeout}.
func parseAwait(t etf.Tuple) (Request, bool) {
	r, ok := parseTask(t)
	timeout, ok2 := ParseTimeout(t[2])
	r.Timeout = timeout
	return r, ok && ok2
}

// parseAppPath reads {Op, AppPath}.
func parseAppPath(t etf.Tuple) (r Request, ok bool) {
	r.AppPath, ok = etf.Text(t[1])
	return r, ok
}

// parseReg reads {reg, AppPath, {erlang, Server}}.
func parseReg(t etf.Tuple) (Request, bool) {
	r, ok := parseAppPath(t)
	spec, ok2 := t[2].(etf.Tuple)
	if !ok || !ok2 || len(spec) != 2 || spec[0] != AtomErlang {
		return r, false
	}
	r.Server, ok = spec[1].(etf.Pid)
	return r, ok
}

// ParseTimeout reads a timeout: milliseconds, or infinity (a negative duration, as hooks.Engine.AwaitResult
// takes it).
func ParseTimeout(t etf.Term) (time.Duration, bool) {
	if t == AtomInfinity {
		return -1, true
	}
	ms, ok := etf.Int(t)
	if !ok || ms < 0 {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}
