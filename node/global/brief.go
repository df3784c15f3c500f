package global

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/hornbeam-go/hornbeam/etf"
)

// Bounds of a term shown in a log line: a peer's term can be any size.
const (
	briefDepth = 6
	briefBytes = 300
)

// brief renders t for a log line the way Erlang's ~P does: terms nested deeper than briefDepth show as ...,
// and the text stops at about briefBytes, ending in ....
func brief(t etf.Term) string {
	b := &briefWriter{}
	b.term(t, briefDepth)
	return b.String()
}

type briefWriter struct {
	strings.Builder
	full bool
}

func (b *briefWriter) put(s string) bool {
	if b.full {
		return false
	}
	if b.Len()+len(s) > briefBytes {
		b.WriteString("...")
		b.full = true
		return false
	}
	b.WriteString(s)
	return true
}

func (b *briefWriter) term(t etf.Term, depth int) {
	if depth == 0 {
		b.put("...")
		return
	}
	switch v := t.(type) {
	case etf.Tuple:
		b.seq("{", "}", v, depth)
	case etf.List:
		b.seq("[", "]", v, depth)
	case etf.ImproperList:
		b.seq("[", "|", v.Elems, depth)
		b.term(v.Tail, depth-1)
		b.put("]")
	case []byte:
		if len(v) > 32 {
			b.put(fmt.Sprintf("<<%d bytes>>", len(v)))
		} else {
			b.put(fmt.Sprintf("<<%q>>", v))
		}
	case etf.Map:
		b.put("#{")
		for i, p := range v {
			if i > 0 && !b.put(",") {
				return
			}
			b.term(p.Key, depth-1)
			b.put("=>")
			b.term(p.Value, depth-1)
		}
		b.put("}")
	case etf.BitString:
		b.put(fmt.Sprintf("<<%d bytes and %d bits>>", len(v.Bytes)-1, v.Bits))
	case *big.Int:
		if v.BitLen() > 128 {
			b.put(fmt.Sprintf("<integer of %d bits>", v.BitLen()))
		} else {
			b.put(v.String())
		}
	case etf.Charlist:
		if len(v) > 32 {
			b.put(fmt.Sprintf("%q...", string(v[:32])))
		} else {
			b.put(fmt.Sprintf("%q", string(v)))
		}
	default:
		s := fmt.Sprint(v)
		if len(s) > 64 {
			s = s[:64] + "..."
		}
		b.put(s)
	}
}

func (b *briefWriter) seq(open, end string, elems []etf.Term, depth int) {
	if !b.put(open) {
		return
	}
	for i, e := range elems {
		if i > 0 && !b.put(",") {
			return
		}
		b.term(e, depth-1)
		if b.full {
			return
		}
	}
	b.put(end)
}
