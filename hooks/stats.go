package hooks

import (
	"context"
	"slices"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of one hook's counters.
type Stats struct {
	// Calls counts the calls and streams routed to the hook, including those it rejected.
	Calls uint64
	// Errors counts the calls and streams that failed (a stream closed early has not).
	Errors uint64
	// InFlight is how many calls and open streams hold a slot now.
	InFlight int64
	// Queued is how many calls wait for a slot now.
	Queued int64
	// Latency is the distribution of handler run times (stream lifetimes for streams).
	Latency Histogram
}

// latencyBounds are the inclusive upper bounds of the latency buckets.
var latencyBounds = [...]time.Duration{
	10 * time.Microsecond, 50 * time.Microsecond, 100 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 500 * time.Millisecond, time.Second, 5 * time.Second, 10 * time.Second,
}

// Histogram counts durations in fixed buckets.
type Histogram struct {
	// Bounds are the inclusive upper bounds of all buckets but the last, which has none.
	Bounds []time.Duration
	// Counts holds one count per bucket: len(Bounds)+1 of them.
	Counts []uint64
	// Sum is the total of all durations counted.
	Sum time.Duration
}

// Count returns the number of durations counted.
func (h Histogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// counters are one hook's live counters, all atomics.
type counters struct {
	calls    atomic.Uint64
	errors   atomic.Uint64
	inFlight atomic.Int64
	queued   atomic.Int64
	sum      atomic.Int64
	buckets  [len(latencyBounds) + 1]atomic.Uint64
}

func (c *counters) observe(d time.Duration) {
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	c.buckets[i].Add(1)
	c.sum.Add(int64(d))
}

func (en *entry) snapshot() Stats {
	c := &en.stats
	s := Stats{
		Calls:    c.calls.Load(),
		Errors:   c.errors.Load(),
		InFlight: c.inFlight.Load(),
		Queued:   c.queued.Load(),
		Latency: Histogram{
			Bounds: slices.Clone(latencyBounds[:]),
			Counts: make([]uint64, len(c.buckets)),
			Sum:    time.Duration(c.sum.Load()),
		},
	}
	for i := range c.buckets {
		s.Latency.Counts[i] = c.buckets[i].Load()
	}
	return s
}

// limiter bounds a hook's slots; the zero limiter has no bound.
type limiter struct {
	max      int
	maxQueue int
	sem      chan struct{}
}

func (l *limiter) init(maxInFlight, maxQueue int) {
	l.max, l.maxQueue = maxInFlight, maxQueue
	if maxInFlight > 0 {
		l.sem = make(chan struct{}, maxInFlight)
	}
}

// acquire takes a slot, waiting in the queue if there is room in it; it fails
// with overloaded when the queue is full, or when ctx is done while waiting.
func (en *entry) acquire(ctx context.Context) error {
	c, sem := &en.stats, en.limit.sem
	if sem != nil {
		select {
		case sem <- struct{}{}:
		default:
			if c.queued.Add(1) > int64(en.limit.maxQueue) {
				c.queued.Add(-1)
				return ErrOverloaded
			}
			select {
			case sem <- struct{}{}:
				c.queued.Add(-1)
			case <-ctx.Done():
				c.queued.Add(-1)
				return ctxError(ctx)
			}
		}
	}
	c.inFlight.Add(1)
	return nil
}

// release gives back a slot and records how long it was held; a negative d records nothing.
func (en *entry) release(d time.Duration) {
	en.stats.inFlight.Add(-1)
	if en.limit.sem != nil {
		<-en.limit.sem
	}
	if d >= 0 {
		en.stats.observe(d)
	}
}
