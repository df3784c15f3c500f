package global

import (
	"github.com/hornbeam-go/hornbeam/etf"
)

// resolver compares a connecting node's names with ours (OTP's resolver process). Where both sides hold a
// name for different pids, the node with the smaller name resolves the conflict: it calls the method of the
// pid it holds, global:resolve_it(Method, Name, TheirPid, OurPid) by rpc on that pid's node, which returns the
// pid to keep or none.
type resolver struct {
	tag    etf.Term
	killed bool // the connect was cancelled: the result is dropped
}

// conflict is a name both sides hold for different pids.
type conflict struct {
	nm, method, ourMethod etf.Term
	pid, ours             etf.Pid
}

// startResolver resolves node's names against ours and reports through exchangeOps.
func (s *Server) startResolver(node etf.Atom, r *resolver, names etf.Term) {
	list, _ := etf.Elems(names)
	var ops, res []etf.Term
	var conflicts []conflict
	for _, e := range list {
		t, ok := e.(etf.Tuple)
		if !ok || len(t) != 3 {
			continue
		}
		pid, ok := t[1].(etf.Pid)
		if !ok {
			continue
		}
		key, err := termKey(t[0])
		if err != nil {
			continue
		}
		n := s.names[key]
		switch {
		case n == nil:
			ops = append(ops, insertOp(t[0], pid, t[2]))
		case n.pid == pid:
		case s.me < node:
			conflicts = append(conflicts, conflict{nm: t[0], method: t[2], pid: pid, ours: n.pid, ourMethod: n.method})
		}
	}
	left := len(conflicts)
	finish := func() {
		if left == 0 && !r.killed {
			s.exchangeOps(node, r.tag, ops, res)
		}
	}
	for _, c := range conflicts {
		s.resolveIt(c, func(winner etf.Term) {
			switch {
			case winner == c.pid:
				ops = append(ops, insertOp(c.nm, c.pid, c.method))
			case winner == c.ours:
				res = append(res, insertOp(c.nm, c.ours, c.ourMethod))
			default:
				if t, ok := winner.(etf.Tuple); ok && len(t) == 2 && t[0] == etf.Atom("badrpc") {
					s.log.Info("global: badrpc resolving a name conflict", "name", brief(c.nm), "reason", brief(t[1]))
					ops = append(ops, insertOp(c.nm, c.pid, c.method))
					break
				}
				del := etf.Tuple{atomDelete, c.nm}
				ops = append(ops, del)
				res = append(res, del)
			}
			left--
			finish()
		})
	}
	if left == 0 {
		s.later(finish)
	}
}

func insertOp(nm etf.Term, pid etf.Pid, method etf.Term) etf.Tuple {
	return etf.Tuple{atomInsert, etf.Tuple{nm, pid, method}}
}

// resolveIt runs the conflict's method on the node of our pid: by rpc on another node; here, one of the global
// module's three resolve funs, anything else deleting the name.
func (s *Server) resolveIt(c conflict, done func(etf.Term)) {
	node := c.ours.Node
	if node != s.me {
		if !s.up[node] {
			s.later(func() { done(etf.Tuple{etf.Atom("badrpc"), etf.Atom("nodedown")}) })
			return
		}
		args := etf.List{c.ourMethod, c.nm, c.pid, c.ours}
		req := etf.Tuple{etf.Atom("call"), atomGlobal, etf.Atom("resolve_it"), args, etf.Atom("user")}
		s.callName(s.cfg.Server, etf.Atom("rex"), node, req, func(r etf.Term, ok bool) {
			if !ok {
				r = etf.Tuple{etf.Atom("badrpc"), etf.Atom("nodedown")}
			}
			done(r)
		})
		return
	}
	low, high := c.ours, c.pid
	if c.pid.Node < c.ours.Node {
		low, high = c.pid, c.ours
	}
	var winner etf.Term = atomUndefined
	if f, ok := c.ourMethod.(etf.Export); ok && f.Module == atomGlobal && f.Arity == 3 {
		switch f.Function {
		case "random_exit_name":
			s.log.Info("global: name conflict, terminating", "name", brief(c.nm), "pid", high)
			s.env.Exit(s.cfg.Server, high, etf.Atom("kill"))
			winner = low
		case "random_notify_name":
			s.env.Send(s.cfg.Server, high, etf.Tuple{etf.Atom("global_name_conflict"), c.nm})
			winner = low
		case "notify_all_name":
			s.env.Send(s.cfg.Server, c.pid, etf.Tuple{etf.Atom("global_name_conflict"), c.nm, c.ours})
			s.env.Send(s.cfg.Server, c.ours, etf.Tuple{etf.Atom("global_name_conflict"), c.nm, c.pid})
			winner = etf.Atom("none")
		}
	}
	s.later(func() { done(winner) })
}
