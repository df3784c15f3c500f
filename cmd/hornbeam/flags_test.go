package main

import (
	"io"
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
