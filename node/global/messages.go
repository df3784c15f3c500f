package global

import (
	"github.com/hornbeam-go/hornbeam/etf"
)

// handleCall answers a gen_server call to global_name_server from another node.
func (s *Server) handleCall(from, req etf.Term) {
	f, ok := from.(etf.Tuple)
	var pid etf.Pid
	if ok && len(f) == 2 {
		pid, ok = f[0].(etf.Pid)
	}
	if !ok {
		s.log.Warn("global: dropped a call with a malformed From", "from", brief(from))
		return
	}
	if t, ok := req.(etf.Tuple); ok && len(t) == 2 && t[0] == etf.Atom("sync") {
		nodes, ok := etf.Elems(t[1])
		if !ok {
			s.env.Reply(from, badRequest(req))
			return
		}
		s.startSync(nodeList(nodes), func() { s.env.Reply(from, atomOK) })
		return
	}
	s.env.Reply(from, s.call(pid, req))
}

// call serves a call from pid, on this node (the locker's and registrar's own) or another, and returns the
// reply. Calls only a local process can make, and unknown ones, get {error, {bad_request, Req}}.
func (s *Server) call(pid etf.Pid, req etf.Term) etf.Term {
	switch req {
	case etf.Atom("get_known"):
		return s.knownList(0)
	case etf.Atom("get_synced"):
		out := etf.List{}
		for n := range s.synced {
			out = append(out, n)
		}
		return out
	case etf.Atom("get_protocol_version"):
		return int64(Version)
	case etf.Atom("get_names_ext"):
		return s.namesExtList()
	}
	t, ok := req.(etf.Tuple)
	if !ok || len(t) < 2 {
		return badRequest(req)
	}
	switch {
	case t[0] == etf.Atom("set_lock") && len(t) == 2:
		if set, ok := s.setLock(t[1], pid); ok {
			return set
		}
	case t[0] == etf.Atom("del_lock") && len(t) == 2:
		if s.delLock(t[1], pid) {
			return true
		}
	case t[0] == etf.Atom("register") && len(t) == 4:
		if p, ok := t[2].(etf.Pid); ok {
			s.insName(t[1], p, t[3], pid, nil)
			return atomYes
		}
	case t[0] == etf.Atom("unregister") && len(t) == 2:
		s.deleteName(t[1])
		return atomOK
	case t[0] == etf.Atom("register_ext") && len(t) == 5:
		p, ok1 := t[2].(etf.Pid)
		reg, ok2 := t[4].(etf.Atom)
		if ok1 && ok2 {
			s.insNameExt(t[1], p, t[3], reg, pid, nil)
			return atomYes
		}
	}
	return badRequest(req)
}

// handleCast takes a gen_server cast to global_name_server from another node.
func (s *Server) handleCast(req etf.Term) {
	t, ok := req.(etf.Tuple)
	if !ok || len(t) == 0 {
		s.unexpected("cast", req)
		return
	}
	switch {
	case t[0] == etf.Atom("init_connect") && len(t) == 4:
		node, ok := t[2].(etf.Atom)
		v, ok2 := t[1].(etf.Tuple)
		if !ok || !ok2 || len(v) < 2 {
			s.log.Info("global: illegal protocol version", "node", brief(t[2]), "version", brief(t[1]))
			return
		}
		s.initConnect(node, v[0], v[1], t[3])
	case t[0] == etf.Atom("exchange") && len(t) == 5:
		node, ok := t[1].(etf.Atom)
		if !ok {
			s.unexpected("cast", req)
			return
		}
		if !tagEq(s.myTag(node), t[4]) {
			s.cancelLocker(node, t[4], nil)
			return
		}
		s.exchange(node, t[2])
	case t[0] == etf.Atom("resolved") && len(t) == 7:
		node, ok1 := t[1].(etf.Atom)
		his, ok2 := etf.Elems(t[2])
		known, ok3 := etf.Elems(t[3])
		ext, ok4 := etf.Elems(t[5])
		if !ok1 || !ok2 || !ok3 || !ok4 {
			s.unexpected("cast", req)
			return
		}
		if !tagEq(s.myTag(node), t[6]) {
			s.cancelLocker(node, t[6], nil)
			return
		}
		ss := s.sess(node)
		if ss.opsSet {
			s.resolved(node, his, known, ext)
		} else {
			ss.resolved = &resolvedAt{hisResolved: his, hisKnown: known, namesExt: ext}
		}
	case t[0] == etf.Atom("new_nodes") && len(t) == 6:
		node, ok1 := t[1].(etf.Atom)
		ops, ok2 := etf.Elems(t[2])
		ext, ok3 := etf.Elems(t[3])
		nodes, ok4 := etf.Elems(t[4])
		if !ok1 || !ok2 || !ok3 || !ok4 {
			s.unexpected("cast", req)
			return
		}
		s.newNodes(node, ops, ext, nodes, t[5])
	case t[0] == etf.Atom("in_sync") && len(t) == 3:
		node, ok := t[1].(etf.Atom)
		if !ok {
			s.unexpected("cast", req)
			return
		}
		s.inSync(node)
	case t[0] == etf.Atom("lock_set") && (len(t) == 4 || len(t) == 5):
		pid, ok1 := t[1].(etf.Pid)
		set, ok2 := t[2].(bool)
		if !ok1 || !ok2 {
			s.unexpected("cast", req)
			return
		}
		m := lockSet{pid: pid, set: set}
		if len(t) == 5 {
			if !tagEq(s.myTag(pid.Node), t[4]) {
				return
			}
			m.tag, m.tagged = t[4], true
		}
		s.toLocker(m)
	case t[0] == etf.Atom("async_del_name") || t[0] == etf.Atom("async_del_lock"):
		// Sent by R13B and older; the monitor's DOWN does the work.
	default:
		s.unexpected("cast", req)
	}
}

// handleInfo takes a plain message to global_name_server.
func (s *Server) handleInfo(msg etf.Term) {
	t, ok := msg.(etf.Tuple)
	if !ok || len(t) == 0 {
		s.unexpected("message", msg)
		return
	}
	switch {
	case t[0] == etf.Atom("lost_connection") && len(t) == 5:
		s.lostConnection(t)
	case t[0] == etf.Atom("remove_connection") && len(t) == 2:
		if node, ok := t[1].(etf.Atom); ok {
			s.removeConnection(node)
		}
	case t[0] == etf.Atom("cancel_connect") && len(t) == 3:
		node, ok := t[1].(etf.Atom)
		if !ok || !tagEq(s.myTag(node), t[2]) {
			return
		}
		s.cancelLocker(node, t[2], nil)
		s.resetNodeState(node)
		delete(s.pending, node)
		s.restartConnect(node, t[2])
	case t[0] == etf.Atom("init_connect_ack") && len(t) == 4:
		node, ok := t[1].(etf.Atom)
		if !ok {
			return
		}
		my := s.myTag(node)
		if tagEq(my, t[2]) && tagEq(s.hisTag(node), t[3]) {
			return
		}
		s.sendCancelConnect(node, t[3])
		s.restartConnect(node, my)
	case t[0] == etf.Atom("prepare_shutdown") && len(t) == 3:
		s.pop = false
		s.cfg.NoConnect = true
		if from, ok := t[1].(etf.Pid); ok {
			s.env.Send(s.cfg.Server, from, etf.Tuple{t[2], atomOK})
		}
	case t[0] == etf.Atom("whereis") && len(t) == 3:
		s.env.Reply(t[2], s.where(t[1]))
	default:
		s.unexpected("message", msg)
	}
}

// unexpected logs a message the server does not take, as OTP's does, bounded for the log.
func (s *Server) unexpected(kind string, msg etf.Term) {
	s.log.Warn("global: global_name_server received an unexpected "+kind, "message", brief(msg))
}
