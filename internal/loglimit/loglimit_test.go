package loglimit

import (
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	var l Limit
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at       time.Duration
		ok       bool
		wantHeld int
	}{
		{0, true, 0}, {1, true, 0}, {2, true, 0}, {3, true, 0}, {4, true, 0},
		{5, true, 0}, {6, true, 0}, {7, true, 0}, {8, true, 0}, {9, true, 0},
		{10, false, 0}, {11, false, 0},
		{Window, true, 2},
		{Window + 1, true, 0},
	}
	for i, s := range steps {
		ok, held := l.Allow(t0.Add(s.at))
		if ok != s.ok || held != s.wantHeld {
			t.Errorf("warning %d: got %v, %d; want %v, %d", i, ok, held, s.ok, s.wantHeld)
		}
	}
}
