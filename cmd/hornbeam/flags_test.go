package main

import (
	"io"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hornbeam-go/hornbeam/hooks"
	"github.com/hornbeam-go/hornbeam/node"
)

func TestCoalesceFlag(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	require.Equal(t, node.DefaultCoalesce, coalesceOption(c.coalesce), "default")

	c, err = parseFlags([]string{"--coalesce", "100us"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 100*time.Microsecond, coalesceOption(c.coalesce))

	c, err = parseFlags([]string{"--coalesce", "0"}, io.Discard)
	require.NoError(t, err)
	require.Negative(t, coalesceOption(c.coalesce), "0 turns it off")

	_, err = parseFlags([]string{"--coalesce", "soon"}, io.Discard)
	require.Error(t, err)
}

func TestHiddenFlag(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--hidden"}, true},
		{[]string{"--hidden=false"}, false},
	}
	for _, tt := range tests {
		c, err := parseFlags(tt.args, io.Discard)
		require.NoError(t, err)
		require.Equal(t, tt.want, c.hidden, "got %v; want %v for %v", c.hidden, tt.want, tt.args)
	}
}

func TestPGFlags(t *testing.T) {
	tests := []struct {
		args  []string
		scope string
		noPG  bool
	}{
		{nil, node.DefaultPGScope, false},
		{[]string{"--pg-scope", "services"}, "services", false},
		{[]string{"--no-pg"}, node.DefaultPGScope, true},
	}
	for _, tt := range tests {
		c, err := parseFlags(tt.args, io.Discard)
		require.NoError(t, err)
		if c.pgScope != tt.scope || c.noPG != tt.noPG {
			t.Errorf("%v: got %q, %v; want %q, %v", tt.args, c.pgScope, c.noPG, tt.scope, tt.noPG)
		}
	}
}

func TestExposeFlag(t *testing.T) {
	c, err := parseFlags([]string{"--expose", "demo.calculator=calc", "--expose", "demo.echo"}, io.Discard)
	require.NoError(t, err)
	want := exposeList{{"demo.calculator", "calc"}, {"demo.echo", "demo.echo"}}
	if !slices.Equal(c.expose, want) {
		t.Errorf("got %v; want %v", c.expose, want)
	}
	for _, bad := range []string{"", "=calc", "demo.echo="} {
		if _, err := parseFlags([]string{"--expose", bad}, io.Discard); err == nil {
			t.Errorf("--expose %q: got no error; want one", bad)
		}
	}
}

func TestTaskTTLFlag(t *testing.T) {
	c, err := parseFlags(nil, io.Discard)
	require.NoError(t, err)
	require.Equal(t, hooks.DefaultResultTTL, c.taskTTL, "default")

	c, err = parseFlags([]string{"--task-ttl", "30s"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, 30*time.Second, c.taskTTL)

	_, err = parseFlags([]string{"--task-ttl", "0"}, io.Discard)
	require.Error(t, err)
}
