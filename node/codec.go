package node

import (
	"github.com/hornbeam-go/hornbeam/etf"
)

// decoder decodes the terms of one packet. Binaries of a packet bigger than pooledFrameCap share its buffer
// (such buffers never return to the pool), so a 10 MB binary is not copied twice.
func (c *conn) decoder(packet []byte) etf.DecodeOptions {
	return etf.DecodeOptions{MaxSize: c.n.opts.MaxMessageSize, AliasBinaries: len(packet) > pooledFrameCap}
}

// genCallFrom reads From out of a message that starts {'$gen_call', From, ...}, even when what follows From
// does not decode.
func genCallFrom(msg []byte) (etf.Term, bool) {
	head, ok := etf.DecodeTupleHead(msg, 3, 2)
	if !ok || head[0] != atomGenCall {
		return nil, false
	}
	return head[1], true
}
