package node

import (
	"fmt"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
	"github.com/hornbeam-go/hornbeam/proto"
)

// Named services: a hook exposed under a registered name (Expose), and its pg member (pg.go), answer what a
// gen_server process would. gen_server:call(Service, {Action, A1, ..., An}) or (Service, Action) runs
// execute(AppPath, Action, [A1, ..., An], #{}) on the connection's reader, as a hornbeam_hooks call does, and
// replies the handler's value itself, or {error, Reason}; a gen_server:cast runs it and drops the result; other
// messages are dropped.

// reservedNames are registered names that Expose and Options.PGScope may not take, besides those served already:
// the ones OTP's kernel registers on every node, which a peer expects to reach there.
var reservedNames = map[etf.Atom]bool{
	nameHooks: true, nameRex: true, nameNetKernel: true,
	"global_name_server": true, "global_group": true, "erl_epmd": true, "auth": true, "init": true,
	"code_server": true, "application_controller": true, "user": true, "logger": true,
}

// reservedName reports whether name is one of OTP's or this node's own registered names.
func reservedName(name etf.Atom) bool {
	return name == "" || reservedNames[name]
}

// Expose registers name on the node as the named service of appPath: gen_server:call({Name, Node}, {Action,
// A1, ..., An}) runs the hook and replies its value or {error, Reason}; sys:get_state answers #{node, app_path,
// registered}. The hook need not be registered yet; a
// call made while it is not answers {error, {not_found, AppPath}}. The name lasts as long as the node. Expose
// fails when name is empty, too long, reserved, or taken by a service, the pg scope or an ergo process.
func (n *Node) Expose(appPath, name string) error {
	if appPath == "" {
		return fmt.Errorf("node: expose %q: empty app path", name)
	}
	if len(name) > 255 || reservedName(etf.Atom(name)) || n.ergo.ProcessByName(name) != nil {
		return fmt.Errorf("node: expose %s as %q: the name is reserved or taken", appPath, name)
	}
	status := func() etf.Map {
		_, registered := n.opts.Engine.Find(appPath)
		return etf.Map{
			{Key: etf.Atom("node"), Value: etf.Atom(n.name)},
			{Key: etf.Atom("app_path"), Value: []byte(appPath)},
			{Key: etf.Atom("registered"), Value: registered},
		}
	}
	svc := dist.NameService{Lasting: true, Message: func(c *dist.Conn, _ etf.Pid, msg etf.Term) (bool, error) {
		if !n.sysMessage(c, msg, etf.Atom(name), etf.Atom(name), status) {
			n.serveService(c, appPath, msg)
		}
		return true, nil
	}}
	if !n.served.ServeNewName(etf.Atom(name), svc) {
		return fmt.Errorf("node: expose %s as %q: the name is taken", appPath, name)
	}
	return nil
}

// ExposeHandler registers h under appPath with the node's engine and exposes it as name (Expose); when name is
// taken or h is nil, h is not registered. Should the engine then refuse h, the name stays exposed and answers
// {error, {not_found, AppPath}}.
func (n *Node) ExposeHandler(appPath, name string, h hooks.Handler, opts ...hooks.RegisterOption) error {
	if h == nil {
		return fmt.Errorf("node: expose %s as %q: nil handler", appPath, name)
	}
	if err := n.Expose(appPath, name); err != nil {
		return err
	}
	return n.opts.Engine.Register(appPath, h, opts...)
}

// serveService answers msg, sent to the service of appPath on c's peer: a $gen_call gets its reply and a
// $gen_cast runs; both run on the reader, under the watchdog, as hornbeam_hooks calls do.
func (n *Node) serveService(c *dist.Conn, appPath string, msg etf.Term) {
	if from, req, ok := dist.GenCall(msg); ok {
		c.RunCall(func(flush bool) {
			reply, _ := n.runService(c, appPath, req)
			if err := c.ReplyFlush(from, reply, flush); err != nil {
				n.log.Debug("node: reply not sent", "peer", c.Peer(), "error", err)
			}
		})
		return
	}
	if req, ok := dist.GenCast(msg); ok {
		c.RunCall(func(bool) {
			if reply, failed := n.runService(c, appPath, req); failed {
				kind := hooks.FromReason(reply.(etf.Tuple)[1]).Kind
				n.log.Warn("node: a cast to a service failed", "peer", c.Peer(), "app_path", appPath, "kind", kind)
			}
		})
		return
	}
	n.log.Debug("node: dropped a message to a service", "peer", c.Peer(), "app_path", appPath)
}

// runService runs the request of a call or cast to the service of appPath through the protocol's execute and
// returns the reply: the hook's value, or {error, Reason} with failed set.
func (n *Node) runService(c *dist.Conn, appPath string, req etf.Term) (reply etf.Term, failed bool) {
	call, err := serviceCall(appPath, req)
	if err != nil {
		return hooks.Reply(nil, err), true
	}
	reply, _ = n.srv.p.Serve(c.InlineContext(), proto.Caller{}, proto.Request{Op: proto.AtomExecute, Call: call, Term: req})
	if t, ok := reply.(etf.Tuple); ok && len(t) == 2 && t[0] == proto.AtomOK {
		return t[1], false
	}
	return reply, true
}

// serviceCall reads a service request, Action or {Action, A1, ..., An} with Action an atom or a binary, into
// the hook call it stands for.
func serviceCall(appPath string, req etf.Term) (hooks.Call, error) {
	call := hooks.Call{AppPath: appPath}
	var action etf.Term = req
	if t, ok := req.(etf.Tuple); ok {
		if len(t) == 0 {
			return call, hooks.BadArg("a service request is Action or {Action, Arg...}, not {}")
		}
		action, call.Args = t[0], t[1:]
	}
	switch a := action.(type) {
	case etf.Atom:
		call.Action = string(a)
	case []byte:
		call.Action = string(a)
	default:
		return call, hooks.BadArg("a service request is Action or {Action, Arg...} with Action an atom or a binary")
	}
	if call.Args == nil {
		call.Args = []etf.Term{}
	}
	return call, nil
}
