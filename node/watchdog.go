package node

import (
	"sync"
	"sync/atomic"
	"time"
)

// Watchdog timing: a call run on a connection's reader that is found still running handOffAfter or more after
// it started gets reading handed to a new goroutine. The watchdog looks every watchdogTick while such calls
// happen and sleeps after idleTicks ticks without them. The tick is coarse because a timer that fires often
// costs quick calls more than it saves slow ones: at 500 µs it added about a fifth to a sequential call's
// latency.
const (
	watchdogTick = 5 * time.Millisecond
	handOffAfter = time.Millisecond
	idleTicks    = 20
)

// monoEpoch is the origin of monoNow.
var monoEpoch = time.Now()

// monoNow returns the nanoseconds since monoEpoch on the monotonic clock.
func monoNow() int64 {
	return int64(time.Since(monoEpoch))
}

// watchdog looks at the connections of a node while they run calls on their readers (see conn.runCall) and
// hands reading off when one call runs long. It ticks only while such calls happen, so an idle node has no
// timer running; a call does not arm a timer of its own, which would wake a thread each time.
type watchdog struct {
	mu    sync.Mutex
	conns map[*conn]struct{}

	running atomic.Bool
	wake    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
}

func newWatchdog() *watchdog {
	w := &watchdog{conns: make(map[*conn]struct{}), wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.loop()
	}()
	return w
}

// stop ends the watchdog's goroutine and waits for it.
func (w *watchdog) stop() {
	close(w.done)
	w.wg.Wait()
}

func (w *watchdog) add(c *conn) {
	w.mu.Lock()
	w.conns[c] = struct{}{}
	w.mu.Unlock()
}

func (w *watchdog) remove(c *conn) {
	w.mu.Lock()
	delete(w.conns, c)
	w.mu.Unlock()
}

// poke starts the ticks if they are not running; runCall calls it after marking its reader inline.
func (w *watchdog) poke() {
	if !w.running.Load() && w.running.CompareAndSwap(false, true) {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (w *watchdog) loop() {
	for {
		select {
		case <-w.wake:
		case <-w.done:
			return
		}
		if !w.tickWhileBusy() {
			return
		}
	}
}

// tickWhileBusy ticks until idleTicks ticks pass without an inline call, then stops ticking; false once the
// watchdog is stopped.
func (w *watchdog) tickWhileBusy() bool {
	t := time.NewTicker(watchdogTick)
	defer t.Stop()
	for idle := 0; ; {
		select {
		case <-t.C:
		case <-w.done:
			return false
		}
		if w.check() {
			idle = 0
			continue
		}
		if idle++; idle < idleTicks {
			continue
		}
		w.running.Store(false)
		// A call that went inline before running was cleared did not poke: look once more.
		if !w.check() || !w.running.CompareAndSwap(false, true) {
			return true
		}
		idle = 0
	}
}

// check hands off every reader whose inline call started handOffAfter or more ago, and reports whether any
// reader is inline. A reader that finished that call and started the next between the two loads below may be
// handed off early, which costs a goroutine and nothing else.
func (w *watchdog) check() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	busy := false
	now := monoNow()
	for c := range w.conns {
		word := c.reader.Load()
		if word&readerInline == 0 {
			continue
		}
		busy = true
		if now-c.inlineAt.Load() >= int64(handOffAfter) {
			c.handOff(word)
		}
	}
	return busy
}
