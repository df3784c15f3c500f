package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// cookieLength is the length of a cookie erl makes when ~/.erlang.cookie is missing.
const cookieLength = 20

// readCookie returns the cookie in path, creating the file as erl does when it
// is missing: 20 random upper-case letters, readable by its owner only.
func readCookie(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		cookie := string(bytes.TrimSpace(b))
		if cookie == "" {
			return "", fmt.Errorf("hornbeam: cookie file %s is empty", path)
		}
		return cookie, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("hornbeam: reading cookie: %w", err)
	}
	cookie := make([]byte, cookieLength)
	if _, err := rand.Read(cookie); err != nil {
		return "", fmt.Errorf("hornbeam: making cookie: %w", err)
	}
	for i, c := range cookie {
		cookie[i] = 'A' + c%26
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("hornbeam: making cookie: %w", err)
	}
	if err := os.WriteFile(path, cookie, 0o400); err != nil {
		return "", fmt.Errorf("hornbeam: writing cookie: %w", err)
	}
	return string(cookie), nil
}
