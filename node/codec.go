package node

import (
	"github.com/hornbeam-go/hornbeam/etf"
)

// decoder decodes the terms of one packet. Binaries of a packet bigger than pooledFrameCap share its buffer
// (such buffers never return to the pool), so a 10 MB binary is not copied twice.
func (c *conn) decoder(packet []byte) etf.DecodeOptions {
	return etf.DecodeOptions{MaxSize: c.n.opts.MaxMessageSize, AliasBinaries: len(packet) > pooledFrameCap}
}

// appendTerm appends t to dst as an external term, version byte included.
func appendTerm(dst []byte, t etf.Term) ([]byte, error) {
	return etf.AppendEncode(dst, t)
}

// genCallFrom reads From out of a message that starts {'$gen_call', From, ...}, even when what follows From
// does not decode.
func genCallFrom(msg []byte) (etf.Term, bool) {
	if len(msg) < 3 || msg[0] != versionByte || msg[1] != tagSmallTuple || msg[2] != genCallTupleArity {
		return nil, false
	}
	tag, n, err := etf.DecodeTerm(msg[3:])
	if err != nil || tag != atomGenCall {
		return nil, false
	}
	from, _, err := etf.DecodeTerm(msg[3+n:])
	if err != nil {
		return nil, false
	}
	return from, true
}
