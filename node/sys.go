package node

import (
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/node/internal/dist"
	"github.com/hornbeam-go/hornbeam/proto"
)

// OTP's sys module (sys:get_state/1,2, sys:get_status/1,2, and the rest) sends a served name or pid the system
// message {system, From, Request} and waits for a gen reply. sysMessage answers it for any name or pid Go code
// serves (dist.Services), so that observer, recon and a shell's sys calls get an answer instead of a timeout.

var (
	atomSystem           = etf.Atom("system")
	atomGetState         = etf.Atom("get_state")
	atomGetStatus        = etf.Atom("get_status")
	atomStatus           = etf.Atom("status")
	atomModule           = etf.Atom("module")
	atomRunning          = etf.Atom("running")
	atomHeader           = etf.Atom("header")
	atomData             = etf.Atom("data")
	atomUnknownSystemMsg = etf.Atom("unknown_system_msg")
)

// sysMessage answers msg when it is a system message sent by sys to a service of this node, and reports whether
// it was one. name is the service's registered name, self its pid (or name when it has none); state returns the
// summary map get_state answers and get_status shows, and is called on the connection's reader, so it must be
// quick. get_state and get_status are answered as a gen_server would; any other request (suspend, resume,
// replace_state, change_code, debug) with {error, {unknown_system_msg, Request}}, which sys returns or raises
// at once. Name services call it first in their Message func:
//
//	if n.sysMessage(c, msg, name, self, state) { return true, nil }
func (n *Node) sysMessage(c *dist.Conn, msg etf.Term, name etf.Atom, self etf.Term, state func() etf.Map) bool {
	t, ok := msg.(etf.Tuple)
	if !ok || len(t) != 3 || t[0] != atomSystem {
		return false
	}
	var reply etf.Term
	switch t[2] {
	case atomGetState:
		reply = state()
	case atomGetStatus:
		reply = etf.Tuple{atomStatus, self, etf.Tuple{atomModule, etf.Atom("gen_server")}, etf.List{
			etf.List{}, atomRunning, self, etf.List{},
			etf.List{
				etf.Tuple{atomHeader, etf.Charlist("Status for " + string(name) + " on " + n.name)},
				etf.Tuple{atomData, etf.List{
					etf.Tuple{etf.Charlist("Status"), atomRunning},
					etf.Tuple{etf.Charlist("Parent"), self},
					etf.Tuple{etf.Charlist("Logged events"), etf.List{}},
				}},
				etf.Tuple{atomData, etf.List{etf.Tuple{etf.Charlist("State"), state()}}},
			},
		}}
	default:
		reply = etf.Tuple{proto.AtomError, etf.Tuple{atomUnknownSystemMsg, t[2]}}
	}
	if err := c.Reply(t[1], reply); err != nil {
		c.Warn("node: sys reply not sent", "error", err)
	}
	return true
}

// status is hornbeam_hooks's state for sys: what the node serves and holds.
func (s *server) status() etf.Map {
	callers, tasks, streams := s.p.Held()
	peers := len(s.n.tr.Nodes())
	return etf.Map{
		{Key: etf.Atom("node"), Value: etf.Atom(s.n.name)},
		{Key: etf.Atom("hooks"), Value: int64(len(s.eng.All()))},
		{Key: etf.Atom("peers"), Value: int64(peers)},
		{Key: etf.Atom("async_tasks"), Value: int64(s.eng.Tasks())},
		{Key: etf.Atom("callers"), Value: int64(callers)},
		{Key: etf.Atom("held_tasks"), Value: int64(tasks)},
		{Key: etf.Atom("held_streams"), Value: int64(streams)},
	}
}
