package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
