package etf

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Bounds of Brief that logs use for a peer's terms.
const (
	BriefDepth = 8   // nesting levels shown; deeper terms print as ...
	BriefBytes = 512 // bytes of text; the rest prints as ...
)

// Brief renders t in Erlang syntax for a log line, like io_lib's ~P: terms nested deeper than depth print as
// ..., and the text stops with ... once it reaches maxBytes. Its cost is bounded by maxBytes and depth, not by
// t's size, so a term a peer sent may be logged: a 100 MB list costs what its first bytes do.
func Brief(t Term, depth, maxBytes int) string {
	b := briefer{left: maxBytes}
	b.term(t, depth)
	if b.cut {
		b.sb.WriteString("...")
	}
	return b.sb.String()
}

// briefer writes a term until its byte budget is spent.
type briefer struct {
	sb   strings.Builder
	left int
	cut  bool
}

// str writes s, or the part of it the budget allows; false once the budget is spent.
func (b *briefer) str(s string) bool {
	if b.cut {
		return false
	}
	if len(s) > b.left {
		b.sb.WriteString(s[:b.left])
		b.left, b.cut = 0, true
		return false
	}
	b.sb.WriteString(s)
	b.left -= len(s)
	return true
}

// elems writes the n elements that at returns between open and close, each at depth-1.
func (b *briefer) elems(open, close string, n int, at func(int) Term, depth int) {
	if !b.str(open) {
		return
	}
	for i := 0; i < n && !b.cut; i++ {
		if i > 0 {
			b.str(",")
		}
		b.term(at(i), depth-1)
	}
	b.str(close)
}

// atom writes a, quoted unless it is a lowercase letter followed by letters, digits, _ and @.
func (b *briefer) atom(a Atom) {
	plain := a != "" && a[0] >= 'a' && a[0] <= 'z'
	for i := 0; plain && i < len(a); i++ {
		c := a[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '@'
	}
	if plain {
		b.str(string(a))
		return
	}
	b.str("'" + strings.ReplaceAll(strings.ReplaceAll(string(a), `\`, `\\`), "'", `\'`) + "'")
}

// bytes writes a binary's bytes as <<"text">> when printable, else as <<1,2,3>>, within the budget.
func (b *briefer) bytes(p []byte) {
	printable := true
	for _, c := range p[:min(len(p), b.left)] {
		if c < 0x20 || c > 0x7e {
			printable = false
			break
		}
	}
	if printable {
		b.str("<<" + strconv.Quote(string(p[:min(len(p), b.left)])))
		b.str(">>")
		return
	}
	b.str("<<")
	for i := 0; i < len(p) && !b.cut; i++ {
		if i > 0 {
			b.str(",")
		}
		b.str(strconv.Itoa(int(p[i])))
	}
	b.str(">>")
}

func (b *briefer) term(t Term, depth int) {
	if b.cut {
		return
	}
	if depth <= 0 {
		b.str("...")
		return
	}
	switch x := t.(type) {
	case Atom:
		b.atom(x)
	case bool:
		b.str(strconv.FormatBool(x))
	case nil:
		b.str("undefined")
	case int64:
		b.str(strconv.FormatInt(x, 10))
	case int:
		b.str(strconv.Itoa(x))
	case *big.Int:
		if x.BitLen() > 4*b.left {
			b.str("<big integer of " + strconv.Itoa(x.BitLen()) + " bits>")
			return
		}
		b.str(x.String())
	case float64:
		b.str(strconv.FormatFloat(x, 'g', -1, 64))
	case []byte:
		b.bytes(x)
	case string:
		b.bytes([]byte(x[:min(len(x), b.left+1)]))
	case BitString:
		b.bytes(x.Bytes)
	case Charlist:
		b.str(strconv.Quote(string(x[:min(len(x), b.left+1)])))
	case Tuple:
		b.elems("{", "}", len(x), func(i int) Term { return x[i] }, depth)
	case List:
		b.elems("[", "]", len(x), func(i int) Term { return x[i] }, depth)
	case ImproperList:
		b.elems("[", "", len(x.Elems), func(i int) Term { return x.Elems[i] }, depth)
		b.str("|")
		b.term(x.Tail, depth-1)
		b.str("]")
	case Map:
		b.str("#{")
		for i := 0; i < len(x) && !b.cut; i++ {
			if i > 0 {
				b.str(",")
			}
			b.term(x[i].Key, depth-1)
			b.str(" => ")
			b.term(x[i].Value, depth-1)
		}
		b.str("}")
	case Pid:
		b.str("<" + string(x.Node) + "." + strconv.FormatUint(x.ID&0xffffffff, 10) + "." + strconv.FormatUint(x.ID>>32, 10) + ">")
	case Ref:
		b.str("#Ref<" + string(x.Node) + ">")
	case Alias:
		b.str("#Alias<" + string(x.Node) + ">")
	case Port:
		b.str("#Port<" + string(x.Node) + "." + strconv.FormatUint(uint64(x.ID), 10) + ">")
	case Export:
		b.str("fun " + string(x.Module) + ":" + string(x.Function) + "/" + strconv.Itoa(int(x.Arity)))
	case Fun:
		b.str("#Fun<" + string(x.module) + "." + strconv.Itoa(int(x.arity)) + ">")
	default:
		b.str(fmt.Sprintf("<%T>", t))
	}
}
