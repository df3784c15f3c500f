package dist

import (
	ergoetf "github.com/ergo-services/ergo/etf"

	"github.com/hornbeam-go/hornbeam/etf"
)

// ergo's gen.Server reads the OTP 24+ gen_server From {Pid, [alias | Ref]} only in the shape its own decoder
// gives, the proper list [alias, Ref], and replies with its own types (etf.ListImproper for that tag, etf.Map,
// etf.String). These two adapters translate at the boundary between the wire and ergo processes.

// ToErgo rewrites the From tag of a $gen_call bound for an ergo process into ergo's shape; any other message
// passes unchanged.
func ToErgo(msg etf.Term) etf.Term {
	from, req, ok := GenCall(msg)
	if !ok {
		return msg
	}
	f, ok := from.(etf.Tuple)
	if !ok || len(f) != 2 {
		return msg
	}
	ref, ok := aliasTag(f[1])
	if !ok {
		return msg
	}
	return etf.Tuple{AtomGenCall, etf.Tuple{f[0], etf.List{atomAlias, ref}}, req}
}

// fromErgo converts the ergo-only types in a term an ergo process sends into this module's terms.
func fromErgo(t etf.Term) etf.Term {
	c, _ := convertErgo(t)
	return c
}

// convertErgo is fromErgo that also reports whether anything changed, so unchanged tuples and lists are not
// copied.
func convertErgo(t etf.Term) (etf.Term, bool) {
	switch v := t.(type) {
	case etf.Tuple:
		if elems, ok := convertAll(v); ok {
			return etf.Tuple(elems), true
		}
	case etf.List:
		if elems, ok := convertAll(v); ok {
			return etf.List(elems), true
		}
	case ergoetf.ListImproper:
		if len(v) < 2 {
			elems, _ := convertAll(v)
			return etf.List(elems), true
		}
		elems, _ := convertAll(v)
		return etf.ImproperList{Elems: elems[:len(elems)-1], Tail: elems[len(elems)-1]}, true
	case ergoetf.Map:
		m := make(etf.Map, 0, len(v))
		for k, val := range v {
			m = append(m, etf.Pair{Key: fromErgo(k), Value: fromErgo(val)})
		}
		return m, true
	case ergoetf.String:
		return []byte(v), true
	case ergoetf.Charlist:
		return etf.Charlist(v), true
	}
	return t, false
}

// convertAll converts every element; it returns a copy, and true, only when one changed.
func convertAll(elems []etf.Term) ([]etf.Term, bool) {
	var out []etf.Term
	for i, e := range elems {
		c, changed := convertErgo(e)
		if changed && out == nil {
			out = append(make([]etf.Term, 0, len(elems)), elems[:i]...)
		}
		if out != nil {
			out = append(out, c)
		}
	}
	if out == nil {
		return elems, false
	}
	return out, true
}
