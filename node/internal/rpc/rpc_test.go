package rpc

import (
	"testing"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/proto"
	"github.com/stretchr/testify/require"
)

func TestRPCRequest(t *testing.T) {
	app, act := []byte("demo"), []byte("echo")
	tests := []struct {
		name string
		m, f etf.Atom
		args []etf.Term
		want etf.Term // nil: undef
	}{
		{"execute/4", atomHooks, proto.AtomExecute, []etf.Term{app, act, etf.List{}, etf.Map{}},
			etf.Tuple{proto.AtomExecute, app, act, etf.List{}, etf.Map{}}},
		{"all/0 is the atom all", atomHooks, proto.AtomAll, nil, proto.AtomAll},
		{"find/1", atomHooks, proto.AtomFind, []etf.Term{app}, etf.Tuple{proto.AtomFind, app}},
		{"wrong arity", atomHooks, proto.AtomFind, nil, nil},
		{"not served", atomHooks, proto.AtomStream, []etf.Term{app, act, etf.List{}, etf.Map{}}, nil},
		{"other module", atomErlang, proto.AtomAll, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := rpcRequest(tt.m, tt.f, tt.args)
			require.Equal(t, tt.want != nil, ok, "got ok %v; want %v", ok, tt.want != nil)
			if ok {
				require.True(t, etf.Equal(tt.want, got), "got %v; want %v", got, tt.want)
			}
		})
	}
}

func TestAppliesFun(t *testing.T) {
	fun := etf.Fun{}
	tests := []struct {
		name    string
		m, f, a etf.Term
		want    bool
	}{
		{"erlang:apply(Fun, [])", atomErlang, atomApply, etf.List{fun, etf.List{}}, true},
		{"erlang:apply(M, F) is not a fun", atomErlang, atomApply, etf.List{atomHooks, etf.List{}}, false},
		{"erlang:node()", atomErlang, atomNode, etf.List{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := appliesFun(tt.m, tt.f, tt.a)
			require.Equal(t, tt.want, got, "got %v; want %v", got, tt.want)
		})
	}
}
