package hooks_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hornbeam-go/hornbeam/hooks"
)

func TestLogging(t *testing.T) {
	var buf bytes.Buffer
	e := newEngine(t, hooks.Options{})
	mustRegister(t, e, "echo", hooks.Func(echo))
	mustRegister(t, e, "s", hooks.Func(streamer))
	e.Use(hooks.Logging(slog.New(slog.NewTextHandler(&buf, nil))))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	e.Execute(ctx, call("echo", "sleep"))
	s, _ := e.Stream(context.Background(), call("s", "seq"))
	collect(t, s)
	s, _ = e.Stream(context.Background(), call("s", "seq"))
	s.Close()

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`level=WARN msg="hook call" app_path=echo action=sleep duration=`,
		`level=INFO msg="hook stream" app_path=s action=seq duration=`,
		`level=WARN msg="hook stream" app_path=s action=seq duration=`,
	}
	if len(lines) != len(want) {
		t.Fatalf("logged %d lines; want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %s; want it to contain %s", i, lines[i], w)
		}
	}
	if !strings.HasSuffix(lines[0], "reason=timeout") || !strings.HasSuffix(lines[2], "reason=cancelled") {
		t.Errorf("reasons missing:\n%s", buf.String())
	}
	field := strings.Fields(lines[0][strings.Index(lines[0], "duration="):])[0]
	// The deadline runs from before the call starts, so the call's own duration may be a little shorter.
	if d, err := time.ParseDuration(strings.TrimPrefix(field, "duration=")); err != nil || d < 15*time.Millisecond {
		t.Errorf("call %s; want about the 20ms deadline", field)
	}
}
