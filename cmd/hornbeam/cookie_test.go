package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadCookieCreatesOneLikeErl(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".erlang.cookie")
	cookie, err := readCookie(path)
	require.NoError(t, err)
	require.Regexp(t, `^[A-Z]{20}$`, cookie)
	info, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o400), info.Mode().Perm())

	again, err := readCookie(path)
	require.NoError(t, err)
	require.Equal(t, cookie, again)
}

func TestReadCookieTrimsNewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookie")
	require.NoError(t, os.WriteFile(path, []byte("SECRET\n"), 0o600))
	cookie, err := readCookie(path)
	require.NoError(t, err)
	require.Equal(t, "SECRET", cookie)
}

func TestReadCookieRefusesEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookie")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	_, err := readCookie(path)
	require.ErrorContains(t, err, "empty")
}
