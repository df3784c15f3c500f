package global

import (
	"github.com/hornbeam-go/hornbeam/etf"
)

// name is a registered name (OTP's global_names).
type name struct {
	name   etf.Term
	pid    etf.Pid
	method etf.Term
	ref    etf.Ref
}

// nameExt is a name registered by a C node (OTP's global_names_ext).
type nameExt struct {
	name    etf.Term
	pid     etf.Pid
	regNode etf.Atom
}

// lock is a lock on a resource, held by the processes in holders for one requester id (OTP's global_locks).
type lock struct {
	res, req etf.Term
	holders  []holder
}

type holder struct {
	pid etf.Pid
	ref etf.Ref
}

// mon is a monitor on a process that holds a lock (lockKey) or a name (nameKey).
type mon struct {
	pid     etf.Pid
	lockKey string
	nameKey string
}

var globalKey = mustKey(atomGlobal)

func mustKey(t etf.Term) string {
	k, err := termKey(t)
	if err != nil {
		panic(err)
	}
	return k
}

// monitor watches pid for a lock or a name; the server's own pids need no monitor, they live as long as it.
func (s *Server) monitor(pid etf.Pid, m *mon) etf.Ref {
	var ref etf.Ref
	if s.Owns(pid) {
		ref = s.env.MakeRef()
	} else {
		ref = s.env.Monitor(pid)
	}
	m.pid = pid
	s.mons[ref] = m
	return ref
}

func (s *Server) demonitor(ref etf.Ref) {
	m := s.mons[ref]
	if m == nil {
		return
	}
	delete(s.mons, ref)
	if !s.Owns(m.pid) {
		s.env.Demonitor(m.pid, ref)
	}
}

// down removes what the process monitored under ref held.
func (s *Server) down(ref etf.Ref) {
	m := s.mons[ref]
	if m == nil {
		return
	}
	delete(s.mons, ref)
	if m.lockKey != "" {
		if l := s.locks[m.lockKey]; l != nil {
			s.removeLock(m.lockKey, l, m.pid, true)
		}
	}
	if m.nameKey != "" {
		if n := s.names[m.nameKey]; n != nil && n.ref == ref {
			s.deleteNameKey(m.nameKey)
		}
	}
}

// lockID splits a lock id {ResourceId, LockRequesterId}.
func lockID(id etf.Term) (res, req etf.Term, key string, ok bool) {
	t, ok := id.(etf.Tuple)
	if !ok || len(t) != 2 {
		return nil, nil, "", false
	}
	key, err := termKey(t[0])
	if err != nil {
		return nil, nil, "", false
	}
	return t[0], t[1], key, true
}

// canSetLock reports whether id can be locked here: the resource is free or locked for the same requester.
func (s *Server) canSetLock(id etf.Term) bool {
	_, req, key, ok := lockID(id)
	if !ok {
		return false
	}
	l := s.locks[key]
	return l == nil || etf.Equal(l.req, req)
}

// setLock locks id for pid (handle_set_lock); ok is false for a malformed id.
func (s *Server) setLock(id etf.Term, pid etf.Pid) (set bool, ok bool) {
	res, req, key, ok := lockID(id)
	if !ok {
		return false, false
	}
	l := s.locks[key]
	if l == nil {
		l = &lock{res: res, req: req}
		s.locks[key] = l
	} else if !etf.Equal(l.req, req) {
		return false, true
	}
	for _, h := range l.holders {
		if h.pid == pid {
			return true, true
		}
	}
	ref := s.monitor(pid, &mon{lockKey: key})
	l.holders = append(l.holders, holder{pid: pid, ref: ref})
	return true, true
}

// delLock releases pid's hold of id (handle_del_lock); false for a malformed id.
func (s *Server) delLock(id etf.Term, pid etf.Pid) bool {
	_, req, key, ok := lockID(id)
	if !ok {
		return false
	}
	if l := s.locks[key]; l != nil && etf.Equal(l.req, req) {
		s.removeLock(key, l, pid, false)
	}
	return true
}

// removeLock drops pid from the holders of l; the lock goes with its last holder. down says pid ended.
func (s *Server) removeLock(key string, l *lock, pid etf.Pid, down bool) {
	for i, h := range l.holders {
		if h.pid != pid {
			continue
		}
		s.demonitor(h.ref)
		l.holders = append(l.holders[:i:i], l.holders[i+1:]...)
		if len(l.holders) == 0 {
			delete(s.locks, key)
			if key == globalKey {
				s.globalLockDown = down
			}
		}
		return
	}
}

// globalLockSet reports whether the resource global is locked here.
func (s *Server) globalLockSet() bool {
	return s.locks[globalKey] != nil
}

// insName registers nm for pid (ins_name); from is the pid that holds the global lock for the call, or the
// node whose connect brought the name, with that connect's extra info.
func (s *Server) insName(nm etf.Term, pid etf.Pid, method etf.Term, from etf.Term, extra etf.Term) {
	key, err := termKey(nm)
	if err != nil {
		s.log.Warn("global: dropped a name that does not encode", "error", err)
		return
	}
	s.deleteNameKey(key)
	s.insertName(key, nm, pid, method, from, extra)
}

// insNameExt registers nm for pid of a C node registered through regNode.
func (s *Server) insNameExt(nm etf.Term, pid etf.Pid, method etf.Term, regNode etf.Atom, from, extra etf.Term) {
	key, err := termKey(nm)
	if err != nil {
		s.log.Warn("global: dropped a name that does not encode", "error", err)
		return
	}
	s.deleteNameKey(key)
	s.namesExt[key] = &nameExt{name: nm, pid: pid, regNode: regNode}
	s.insertName(key, nm, pid, method, from, extra)
}

func (s *Server) insertName(key string, nm etf.Term, pid etf.Pid, method etf.Term, from etf.Term, extra etf.Term) {
	ref := s.monitor(pid, &mon{nameKey: key})
	s.names[key] = &name{name: nm, pid: pid, method: method, ref: ref}
	s.pidNames[pid] = append(s.pidNames[pid], key)
	if !s.lockStillSet(from, extra) {
		// The lock under which the name came has gone (its holder's node went down and came back): the name
		// may not have reached every node, so it is dropped here too.
		s.deleteNameKey(key)
	}
}

// lockStillSet reports whether the global lock that from took is still held.
func (s *Server) lockStillSet(from etf.Term, extra etf.Term) bool {
	l := s.locks[globalKey]
	if l == nil {
		return !s.globalLockDown
	}
	switch f := from.(type) {
	case etf.Pid:
		for _, h := range l.holders {
			if h.pid == f {
				return true
			}
		}
		return false
	case etf.Atom:
		id, ok := extraInfo(extra, atomLock).(etf.Tuple)
		return ok && len(id) == 2 && id[0] == atomGlobal && etf.Equal(l.req, id[1])
	}
	return false
}

// extraInfo looks tag up in the [{Tag, Info}] list of a connect's extra info.
func extraInfo(extra etf.Term, tag etf.Atom) etf.Term {
	l, _ := etf.Elems(extra)
	for _, e := range l {
		if t, ok := e.(etf.Tuple); ok && len(t) == 2 && t[0] == tag {
			return t[1]
		}
	}
	return nil
}

// deleteName unregisters nm.
func (s *Server) deleteName(nm etf.Term) {
	if key, err := termKey(nm); err == nil {
		s.deleteNameKey(key)
	}
}

func (s *Server) deleteNameKey(key string) {
	n := s.names[key]
	if n == nil {
		return
	}
	delete(s.names, key)
	delete(s.namesExt, key)
	s.demonitor(n.ref)
	keys := s.pidNames[n.pid]
	for i, k := range keys {
		if k == key {
			keys = append(keys[:i:i], keys[i+1:]...)
			break
		}
	}
	if len(keys) == 0 {
		delete(s.pidNames, n.pid)
	} else {
		s.pidNames[n.pid] = keys
	}
}

// where returns the pid registered as nm, or the atom undefined.
func (s *Server) where(nm etf.Term) etf.Term {
	key, err := termKey(nm)
	if err != nil {
		return atomUndefined
	}
	if n := s.names[key]; n != nil {
		return n.pid
	}
	return atomUndefined
}

// nameList is the registered names as exchange sends them: [{Name, Pid, Method}].
func (s *Server) nameList() etf.List {
	out := make(etf.List, 0, len(s.names))
	for _, n := range s.names {
		out = append(out, etf.Tuple{n.name, n.pid, n.method})
	}
	return out
}

// namesExtList is the names of C nodes: [{Name, Pid, RegNode}].
func (s *Server) namesExtList() etf.List {
	out := make(etf.List, 0, len(s.namesExt))
	for _, n := range s.namesExt {
		out = append(out, etf.Tuple{n.name, n.pid, n.regNode})
	}
	return out
}

// doOps applies a connect's operations: {insert, {Name, Pid, Method}} and {delete, Name}. An insert whose name
// and pid are among namesExt ({Name, Pid, RegNode}) registers a C node's name.
func (s *Server) doOps(ops []etf.Term, conn etf.Atom, namesExt []etf.Term, extra etf.Term) {
	var deletes []etf.Term
	for _, op := range ops {
		t, ok := op.(etf.Tuple)
		if !ok || len(t) != 2 {
			continue
		}
		if t[0] == atomDelete {
			deletes = append(deletes, t[1])
			continue
		}
		in, ok := t[1].(etf.Tuple)
		if t[0] != atomInsert || !ok || len(in) != 3 {
			continue
		}
		pid, ok := in[1].(etf.Pid)
		if !ok {
			continue
		}
		if reg, ok := extNode(namesExt, in[0], pid); ok {
			s.insNameExt(in[0], pid, in[2], reg, conn, extra)
		} else {
			s.insName(in[0], pid, in[2], conn, extra)
		}
	}
	for _, nm := range deletes {
		s.deleteName(nm)
	}
}

// extNode finds the node that registered nm for pid among namesExt.
func extNode(namesExt []etf.Term, nm etf.Term, pid etf.Pid) (etf.Atom, bool) {
	for _, e := range namesExt {
		t, ok := e.(etf.Tuple)
		if !ok || len(t) != 3 || t[1] != pid || !etf.Equal(t[0], nm) {
			continue
		}
		if reg, ok := t[2].(etf.Atom); ok {
			return reg, true
		}
	}
	return "", false
}
