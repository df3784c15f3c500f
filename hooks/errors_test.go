package hooks_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

func tuple(ts ...etf.Term) etf.Tuple { return etf.Tuple(ts) }

func TestReasonRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		reason etf.Term
		kind   etf.Atom
		msg    string
	}{
		{"bare atom", etf.Atom("timeout"), "timeout", "hooks: timeout"},
		{"pair", tuple(etf.Atom("not_found"), []byte("calc")), "not_found", `hooks: not_found: "calc"`},
		{"pair of tuple", tuple(etf.Atom("x"), tuple(int64(1), etf.Atom("y"))), "x", "hooks: x: {1, y}"},
		{"binary", []byte("boom"), "", `hooks: "boom"`},
		{"long tuple", tuple(etf.Atom("erlang"), etf.Atom("error"), etf.Atom("badarith"), etf.List{}), "erlang", "hooks: erlang: {erlang, error, badarith, []}"},
		{"tuple of non-atom", tuple(int64(1), int64(2)), "", "hooks: {1, 2}"},
		{"empty atom", etf.Atom(""), "", "hooks: "},
		{"integer", int64(42), "", "hooks: 42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := hooks.FromReason(tt.reason)
			if got := e.Reason(); !reflect.DeepEqual(got, tt.reason) {
				t.Errorf("FromReason(%v).Reason() = %#v; want %#v", tt.reason, got, tt.reason)
			}
			if e.Kind != tt.kind {
				t.Errorf("Kind = %q; want %q", e.Kind, tt.kind)
			}
			if e.Error() != tt.msg {
				t.Errorf("Error() = %q; want %q", e.Error(), tt.msg)
			}
			if got := hooks.Reply(nil, e); !reflect.DeepEqual(got, tuple(etf.Atom("error"), tt.reason)) {
				t.Errorf("Reply = %#v; want {error, %#v}", got, tt.reason)
			}
		})
	}
}

func TestErrorOf(t *testing.T) {
	plain := errors.New("disk full")
	tests := []struct {
		name   string
		err    error
		reason etf.Term
		is     error
	}{
		{"hooks error", hooks.UnknownAction("x"), tuple(hooks.KindUnknownAction, []byte("x")), hooks.ErrUnknownAction},
		{"wrapped hooks error", fmt.Errorf("ctx: %w", hooks.BadArg("no")), tuple(hooks.KindBadArg, []byte("no")), hooks.ErrBadArg},
		{"go error", plain, tuple(hooks.KindGo, []byte("disk full")), plain},
		{"deadline", context.DeadlineExceeded, hooks.KindTimeout, hooks.ErrTimeout},
		{"canceled", fmt.Errorf("op: %w", context.Canceled), hooks.KindCancelled, context.Canceled},
		{"not found", hooks.NotFound("p"), tuple(hooks.KindNotFound, []byte("p")), hooks.ErrNotFound},
		{"task not found", hooks.TaskNotFound("t"), tuple(hooks.KindTaskNotFound, []byte("t")), hooks.ErrTaskNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hooks.ReasonOf(tt.err); !reflect.DeepEqual(got, tt.reason) {
				t.Errorf("ReasonOf(%v) = %#v; want %#v", tt.err, got, tt.reason)
			}
			if e := hooks.ErrorOf(tt.err); !errors.Is(e, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false; want true", e, tt.is)
			}
		})
	}
	if hooks.ErrorOf(nil) != nil || hooks.ReasonOf(nil) != nil {
		t.Errorf("ErrorOf(nil) or ReasonOf(nil) is not nil")
	}
	if errors.Is(hooks.ErrTimeout, hooks.ErrCancelled) {
		t.Errorf("errors.Is(ErrTimeout, ErrCancelled) = true; want false")
	}
}

func TestResultRule(t *testing.T) {
	tests := []struct {
		name  string
		value etf.Term
		want  etf.Term
		err   etf.Term
	}{
		{"ok pair", tuple(etf.Atom("ok"), int64(1)), int64(1), nil},
		{"error pair", tuple(etf.Atom("error"), etf.Atom("nope")), nil, etf.Atom("nope")},
		{"plain", int64(7), int64(7), nil},
		{"bare ok", etf.Atom("ok"), etf.Atom("ok"), nil},
		{"ok triple", tuple(etf.Atom("ok"), int64(1), int64(2)), tuple(etf.Atom("ok"), int64(1), int64(2)), nil},
		{"other pair", tuple(etf.Atom("reply"), int64(1)), tuple(etf.Atom("reply"), int64(1)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := hooks.ResultOf(tt.value)
			if !reflect.DeepEqual(v, tt.want) || !reflect.DeepEqual(hooks.ReasonOf(err), tt.err) {
				t.Errorf("ResultOf(%v) = %v, %v; want %v, %v", tt.value, v, hooks.ReasonOf(err), tt.want, tt.err)
			}
		})
	}
	if got := hooks.Reply(int64(3), nil); !reflect.DeepEqual(got, tuple(etf.Atom("ok"), int64(3))) {
		t.Errorf("Reply(3, nil) = %v; want {ok, 3}", got)
	}
}
