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

// holderPool keeps the empty *[]byte that framePool's buffers travel in, so that giving a buffer back does not
// allocate a new one.
var holderPool = sync.Pool{New: func() any { return new([]byte) }}

// takeFrame returns an empty buffer with room for at least n bytes.
func takeFrame(n int) []byte {
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
// the term rather than copied, with the bytes after it. head comes from framePool.
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
	b := takeFrame(initialFrameCap)
	b = append(b, 0, 0, 0, 0, typePassThrough)
	b, err := appendTerm(b, control)
	if err != nil {
		releaseFrame(b)
		return frame{}, fmt.Errorf("node: encode control %v: %w", control[0], err)
	}
	f := frame{head: b}
	if hasPayload {
		if sizeHint(payload, sizeHintDepth) < bigBinary {
			f.head, err = appendTerm(f.head, payload)
		} else {
			s := segmenter{cur: append(f.head, versionByte)}
			err = s.term(payload, sizeHintDepth)
			f = s.frame()
		}
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

// External term bytes this package reads or writes itself (erl_ext_dist).
const (
	versionByte      = 131
	tagSmallTuple    = 104
	tagNewPid        = 88
	tagSmallInteger  = 97
	tagAtomUTF8      = 118
	tagSmallAtomUTF8 = 119
	tagLargeTuple    = 105
	tagNil           = 106
	tagList          = 108
	tagBinary        = 109

	// newPidTail is the size of NEW_PID_EXT's ID, Serial and Creation after the node atom.
	newPidTail = 12
	// genCallTupleArity is the arity of {'$gen_call', From, Req}.
	genCallTupleArity = 3
)

// segmenter encodes a term whose big binaries become segments of their own: it writes the headers of the
// tuples and lists that lead to them and leaves everything else to etf.
type segmenter struct {
	cur  []byte   // the segment being written; the first one is the frame's pooled head
	done [][]byte // finished segments
}

func (s *segmenter) term(t etf.Term, depth int) error {
	switch v := t.(type) {
	case []byte:
		if len(v) >= bigBinary {
			s.cur = binary.BigEndian.AppendUint32(append(s.cur, tagBinary), uint32(len(v)))
			s.done = append(s.done, s.cur, v)
			s.cur = nil
			return nil
		}
	case etf.Tuple:
		if depth > 0 && sizeHint(v, depth) >= bigBinary {
			if len(v) <= 255 {
				s.cur = append(s.cur, tagSmallTuple, byte(len(v)))
			} else {
				s.cur = binary.BigEndian.AppendUint32(append(s.cur, tagLargeTuple), uint32(len(v)))
			}
			return s.all(v, depth-1)
		}
	case etf.List:
		if depth > 0 && sizeHint(v, depth) >= bigBinary {
			s.cur = binary.BigEndian.AppendUint32(append(s.cur, tagList), uint32(len(v)))
			if err := s.all(v, depth-1); err != nil {
				return err
			}
			s.cur = append(s.cur, tagNil)
			return nil
		}
	}
	var err error
	s.cur, err = etf.AppendTerm(s.cur, t)
	return err
}

func (s *segmenter) all(ts []etf.Term, depth int) error {
	for _, t := range ts {
		if err := s.term(t, depth); err != nil {
			return err
		}
	}
	return nil
}

// frame returns the segments as a frame.
func (s *segmenter) frame() frame {
	segs := s.done
	if len(s.cur) > 0 || len(segs) == 0 {
		segs = append(segs, s.cur)
	}
	return frame{head: segs[0], more: segs[1:]}
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

// sizeHint returns the bytes of the binaries and strings within depth levels of t: encodeFrame looks for big
// binaries only in messages where they add up to bigBinary.
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
