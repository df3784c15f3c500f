package node

import (
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// Atoms of the hooks protocol (docs/protocol.md).
const (
	atomOK           = etf.Atom("ok")
	atomError        = etf.Atom("error")
	atomExecute      = etf.Atom("execute")
	atomExecuteAsync = etf.Atom("execute_async")
	atomAwaitResult  = etf.Atom("await_result")
	atomCancel       = etf.Atom("cancel")
	atomStream       = etf.Atom("stream")
	atomReg          = etf.Atom("reg")
	atomUnreg        = etf.Atom("unreg")
	atomFind         = etf.Atom("find")
	atomAll          = etf.Atom("all")
	atomInfinity     = etf.Atom("infinity")
	atomBadRequest   = etf.Atom("bad_request")
	atomTimeout      = etf.Atom("timeout")
	atomWindow       = etf.Atom("window")

	atomHornbeamStream = etf.Atom("hornbeam_stream")
	atomStreamCredit   = etf.Atom("hornbeam_stream_credit")
	atomStreamClose    = etf.Atom("hornbeam_stream_close")
	atomChunk          = etf.Atom("chunk")
	atomDone           = etf.Atom("done")
)

// callOpts are the options of an execute or stream request's optional Opts map.
type callOpts struct {
	timeout time.Duration // 0: none
	window  int
}

// callRequest reads {Op, AppPath, Action, Args, Kwargs} or {Op, AppPath, Action, Args, Kwargs, Opts}.
func callRequest(t etf.Tuple) (hooks.Call, callOpts, bool) {
	opts := callOpts{window: hooks.DefaultWindow}
	appPath, ok1 := etf.Text(t[1])
	action, ok2 := etf.Text(t[2])
	args, ok3 := etf.Elems(t[3])
	kwargs, ok4 := t[4].(etf.Map)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return hooks.Call{}, opts, false
	}
	if len(t) == 6 {
		m, ok := t[5].(etf.Map)
		if !ok {
			return hooks.Call{}, opts, false
		}
		for _, p := range m {
			v, ok := etf.Int(p.Value)
			switch {
			case p.Key == atomTimeout && ok && v > 0:
				opts.timeout = time.Duration(v) * time.Millisecond
			case p.Key == atomWindow && ok && v > 0:
				opts.window = v
			case p.Key == atomTimeout || p.Key == atomWindow:
				return hooks.Call{}, opts, false
			}
		}
	}
	return hooks.Call{AppPath: appPath, Action: action, Args: args, Kwargs: kwargs}, opts, true
}

// infoTerm renders a hook's Info as #{app_path => AppPath, kind => Kind}.
func infoTerm(i hooks.Info) etf.Map {
	return etf.Map{
		{Key: etf.Atom("app_path"), Value: []byte(i.AppPath)},
		{Key: etf.Atom("kind"), Value: etf.Atom(i.Kind)},
	}
}

// badRequest is the reply to a request the protocol does not know.
func badRequest(req etf.Term) etf.Tuple {
	return errorTerm(atomBadRequest, req)
}
