package dist

import (
	"strings"
	"testing"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/proto"
	"github.com/stretchr/testify/require"
)

// The names node serves itself, as far as these tests need them.
const (
	nameHooks = etf.Atom("hornbeam_hooks")
	nameRex   = etf.Atom("rex")
)

func TestMonitorsServedName(t *testing.T) {
	lasting := func(name []byte) bool { return etf.Atom(name) == nameHooks || etf.Atom(name) == nameRex }
	pid := etf.Pid{Node: "e1@localhost", ID: 85, Creation: 7}
	longPid := etf.Pid{Node: etf.Atom(strings.Repeat("é", 200) + "@h"), ID: 85, Creation: 7}
	ref := etf.Ref{Node: "e1@localhost", Creation: 7, ID: [5]uint32{1, 2, 3}}
	tests := []struct {
		name    string
		control etf.Tuple
		want    bool
	}{
		{"monitor hornbeam_hooks", etf.Tuple{int64(opMonitorP), pid, nameHooks, ref}, true},
		{"demonitor rex", etf.Tuple{int64(opDemonitorP), pid, nameRex, ref}, true},
		{"long node name", etf.Tuple{int64(opMonitorP), longPid, nameHooks, ref}, true},
		{"other name", etf.Tuple{int64(opMonitorP), pid, etf.Atom("hornbeam_hook"), ref}, false},
		{"by pid", etf.Tuple{int64(opMonitorP), pid, pid, ref}, false},
		{"monitor exit", etf.Tuple{int64(opMonitorPExit), pid, nameHooks, ref}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := encodeFrame(tt.control, nil, false)
			require.NoError(t, err)
			packet := f.head[frameHeaderLen:]
			op, ok := monitorsServedName(packet, lasting)
			require.Equal(t, tt.want, ok, "got %v; want %v", !tt.want, tt.want)
			if ok {
				require.Equal(t, tt.control[0], int64(op))
			}
			for i := range len(packet) {
				_, ok := monitorsServedName(packet[:i], lasting)
				require.False(t, ok && !tt.want)
			}
		})
	}
}

func TestEncodeFrameSegments(t *testing.T) {
	big := make([]byte, bigBinary)
	for i := range big {
		big[i] = byte(i)
	}
	tag := etf.ImproperList{Elems: []etf.Term{atomAlias}, Tail: etf.Ref{Node: "n@h", ID: [5]uint32{1}}}
	for _, msg := range []etf.Term{
		etf.Tuple{tag, etf.Tuple{proto.AtomOK, big}},
		etf.Tuple{tag, etf.Tuple{proto.AtomOK, etf.List{big, []byte("x"), big}}},
		etf.List{etf.Tuple{big}, int64(1)},
		big,
	} {
		f, err := encodeFrame(etf.Tuple{int64(opSend), etf.Atom(""), etf.Pid{Node: "n@h", ID: 1}}, msg, true)
		require.NoError(t, err)
		require.NotEmpty(t, f.more)
		packet := append([]byte(nil), f.head...)
		for _, seg := range f.more {
			packet = append(packet, seg...)
		}
		want, err := encodeFrame(etf.Tuple{int64(opSend), etf.Atom(""), etf.Pid{Node: "n@h", ID: 1}}, nil, false)
		require.NoError(t, err)
		body, err := etf.Encode(msg)
		require.NoError(t, err)
		require.Equal(t, int(uint32(packet[0])<<24|uint32(packet[1])<<16|uint32(packet[2])<<8|uint32(packet[3])), len(packet)-frameHeaderLen)
		require.Equal(t, append(want.head[frameHeaderLen:], body...), packet[frameHeaderLen:])
	}
}
