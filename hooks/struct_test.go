package hooks_test

import (
	"context"
	"errors"
	"io"
	"iter"
	"reflect"
	"strings"
	"testing"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// Service is a struct handler with one method per shape the Struct rule allows.
type Service struct{ prefix string }

func (s Service) Encode(text string) string { return s.prefix + text }

func (s Service) BatchEncode(ctx context.Context, texts []string) ([]string, error) {
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = s.prefix + t
	}
	return out, ctx.Err()
}

func (Service) Similarity(a, b string) float64 {
	if a == b {
		return 1
	}
	return 0
}

func (Service) Fail() error { return errors.New("failed") }
func (Service) Check(ok bool) error {
	return map[bool]error{true: nil, false: hooks.BadArg("not ok")}[ok]
}
func (Service) Nothing() {}
func (Service) Sum(xs ...int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}
func (Service) Options(x int64, kwargs etf.Map) etf.Tuple { return etf.Tuple{x, int64(len(kwargs))} }
func (Service) Lookup(key string) etf.Tuple {
	if key == "" {
		return etf.Tuple{etf.Atom("error"), etf.Atom("empty_key")}
	}
	return etf.Tuple{etf.Atom("ok"), []byte(key)}
}
func (Service) EncodeHTTP() string { return "http" }
func (Service) Count(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}
func (Service) Crash() int            { panic("crash") }
func (Service) String() string        { return "Service" }
func (Service) Close() error          { return errors.New("must not be callable") }
func (Service) Pairs() (int, int)     { return 1, 2 }
func (s *Service) SetPrefix(p string) { s.prefix = p }

func TestStruct(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	h, err := hooks.Struct(Service{prefix: "v:"})
	if err != nil {
		t.Fatal(err)
	}
	mustRegister(t, e, "svc", h)
	ok := func(v etf.Term) etf.Term { return tuple(etf.Atom("ok"), v) }
	fail := func(r etf.Term) etf.Term { return tuple(etf.Atom("error"), r) }
	badarg := func(s string) etf.Term { return fail(tuple(etf.Atom("badarg"), []byte(s))) }
	unknown := func(s string) etf.Term { return fail(tuple(etf.Atom("unknown_action"), []byte(s))) }
	tests := []struct {
		name string
		call hooks.Call
		want etf.Term
	}{
		{"value", call("svc", "encode", []byte("a")), ok("v:a")},
		{"context and error", call("svc", "batch_encode", etf.List{[]byte("a"), []byte("b")}), ok(etf.List{"v:a", "v:b"})},
		{"two args", call("svc", "similarity", []byte("a"), []byte("a")), ok(float64(1))},
		{"error only", call("svc", "fail"), fail(tuple(etf.Atom("go"), []byte("failed")))},
		{"nil error", call("svc", "check", true), ok(etf.Atom("ok"))},
		{"hooks error", call("svc", "check", false), badarg("not ok")},
		{"no result", call("svc", "nothing"), ok(etf.Atom("ok"))},
		{"variadic", call("svc", "sum", int64(1), int64(2), int64(3)), ok(int64(6))},
		{"variadic none", call("svc", "sum"), ok(int64(0))},
		{"kwargs", hooks.Call{AppPath: "svc", Action: "options", Args: []etf.Term{int64(7)}, Kwargs: etf.Map{{Key: []byte("a"), Value: int64(1)}}}, ok(tuple(int64(7), int64(1)))},
		{"result ok", call("svc", "lookup", []byte("k")), ok([]byte("k"))},
		{"result error", call("svc", "lookup", []byte("")), fail(etf.Atom("empty_key"))},
		{"acronym", call("svc", "encode_http"), ok("http")},
		{"stream collected", call("svc", "count", int64(3)), ok(etf.List{int64(0), int64(1), int64(2)})},
		{"panic", call("svc", "crash"), fail(tuple(etf.Atom("panic"), []byte("crash")))},
		{"too many args", call("svc", "encode", []byte("a"), []byte("b")), badarg("hooks: encode takes 1 argument, got 2")},
		{"too few args", call("svc", "similarity"), badarg("hooks: similarity takes 2 arguments, got 0")},
		{"unexpected kwargs", hooks.Call{AppPath: "svc", Action: "nothing", Kwargs: etf.Map{{Key: []byte("a"), Value: int64(1)}}}, badarg("hooks: nothing takes no keyword arguments")},
		{"Go name", call("svc", "Encode", []byte("a")), unknown("Encode")},
		{"reserved String", call("svc", "string"), unknown("string")},
		{"reserved Close", call("svc", "close"), unknown("close")},
		{"bad results shape", call("svc", "pairs"), unknown("pairs")},
		{"pointer method on value", call("svc", "set_prefix", []byte("x")), unknown("set_prefix")},
		{"contract method", call("svc", "execute"), unknown("execute")},
		{"underscore", call("svc", "_encode", []byte("a")), unknown("_encode")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := e.Execute(context.Background(), tt.call)
			if got := hooks.Reply(v, err); !etf.Equal(got, tt.want) {
				t.Errorf("Execute(%s) = %#v; want %#v", tt.call.Action, got, tt.want)
			}
		})
	}
	t.Run("bad argument type", func(t *testing.T) {
		_, err := e.Execute(context.Background(), call("svc", "encode", etf.Tuple{int64(1)}))
		var he *hooks.Error
		if !errors.As(err, &he) || he.Kind != hooks.KindBadArg || !strings.HasPrefix(string(he.Detail.([]byte)), "hooks: argument 1 of encode: ") {
			t.Errorf("Execute(encode, {1}) = %v; want badarg naming argument 1", err)
		}
	})
}

func TestStructPointerAndErrors(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	s := &Service{}
	h, err := hooks.Struct(s)
	if err != nil {
		t.Fatal(err)
	}
	mustRegister(t, e, "svc", h)
	if _, err := e.Execute(context.Background(), call("svc", "set_prefix", []byte("p:"))); err != nil {
		t.Fatalf("set_prefix = %v", err)
	}
	if v, err := e.Execute(context.Background(), call("svc", "encode", []byte("x"))); err != nil || v != "p:x" {
		t.Errorf("encode after set_prefix = %v, %v; want p:x", v, err)
	}
	for _, v := range []any{nil, struct{}{}, 42} {
		if _, err := hooks.Struct(v); !errors.Is(err, hooks.ErrBadArg) {
			t.Errorf("Struct(%#v) = %v; want badarg", v, err)
		}
	}
}

func TestStructStream(t *testing.T) {
	e := newEngine(t, hooks.Options{})
	h, _ := hooks.Struct(Service{})
	mustRegister(t, e, "svc", h)
	s, err := e.Stream(context.Background(), call("svc", "count", int64(3)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []etf.Term
	for {
		v, err := s.Next(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if want := []etf.Term{int64(0), int64(1), int64(2)}; !reflect.DeepEqual(got, want) {
		t.Errorf("stream count(3) = %v; want %v", got, want)
	}
}
