package node

import (
	"encoding/binary"
	"fmt"
	"math/big"
	"sync"

	"github.com/hornbeam-go/hornbeam/etf"
)

// Framing after the handshake (erl_dist_protocol.html, "Protocol between connected nodes"): a 4-byte big-endian
// length, then the packet; a zero length is a tick. Without DFLAG_DIST_HDR_ATOM_CACHE every packet is
// pass-through: the type byte 112, the control message and an optional message, each a whole external term.
const (
	frameHeaderLen  = 4
	typePassThrough = 112
)

// Control message operations (erl_dist_protocol.html, "Control Messages").
const (
	opLink               = 1
	opSend               = 2
	opExit               = 3
	opUnlink             = 4
	opNodeLink           = 5
	opRegSend            = 6
	opGroupLeader        = 7
	opExit2              = 8
	opSendTT             = 12
	opExitTT             = 13
	opRegSendTT          = 16
	opExit2TT            = 18
	opMonitorP           = 19
	opDemonitorP         = 20
	opMonitorPExit       = 21
	opSendSender         = 22
	opSendSenderTT       = 23
	opPayloadExit        = 24
	opPayloadExitTT      = 25
	opPayloadExit2       = 26
	opPayloadExit2TT     = 27
	opPayloadMonitorExit = 28
	opSpawnRequest       = 29
	opSpawnRequestTT     = 30
	opSpawnReply         = 31
	opSpawnReplyTT       = 32
	opAliasSend          = 33
	opAliasSendTT        = 34
	opUnlinkID           = 35
	opUnlinkIDAck        = 36
)

// SPAWN_REPLY flag bits.
const (
	spawnFlagLink    = 1
	spawnFlagMonitor = 2
)

// Frame buffers up to pooledFrameCap bytes return to framePool; bigger ones are left to the collector.
const (
	initialFrameCap = 4 << 10
	pooledFrameCap  = 256 << 10
)

var framePool = sync.Pool{New: func() any {
	b := make([]byte, 0, initialFrameCap)
	return &b
}}

// takeFrame returns an empty buffer with room for at least n bytes.
func takeFrame(n int) []byte {
	if n > pooledFrameCap {
		return make([]byte, 0, n)
	}
	b := *framePool.Get().(*[]byte)
	if cap(b) < n {
		return make([]byte, 0, n)
	}
	return b[:0]
}

// releaseFrame gives b back to the pool; the caller must not use it afterwards.
func releaseFrame(b []byte) {
	if cap(b) > pooledFrameCap || cap(b) < initialFrameCap {
		return
	}
	b = b[:0]
	framePool.Put(&b)
}

// encodeFrame builds one length-prefixed pass-through packet: control, then payload when hasPayload is set.
func encodeFrame(control etf.Tuple, payload etf.Term, hasPayload bool) ([]byte, error) {
	b := takeFrame(initialFrameCap + sizeHint(payload, sizeHintDepth))
	b = append(b, 0, 0, 0, 0, typePassThrough)
	b, err := appendTerm(b, control)
	if err != nil {
		releaseFrame(b)
		return nil, fmt.Errorf("node: encode control %v: %w", control[0], err)
	}
	if hasPayload {
		if b, err = appendTerm(b, payload); err != nil {
			releaseFrame(b)
			return nil, fmt.Errorf("node: encode message: %w", err)
		}
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-frameHeaderLen))
	return b, nil
}

// smallInt returns t as an int when it is an integer that fits; control messages carry small integers only.
func smallInt(t etf.Term) (int, bool) {
	switch v := t.(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case *big.Int:
		if v.IsInt64() {
			return int(v.Int64()), true
		}
	}
	return 0, false
}

// sizeHintDepth bounds how deep sizeHint looks for binaries.
const sizeHintDepth = 4

// sizeHint returns the bytes of the binaries and strings within depth levels of t, so that a frame carrying a
// big binary is allocated once at its size instead of growing by doubling.
func sizeHint(t etf.Term, depth int) int {
	switch v := t.(type) {
	case []byte:
		return len(v)
	case string:
		return len(v)
	case etf.Tuple:
		return sizeHintAll(v, depth)
	case etf.List:
		return sizeHintAll(v, depth)
	}
	return 0
}

func sizeHintAll(ts []etf.Term, depth int) int {
	if depth == 0 || len(ts) > 16 {
		return 0
	}
	n := 0
	for _, t := range ts {
		n += sizeHint(t, depth-1)
	}
	return n
}
