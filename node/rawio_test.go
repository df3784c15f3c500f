package node

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCoalesceDelayFollowsRoundTrip(t *testing.T) {
	s := &rawSocket{linkLoad: &linkLoad{}, coalesceMax: int64(250 * time.Microsecond)}
	require.Zero(t, s.coalesceDelay(), "no rate measured yet")

	s.perMsg = int64(20 * time.Microsecond)
	s.callers = 32
	require.Zero(t, s.coalesceDelay(), "no read brought two messages yet")

	s.concurrent = true
	require.Equal(t, int64(32*20*time.Microsecond/3), s.coalesceDelay(), "a third of 32 callers' round trip")

	s.callers = 4
	require.Zero(t, s.coalesceDelay(), "a short round trip is not worth a sleep")

	s.callers = 1000
	require.Equal(t, s.coalesceMax, s.coalesceDelay(), "capped")

	s.coalesceMax = 0
	require.Zero(t, s.coalesceDelay(), "off")
}

func TestMeasureRateOfMessages(t *testing.T) {
	s := &rawSocket{linkLoad: &linkLoad{}, rateFrom: monoNow()}
	s.packets, s.messages = 3, 1
	s.measure(monoNow())
	require.Zero(t, s.packets, "a read starts counting afresh")
	require.Zero(t, s.messages)
	require.Zero(t, s.perMsg, "the first window is still open")

	s.rateFrom = monoNow() - rateWindow
	s.messages = 100
	s.measure(monoNow())
	require.InDelta(t, rateWindow/101, s.perMsg, float64(rateWindow/101)/2, "101 messages over one window")

	require.True(t, s.concurrent, "a read brought 100 messages")

	s.rateFrom = monoNow() - rateWindow
	s.messages = 1
	s.measure(monoNow())
	require.False(t, s.concurrent, "one message per read: calls come one at a time")

	s.rateFrom = monoNow() - 2*rateIdle
	s.messages = 5
	s.measure(monoNow())
	require.Zero(t, s.perMsg, "an idle link forgets its rate")
	require.False(t, s.concurrent)
}

func TestCountCallerFollowsMonitors(t *testing.T) {
	s := &linkLoad{}
	s.countCaller(opMonitorP)
	s.countCaller(opMonitorP)
	s.countCaller(opDemonitorP)
	require.Equal(t, 1, s.callers)
	s.countCaller(opDemonitorP)
	s.countCaller(opDemonitorP)
	require.Zero(t, s.callers, "a stray DEMONITOR_P does not go below zero")
}
