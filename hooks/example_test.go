package hooks_test

import (
	"context"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/hooks"
)

// A Func receives every action of its hook.
func ExampleFunc() {
	e := hooks.New(hooks.Options{})
	defer e.Close()
	calc := func(ctx context.Context, action string, args []etf.Term, kwargs etf.Map) (any, error) {
		switch action {
		case "add":
			return args[0].(int64) + args[1].(int64), nil
		case "div":
			if args[1].(int64) == 0 {
				return etf.Tuple{etf.Atom("error"), etf.Atom("badarith")}, nil
			}
			return args[0].(int64) / args[1].(int64), nil
		}
		return nil, hooks.UnknownAction(action)
	}
	e.Register("calculator", hooks.Func(calc))

	for _, c := range []hooks.Call{
		{AppPath: "calculator", Action: "add", Args: []etf.Term{int64(2), int64(3)}},
		{AppPath: "calculator", Action: "div", Args: []etf.Term{int64(1), int64(0)}},
		{AppPath: "calculator", Action: "sqrt", Args: []etf.Term{int64(4)}},
		{AppPath: "abacus", Action: "add"},
	} {
		v, err := e.Execute(context.Background(), c)
		fmt.Println(v, err)
	}
	// Output:
	// 5 <nil>
	// <nil> hooks: badarith
	// <nil> hooks: unknown_action: "sqrt"
	// <nil> hooks: not_found: "abacus"
}

// Embeddings is a struct handler: its exported methods are its actions.
type Embeddings struct{ dim int }

// Encode is the action "encode".
func (m Embeddings) Encode(text string) []float64 {
	v := make([]float64, m.dim)
	v[0] = float64(len(text))
	return v
}

// BatchEncode is the action "batch_encode"; it takes a context and keyword arguments.
func (m Embeddings) BatchEncode(ctx context.Context, texts []string, kwargs etf.Map) ([][]float64, error) {
	out := make([][]float64, len(texts))
	for i, t := range texts {
		out[i] = m.Encode(t)
	}
	return out, ctx.Err()
}

// A struct's methods are actions named in snake_case; arguments and results
// are converted with etf.FromTerm and etf.ToTerm.
func ExampleStruct() {
	e := hooks.New(hooks.Options{})
	defer e.Close()
	h, err := hooks.Struct(Embeddings{dim: 2})
	if err != nil {
		panic(err)
	}
	e.Register("embeddings", h)

	v, err := e.Execute(context.Background(), hooks.Call{
		AppPath: "embeddings", Action: "batch_encode",
		Args: []etf.Term{etf.List{[]byte("hello"), []byte("hi")}},
	})
	fmt.Println(v, err)
	_, err = e.Execute(context.Background(), hooks.Call{AppPath: "embeddings", Action: "encode"})
	fmt.Println(err)
	// Output:
	// [[5 0] [2 0]] <nil>
	// hooks: badarg: "hooks: encode takes 1 argument, got 0"
}

// worker stands for a handler in another process, as the node and python
// packages implement Handler: it reports its kind and owner with Describe.
type worker struct{ name string }

func (w worker) Execute(ctx context.Context, call hooks.Call) (etf.Term, error) {
	return etf.Tuple{etf.Atom("ok"), []byte(w.name + " did " + call.Action)}, nil
}

func (w worker) Stream(ctx context.Context, call hooks.Call) (hooks.Stream, error) {
	return nil, hooks.UnknownAction(call.Action)
}

func (w worker) Describe() (string, etf.Term) { return "python", []byte(w.name) }

// A remote handler implements Handler; the engine treats it like any other.
func ExampleHandler() {
	e := hooks.New(hooks.Options{})
	defer e.Close()
	e.Register("ml", worker{name: "worker-1"})

	info, _ := e.Find("ml")
	fmt.Println(info.AppPath, info.Kind, string(info.Owner.([]byte)))
	v, _ := e.Execute(context.Background(), hooks.Call{AppPath: "ml", Action: "train"})
	fmt.Println(string(v.([]byte)))
	// Output:
	// ml python worker-1
	// worker-1 did train
}

// A Go handler streams by returning an iterator; the consumer pulls.
func ExampleEngine_Stream() {
	e := hooks.New(hooks.Options{Window: 8})
	defer e.Close()
	e.Register("llm", hooks.Func(func(ctx context.Context, action string, args []etf.Term, _ etf.Map) (any, error) {
		words := strings.Fields(string(args[0].([]byte)))
		return iter.Seq[any](func(yield func(any) bool) {
			for _, w := range words {
				if !yield(w) {
					return
				}
			}
		}), nil
	}))

	s, err := e.Stream(context.Background(), hooks.Call{AppPath: "llm", Action: "generate", Args: []etf.Term{[]byte("to be or not")}})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	for {
		chunk, err := s.Next(context.Background())
		if err == io.EOF {
			break
		}
		fmt.Print(chunk, ".")
	}
	fmt.Println()
	// Output:
	// to.be.or.not.
}

// ExecuteAsync returns a task id at once; any number of callers may await it.
func ExampleEngine_ExecuteAsync() {
	e := hooks.New(hooks.Options{})
	defer e.Close()
	e.Register("ml", hooks.Func(func(ctx context.Context, action string, args []etf.Term, _ etf.Map) (any, error) {
		return etf.Atom("trained"), nil
	}))

	id, _ := e.ExecuteAsync(hooks.Call{AppPath: "ml", Action: "train"})
	v, err := e.AwaitResult(context.Background(), id, time.Second)
	fmt.Println(v, err, len(id))
	_, err = e.AwaitResult(context.Background(), "no-such-task", time.Second)
	fmt.Println(err)
	// Output:
	// trained <nil> 22
	// hooks: task_not_found: "no-such-task"
}

// An interceptor can check every call before it reaches a handler.
func ExampleInterceptor() {
	e := hooks.New(hooks.Options{})
	defer e.Close()
	e.Register("users", hooks.Func(func(ctx context.Context, action string, args []etf.Term, _ etf.Map) (any, error) {
		return etf.Atom("deleted"), nil
	}))
	e.Use(hooks.Interceptor{
		OnCallStart: func(ctx context.Context, call *hooks.Call) (etf.Term, bool, error) {
			if call.Action == "delete" {
				return etf.Tuple{etf.Atom("error"), etf.Atom("forbidden")}, true, nil
			}
			return nil, false, nil
		},
	})

	_, err := e.Execute(context.Background(), hooks.Call{AppPath: "users", Action: "delete"})
	fmt.Println(err)
	// Output:
	// hooks: forbidden
}

// Logging logs each call when it ends, with its duration.
func ExampleLogging() {
	e := hooks.New(hooks.Options{})
	defer e.Close()
	e.Register("echo", hooks.Func(echo))
	stable := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == "duration" {
			return slog.Attr{}
		}
		return a
	}
	e.Use(hooks.Logging(slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: stable}))))

	e.Execute(context.Background(), hooks.Call{AppPath: "echo", Action: "int"})
	e.Execute(context.Background(), hooks.Call{AppPath: "echo", Action: "go_error"})
	// Output:
	// level=INFO msg="hook call" app_path=echo action=int
	// level=WARN msg="hook call" app_path=echo action=go_error reason="{go, \"disk full\"}"
}
