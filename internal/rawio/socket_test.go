package rawio

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCoalesceDelayFollowsRoundTrip(t *testing.T) {
	s := &Socket{Load: &Load{}, coalesceMax: int64(250 * time.Microsecond)}
	require.Zero(t, s.coalesceDelay(), "no rate measured yet")

	s.perMsg = int64(20 * time.Microsecond)
	s.Callers = 32
	require.Zero(t, s.coalesceDelay(), "no read brought two messages yet")

	s.concurrent = true
	require.Equal(t, int64(32*20*time.Microsecond/3), s.coalesceDelay(), "a third of 32 callers' round trip")

	s.Callers = 4
	require.Zero(t, s.coalesceDelay(), "a short round trip is not worth a sleep")

	s.Callers = 1000
	require.Equal(t, s.coalesceMax, s.coalesceDelay(), "capped")

	s.coalesceMax = 0
	require.Zero(t, s.coalesceDelay(), "off")
}

func TestMeasureRateOfMessages(t *testing.T) {
	s := &Socket{Load: &Load{}, rateFrom: MonoNow()}
	s.Packets, s.Messages = 3, 1
	s.measure(MonoNow())
	require.Zero(t, s.Packets, "a read starts counting afresh")
	require.Zero(t, s.Messages)
	require.Zero(t, s.perMsg, "the first window is still open")

	s.rateFrom = MonoNow() - rateWindow
	s.Messages = 100
	s.measure(MonoNow())
	require.InDelta(t, rateWindow/101, s.perMsg, float64(rateWindow/101)/2, "101 messages over one window")

	require.True(t, s.concurrent, "a read brought 100 messages")

	s.rateFrom = MonoNow() - rateWindow
	s.Messages = 1
	s.measure(MonoNow())
	require.False(t, s.concurrent, "one message per read: calls come one at a time")

	s.rateFrom = MonoNow() - 2*rateIdle
	s.Messages = 5
	s.measure(MonoNow())
	require.Zero(t, s.perMsg, "an idle link forgets its rate")
	require.False(t, s.concurrent)
}

func TestCountCallerFollowsMonitors(t *testing.T) {
	s := &Load{}
	s.CountCaller(true)
	s.CountCaller(true)
	s.CountCaller(false)
	require.Equal(t, 1, s.Callers)
	s.CountCaller(false)
	s.CountCaller(false)
	require.Zero(t, s.Callers, "a stray DEMONITOR_P does not go below zero")
}

func TestProbeSpinsEveryNthWait(t *testing.T) {
	p := Probe{Every: 3}
	var got []bool
	for range 6 {
		got = append(got, p.Try())
	}
	require.Equal(t, []bool{false, false, true, false, false, true}, got)

	never := Probe{}
	for range 10 {
		require.False(t, never.Try())
	}
}
