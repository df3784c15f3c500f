package rawio

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

// monoEpoch is the origin of MonoNow.
var monoEpoch = time.Now()

// MonoNow returns the nanoseconds since monoEpoch on the monotonic clock.
func MonoNow() int64 {
	return int64(time.Since(monoEpoch))
}

// Reader is the state a Watchdog watches of one connection's reader: a word that packs the reader's
// generation (high bits) and whether it runs a call inline (the low bit), and when that call started. The
// reader of generation Gen runs a call between Enter and Leave; the watchdog moves a reader that stays inline
// to the next generation and starts it with HandOff.
type Reader struct {
	word atomic.Uint64
	at   atomic.Int64 // when the current inline call started, in MonoNow's nanoseconds
	// HandOff starts reading as generation gen on a new goroutine; the old reader stops when its call returns
	// and it sees Gen changed.
	HandOff func(gen uint64)
}

// The reader word: its state in the low bit, the generation above.
const (
	readerInline    = 1
	readerStateBits = 1
)

// Gen returns the reader's current generation.
func (r *Reader) Gen() uint64 { return r.word.Load() >> readerStateBits }

// Enter marks the reader inline in a call from now; it returns the word to pass to Leave.
func (r *Reader) Enter() uint64 {
	word := r.word.Load()
	r.at.Store(MonoNow())
	r.word.Store(word | readerInline)
	return word
}

// Leave marks the call done; false when reading was handed off meanwhile.
func (r *Reader) Leave(word uint64) bool {
	return r.word.CompareAndSwap(word|readerInline, word)
}

// handOff moves reading to the next generation if the reader is still inline in the call the watchdog saw.
func (r *Reader) handOff(word uint64) {
	next := (word>>readerStateBits + 1) << readerStateBits
	if r.word.CompareAndSwap(word, next) {
		r.HandOff(next >> readerStateBits)
	}
}

// Watchdog looks at the readers of a node's connections while they run calls inline (see Reader) and hands
// reading off when one call runs long. It ticks only while such calls happen, so an idle node has no timer
// running; a call does not arm a timer of its own, which would wake a thread each time.
type Watchdog struct {
	mu      sync.Mutex
	readers map[*Reader]struct{}

	running atomic.Bool
	wake    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
}

// NewWatchdog starts a Watchdog; Stop ends it.
func NewWatchdog() *Watchdog {
	w := &Watchdog{readers: make(map[*Reader]struct{}), wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		w.loop()
	}()
	return w
}

// Stop ends the watchdog's goroutine and waits for it.
func (w *Watchdog) Stop() {
	close(w.done)
	w.wg.Wait()
}

// Add watches r.
func (w *Watchdog) Add(r *Reader) {
	w.mu.Lock()
	w.readers[r] = struct{}{}
	w.mu.Unlock()
}

// Remove stops watching r.
func (w *Watchdog) Remove(r *Reader) {
	w.mu.Lock()
	delete(w.readers, r)
	w.mu.Unlock()
}

// Poke starts the ticks if they are not running; a reader calls it after Enter.
func (w *Watchdog) Poke() {
	if !w.running.Load() && w.running.CompareAndSwap(false, true) {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (w *Watchdog) loop() {
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
func (w *Watchdog) tickWhileBusy() bool {
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
func (w *Watchdog) check() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	busy := false
	now := MonoNow()
	for r := range w.readers {
		word := r.word.Load()
		if word&readerInline == 0 {
			continue
		}
		busy = true
		if now-r.at.Load() >= int64(handOffAfter) {
			r.handOff(word)
		}
	}
	return busy
}

// HandOffNow hands reading off at once if the reader is still inline in the call Enter returned word for: for
// a call that is about to wait for something only the reader could read.
func (r *Reader) HandOffNow(word uint64) {
	r.handOff(word | readerInline)
}
