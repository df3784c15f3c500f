package dist

import (
	"errors"
	"fmt"

	"github.com/ergo-services/ergo/gen"
	"github.com/ergo-services/ergo/lib"
	ergonode "github.com/ergo-services/ergo/node"
	"github.com/hornbeam-go/hornbeam/etf"
)

// errProxy answers every ergo proxy feature: the Erlang distribution protocol has none.
var errProxy = fmt.Errorf("node: proxy connections are not supported: %w", lib.ErrUnsupported)

// The methods below implement ergo's node.ConnectionInterface: ergo's core calls them to reach processes on
// the peer. Messages from ergo processes go through fromErgo.

// Send sends message to the remote pid to.
func (c *Conn) Send(_ gen.Process, to etf.Pid, message etf.Term) error {
	return c.SendTo(to, fromErgo(message))
}

// SendReg sends message to the process registered as to.Name on the peer.
func (c *Conn) SendReg(from gen.Process, to gen.ProcessID, message etf.Term) error {
	return c.send(etf.Tuple{opRegSend, from.Self(), etf.Atom(""), etf.Atom(to.Name)}, fromErgo(message), true)
}

// SendAlias sends message to a process alias on the peer.
func (c *Conn) SendAlias(from gen.Process, to etf.Alias, message etf.Term) error {
	return c.send(etf.Tuple{opAliasSend, from.Self(), etf.Ref(to)}, fromErgo(message), true)
}

// Link links the local pid to the remote one.
func (c *Conn) Link(local etf.Pid, remote etf.Pid) error {
	return c.send(etf.Tuple{opLink, local, remote}, nil, false)
}

// Unlink removes the link between local and remote.
func (c *Conn) Unlink(local etf.Pid, remote etf.Pid) error {
	return c.send(etf.Tuple{opUnlink, local, remote}, nil, false)
}

// LinkExit tells the linked remote process to that terminated exited with reason.
func (c *Conn) LinkExit(to etf.Pid, terminated etf.Pid, reason string) error {
	return c.send(etf.Tuple{opExit, terminated, to, etf.Atom(reason)}, nil, false)
}

// Monitor makes local monitor the remote pid under ref.
func (c *Conn) Monitor(local etf.Pid, remote etf.Pid, ref etf.Ref) error {
	return c.send(etf.Tuple{opMonitorP, local, remote, ref}, nil, false)
}

// Demonitor removes the monitor ref that local holds on remote.
func (c *Conn) Demonitor(local etf.Pid, remote etf.Pid, ref etf.Ref) error {
	return c.send(etf.Tuple{opDemonitorP, local, remote, ref}, nil, false)
}

// MonitorExit tells the remote monitoring process to that terminated exited with reason.
func (c *Conn) MonitorExit(to etf.Pid, terminated etf.Pid, reason string, ref etf.Ref) error {
	return c.send(etf.Tuple{opMonitorPExit, terminated, to, ref, etf.Atom(reason)}, nil, false)
}

// MonitorReg makes local monitor the process registered on the peer as remote.Name.
func (c *Conn) MonitorReg(local etf.Pid, remote gen.ProcessID, ref etf.Ref) error {
	return c.send(etf.Tuple{opMonitorP, local, etf.Atom(remote.Name), ref}, nil, false)
}

// DemonitorReg removes the monitor ref on a registered remote name.
func (c *Conn) DemonitorReg(local etf.Pid, remote gen.ProcessID, ref etf.Ref) error {
	return c.send(etf.Tuple{opDemonitorP, local, etf.Atom(remote.Name), ref}, nil, false)
}

// MonitorExitReg tells the remote monitoring process to that the local name terminated exited with reason.
func (c *Conn) MonitorExitReg(to etf.Pid, terminated gen.ProcessID, reason string, ref etf.Ref) error {
	return c.send(etf.Tuple{opMonitorPExit, etf.Atom(terminated.Name), to, ref, etf.Atom(reason)}, nil, false)
}

// SpawnRequest asks the peer to spawn behaviorName:Function(args...) for request.From.
func (c *Conn) SpawnRequest(_ string, behaviorName string, request gen.RemoteSpawnRequest, args ...etf.Term) error {
	opts := etf.List{}
	if request.Options.Name != "" {
		opts = append(opts, etf.Tuple{etf.Atom("name"), etf.Atom(request.Options.Name)})
	}
	mfa := etf.Tuple{etf.Atom(behaviorName), etf.Atom(request.Options.Function), int64(len(args))}
	return c.send(etf.Tuple{opSpawnRequest, request.Ref, request.From, request.From, mfa, opts}, fromErgo(etf.List(args)), true)
}

// SpawnReply answers a spawn request from the peer with the spawned pid.
func (c *Conn) SpawnReply(to etf.Pid, ref etf.Ref, spawned etf.Pid) error {
	return c.send(etf.Tuple{opSpawnReply, ref, to, int64(0), spawned}, nil, false)
}

// SpawnReplyError answers a spawn request from the peer with an error atom Erlang's spawn_request knows.
func (c *Conn) SpawnReplyError(to etf.Pid, ref etf.Ref, err error) error {
	reason := etf.Atom("badarg")
	switch {
	case errors.Is(err, lib.ErrTaken):
		reason = "system_limit"
	case errors.Is(err, lib.ErrBehaviorUnknown), errors.Is(err, lib.ErrBehaviorGroupUnknown):
		reason = "notsup"
	}
	return c.send(etf.Tuple{opSpawnReply, ref, to, int64(0), reason}, nil, false)
}

// ProxyConnectRequest is not supported.
func (c *Conn) ProxyConnectRequest(ergonode.ProxyConnectRequest) error { return errProxy }

// ProxyConnectReply is not supported.
func (c *Conn) ProxyConnectReply(ergonode.ProxyConnectReply) error { return errProxy }

// ProxyConnectCancel is not supported.
func (c *Conn) ProxyConnectCancel(ergonode.ProxyConnectCancel) error { return errProxy }

// ProxyDisconnect is not supported.
func (c *Conn) ProxyDisconnect(ergonode.ProxyDisconnect) error { return errProxy }

// ProxyRegisterSession is not supported.
func (c *Conn) ProxyRegisterSession(ergonode.ProxySession) error { return errProxy }

// ProxyUnregisterSession is not supported.
func (c *Conn) ProxyUnregisterSession(string) error { return errProxy }

// ProxyPacket is not supported.
func (c *Conn) ProxyPacket(*lib.Buffer) error { return errProxy }

// Creation returns the peer's creation.
func (c *Conn) Creation() uint32 { return c.creation }

// Stats returns the connection's byte and message counters.
func (c *Conn) Stats() ergonode.NetworkStats {
	return ergonode.NetworkStats{
		NodeName:    c.peer,
		BytesIn:     c.bytesIn.Load(),
		BytesOut:    c.bytesOut.Load(),
		MessagesIn:  c.msgsIn.Load(),
		MessagesOut: c.msgsOut.Load(),
	}
}
