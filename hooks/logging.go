package hooks

import (
	"context"
	"log/slog"
	"time"

	"github.com/hornbeam-go/hornbeam/etf"
)

// Logging returns an Interceptor that logs each call and stream once, when it
// ends, to l: message "hook call" or "hook stream" with app_path, action and
// duration (since Call.Started) at Info, plus reason at Warn for a failure.
// Use it first so that its duration covers the other interceptors.
func Logging(l *slog.Logger) Interceptor {
	return Interceptor{
		OnCallEnd: func(ctx context.Context, call *Call, result etf.Term) (etf.Term, error) {
			logEnd(ctx, l, "hook call", call, nil)
			return result, nil
		},
		OnCallError: func(ctx context.Context, call *Call, err *Error) {
			logEnd(ctx, l, "hook call", call, err)
		},
		OnStreamEnd: func(ctx context.Context, call *Call, err error) {
			logEnd(ctx, l, "hook stream", call, ErrorOf(err))
		},
	}
}

func logEnd(ctx context.Context, l *slog.Logger, msg string, call *Call, err *Error) {
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
	}
	if !l.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("app_path", call.AppPath),
		slog.String("action", call.Action),
		slog.Duration("duration", time.Since(call.Started())),
	}
	if err != nil {
		attrs = append(attrs, slog.String("reason", formatTerm(err.Reason())))
	}
	l.LogAttrs(ctx, level, msg, attrs...)
}
