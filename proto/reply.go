package proto

import (
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// ErrorTerm builds {error, {Kind, Detail}}.
func ErrorTerm(kind etf.Atom, detail etf.Term) etf.Tuple {
	return etf.Tuple{AtomError, etf.Tuple{kind, detail}}
}

// BadRequest is the reply to a request the protocol does not know: {error, {bad_request, Req}}.
func BadRequest(req etf.Term) etf.Tuple {
	return ErrorTerm(AtomBadRequest, req)
}

// Badterm is the reply to a message that does not decode or encode: {error, {badterm, Detail}}.
func Badterm(err error) etf.Tuple {
	return ErrorTerm(AtomBadterm, []byte(err.Error()))
}

// InfoTerm renders a hook's Info as #{app_path => AppPath, kind => Kind}.
func InfoTerm(i hooks.Info) etf.Map {
	return etf.Map{
		{Key: etf.Atom("app_path"), Value: []byte(i.AppPath)},
		{Key: etf.Atom("kind"), Value: etf.Atom(i.Kind)},
	}
}

// HandlerRequest builds {Op, AppPath, Action, Args, Kwargs, Opts}, the request an Erlang handler's server
// gets for call.
func HandlerRequest(op etf.Atom, call hooks.Call, opts etf.Map) etf.Tuple {
	args := etf.List(call.Args)
	if args == nil {
		args = etf.List{}
	}
	kwargs := call.Kwargs
	if kwargs == nil {
		kwargs = etf.Map{}
	}
	return etf.Tuple{op, []byte(call.AppPath), []byte(call.Action), args, kwargs, opts}
}
