package dist

import "github.com/hornbeam-go/hornbeam/etf"

// The control messages the node's own code sends a peer, besides SEND (Conn.SendTo) and gen_server replies
// (Conn.Reply); each is queued as Conn.SendTo is, and fails once the connection has stopped.

// SendName sends msg from the local pid from to the process registered as name on the peer (REG_SEND).
func (c *Conn) SendName(from etf.Pid, name etf.Atom, msg etf.Term) error {
	return c.send(etf.Tuple{opRegSend, from, etf.Atom(""), name}, msg, true)
}

// SendMonitor makes the local pid from monitor target, a pid or a registered name on the peer, under ref
// (MONITOR_P); its end comes back as MONITOR_P_EXIT to from's service.
func (c *Conn) SendMonitor(from etf.Pid, target etf.Term, ref etf.Ref) error {
	return c.send(etf.Tuple{opMonitorP, from, target, ref}, nil, false)
}

// SendDemonitor removes the monitor ref that the local pid from holds on target (DEMONITOR_P).
func (c *Conn) SendDemonitor(from etf.Pid, target etf.Term, ref etf.Ref) error {
	return c.send(etf.Tuple{opDemonitorP, from, target, ref}, nil, false)
}

// SendMonitorExit tells the process to on the peer, which monitored the local pid terminated under ref, that
// terminated ended with reason (MONITOR_P_EXIT).
func (c *Conn) SendMonitorExit(terminated, to etf.Pid, ref etf.Ref, reason etf.Term) error {
	return c.send(etf.Tuple{opMonitorPExit, terminated, to, ref, reason}, nil, false)
}

// SendExit tells the process to on the peer, linked to the local pid from, that from ended with reason (EXIT).
func (c *Conn) SendExit(from, to etf.Pid, reason etf.Term) error {
	return c.send(etf.Tuple{opExit, from, to, reason}, nil, false)
}

// SendExit2 sends the process to on the peer an exit signal from the local pid from, as exit/2 does (EXIT2).
func (c *Conn) SendExit2(from, to etf.Pid, reason etf.Term) error {
	return c.send(etf.Tuple{opExit2, from, to, reason}, nil, false)
}

// SendSpawnReply answers the peer's SPAWN_REQUEST req from to (SPAWN_REPLY): result is the spawned pid, with
// flags SpawnFlagLink and SpawnFlagMonitor as set up, or an error atom with flags 0.
func (c *Conn) SendSpawnReply(req etf.Ref, to etf.Pid, flags int64, result etf.Term) error {
	return c.send(etf.Tuple{opSpawnReply, req, to, flags, result}, nil, false)
}
