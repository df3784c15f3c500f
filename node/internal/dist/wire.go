package dist

import (
	"encoding/binary"
	"fmt"
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

// SPAWN_REPLY flag bits (Conn.SendSpawnReply).
const (
	// SpawnFlagLink: the spawned process is linked to its parent.
	SpawnFlagLink = 1
	// SpawnFlagMonitor: the parent monitors the spawned process.
	SpawnFlagMonitor = 2
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

// holderPool keeps the empty *[]byte that framePool's buffers travel in, so that giving a buffer back does not
// allocate a new one.
var holderPool = sync.Pool{New: func() any { return new([]byte) }}

// TakeFrame returns an empty buffer from the frame pool with room for at least n bytes: the reader reads each
// packet into one, and Conn.HandlePacket gives it back.
func TakeFrame(n int) []byte {
	if n > pooledFrameCap {
		return make([]byte, 0, n)
	}
	h := framePool.Get().(*[]byte)
	b := *h
	*h = nil
	holderPool.Put(h)
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
	h := holderPool.Get().(*[]byte)
	*h = b[:0]
	framePool.Put(h)
}

// frame is one encoded packet: head holds the length header, the control message and the message up to its
// first big binary (at least bigBinary bytes); each big binary follows in more as its own segment, taken from
// the term rather than copied, with the bytes after it (etf.AppendEncodeSegments). head comes from framePool.
type frame struct {
	head []byte
	more [][]byte
}

// release gives the frame's pooled buffer back; the frame must not be used afterwards. A nil frame is fine.
func (f *frame) release() {
	if f != nil {
		releaseFrame(f.head)
	}
}

// bigBinary is the size from which a binary in a message is written from its own memory.
const bigBinary = 64 << 10

// encodeFrame builds one length-prefixed pass-through packet: control, then payload when hasPayload is set.
func encodeFrame(control etf.Tuple, payload etf.Term, hasPayload bool) (frame, error) {
	b := TakeFrame(initialFrameCap)
	b = append(b, 0, 0, 0, 0, typePassThrough)
	b, err := etf.AppendEncode(b, control)
	if err != nil {
		releaseFrame(b)
		return frame{}, fmt.Errorf("node: encode control %v: %w", control[0], err)
	}
	f := frame{head: b}
	if hasPayload {
		f.head, f.more, err = etf.AppendEncodeSegments(f.head, payload, bigBinary)
		if err != nil {
			f.release()
			return frame{}, fmt.Errorf("node: encode message: %w", err)
		}
	}
	size := -frameHeaderLen + len(f.head)
	for _, seg := range f.more {
		size += len(seg)
	}
	binary.BigEndian.PutUint32(f.head, uint32(size))
	return f, nil
}
