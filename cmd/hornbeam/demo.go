package main

import (
	"context"
	"fmt"
	"iter"
	"math/big"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// registerDemo registers the demo hooks the README promises.
func registerDemo(e *hooks.Engine) error {
	calc, err := hooks.Struct(calculator{})
	if err != nil {
		return err
	}
	demos := []struct {
		path string
		h    hooks.Handler
	}{
		{"demo.echo", hooks.Func(echo)},
		{"demo.calculator", calc},
		{"demo.counter", hooks.Func(counter)},
		{"demo.sleep", hooks.Func(sleep)},
	}
	for _, d := range demos {
		if err := e.Register(d.path, d.h); err != nil {
			return fmt.Errorf("hornbeam: registering %s: %w", d.path, err)
		}
	}
	return nil
}

// echo returns its one argument unchanged.
func echo(_ context.Context, action string, args []etf.Term, _ etf.Map) (any, error) {
	if action != "echo" {
		return nil, hooks.UnknownAction(action)
	}
	if len(args) != 1 {
		return nil, hooks.BadArg(fmt.Sprintf("echo takes 1 argument, got %d", len(args)))
	}
	return args[0], nil
}

// counter streams 0 … N-1 for the action count [N].
func counter(_ context.Context, action string, args []etf.Term, _ etf.Map) (any, error) {
	if action != "count" {
		return nil, hooks.UnknownAction(action)
	}
	var n int64
	if len(args) != 1 || etf.FromTerm(args[0], &n) != nil || n < 0 {
		return nil, hooks.BadArg("count takes one non-negative integer")
	}
	return iter.Seq[any](func(yield func(any) bool) {
		for i := int64(0); i < n; i++ {
			if !yield(i) {
				return
			}
		}
	}), nil
}

// sleep answers ok after [Ms] milliseconds, or ends early with the caller's deadline.
func sleep(ctx context.Context, action string, args []etf.Term, _ etf.Map) (any, error) {
	if action != "sleep" {
		return nil, hooks.UnknownAction(action)
	}
	var ms int64
	if len(args) != 1 || etf.FromTerm(args[0], &ms) != nil || ms < 0 {
		return nil, hooks.BadArg("sleep takes one non-negative integer of milliseconds")
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return etf.Atom("ok"), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// calculator is the demo.calculator hook: integer arithmetic stays exact, and
// a float on either side makes the result a float, as in Erlang.
type calculator struct{}

// Add returns A + B.
func (calculator) Add(a, b etf.Term) (etf.Term, error) { return arith(a, b, '+') }

// Multiply returns A * B.
func (calculator) Multiply(a, b etf.Term) (etf.Term, error) { return arith(a, b, '*') }

// Divide returns A / B as a float; dividing by zero is {error, {badarith, <<"division by zero">>}}.
func (calculator) Divide(a, b etf.Term) (etf.Term, error) {
	x, okx := toFloat(a)
	y, oky := toFloat(b)
	if !okx || !oky {
		return nil, hooks.BadArg("divide takes two numbers")
	}
	if y == 0 {
		return nil, &hooks.Error{Kind: "badarith", Detail: []byte("division by zero")}
	}
	return x / y, nil
}

func arith(a, b etf.Term, op byte) (etf.Term, error) {
	if x, ok := toInt(a); ok {
		if y, ok := toInt(b); ok {
			if op == '+' {
				return normalize(new(big.Int).Add(x, y)), nil
			}
			return normalize(new(big.Int).Mul(x, y)), nil
		}
	}
	x, okx := toFloat(a)
	y, oky := toFloat(b)
	if !okx || !oky {
		return nil, hooks.BadArg("arithmetic takes two numbers")
	}
	if op == '+' {
		return x + y, nil
	}
	return x * y, nil
}

func toInt(t etf.Term) (*big.Int, bool) {
	switch v := t.(type) {
	case int64:
		return big.NewInt(v), true
	case *big.Int:
		return v, true
	}
	return nil, false
}

func toFloat(t etf.Term) (float64, bool) {
	switch v := t.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(v).Float64()
		return f, true
	}
	return 0, false
}

func normalize(v *big.Int) etf.Term {
	if v.IsInt64() {
		return v.Int64()
	}
	return v
}
