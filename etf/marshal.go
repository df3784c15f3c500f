package etf

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Marshaler is implemented by Go types that convert themselves to a term.
// ToTerm calls MarshalTerm and then converts its result by the usual rules,
// so the result may itself hold Go values.
type Marshaler interface {
	MarshalTerm() (Term, error)
}

// Unmarshaler is implemented by Go types that set themselves from a term.
// FromTerm calls UnmarshalTerm on a pointer to the target, also when the term
// is the atom undefined.
type Unmarshaler interface {
	UnmarshalTerm(t Term) error
}

// maxValueDepth bounds how deep ToTerm and FromTerm descend, so that a cyclic
// Go value fails with an error instead of exhausting the stack.
const maxValueDepth = 100_000

// undefined is the atom that stands for a nil pointer or interface.
const undefined = Atom("undefined")

// Marshal returns the external term format of v (with the version byte 131):
// it converts v with ToTerm and encodes the result with Encode.
func Marshal(v any) ([]byte, error) {
	t, err := ToTerm(v)
	if err != nil {
		return nil, err
	}
	return Encode(t)
}

// Unmarshal decodes one external term from data with Decode and stores it in
// the value pointed to by v with FromTerm. Unmarshal into *Term (or *any)
// stores the decoded term as is.
func Unmarshal(data []byte, v any) error {
	t, err := Decode(data)
	if err != nil {
		return err
	}
	return FromTerm(t, v)
}

// ToTerm converts a Go value to a term. Values that are already terms (the
// types of term.go, Fun, int64, float64, bool, string, []byte, *big.Int) are
// returned as they are; lists, tuples, maps and improper lists are copied
// only when an element needs converting.
//
// The rules, in order:
//
//   - nil, a nil pointer, a nil interface and a nil *big.Int become the atom
//     undefined;
//   - a type implementing Marshaler becomes the conversion of MarshalTerm's
//     result;
//   - bool becomes true or false;
//   - every signed integer kind becomes int64; unsigned kinds become int64,
//     or *big.Int above math.MaxInt64; big.Int and *big.Int are integers;
//   - float32 and float64 become float64; NaN and ±Inf are errors (Erlang has
//     neither);
//   - Atom stays an atom and Charlist a list of codes; any other string kind
//     becomes a binary (string);
//   - a []byte kind becomes a binary ([]byte, sharing v's memory);
//   - Tuple stays a tuple; other slices and arrays become lists (a nil slice
//     is []);
//   - a Go map becomes a Map with its keys in Erlang's term order (see
//     Compare); a nil map is the empty map; keys that convert to one term,
//     such as int(1) and int64(1) in a map[any]any, give a Map that Encode
//     refuses;
//   - a struct becomes a Map with one binary key per exported field, in field
//     order: the key is the field name or the name in the field's `etf:"name"`
//     tag; `etf:"-"` skips the field; the option `etf:",omitempty"` skips it when
//     it is false, 0, "", a nil pointer or interface, or an empty slice, map,
//     array or string; fields of embedded structs are promoted as in
//     encoding/json (the shallowest wins; a tie between untagged fields drops
//     all of them);
//   - a pointer or interface becomes the conversion of the value it holds.
//
// Channels, functions, complex numbers and unsafe pointers are errors
// (*UnsupportedTypeError), as is a value nested more than 100,000 levels deep
// (for a cycle).
func ToTerm(v any) (Term, error) {
	var s toState
	t, _, err := s.term(v)
	return t, err
}

// FromTerm stores term t in the value pointed to by v, converting it to v's
// Go type; v must be a non-nil pointer (else *InvalidUnmarshalError). The
// rules, by target type:
//
//   - a type whose pointer implements Unmarshaler: UnmarshalTerm(t);
//   - any (an empty interface): t as is; a non-empty interface: t if t's type
//     implements it;
//   - a pointer: nil for the atom undefined, else a new value (or the existing
//     one) set from t;
//   - a type equal to t's (Pid, Ref, Atom, List, Map, ...): t itself, shared;
//   - string kinds: a binary, an atom (true/false included), a Charlist, or a
//     list of Unicode code points;
//   - []byte kinds: a binary (copied) or a list of bytes;
//   - integer kinds: an integer that fits; an error otherwise (no wrapping);
//   - float kinds: a float, or an integer converted to the nearest float;
//   - bool: true or false;
//   - big.Int and *big.Int: any integer;
//   - slices: a list, a tuple or a Charlist (its codes), element by element;
//   - arrays: the same, with exactly the array's length; byte arrays also
//     take a binary of that length;
//   - Go maps: a Map, key and value converted by these rules; a nil map is
//     made, an existing one is added to;
//   - structs: a Map whose keys are binaries or atoms naming the fields (see
//     ToTerm for names); other keys are ignored, missing fields left as they
//     are, and when two keys name one field the later wins.
//
// Errors are *UnmarshalTypeError (naming the term, the Go type and the path
// into v), *InvalidUnmarshalError, or an Unmarshaler's error wrapped with its
// path.
func FromTerm(t Term, v any) error {
	switch p := v.(type) {
	case *any:
		if p != nil {
			*p = t
			return nil
		}
	case *string:
		if p != nil {
			if s, ok := t.(string); ok {
				*p = s
				return nil
			}
		}
	case *int64:
		if p != nil {
			if n, ok := t.(int64); ok {
				*p = n
				return nil
			}
		}
	case *int:
		if p != nil {
			if n, ok := t.(int64); ok && n >= math.MinInt && n <= math.MaxInt {
				*p = int(n)
				return nil
			}
		}
	case *float64:
		if p != nil {
			if f, ok := t.(float64); ok {
				*p = f
				return nil
			}
		}
	case *bool:
		if p != nil {
			if b, ok := t.(bool); ok {
				*p = b
				return nil
			}
		}
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	s := fromState{root: rv.Type().Elem()}
	return s.value(t, rv.Elem())
}

// UnsupportedTypeError is returned by ToTerm for a Go value that has no term.
type UnsupportedTypeError struct {
	Type reflect.Type
	Path string // where in the value, such as "Config.Hooks[2]"; "" at the top
}

// Error implements error.
func (e *UnsupportedTypeError) Error() string {
	if e.Path == "" {
		return "etf: unsupported Go type " + e.Type.String()
	}
	return "etf: unsupported Go type " + e.Type.String() + " at " + e.Path
}

// UnsupportedValueError is returned by ToTerm for a Go value of a supported
// type that has no term, such as a NaN float.
type UnsupportedValueError struct {
	Value string // the value, formatted
	Path  string // where in the value; "" at the top
}

// Error implements error.
func (e *UnsupportedValueError) Error() string {
	if e.Path == "" {
		return "etf: unsupported value " + e.Value
	}
	return "etf: unsupported value " + e.Value + " at " + e.Path
}

// UnmarshalTypeError is returned by FromTerm when a term does not fit the Go
// type it is stored in.
type UnmarshalTypeError struct {
	Term  string       // the term's kind, such as "binary" or "integer 300"
	Type  reflect.Type // the Go type it did not fit
	Path  string       // where in the target, such as "Config.Port"; "" at the top
	Cause string       // why, when it is not just the kind; may be ""
}

// Error implements error.
func (e *UnmarshalTypeError) Error() string {
	var b strings.Builder
	b.WriteString("etf: cannot unmarshal ")
	b.WriteString(e.Term)
	if e.Path == "" {
		b.WriteString(" into Go value of type ")
	} else {
		b.WriteString(" into Go field ")
		b.WriteString(e.Path)
		b.WriteString(" of type ")
	}
	b.WriteString(e.Type.String())
	if e.Cause != "" {
		b.WriteString(": ")
		b.WriteString(e.Cause)
	}
	return b.String()
}

// InvalidUnmarshalError is returned by FromTerm and Unmarshal when v is not a
// non-nil pointer.
type InvalidUnmarshalError struct {
	Type reflect.Type
}

// Error implements error.
func (e *InvalidUnmarshalError) Error() string {
	if e.Type == nil {
		return "etf: FromTerm(nil)"
	}
	if e.Type.Kind() != reflect.Pointer {
		return "etf: FromTerm(non-pointer " + e.Type.String() + ")"
	}
	return "etf: FromTerm(nil " + e.Type.String() + ")"
}

// pathError wraps an error returned by a Marshaler or an Unmarshaler with
// where in the value it happened.
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return "etf: at " + e.path + ": " + e.err.Error() }

func (e *pathError) Unwrap() error { return e.err }

// pathElem is one step from a Go value into a part of it; only one of the
// fields is set. Paths are formatted only when an error is built.
type pathElem struct {
	field string        // a struct field's Go name
	index int           // a list, tuple or array index, when key is nil and field ""
	key   any           // a Map key term
	rkey  reflect.Value // a Go map key (ToTerm)
}

// formatPath renders root's name and the steps as "Config.Hooks[2].Name".
func formatPath(root reflect.Type, path []pathElem) string {
	if len(path) == 0 {
		return ""
	}
	var b strings.Builder
	if root != nil {
		if root.Name() != "" {
			b.WriteString(root.Name())
		} else {
			b.WriteString(root.String())
		}
	}
	for _, p := range path {
		switch {
		case p.field != "":
			b.WriteByte('.')
			b.WriteString(p.field)
		case p.key != nil || p.rkey.IsValid():
			k := p.key
			if p.rkey.IsValid() {
				k = p.rkey.Interface()
			}
			b.WriteByte('[')
			switch k := k.(type) {
			case string:
				b.WriteString(strconv.Quote(k))
			case []byte:
				b.WriteString(strconv.Quote(string(k)))
			default:
				fmt.Fprint(&b, k)
			}
			b.WriteByte(']')
		default:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(p.index))
			b.WriteByte(']')
		}
	}
	return b.String()
}

var (
	atomType        = reflect.TypeFor[Atom]()
	charlistType    = reflect.TypeFor[Charlist]()
	bigIntType      = reflect.TypeFor[big.Int]()
	marshalerType   = reflect.TypeFor[Marshaler]()
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	termStructTypes = map[reflect.Type]bool{}
	// termContainerTypes are term types whose elements may need converting.
	termContainerTypes = map[reflect.Type]bool{
		reflect.TypeFor[List](): true, reflect.TypeFor[Tuple](): true,
		reflect.TypeFor[Map](): true, reflect.TypeFor[ImproperList](): true,
	}
	termStructTypesL = []reflect.Type{
		reflect.TypeFor[Pid](), reflect.TypeFor[Ref](), reflect.TypeFor[Alias](),
		reflect.TypeFor[Port](), reflect.TypeFor[BitString](), reflect.TypeFor[Export](),
		reflect.TypeFor[ImproperList](), reflect.TypeFor[Fun](),
	}
)

func init() {
	for _, t := range termStructTypesL {
		termStructTypes[t] = true
	}
}

// toState carries the path and depth of one ToTerm call.
type toState struct {
	path  []pathElem
	depth int
	root  reflect.Type
}

func (s *toState) unsupportedType(t reflect.Type) error {
	return &UnsupportedTypeError{Type: t, Path: formatPath(s.root, s.path)}
}

func (s *toState) unsupportedValue(v string) error {
	return &UnsupportedValueError{Value: v, Path: formatPath(s.root, s.path)}
}

func (s *toState) enter() error {
	s.depth++
	if s.depth > maxValueDepth {
		return s.unsupportedValue(fmt.Sprintf("nested more than %d deep (a cycle?)", maxValueDepth))
	}
	return nil
}

// term converts v; changed reports whether the result differs from v, so that
// containers of terms are copied only when needed.
func (s *toState) term(v any) (t Term, changed bool, err error) {
	switch x := v.(type) {
	case nil:
		return undefined, true, nil
	case string, []byte, int64, bool, Atom, Charlist, Pid, Ref, Alias, Port, BitString, Export, Fun:
		return v, false, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, false, s.unsupportedValue(strconv.FormatFloat(x, 'g', -1, 64))
		}
		return v, false, nil
	case *big.Int:
		if x == nil {
			return undefined, true, nil
		}
		return v, false, nil
	case int:
		return int64(x), true, nil
	case List:
		if err := s.enter(); err != nil {
			return nil, false, err
		}
		out, changed, err := convertElems(s, x)
		s.depth--
		if err != nil || !changed {
			return v, false, err
		}
		return out, true, nil
	case Tuple:
		if err := s.enter(); err != nil {
			return nil, false, err
		}
		out, changed, err := convertElems(s, x)
		s.depth--
		if err != nil || !changed {
			return v, false, err
		}
		return out, true, nil
	case Map:
		return s.termMap(x)
	case ImproperList:
		if err := s.enter(); err != nil {
			return nil, false, err
		}
		defer func() { s.depth-- }()
		elems, c1, err := convertElems(s, x.Elems)
		if err != nil {
			return nil, false, err
		}
		s.path = append(s.path, pathElem{field: "Tail"})
		tail, c2, err := s.term(x.Tail)
		s.path = s.path[:len(s.path)-1]
		if err != nil || !(c1 || c2) {
			return v, false, err
		}
		return ImproperList{Elems: elems, Tail: tail}, true, nil
	}
	if len(s.path) == 0 {
		s.root = reflect.TypeOf(v)
	}
	t, err = s.value(reflect.ValueOf(v))
	return t, true, err
}

// convertElems converts the elements of a list or tuple, copying only if one
// changes.
func convertElems[S ~[]E, E any](s *toState, in S) (S, bool, error) {
	var out S
	for i, e := range in {
		s.path = append(s.path, pathElem{index: i})
		t, changed, err := s.term(e)
		s.path = s.path[:len(s.path)-1]
		if err != nil {
			return nil, false, err
		}
		if changed && out == nil {
			out = make(S, len(in))
			copy(out, in[:i])
		}
		if out != nil {
			out[i] = t.(E)
		}
	}
	if out == nil {
		return in, false, nil
	}
	return out, true, nil
}

func (s *toState) termMap(m Map) (Term, bool, error) {
	if err := s.enter(); err != nil {
		return nil, false, err
	}
	defer func() { s.depth-- }()
	var out Map
	for i, p := range m {
		s.path = append(s.path, pathElem{key: p.Key})
		k, c1, err := s.term(p.Key)
		if err != nil {
			s.path = s.path[:len(s.path)-1]
			return nil, false, err
		}
		v, c2, err := s.term(p.Value)
		s.path = s.path[:len(s.path)-1]
		if err != nil {
			return nil, false, err
		}
		if (c1 || c2) && out == nil {
			out = make(Map, len(m))
			copy(out, m[:i])
		}
		if out != nil {
			out[i] = Pair{Key: k, Value: v}
		}
	}
	if out == nil {
		return m, false, nil
	}
	return out, true, nil
}

// value converts a Go value found by reflection.
func (s *toState) value(v reflect.Value) (Term, error) {
	if !v.IsValid() {
		return undefined, nil
	}
	typ := v.Type()
	if termContainerTypes[typ] {
		t, _, err := s.term(v.Interface())
		return t, err
	}
	info := typeInfoFor(typ)
	if info.marshaler {
		if (typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Interface) && v.IsNil() {
			return undefined, nil
		}
		return s.marshal(v.Interface().(Marshaler))
	}
	if info.ptrMarshaler && v.CanAddr() {
		return s.marshal(v.Addr().Interface().(Marshaler))
	}
	switch typ.Kind() {
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := v.Uint()
		if u > math.MaxInt64 {
			return new(big.Int).SetUint64(u), nil
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, s.unsupportedValue(strconv.FormatFloat(f, 'g', -1, 64))
		}
		return f, nil
	case reflect.String:
		switch typ {
		case atomType:
			return Atom(v.String()), nil
		case charlistType:
			return Charlist(v.String()), nil
		}
		return v.String(), nil
	case reflect.Slice:
		if typ.Elem().Kind() == reflect.Uint8 && !info.elemMarshals {
			return v.Bytes(), nil
		}
		return s.list(v)
	case reflect.Array:
		return s.list(v)
	case reflect.Map:
		return s.goMap(v)
	case reflect.Struct:
		if termStructTypes[typ] {
			return v.Interface(), nil
		}
		if typ == bigIntType {
			n := v.Interface().(big.Int)
			return new(big.Int).Set(&n), nil
		}
		return s.goStruct(v, info)
	case reflect.Pointer:
		if v.IsNil() {
			return undefined, nil
		}
		if typ.Elem() == bigIntType {
			return v.Interface(), nil
		}
		if err := s.enter(); err != nil {
			return nil, err
		}
		t, err := s.value(v.Elem())
		s.depth--
		return t, err
	case reflect.Interface:
		if v.IsNil() {
			return undefined, nil
		}
		t, _, err := s.term(v.Elem().Interface())
		return t, err
	}
	return nil, s.unsupportedType(typ)
}

func (s *toState) marshal(m Marshaler) (Term, error) {
	t, err := m.MarshalTerm()
	if err != nil {
		if p := formatPath(s.root, s.path); p != "" {
			return nil, &pathError{path: p, err: err}
		}
		return nil, err
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	t, _, err = s.term(t)
	s.depth--
	return t, err
}

func (s *toState) list(v reflect.Value) (Term, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer func() { s.depth-- }()
	n := v.Len()
	out := make(List, n)
	for i := range n {
		s.path = append(s.path, pathElem{index: i})
		t, err := s.value(v.Index(i))
		s.path = s.path[:len(s.path)-1]
		if err != nil {
			return nil, err
		}
		out[i] = t
	}
	return out, nil
}

func (s *toState) goMap(v reflect.Value) (Term, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer func() { s.depth-- }()
	out := make(Map, 0, v.Len())
	iter := v.MapRange()
	for iter.Next() {
		key := iter.Key()
		s.path = append(s.path, pathElem{rkey: key})
		k, err := s.value(key)
		if err != nil {
			s.path = s.path[:len(s.path)-1]
			return nil, err
		}
		val, err := s.value(iter.Value())
		s.path = s.path[:len(s.path)-1]
		if err != nil {
			return nil, err
		}
		out = append(out, Pair{Key: k, Value: val})
	}
	sortKeys(out)
	return out, nil
}

// sortKeys orders the pairs of a converted Go map in Erlang's term order, so
// that the same map always gives the same term.
func sortKeys(m Map) {
	slices.SortStableFunc(m, func(a, b Pair) int { return Compare(a.Key, b.Key) })
}

func (s *toState) goStruct(v reflect.Value, info *typeInfo) (Term, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer func() { s.depth-- }()
	out := make(Map, 0, len(info.fields))
	for i := range info.fields {
		f := &info.fields[i]
		fv, ok := fieldForRead(v, f.index)
		if !ok || (f.omitEmpty && isEmptyValue(fv)) {
			continue
		}
		s.path = append(s.path, pathElem{field: f.goName})
		t, err := s.value(fv)
		s.path = s.path[:len(s.path)-1]
		if err != nil {
			return nil, err
		}
		out = append(out, Pair{Key: f.key, Value: t})
	}
	return out, nil
}

// fieldForRead follows index through embedded structs; ok is false when it
// passes a nil embedded pointer.
func fieldForRead(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// typeInfo is what ToTerm and FromTerm need to know about a Go type; it is
// computed once per type and cached.
type typeInfo struct {
	marshaler      bool // the type implements Marshaler
	ptrMarshaler   bool // only its pointer implements Marshaler
	ptrUnmarshaler bool // its pointer implements Unmarshaler
	elemMarshals   bool // for a []byte kind: the element type has its own conversion
	fields         []field
	byName         map[string]int // field key → index into fields
}

// field is one struct field that has a Map key.
type field struct {
	goName    string // the Go field name, for error paths
	name      string // the key text
	key       Term   // the key as a binary term, boxed once
	index     []int  // the path through embedded structs
	typ       reflect.Type
	omitEmpty bool
	tagged    bool
}

var typeInfoCache sync.Map // reflect.Type → *typeInfo

func typeInfoFor(t reflect.Type) *typeInfo {
	if ti, ok := typeInfoCache.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{
		marshaler:      t.Implements(marshalerType),
		ptrUnmarshaler: reflect.PointerTo(t).Implements(unmarshalerType),
	}
	ti.ptrMarshaler = !ti.marshaler && reflect.PointerTo(t).Implements(marshalerType)
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		e := t.Elem()
		ti.elemMarshals = e.Implements(marshalerType) || reflect.PointerTo(e).Implements(marshalerType) ||
			reflect.PointerTo(e).Implements(unmarshalerType)
	case reflect.Struct:
		ti.fields = structFields(t)
		ti.byName = make(map[string]int, len(ti.fields))
		for i, f := range ti.fields {
			ti.byName[f.name] = i
		}
	}
	actual, _ := typeInfoCache.LoadOrStore(t, ti)
	return actual.(*typeInfo)
}

// structFields lists the fields of struct type t that get a Map key, with the
// fields of embedded structs promoted by encoding/json's rules.
func structFields(t reflect.Type) []field {
	type queued struct {
		typ   reflect.Type
		index []int
	}
	var all []field
	current := []queued{{typ: t}}
	visited := map[reflect.Type]bool{}
	for depth := 0; len(current) > 0; depth++ {
		var next []queued
		var level []field
		for _, q := range current {
			if visited[q.typ] {
				continue
			}
			visited[q.typ] = true
			for i := range q.typ.NumField() {
				sf := q.typ.Field(i)
				tag := sf.Tag.Get("etf")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				index := append(slices.Clip(q.index), i)
				ft := sf.Type
				if sf.Anonymous {
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if name == "" && ft.Kind() == reflect.Struct && !termStructTypes[ft] && ft != bigIntType {
						next = append(next, queued{typ: ft, index: index})
						continue
					}
					if !sf.IsExported() {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tagged := name != ""
				if !tagged {
					name = sf.Name
				}
				level = append(level, field{
					goName:    sf.Name,
					name:      name,
					key:       name,
					index:     index,
					typ:       sf.Type,
					omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty"),
					tagged:    tagged,
				})
			}
		}
		for _, f := range level {
			if slices.ContainsFunc(all, func(g field) bool { return g.name == f.name }) {
				continue
			}
			var same []field
			for _, g := range level {
				if g.name == f.name {
					same = append(same, g)
				}
			}
			if len(same) == 1 {
				all = append(all, f)
				continue
			}
			var tagged []field
			for _, g := range same {
				if g.tagged {
					tagged = append(tagged, g)
				}
			}
			if len(tagged) == 1 {
				all = append(all, tagged[0])
			} else {
				all = append(all, field{name: f.name, index: nil})
			}
		}
		current = next
	}
	out := all[:0]
	for _, f := range all {
		if f.index != nil {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b field) int { return slices.Compare(a.index, b.index) })
	return out
}

// fromState carries the path and depth of one FromTerm call.
type fromState struct {
	path  []pathElem
	depth int
	root  reflect.Type
}

func (s *fromState) typeError(t Term, typ reflect.Type, cause string) error {
	return &UnmarshalTypeError{Term: describe(t), Type: typ, Path: formatPath(s.root, s.path), Cause: cause}
}

// describe names a term's kind for an error message, with the value for
// numbers and atoms.
func describe(t Term) string {
	switch x := t.(type) {
	case int64:
		return "integer " + strconv.FormatInt(x, 10)
	case *big.Int:
		if x.BitLen() > 64 {
			return "integer of " + strconv.Itoa(x.BitLen()) + " bits"
		}
		return "integer " + x.String()
	case int:
		return "integer " + strconv.Itoa(x)
	case float64:
		return "float " + strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return "atom " + strconv.FormatBool(x)
	case Atom:
		return "atom " + string(x)
	case string, []byte:
		return "binary"
	case Charlist:
		return "string"
	case List:
		return "list"
	case Tuple:
		return "tuple"
	case Map:
		return "map"
	case ImproperList:
		return "improper list"
	case BitString:
		return "bitstring"
	case Pid:
		return "pid"
	case Ref:
		return "reference"
	case Alias:
		return "alias"
	case Port:
		return "port"
	case Fun:
		return "fun"
	case Export:
		return "external fun"
	case nil:
		return "nothing"
	}
	return "Go value of type " + reflect.TypeOf(t).String()
}

// value stores t in dst, which is settable.
func (s *fromState) value(t Term, dst reflect.Value) error {
	typ := dst.Type()
	info := typeInfoFor(typ)
	if info.ptrUnmarshaler && typ.Kind() != reflect.Pointer {
		if err := dst.Addr().Interface().(Unmarshaler).UnmarshalTerm(t); err != nil {
			if p := formatPath(s.root, s.path); p != "" {
				return &pathError{path: p, err: err}
			}
			return err
		}
		return nil
	}
	if t != nil && reflect.TypeOf(t) == typ {
		if b, ok := t.([]byte); ok {
			dst.SetBytes(append([]byte{}, b...))
			return nil
		}
		dst.Set(reflect.ValueOf(t))
		return nil
	}
	switch typ.Kind() {
	case reflect.Interface:
		if t == nil {
			dst.SetZero()
			return nil
		}
		if !reflect.TypeOf(t).Implements(typ) {
			return s.typeError(t, typ, "")
		}
		dst.Set(reflect.ValueOf(t))
		return nil
	case reflect.Pointer:
		if t == undefined {
			dst.SetZero()
			return nil
		}
		if dst.IsNil() {
			dst.Set(reflect.New(typ.Elem()))
		}
		if err := s.enter(t, typ); err != nil {
			return err
		}
		err := s.value(t, dst.Elem())
		s.depth--
		return err
	case reflect.String:
		str, ok := stringOf(t)
		if !ok {
			return s.typeError(t, typ, "")
		}
		dst.SetString(str)
		return nil
	case reflect.Bool:
		switch t {
		case true, Atom("true"):
			dst.SetBool(true)
		case false, Atom("false"):
			dst.SetBool(false)
		default:
			return s.typeError(t, typ, "")
		}
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok, isInt := int64Of(t)
		if !isInt {
			return s.typeError(t, typ, "")
		}
		if !ok || dst.OverflowInt(n) {
			return s.typeError(t, typ, "out of range")
		}
		dst.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, ok, isInt := uint64Of(t)
		if !isInt {
			return s.typeError(t, typ, "")
		}
		if !ok || dst.OverflowUint(n) {
			return s.typeError(t, typ, "out of range")
		}
		dst.SetUint(n)
		return nil
	case reflect.Float32, reflect.Float64:
		f, ok := float64Of(t)
		if !ok {
			return s.typeError(t, typ, "")
		}
		if dst.OverflowFloat(f) || math.IsInf(f, 0) {
			return s.typeError(t, typ, "out of range")
		}
		dst.SetFloat(f)
		return nil
	case reflect.Slice:
		return s.slice(t, dst)
	case reflect.Array:
		return s.array(t, dst)
	case reflect.Map:
		return s.goMap(t, dst)
	case reflect.Struct:
		if typ == bigIntType {
			n, ok := bigOf(t)
			if !ok {
				return s.typeError(t, typ, "")
			}
			dst.Addr().Interface().(*big.Int).Set(n)
			return nil
		}
		if termStructTypes[typ] {
			return s.typeError(t, typ, "")
		}
		return s.goStruct(t, dst, info)
	}
	return s.typeError(t, typ, "")
}

func (s *fromState) enter(t Term, typ reflect.Type) error {
	s.depth++
	if s.depth > maxValueDepth {
		return s.typeError(t, typ, fmt.Sprintf("nested more than %d deep", maxValueDepth))
	}
	return nil
}

// stringOf returns the text of a binary, atom, Charlist or list of code points.
func stringOf(t Term) (string, bool) {
	switch x := t.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	case Atom:
		return string(x), true
	case Charlist:
		return string(x), true
	case bool:
		return strconv.FormatBool(x), true
	case List:
		b := make([]byte, 0, len(x))
		for _, e := range x {
			n, ok, _ := int64Of(e)
			if !ok || n < 0 || n > utf8.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
				return "", false
			}
			b = utf8.AppendRune(b, rune(n))
		}
		return string(b), true
	}
	return "", false
}

// int64Of returns an integer term's value; isInt reports whether t is an
// integer at all and ok whether it fits in an int64.
func int64Of(t Term) (n int64, ok, isInt bool) {
	switch x := t.(type) {
	case int64:
		return x, true, true
	case int:
		return int64(x), true, true
	case *big.Int:
		if x == nil {
			return 0, false, false
		}
		return x.Int64(), x.IsInt64(), true
	}
	return 0, false, false
}

// uint64Of is int64Of for unsigned targets.
func uint64Of(t Term) (n uint64, ok, isInt bool) {
	switch x := t.(type) {
	case int64:
		return uint64(x), x >= 0, true
	case int:
		return uint64(x), x >= 0, true
	case *big.Int:
		if x == nil {
			return 0, false, false
		}
		return x.Uint64(), x.IsUint64(), true
	}
	return 0, false, false
}

// float64Of returns a float or integer term as a float64 (±Inf when an
// integer is too large).
func float64Of(t Term) (float64, bool) {
	switch x := t.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case *big.Int:
		if x == nil {
			return 0, false
		}
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	}
	return 0, false
}

// bigOf returns an integer term as a *big.Int, which the caller must not change.
func bigOf(t Term) (*big.Int, bool) {
	switch x := t.(type) {
	case *big.Int:
		return x, x != nil
	case int64:
		return big.NewInt(x), true
	case int:
		return big.NewInt(int64(x)), true
	}
	return nil, false
}

// listLen returns the length of a list, tuple or Charlist (in codes).
func listLen(t Term) (int, bool) {
	switch x := t.(type) {
	case List:
		return len(x), true
	case Tuple:
		return len(x), true
	case Charlist:
		return utf8.RuneCountInString(string(x)), true
	}
	return 0, false
}

// storeList stores the elements of t, which listLen accepted, in dst: a
// slice, made afresh, or an array of the same length.
func (s *fromState) storeList(t Term, dst reflect.Value) error {
	if err := s.enter(t, dst.Type()); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	switch x := t.(type) {
	case List:
		return storeElems(s, x, dst)
	case Tuple:
		return storeElems(s, x, dst)
	case Charlist:
		codes := make([]Term, 0, len(x))
		for _, r := range string(x) {
			codes = append(codes, int64(r))
		}
		return storeElems(s, codes, dst)
	}
	return s.typeError(t, dst.Type(), "")
}

func storeElems[E any](s *fromState, elems []E, dst reflect.Value) error {
	out := dst
	if dst.Kind() == reflect.Slice {
		out = reflect.MakeSlice(dst.Type(), len(elems), len(elems))
	}
	for i, e := range elems {
		s.path = append(s.path, pathElem{index: i})
		err := s.value(e, out.Index(i))
		s.path = s.path[:len(s.path)-1]
		if err != nil {
			return err
		}
	}
	if dst.Kind() == reflect.Slice {
		dst.Set(out)
	}
	return nil
}

func (s *fromState) slice(t Term, dst reflect.Value) error {
	typ := dst.Type()
	info := typeInfoFor(typ)
	if typ.Elem().Kind() == reflect.Uint8 && !info.elemMarshals {
		switch x := t.(type) {
		case []byte:
			dst.SetBytes(append([]byte{}, x...))
			return nil
		case string:
			dst.SetBytes([]byte(x))
			return nil
		}
	}
	if _, ok := listLen(t); !ok {
		return s.typeError(t, typ, "")
	}
	return s.storeList(t, dst)
}

func (s *fromState) array(t Term, dst reflect.Value) error {
	typ := dst.Type()
	info := typeInfoFor(typ)
	if typ.Elem().Kind() == reflect.Uint8 && !info.elemMarshals {
		var b []byte
		switch x := t.(type) {
		case []byte:
			b = x
		case string:
			b = []byte(x)
		}
		if b != nil {
			if len(b) != typ.Len() {
				return s.typeError(t, typ, fmt.Sprintf("length %d", len(b)))
			}
			reflect.Copy(dst, reflect.ValueOf(b))
			return nil
		}
	}
	n, ok := listLen(t)
	if !ok {
		return s.typeError(t, typ, "")
	}
	if n != typ.Len() {
		return s.typeError(t, typ, fmt.Sprintf("length %d", n))
	}
	return s.storeList(t, dst)
}

func (s *fromState) goMap(t Term, dst reflect.Value) error {
	typ := dst.Type()
	m, ok := t.(Map)
	if !ok {
		return s.typeError(t, typ, "")
	}
	if err := s.enter(t, typ); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	if dst.IsNil() {
		dst.Set(reflect.MakeMapWithSize(typ, len(m)))
	}
	kt, vt := typ.Key(), typ.Elem()
	for _, p := range m {
		s.path = append(s.path, pathElem{key: p.Key})
		k := reflect.New(kt).Elem()
		err := s.value(p.Key, k)
		if err == nil {
			v := reflect.New(vt).Elem()
			if err = s.value(p.Value, v); err == nil {
				dst.SetMapIndex(k, v)
			}
		}
		s.path = s.path[:len(s.path)-1]
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *fromState) goStruct(t Term, dst reflect.Value, info *typeInfo) error {
	m, ok := t.(Map)
	if !ok {
		return s.typeError(t, dst.Type(), "")
	}
	if err := s.enter(t, dst.Type()); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	for _, p := range m {
		var i int
		switch k := p.Key.(type) {
		case string:
			i, ok = info.byName[k]
		case []byte:
			i, ok = info.byName[string(k)]
		case Atom:
			i, ok = info.byName[string(k)]
		default:
			ok = false
		}
		if !ok {
			continue
		}
		f := &info.fields[i]
		s.path = append(s.path, pathElem{field: f.goName})
		fv, err := s.fieldForWrite(dst, f.index)
		if err == nil {
			err = s.value(p.Value, fv)
		}
		s.path = s.path[:len(s.path)-1]
		if err != nil {
			return err
		}
	}
	return nil
}

// fieldForWrite follows index through embedded structs, allocating nil
// embedded pointers on the way.
func (s *fromState) fieldForWrite(v reflect.Value, index []int) (reflect.Value, error) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, &UnmarshalTypeError{
						Term: "map", Type: v.Type(), Path: formatPath(s.root, s.path),
						Cause: "nil pointer to unexported embedded struct",
					}
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, nil
}
