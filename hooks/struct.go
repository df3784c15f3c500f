package hooks

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/hornbeam-go/hornbeam/etf"
)

// reserved are method names that are never actions: the methods of Handler,
// Describer, fmt.Stringer, fmt.GoStringer, fmt.Formatter and error, and Close,
// so that a remote caller cannot shut a service down.
var reserved = map[string]bool{
	"Execute": true, "Stream": true, "Describe": true,
	"String": true, "GoString": true, "Format": true, "Error": true, "Close": true,
}

var (
	contextType = reflect.TypeFor[context.Context]()
	mapType     = reflect.TypeFor[etf.Map]()
)

// structHandler dispatches actions to the methods of a Go value.
type structHandler struct {
	typ     reflect.Type
	actions map[string]*method
}

// method is one action: a bound method and how to call it.
type method struct {
	name   string
	fn     reflect.Value
	ctx    bool // takes a leading context.Context
	kwargs bool // takes a trailing etf.Map
	params []reflect.Type
	errOut int // index of the error result, or -1
	valOut int // index of the value result, or -1
}

// Struct returns a handler whose actions are the methods of v. A method is an
// action when it is exported, its name is not reserved (Execute, Stream,
// Describe, String, GoString, Format, Error and Close are not), and its results
// are (), (T), (error) or (T, error); other methods are ignored. The action
// name is the method name in snake_case: BatchEncode is "batch_encode",
// EncodeHTTP "encode_http". A method may take a leading context.Context and a
// trailing etf.Map for the keyword arguments; each other parameter receives
// one positional argument converted by etf.FromTerm (a variadic one takes the
// rest), and a mismatch is {badarg, Detail}. The value result is converted by
// etf.ToTerm and follows the result rule; an iterator result is a stream, as
// for Func. Pass a pointer to include pointer-receiver methods. Struct fails
// with badarg when v is nil or has no actions.
func Struct(v any) (Handler, error) {
	if v == nil {
		return nil, BadArg("hooks: Struct of nil")
	}
	rv := reflect.ValueOf(v)
	h := &structHandler{typ: rv.Type(), actions: make(map[string]*method)}
	for i := range rv.NumMethod() {
		m := h.typ.Method(i)
		if reserved[m.Name] {
			continue
		}
		if am := newMethod(m.Name, rv.Method(i)); am != nil {
			h.actions[snakeCase(m.Name)] = am
		}
	}
	if len(h.actions) == 0 {
		return nil, BadArg(fmt.Sprintf("hooks: Struct: %v has no action methods", h.typ))
	}
	return h, nil
}

// newMethod describes a bound method fn, or returns nil if it cannot be an action.
func newMethod(name string, fn reflect.Value) *method {
	t := fn.Type()
	m := &method{name: name, fn: fn, errOut: -1, valOut: -1}
	switch {
	case t.NumOut() == 1 && t.Out(0) == errorType:
		m.errOut = 0
	case t.NumOut() == 1:
		m.valOut = 0
	case t.NumOut() == 2 && t.Out(1) == errorType:
		m.valOut, m.errOut = 0, 1
	case t.NumOut() != 0:
		return nil
	}
	for i := range t.NumIn() {
		m.params = append(m.params, t.In(i))
	}
	if len(m.params) > 0 && m.params[0] == contextType {
		m.ctx = true
		m.params = m.params[1:]
	}
	if len(m.params) > 0 && !t.IsVariadic() && m.params[len(m.params)-1] == mapType {
		m.kwargs = true
		m.params = m.params[:len(m.params)-1]
	}
	return m
}

// Execute calls the action's method and converts its result to a term.
func (h *structHandler) Execute(ctx context.Context, call Call) (etf.Term, error) {
	return executeGo(ctx, h, call)
}

// Stream calls the action's method and returns its result as a stream, running
// an iterator ahead of the consumer by at most call.Window chunks (DefaultWindow if 0).
func (h *structHandler) Stream(ctx context.Context, call Call) (Stream, error) {
	return streamGo(ctx, h, call, goStart)
}

func (h *structHandler) call(ctx context.Context, call Call) (any, error) {
	m := h.actions[call.Action]
	if m == nil {
		return nil, UnknownAction(call.Action)
	}
	in, err := m.args(ctx, call)
	if err != nil {
		return nil, err
	}
	var out []reflect.Value
	if m.fn.Type().IsVariadic() {
		out = m.fn.CallSlice(in)
	} else {
		out = m.fn.Call(in)
	}
	if m.errOut >= 0 && !out[m.errOut].IsNil() {
		return nil, out[m.errOut].Interface().(error)
	}
	if m.valOut < 0 {
		return etf.Atom("ok"), nil
	}
	return out[m.valOut].Interface(), nil
}

// args converts the call's arguments to the method's parameters.
func (m *method) args(ctx context.Context, call Call) ([]reflect.Value, error) {
	variadic := m.fn.Type().IsVariadic()
	n := len(m.params)
	if len(call.Args) != n && (!variadic || len(call.Args) < n-1) {
		want := n
		if variadic {
			want--
		}
		noun := "arguments"
		if want == 1 {
			noun = "argument"
		}
		atLeast := ""
		if variadic {
			atLeast = "at least "
		}
		return nil, BadArg(fmt.Sprintf("hooks: %s takes %s%d %s, got %d", call.Action, atLeast, want, noun, len(call.Args)))
	}
	if !m.kwargs && len(call.Kwargs) > 0 {
		return nil, BadArg(fmt.Sprintf("hooks: %s takes no keyword arguments", call.Action))
	}
	in := make([]reflect.Value, 0, n+2)
	if m.ctx {
		in = append(in, reflect.ValueOf(&ctx).Elem())
	}
	for i, p := range m.params {
		if variadic && i == n-1 {
			rest := reflect.MakeSlice(p, 0, len(call.Args)-i)
			for j := i; j < len(call.Args); j++ {
				v, err := convertArg(call, j, p.Elem())
				if err != nil {
					return nil, err
				}
				rest = reflect.Append(rest, v)
			}
			in = append(in, rest)
			break
		}
		v, err := convertArg(call, i, p)
		if err != nil {
			return nil, err
		}
		in = append(in, v)
	}
	if m.kwargs {
		in = append(in, reflect.ValueOf(call.Kwargs))
	}
	return in, nil
}

// convertArg converts argument i of call to type t with etf.FromTerm.
func convertArg(call Call, i int, t reflect.Type) (reflect.Value, error) {
	p := reflect.New(t)
	if err := etf.FromTerm(call.Args[i], p.Interface()); err != nil {
		return reflect.Value{}, BadArg(fmt.Sprintf("hooks: argument %d of %s: %v", i+1, call.Action, err))
	}
	return p.Elem(), nil
}

// snakeCase turns a Go method name into an action name: BatchEncode is
// batch_encode, EncodeHTTP encode_http, HTTPGet http_get, Base64Encode base64_encode.
func snakeCase(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if !unicode.IsUpper(prev) || nextLower {
					b.WriteByte('_')
				}
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
