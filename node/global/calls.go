package global

import (
	"github.com/hornbeam-go/hornbeam/etf"
)

// call is a gen_server call the server made to another node; done gets the reply, or ok false when the node
// went down first.
type call struct {
	node etf.Atom
	done func(reply etf.Term, ok bool)
}

// callName makes a gen_server call from the server's pid from to name on node, which must be connected.
func (s *Server) callName(from etf.Pid, name, node etf.Atom, req etf.Term, done func(etf.Term, bool)) {
	ref := s.env.MakeRef()
	s.calls[ref] = &call{node: node, done: done}
	s.env.SendName(from, name, node, etf.Tuple{atomGenCall, etf.Tuple{from, ref}, req})
}

func (s *Server) callReply(ref etf.Ref, c *call, reply etf.Term) {
	delete(s.calls, ref)
	c.done(reply, true)
}

// callsDown ends the calls to node, which went down.
func (s *Server) callsDown(node etf.Atom) {
	for ref, c := range s.calls {
		if c.node == node {
			delete(s.calls, ref)
			c.done(nil, false)
		}
	}
}

// nodeReply is one node's answer to a multicall.
type nodeReply struct {
	node  etf.Atom
	reply etf.Term
}

// multicall calls global_name_server on every node of nodes, as gen_server:multi_call does: this node's is
// served at once, a node that is not connected or goes down gives no reply. done runs later with the replies,
// never within the call.
func (s *Server) multicall(from etf.Pid, nodes []etf.Atom, req etf.Term, done func([]nodeReply)) {
	var replies []nodeReply
	left := 0
	finish := func() {
		if left == 0 && done != nil {
			d := done
			done = nil
			s.later(func() { d(replies) })
		}
	}
	for _, n := range nodes {
		switch {
		case n == s.me:
			replies = append(replies, nodeReply{n, s.call(from, req)})
		case s.up[n]:
			left++
			s.callName(from, Name, n, req, func(r etf.Term, ok bool) {
				left--
				if ok {
					replies = append(replies, nodeReply{n, r})
				}
				finish()
			})
		}
	}
	finish()
}

// setLockOn sets the lock id for from on nodes (set_lock_on_nodes): true when every node that answered set it;
// otherwise the nodes that did are released. done runs later.
func (s *Server) setLockOn(from etf.Pid, id etf.Term, nodes []etf.Atom, done func(bool)) {
	if len(nodes) == 0 {
		s.later(func() { done(true) })
		return
	}
	if len(nodes) > 1 && contains(nodes, s.me) && !s.canSetLock(id) {
		s.later(func() { done(false) })
		return
	}
	s.multicall(from, nodes, etf.Tuple{etf.Atom("set_lock"), id}, func(replies []nodeReply) {
		var set []etf.Atom
		all := true
		for _, r := range replies {
			if r.reply == true {
				set = append(set, r.node)
			} else {
				all = false
			}
		}
		if !all && len(replies) > 1 {
			s.delLockOn(from, id, set, nil)
		}
		done(all)
	})
}

// delLockOn releases from's hold of id on nodes; done, when not nil, runs later.
func (s *Server) delLockOn(from etf.Pid, id etf.Term, nodes []etf.Atom, done func()) {
	s.multicall(from, nodes, etf.Tuple{etf.Atom("del_lock"), id}, func([]nodeReply) {
		if done != nil {
			done()
		}
	})
}

// deleteGlobalLock releases id on nodes, the boss last.
func (s *Server) deleteGlobalLock(from etf.Pid, id etf.Term, nodes []etf.Atom) {
	boss := theBoss(nodes)
	s.delLockOn(from, id, without(nodes, []etf.Atom{boss}), func() {
		s.delLockOn(from, id, []etf.Atom{boss}, nil)
	})
}

func contains(nodes []etf.Atom, n etf.Atom) bool {
	for _, m := range nodes {
		if m == n {
			return true
		}
	}
	return false
}
