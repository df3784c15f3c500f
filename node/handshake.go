package node

import (
	"errors"
	"io"
	"log/slog"
	"net"

	"github.com/ergo-services/ergo/lib"
	ergonode "github.com/ergo-services/ergo/node"
	"github.com/ergo-services/ergo/proto/dist"
)

// handshake is ergo's distribution handshake with its failures logged: ergo itself only prints them as
// warnings, which this package switches off. It is version 6: OTP 25 accepts no other from a node that
// connects to it (see Node.Call), and peers that connect here may start with either.
type handshake struct {
	ergonode.HandshakeInterface
	log *slog.Logger
}

func newHandshake(log *slog.Logger) handshake {
	return handshake{HandshakeInterface: dist.CreateHandshake(dist.HandshakeOptions{Version: dist.HandshakeVersion6}), log: log}
}

// Start runs the handshake for a connection this node opened.
func (h handshake) Start(remote net.Addr, conn lib.NetReadWriter, tls bool, cookie string) (ergonode.HandshakeDetails, error) {
	d, err := h.HandshakeInterface.Start(remote, conn, tls, cookie)
	if err != nil {
		h.log.Warn("node: handshake failed", "remote", remote, "error", err)
	}
	return d, err
}

// Accept runs the handshake for a connection a peer opened; a wrong cookie fails here.
func (h handshake) Accept(remote net.Addr, conn lib.NetReadWriter, tls bool, cookie string) (ergonode.HandshakeDetails, error) {
	d, err := h.HandshakeInterface.Accept(remote, conn, tls, cookie)
	if err != nil && !errors.Is(err, io.EOF) {
		h.log.Warn("node: handshake refused", "remote", remote, "error", err)
	}
	return d, err
}
