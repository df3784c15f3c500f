package node

import (
	"context"

	"github.com/ergo-services/ergo/lib"
	ergonode "github.com/ergo-services/ergo/node"
	"github.com/hornbeam-go/hornbeam/node/internal/handshake"
)

// distProto is the Erlang distribution protocol, plugged into ergo as node.Options.Proto. ergo hands each
// handshaked connection here (see handshake.Acceptor for the ones peers open).
type distProto struct {
	n *Node
}

// Init makes the connection for a completed handshake; its goroutines start in Serve.
func (p *distProto) Init(_ context.Context, nc lib.NetReadWriter, _ string, d ergonode.HandshakeDetails) (ergonode.ConnectionInterface, error) {
	return newConn(p.n, handshake.ServedConn(nc, d), d), nil
}

// Serve runs the connection until the link fails or the node stops.
func (p *distProto) Serve(ci ergonode.ConnectionInterface, router ergonode.CoreRouter) {
	c := ci.(*conn)
	<-p.n.ready
	c.serve(router)
}

// Terminate stops the connection; Serve has returned by then.
func (p *distProto) Terminate(ci ergonode.ConnectionInterface) {
	ci.(*conn).stop()
}
