package dist

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ergo-services/ergo/lib"
	ergonode "github.com/ergo-services/ergo/node"
	"github.com/hornbeam-go/hornbeam/etf"
	"github.com/hornbeam-go/hornbeam/internal/loglimit"
	"github.com/hornbeam-go/hornbeam/internal/rawio"
	"github.com/hornbeam-go/hornbeam/node/internal/handshake"
	"github.com/hornbeam-go/hornbeam/proto"
)

// errClosed is returned by sends on a connection that has stopped.
var errClosed = errors.New("node: connection closed")

// Conn is one distribution connection: one reader at a time (Serve's goroutine, or the one the watchdog hands
// reading to, see RunCall) and a writer loop. A sender that finds no write in progress writes its frame itself,
// after any queued ones; otherwise it queues the frame and the writer loop writes everything queued in one
// flush. Either way a sender's frames go out in the order it sent them, and a busy link batches many frames per
// write.
type Conn struct {
	t        *Transport
	peer     string
	creation uint32
	hidden   bool // the peer is a hidden node (erl -hidden, a C node): its handshake left DFLAG_PUBLISHED out
	nc       lib.NetReadWriter
	pending  []byte // bytes read along with the handshake
	endClaim func() // ends the handshake's claim on the peer once the connection is served (handshake.OnServed)
	router   ergonode.CoreRouter

	ctx       context.Context // cancelled when the connection stops; handlers started for it watch it
	readerCtx context.Context // ctx, marked proto.Inline for calls run on the reader
	callers   *remoteCallers  // the peer's callers of hornbeam_hooks, as the protocol server reaches them
	cancel    context.CancelFunc

	out    chan frame    // frames queued while a write was in progress
	kick   chan struct{} // something was queued
	ticked chan struct{} // the peer sent a tick
	done   chan struct{} // closed once by Stop
	once   sync.Once
	wg     sync.WaitGroup // the writer loop

	wmu   sync.Mutex // held by whoever writes to the socket: a sender with nothing ahead of it, or the writer loop
	w     *bufio.Writer
	wrote bool   // something was written since the last periodic tick
	werr  error  // the first write error; it sticks
	heard uint64 // bytesIn when the read deadline was last renewed

	r         *bufio.Reader // owned by the goroutine that reads, see RunCall
	load      rawio.Load    // the peer's packets as the reader counts them, for a plain TCP link's rawio.Socket
	rd        rawio.Reader  // generation and state of the reader, for the node's watchdog
	readEnded chan struct{} // closed when the reader stops for good
	readErr   error         // why; set before readEnded is closed
	unflushed atomic.Bool   // a reply was buffered without a flush; the reader flushes before it waits

	bytesIn, bytesOut, msgsIn, msgsOut atomic.Uint64

	warns loglimit.Limit // the peer's warnings, rate-limited
}

func newConn(t *Transport, nc lib.NetReadWriter, d ergonode.HandshakeDetails) *Conn {
	c := &Conn{
		t:        t,
		peer:     d.Name,
		creation: d.Creation,
		hidden:   handshake.Hidden(d),
		nc:       nc,
		endClaim: handshake.OnServed(d),
		out:      make(chan frame, t.cfg.SendQueue),
		kick:     make(chan struct{}, 1),
		ticked:   make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	if d.Buffer != nil {
		c.pending = append([]byte(nil), d.Buffer.B...)
		lib.ReleaseBuffer(d.Buffer)
	}
	sock := io.ReadWriter(nc)
	if raw := rawio.NewSocket(nc, max(t.cfg.Coalesce, 0), &c.load); raw != nil {
		sock = raw
	}
	c.w = bufio.NewWriterSize(sock, 64<<10)
	c.r = bufio.NewReaderSize(io.MultiReader(&pendingReader{c}, sock), 64<<10)
	c.readEnded = make(chan struct{})
	// The first deadlines; the writer loop renews them (see renewDeadlines). An error here shows again at the
	// first read or write.
	deadline := time.Now().Add(c.silenceLimit())
	_ = nc.SetReadDeadline(deadline)
	_ = nc.SetWriteDeadline(deadline)
	c.ctx, c.cancel = context.WithCancel(t.cfg.Context)
	c.readerCtx = proto.Inline(c.ctx)
	c.callers = &remoteCallers{c}
	c.rd.HandOff = func(gen uint64) { t.cfg.Go(func() { c.read(gen) }) }
	return c
}

// serve runs the writer, then reads until the link fails or the node stops; it returns once the writer has
// stopped too.
func (c *Conn) serve(router ergonode.CoreRouter) {
	c.router = router
	c.t.mu.Lock()
	c.t.conns[c.peer] = c
	c.t.mu.Unlock()
	c.endClaim()
	c.t.served.peer(c, true)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := c.writeLoop(); err != nil {
			c.t.log.Warn("node: write failed", "peer", c.peer, "error", err)
		}
		// Wake the reader if it still waits on a live socket.
		_ = c.nc.SetReadDeadline(time.Now())
	}()
	c.t.watch.Add(&c.rd)
	c.read(0)
	<-c.readEnded
	c.t.watch.Remove(&c.rd)
	if err := c.readErr; err != nil && !errors.Is(err, io.EOF) {
		c.t.log.Info("node: connection lost", "peer", c.peer, "error", err)
	}
	c.Stop()
	// Unblock a writer stuck on a peer that stopped reading.
	_ = c.nc.SetWriteDeadline(time.Now())
	c.wg.Wait()
	c.t.mu.Lock()
	if c.t.conns[c.peer] == c {
		delete(c.t.conns, c.peer)
	}
	c.t.mu.Unlock()
	c.t.served.peer(c, false)
}

// Stop ends the connection's loops and cancels its handlers' context; it may be called more than once.
func (c *Conn) Stop() {
	c.once.Do(func() {
		close(c.done)
		c.cancel()
	})
}

// read runs the reader as generation gen until the link fails, which it reports through readEnded, or until
// the watchdog hands reading to the next generation while this one runs a call.
func (c *Conn) read(gen uint64) {
	err := c.readLoop(gen)
	if errors.Is(err, errHandedOff) {
		return
	}
	c.readErr = err
	close(c.readEnded)
}

// errHandedOff ends a reader whose reading was handed to a new goroutine.
var errHandedOff = errors.New("node: reading handed off")

func (c *Conn) readLoop(gen uint64) error {
	r := c.r
	var hdr [frameHeaderLen]byte
	for {
		if r.Buffered() < frameHeaderLen && c.unflushed.Load() {
			c.wmu.Lock()
			err := c.flushLocked()
			c.wmu.Unlock()
			if err != nil {
				return err
			}
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		size := int(binary.BigEndian.Uint32(hdr[:]))
		c.bytesIn.Add(uint64(size + frameHeaderLen))
		if size == 0 {
			select {
			case c.ticked <- struct{}{}:
			default:
			}
			continue
		}
		if size > c.t.cfg.MaxMessageSize {
			head := make([]byte, min(size, oversizedHead))
			if _, err := io.ReadFull(r, head); err != nil {
				return err
			}
			if _, err := r.Discard(size - len(head)); err != nil {
				return err
			}
			c.oversized(head, size)
			continue
		}
		b := TakeFrame(size)[:size]
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		c.msgsIn.Add(1)
		c.HandlePacket(b)
		if c.rd.Gen() != gen {
			return errHandedOff
		}
	}
}

// RunCall runs f, a call for this connection's peer, on the reader itself: a quick call costs no goroutine and
// no wakeup. When f is still running at a watchdog tick handOffAfter or more after it started, reading goes on
// in a new goroutine meanwhile, so a slow handler holds up the packets behind it for handOffAfter plus a tick at
// most. f's flush argument is false when more packets are already buffered: its reply may then wait for theirs,
// to be written in one go.
func (c *Conn) RunCall(f func(flush bool)) {
	flush := c.r.Buffered() == 0
	word := c.rd.Enter()
	c.t.watch.Poke()
	f(flush)
	if c.rd.Leave(word) || !c.unflushed.Load() {
		return
	}
	// Reading was handed off, perhaps before this reply was buffered: the new reader may already be waiting,
	// so flush here.
	c.wmu.Lock()
	err := c.flushLocked()
	c.wmu.Unlock()
	if err != nil {
		c.t.log.Debug("node: flush failed", "peer", c.peer, "error", err)
	}
}

// pendingReader hands out the bytes that arrived with the handshake before the socket is read.
type pendingReader struct{ c *Conn }

func (p *pendingReader) Read(b []byte) (int, error) {
	if len(p.c.pending) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.c.pending)
	p.c.pending = p.c.pending[n:]
	return n, nil
}

// silenceLimit is how long a read or a write may wait: four tick intervals, as net_kernel allows a silent peer.
func (c *Conn) silenceLimit() time.Duration {
	return 4 * c.t.cfg.TickInterval
}

// writeLoop writes what senders queued while another write was in progress, and ticks when the link is idle.
func (c *Conn) writeLoop() error {
	ticker := time.NewTicker(c.t.cfg.TickInterval)
	defer ticker.Stop()
	for {
		select {
		case <-c.kick:
			c.wmu.Lock()
			err := c.flushLocked()
			c.wmu.Unlock()
			if err != nil {
				return err
			}
		case <-c.ticked:
			if err := c.tick(false); err != nil {
				return err
			}
		case <-ticker.C:
			if err := c.tick(true); err != nil {
				return err
			}
		case <-c.done:
			return nil
		}
	}
}

// tick sends a tick (an empty packet) unless something was written in this period; a periodic tick also
// starts the next period and renews the deadlines (see renewDeadlines).
func (c *Conn) tick(periodic bool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if periodic {
		if err := c.renewDeadlines(); err != nil {
			return err
		}
	}
	var err error
	if !c.wrote && c.werr == nil {
		if _, err = c.w.Write(make([]byte, frameHeaderLen)); err != nil {
			err = c.fail(fmt.Errorf("node: tick to %s: %w", c.peer, err))
		} else {
			c.bytesOut.Add(frameHeaderLen)
			err = c.flushLocked()
		}
	}
	if periodic {
		c.wrote = false
	}
	return err
}

// renewDeadlines pushes the write deadline silenceLimit away, and the read deadline too when bytes came in
// since the last renewal. Doing it once a tick interval rather than at each read and write spares the clock
// and the poller's timers on every packet; a write stuck on a peer that stopped reading holds c.wmu, so its
// deadline is not renewed and it fails within silenceLimit, and a silent peer is dropped after silenceLimit
// to silenceLimit plus a tick interval. c.wmu is held.
func (c *Conn) renewDeadlines() error {
	if c.werr != nil {
		return c.werr
	}
	deadline := time.Now().Add(c.silenceLimit())
	if err := c.nc.SetWriteDeadline(deadline); err != nil {
		return c.fail(fmt.Errorf("node: set write deadline: %w", err))
	}
	if in := c.bytesIn.Load(); in != c.heard {
		c.heard = in
		if err := c.nc.SetReadDeadline(deadline); err != nil {
			return c.fail(fmt.Errorf("node: set read deadline: %w", err))
		}
	}
	return nil
}

// flushLocked writes every queued frame and flushes. c.wmu is held.
func (c *Conn) flushLocked() error {
	return c.writeLocked(nil, true)
}

// writeLocked writes every queued frame, then f when it is not nil, and flushes once unless flush is false. A
// write error sticks: the connection stops. c.wmu is held.
func (c *Conn) writeLocked(f *frame, flush bool) error {
	if c.werr != nil {
		f.release()
		return c.werr
	}
	for drained := false; !drained; {
		select {
		case q := <-c.out:
			if err := c.writeFrame(&q); err != nil {
				f.release()
				return err
			}
		default:
			drained = true
		}
	}
	if f != nil {
		if err := c.writeFrame(f); err != nil {
			return err
		}
	}
	if !flush {
		c.unflushed.Store(true)
		return nil
	}
	if err := c.w.Flush(); err != nil {
		return c.fail(fmt.Errorf("node: write to %s: %w", c.peer, err))
	}
	c.unflushed.Store(false)
	c.wrote = true
	return nil
}

// writeFrame buffers one frame (a big segment goes to the socket from its own memory) and releases it.
// c.wmu is held.
func (c *Conn) writeFrame(f *frame) error {
	defer f.release()
	n, err := c.w.Write(f.head)
	for _, seg := range f.more {
		if err != nil {
			break
		}
		var m int
		m, err = c.w.Write(seg)
		n += m
	}
	c.bytesOut.Add(uint64(n))
	c.msgsOut.Add(1)
	if err != nil {
		return c.fail(fmt.Errorf("node: write to %s: %w", c.peer, err))
	}
	return nil
}

// fail records the first write error and wakes the reader, which then stops the connection. c.wmu is held.
func (c *Conn) fail(err error) error {
	if c.werr == nil {
		c.werr = err
		_ = c.nc.SetReadDeadline(time.Now())
	}
	return c.werr
}

// enqueue hands a frame built by encodeFrame to the connection: when no write is in progress the caller
// writes it at once, after whatever was queued; otherwise it is queued for the writer loop, blocking while the
// queue is full (back-pressure). It fails once the connection has stopped; either way the frame is no longer
// the caller's.
func (c *Conn) enqueue(f frame) error {
	return c.enqueueFlush(f, true)
}

// enqueueFlush is enqueue that, when flush is false and the frame is written at once, leaves it buffered for
// the reader to flush with the replies that follow.
func (c *Conn) enqueueFlush(f frame, flush bool) error {
	select {
	case <-c.done:
		f.release()
		return errClosed
	default:
	}
	if c.wmu.TryLock() {
		err := c.writeLocked(&f, flush)
		c.wmu.Unlock()
		return err
	}
	select {
	case c.out <- f:
	case <-c.done:
		f.release()
		return errClosed
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return nil
}

// SendTo sends msg to the pid to on the peer (SEND).
func (c *Conn) SendTo(to etf.Pid, msg etf.Term) error {
	return c.send(etf.Tuple{opSend, etf.Atom(""), to}, msg, true)
}

// send encodes and queues one control message with an optional payload.
func (c *Conn) send(control etf.Tuple, payload etf.Term, hasPayload bool) error {
	f, err := encodeFrame(control, payload, hasPayload)
	if err != nil {
		return err
	}
	return c.enqueue(f)
}

// Peer returns the peer's node name.
func (c *Conn) Peer() string { return c.peer }

// Hidden tells whether the peer is a hidden node (erl -hidden, a C node): its handshake left DFLAG_PUBLISHED out.
func (c *Conn) Hidden() bool { return c.hidden }

// Context is cancelled when the connection stops; what runs for the peer watches it.
func (c *Conn) Context() context.Context { return c.ctx }

// InlineContext is Context marked proto.Inline, for the calls RunCall runs on the reader.
func (c *Conn) InlineContext() context.Context { return c.readerCtx }

// Done is closed when the connection stops.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Load is what the reader counts of the peer's packets, for coalescing; a call that another goroutine answers
// counts in its Deferred while it runs.
func (c *Conn) Load() *rawio.Load { return &c.load }

// Callers is the proto.Transport of the peer's callers of hornbeam_hooks.
func (c *Conn) Callers() proto.Transport { return c.callers }
