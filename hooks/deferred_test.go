package hooks_test

import (
	"context"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// deferring is a handler that answers deferred calls from a goroutine of its own with value and err, declines
// them when decline is set, and never answers when silent is set (abandoned is then closed on abandon).
type deferring struct {
	value     etf.Term
	err       error
	decline   bool
	silent    bool
	abandoned chan struct{}
}

func (d *deferring) Execute(context.Context, hooks.Call) (etf.Term, error) { return d.value, d.err }

func (d *deferring) Stream(context.Context, hooks.Call) (hooks.Stream, error) {
	return nil, hooks.UnknownAction("stream")
}

func (d *deferring) ExecuteDeferred(_ hooks.Call, done func(etf.Term, error)) (func(), bool) {
	if d.decline {
		return nil, false
	}
	if !d.silent {
		go done(d.value, d.err)
	}
	return func() { close(d.abandoned) }, true
}

type deferredOutcome struct {
	v   etf.Term
	err error
}

func TestExecuteDeferred(t *testing.T) {
	tests := []struct {
		name      string
		h         hooks.Handler
		action    string
		intercept bool
		limit     bool
		timeout   time.Duration
		taken     bool
		want      etf.Term
		kind      etf.Atom
	}{
		{name: "value", h: &deferring{value: int64(7)}, taken: true, want: int64(7)},
		{name: "result_rule_ok", h: &deferring{value: etf.Tuple{etf.Atom("ok"), int64(1)}}, taken: true, want: int64(1)},
		{name: "result_rule_error", h: &deferring{value: etf.Tuple{etf.Atom("error"), etf.Atom("nope")}}, taken: true, kind: "nope"},
		{name: "error", h: &deferring{err: hooks.BadArg("x")}, taken: true, kind: hooks.KindBadArg},
		{name: "declined", h: &deferring{decline: true}},
		{name: "answered_before_timeout", h: &deferring{value: int64(7)}, timeout: time.Minute, taken: true, want: int64(7)},
		{name: "timeout", h: &deferring{silent: true, abandoned: make(chan struct{})}, timeout: 20 * time.Millisecond,
			taken: true, kind: hooks.KindTimeout},
		{name: "plain_handler", h: hooks.Func(func(context.Context, string, []etf.Term, etf.Map) (any, error) { return 1, nil })},
		{name: "private_action", h: &deferring{value: int64(7)}, action: "_x"},
		{name: "interceptor", h: &deferring{value: int64(7)}, intercept: true},
		{name: "limit", h: &deferring{value: int64(7)}, limit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, hooks.Options{})
			var opts []hooks.RegisterOption
			if tt.limit {
				opts = append(opts, hooks.WithLimit(1, 1))
			}
			mustRegister(t, e, "d", tt.h, opts...)
			if tt.intercept {
				e.Use(hooks.Interceptor{OnCallError: func(context.Context, *hooks.Call, *hooks.Error) {}})
			}
			action := tt.action
			if action == "" {
				action = "run"
			}
			out := make(chan deferredOutcome, 1)
			taken := e.ExecuteDeferred(hooks.Call{AppPath: "d", Action: action}, tt.timeout, func(v etf.Term, err error) {
				out <- deferredOutcome{v, err}
			})
			if taken != tt.taken {
				t.Fatalf("got taken %v; want %v", taken, tt.taken)
			}
			st, _ := e.Stats("d")
			if !taken {
				if st.Calls != 0 || st.InFlight != 0 {
					t.Errorf("got %d calls, %d in flight after a declined call; want 0, 0", st.Calls, st.InFlight)
				}
				return
			}
			o := <-out
			if tt.kind != "" {
				if got := hooks.ErrorOf(o.err).Kind; got != tt.kind {
					t.Errorf("got error %v; want kind %v", o.err, tt.kind)
				}
				if d, ok := tt.h.(*deferring); ok && d.silent {
					select {
					case <-d.abandoned:
					case <-time.After(5 * time.Second):
						t.Error("the handler was not told to abandon the call")
					}
				}
				return
			}
			if o.err != nil || !etf.Equal(o.v, tt.want) {
				t.Errorf("got %v, %v; want %v", o.v, o.err, tt.want)
			}
			if st, _ := e.Stats("d"); st.Calls != 1 || st.InFlight != 0 {
				t.Errorf("got %d calls, %d in flight; want 1, 0", st.Calls, st.InFlight)
			}
		})
	}
}
