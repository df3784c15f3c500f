package rawio

import (
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/ergo-services/ergo/lib"
	"github.com/hornbeam-go/hornbeam/internal/steptrace"
)

// Socket reads and writes a TCP connection's non-blocking socket with raw system calls, still parking on
// Go's netpoller (and keeping its deadlines) when the socket is not ready. A plain net.Conn read or write
// enters the scheduler's syscall state, and the first one after the process went idle wakes the runtime's
// sysmon thread: once per request on a link that answers one call at a time. Reads come from one goroutine
// at a time and writes from one writer at a time (the connection serializes them), so each side's state
// below is its own.
//
// A read that finds the socket empty re-reads for up to readSpin before parking when the last wait for data
// was that short and the peer's calls come one at a time (see concurrent): a peer that calls so sends its next
// request a round trip after the reply, and a reader that parked for it pays a thread wakeup, on a VM an idle
// vCPU's too.
//
// A peer with many calls in flight gets interrupt moderation instead, as network cards do it: when the last
// read brought a whole call's packets or more, the reader sleeps for the coalescing delay before it reads
// again, so the requests that come meanwhile are read, served and answered as one batch, and the peer's
// writes in between cost it no wakeup of ours. See coalesceDelay for how long.
type Socket struct {
	rc syscall.RawConn

	rbuf     []byte
	rn       int
	rerrno   syscall.Errno
	readFn   func(fd uintptr) bool
	canSpin  bool           // more than one P: a spinning reader leaves the others one
	yield    bool           // a spinning read gives the CPU to other threads between reads
	spinFor  int64          // how long a read spins, in nanoseconds: readSpin, or LocalSpin for a local peer
	step     steptrace.Step // what a read that returns marks (see package steptrace)
	spinning bool           // this read spins: the last wait was short, or probe said to try
	probe    Probe          // with spin off, a local peer's reads still spin now and then, to see if it pays again
	spin     bool           // the last wait for data took readSpin or less
	waitFrom int64          // MonoNow when this read first found the socket empty; 0 until then

	*Load // counted by the connection as it handles packets; see coalesceDelay

	coalesceMax int64 // the longest coalescing sleep in nanoseconds; 0 turns coalescing off
	rateFrom    int64 // MonoNow when the current rate window began
	rateMsgs    int   // messages in the current rate window
	slept       int64 // nanoseconds slept for batches in the current rate window
	perMsg      int64 // smoothed nanoseconds between the peer's messages; 0 until measured
	batchMax    int   // the most messages one read brought in the current rate window
	concurrent  bool  // some read in the last rate window brought two messages or more

	wbufs   [][]byte
	wiov    []syscall.Iovec
	werrno  syscall.Errno
	writeFn func(fd uintptr) bool
}

// NewSocket returns a Socket for nc when it is a plain TCP connection, else nil; coalesceMax bounds its
// coalescing sleep (0 turns coalescing off), and load is what the connection counts of the peer's packets.
// Its reads spin for up to readSpin, without yielding (the peer is another machine, or a BEAM whose
// schedulers spin themselves).
func NewSocket(nc lib.NetReadWriter, coalesceMax time.Duration, load *Load) *Socket {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	s := newSocket(tc, coalesceMax, load)
	if s != nil {
		s.spinFor, s.step = int64(readSpin), steptrace.DistRead
	}
	return s
}

// NewConn returns a Socket for any non-blocking file on Go's poller (an *os.File pipe, a *net.UnixConn), else
// nil; load is as for NewSocket. Its reads spin for up to spin (0: never), yielding the CPU between reads
// (see Yield): the peer is another process on this machine, and on two cores the reply it writes needs the
// core that a plain spin would hold. While spinning is off (the last wait was longer), one wait in ProbeEvery
// spins anyway, as a wait that slept is longer by a wakeup than the peer's answer.
func NewConn(sc syscall.Conn, spin time.Duration, load *Load) *Socket {
	s := newSocket(sc, 0, load)
	if s != nil {
		s.spinFor, s.yield, s.probe.Every, s.step = int64(spin), true, ProbeEvery, steptrace.PipeRead
		s.canSpin = s.canSpin && spin > 0
	}
	return s
}

func newSocket(sc syscall.Conn, coalesceMax time.Duration, load *Load) *Socket {
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	s := &Socket{rc: rc, Load: load, coalesceMax: int64(coalesceMax), canSpin: runtime.GOMAXPROCS(0) > 1}
	s.readFn = s.readOnce
	s.writeFn = s.writeOnce
	return s
}

// Read reads into b, parking until the socket is readable; io.EOF once the peer closed its end.
func (s *Socket) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	s.rbuf, s.rn, s.rerrno, s.waitFrom = b, 0, 0, 0
	err := s.rc.Read(s.readFn)
	s.rbuf = nil
	steptrace.Mark(s.step)
	switch {
	case err != nil:
		return 0, err
	case s.rerrno != 0:
		return 0, s.rerrno
	case s.rn == 0:
		return 0, io.EOF
	}
	return s.rn, nil
}

// readSpin is how long a read re-reads an empty socket before parking, when the last wait was as short.
const readSpin = 100 * time.Microsecond

// LocalSpin is how long a wait for a peer process on this machine should poll before parking, yielding
// between polls, when the last wait was as short. It is half of readSpin: such a peer's quick replies come
// within tens of microseconds, and a peer called now and then (every 100 µs, say) should find the poller
// asleep rather than taking the CPU from whatever runs in between.
const LocalSpin = 50 * time.Microsecond

// readOnce is one read(2), or several while it spins; false asks the netpoller to wait for the socket.
func (s *Socket) readOnce(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&s.rbuf[0])), uintptr(len(s.rbuf)))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if s.Packets >= callPackets {
				s.Packets = 0
				if d := s.coalesceDelay(); d > 0 {
					s.sleep(d)
					s.slept += d
					continue
				}
			}
			now := MonoNow()
			if s.waitFrom == 0 {
				s.waitFrom = now
				s.spinning = s.canSpin && (s.spin || s.probe.Try())
			}
			if s.spinning && !s.concurrent && now-s.waitFrom < s.spinFor && s.Deferred.Load() == 0 &&
				(now-s.waitFrom < int64(IdleGrace) || !s.Idle.Load()) {
				if s.yield {
					Yield()
				}
				continue
			}
			return false
		case 0:
			s.rn = int(n)
		default:
			s.rerrno = errno
		}
		now := MonoNow()
		s.measure(now)
		if s.waitFrom != 0 {
			s.spin = s.canSpin && now-s.waitFrom <= s.spinFor
		}
		return true
	}
}

// sleep sleeps d nanoseconds for a batch. With more than one P it sleeps in a raw system call, keeping its
// P: a blocking one (syscall.Nanosleep) enters the scheduler's syscall state, whose P sysmon takes back after
// 20 µs and hands to another thread, which is two thread switches per batch, and keeps sysmon itself waking
// every 20 µs (perf of a node serving 32 callers: 8.5% of samples in sysmon's usleep, 22% in task switches).
// The P's other goroutines wait for the other P meanwhile, coalesceMax at most; with one P they must not wait,
// so there the plain sleep lets them run.
func (s *Socket) sleep(d int64) {
	ts := syscall.NsecToTimespec(d)
	if s.canSpin {
		syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
		return
	}
	_ = syscall.Nanosleep(&ts, nil)
}

// Coalescing.
const (
	// callPackets is what gen_server:call sends per call: MONITOR_P, the request, DEMONITOR_P.
	callPackets = 3
	// coalesceShare: the delay is a third of the peer's round trip.
	coalesceShare = 3
	// coalesceMin is the shortest sleep worth its wakeup (Linux's default timer slack, 50 µs, comes on top).
	coalesceMin = int64(80 * time.Microsecond)
	// rateWindow is how long messages are counted before the rate estimate takes them in; a window that
	// spans more than rateIdle (the link was idle) starts the estimate afresh.
	rateWindow = int64(2 * time.Millisecond)
	rateIdle   = 5 * rateWindow
)

// coalesceDelay is how long to sleep for a batch: a third of the peer's round trip, which Little's law gives
// as its calls in flight times the time between its messages (the time slept for batches left out, so that
// sleeping does not justify itself), up to coalesceMax; 0 when that is below coalesceMin, not measured yet, or
// when no read in the last rate window brought two messages (whatever monitors the peer keeps on
// hornbeam_hooks, its calls then come one at a time). A sleep delays a call by the delay at most, so a peer
// that gains nothing from batching loses a quarter of its rate at most, and a handful of callers with quick
// round trips are not made to wait at all (docs/benchmarks.md, "dist", has what it gains).
func (s *Socket) coalesceDelay() int64 {
	d := min(s.coalesceMax, int64(s.Callers)*s.perMsg/coalesceShare)
	if d < coalesceMin || !s.concurrent {
		return 0
	}
	return d
}

// measure takes the messages handled since the last read that brought data into the rate estimate; it is
// called, with the time, as a read returns.
func (s *Socket) measure(now int64) {
	s.rateMsgs += s.Messages
	s.batchMax = max(s.batchMax, s.Messages)
	s.Packets, s.Messages = 0, 0
	span := now - s.rateFrom
	switch {
	case span > rateIdle:
		s.perMsg = 0
	case span >= rateWindow && s.rateMsgs > 0:
		per := max(span-s.slept, 0) / int64(s.rateMsgs)
		if s.perMsg == 0 {
			s.perMsg = per
		} else {
			s.perMsg += (per - s.perMsg) / 4
		}
	case span >= rateWindow:
		s.perMsg = 0
	default:
		return
	}
	s.concurrent = s.batchMax >= 2 && s.perMsg > 0
	s.rateFrom, s.rateMsgs, s.batchMax, s.slept = now, 0, 0, 0
}

// Load is what a connection's reader counts of its peer's packets, for its Socket's coalescing.
type Load struct {
	Packets  int // packets handled since the last read that brought data
	Messages int // of those, messages (packets with a payload)
	Callers  int // the peer's calls in flight: its monitors on the names the node serves itself
	// Deferred counts the peer's calls in flight that another goroutine answers (a Python worker's reply):
	// while there are any the peer waits on them, not on this side's reads, so a read does not spin.
	Deferred atomic.Int64
	// Idle says that the connection expects nothing from the peer soon (no call of this side's is in flight,
	// and the peer calls nothing of its own): a read spins for IdleGrace at most, which a caller that calls
	// again at once (clearing Idle) finds it still spinning through.
	Idle atomic.Bool
}

// CountCaller follows the peer's calls in flight, given a MONITOR_P (monitor true) or DEMONITOR_P on a served
// name: gen_server:call monitors the server for the length of a call.
func (l *Load) CountCaller(monitor bool) {
	if monitor {
		l.Callers++
	} else if l.Callers > 0 {
		l.Callers--
	}
}

// Write writes all of b.
func (s *Socket) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	bufs := [1][]byte{b}
	n, err := s.writev(bufs[:])
	return int(n), err
}

// writev writes every buffer of bufs, in order, with as few writev(2) calls as the socket takes; bufs'
// elements are changed.
func (s *Socket) writev(bufs [][]byte) (int64, error) {
	total := int64(0)
	for _, b := range bufs {
		total += int64(len(b))
	}
	s.wbufs, s.werrno = bufs, 0
	err := s.rc.Write(s.writeFn)
	left := s.wbufs
	s.wbufs = nil
	written := total
	for _, b := range left {
		written -= int64(len(b))
	}
	if err == nil && s.werrno != 0 {
		err = s.werrno
	}
	return written, err
}

// maxIovecs is how many buffers one writev(2) takes at most here (Linux allows 1024).
const maxIovecs = 1024

// writeOnce writes what it can of s.wbufs and drops what was written from it; false asks the netpoller to
// wait until the socket takes more.
func (s *Socket) writeOnce(fd uintptr) bool {
	for len(s.wbufs) > 0 {
		s.wiov = s.wiov[:0]
		for _, b := range s.wbufs {
			if len(s.wiov) == maxIovecs {
				break
			}
			if len(b) > 0 {
				v := syscall.Iovec{Base: &b[0]}
				v.SetLen(len(b))
				s.wiov = append(s.wiov, v)
			}
		}
		if len(s.wiov) == 0 {
			s.wbufs = s.wbufs[:0]
			return true
		}
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&s.wiov[0])), uintptr(len(s.wiov)))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		case 0:
		default:
			s.werrno = errno
			clear(s.wiov)
			return true
		}
		s.consume(int(n))
	}
	clear(s.wiov)
	return true
}

// consume drops the first n written bytes from s.wbufs.
func (s *Socket) consume(n int) {
	for len(s.wbufs) > 0 && n >= len(s.wbufs[0]) {
		n -= len(s.wbufs[0])
		s.wbufs = s.wbufs[1:]
	}
	if n > 0 {
		s.wbufs[0] = s.wbufs[0][n:]
	}
}

// IdleGrace is how long a read spins while its connection is Idle.
const IdleGrace = 15 * time.Microsecond

// ProbeEvery is how often a local peer's wait spins while spinning is off: a wait that slept took a wakeup
// longer than the peer's answer, so only a spin tells whether spinning pays again. A peer called now and
// then costs one spin in ProbeEvery waits; one called in a loop gets spinning back within ProbeEvery calls.
const ProbeEvery = 8

// Probe says when to try a spin while spinning is off; Every 0 never does. Goroutines may share one.
type Probe struct {
	Every uint32
	n     atomic.Uint32
}

// Try reports whether this wait should spin anyway: every Every-th call.
func (p *Probe) Try() bool {
	return p.Every > 0 && p.n.Add(1)%p.Every == 0
}

// Yield gives the CPU this thread runs on to any other thread that is ready to run on it (sched_yield(2)),
// keeping the goroutine's P: a spin that calls it between polls costs a peer process on the same core no
// timeslice, and the thread no wakeup when what it waits for comes.
func Yield() {
	syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
}
