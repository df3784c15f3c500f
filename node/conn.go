package node

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

	ergonode "github.com/ergo-services/ergo/node"

	"github.com/ergo-services/ergo/lib"
	"github.com/hornbeam-go/hornbeam/etf"
)

// errClosed is returned by sends on a connection that has stopped.
var errClosed = errors.New("node: connection closed")

// conn is one distribution connection: a reader loop (Serve's goroutine) and a writer loop that batches every
// queued frame into one flush. Frames from one sender are queued in order, and the writer keeps that order.
type conn struct {
	n        *Node
	peer     string
	creation uint32
	nc       lib.NetReadWriter
	pending  []byte // bytes read along with the handshake
	router   ergonode.CoreRouter

	ctx    context.Context // cancelled when the connection stops; handlers started for it watch it
	cancel context.CancelFunc

	out    chan []byte   // frames for the writer, each owned by it once queued
	ticked chan struct{} // the peer sent a tick
	done   chan struct{} // closed once by stop
	once   sync.Once
	wg     sync.WaitGroup // the writer

	bytesIn, bytesOut, msgsIn, msgsOut atomic.Uint64
}

func newConn(n *Node, nc lib.NetReadWriter, d ergonode.HandshakeDetails) *conn {
	c := &conn{
		n:        n,
		peer:     d.Name,
		creation: d.Creation,
		nc:       nc,
		out:      make(chan []byte, n.opts.SendQueue),
		ticked:   make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	if d.Buffer != nil {
		c.pending = append([]byte(nil), d.Buffer.B...)
		lib.ReleaseBuffer(d.Buffer)
	}
	c.ctx, c.cancel = context.WithCancel(n.ctx)
	return c
}

// serve runs the writer, then reads until the link fails or the node stops; it returns once the writer has
// stopped too.
func (c *conn) serve(router ergonode.CoreRouter) {
	c.router = router
	c.n.connsMu.Lock()
	c.n.conns[c.peer] = c
	c.n.connsMu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := c.writeLoop(); err != nil {
			c.n.log.Warn("node: write failed", "peer", c.peer, "error", err)
		}
		// Wake the reader if it still waits on a live socket.
		_ = c.nc.SetReadDeadline(time.Now())
	}()
	if err := c.readLoop(); err != nil && !errors.Is(err, io.EOF) {
		c.n.log.Info("node: connection lost", "peer", c.peer, "error", err)
	}
	c.stop()
	// Unblock a writer stuck on a peer that stopped reading.
	_ = c.nc.SetWriteDeadline(time.Now())
	c.wg.Wait()
	c.n.connsMu.Lock()
	if c.n.conns[c.peer] == c {
		delete(c.n.conns, c.peer)
	}
	c.n.connsMu.Unlock()
	c.n.srv.peerDown(c)
}

// stop ends the connection's loops and cancels its handlers' context; it may be called more than once.
func (c *conn) stop() {
	c.once.Do(func() {
		close(c.done)
		c.cancel()
	})
}

func (c *conn) readLoop() error {
	r := bufio.NewReaderSize(io.MultiReader(&pendingReader{c}, c.nc), 64<<10)
	var hdr [frameHeaderLen]byte
	timeout := 4 * c.n.opts.TickInterval
	deadlineSet := time.Time{}
	for {
		if now := time.Now(); now.Sub(deadlineSet) > time.Second {
			if err := c.nc.SetReadDeadline(now.Add(timeout)); err != nil {
				return fmt.Errorf("node: set read deadline: %w", err)
			}
			deadlineSet = now
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
		if size > c.n.opts.MaxMessageSize {
			c.n.log.Warn("node: dropped an oversized packet", "peer", c.peer, "size", size, "limit", c.n.opts.MaxMessageSize)
			if _, err := r.Discard(size); err != nil {
				return err
			}
			continue
		}
		b := takeFrame(size)[:size]
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		c.msgsIn.Add(1)
		c.handlePacket(b)
	}
}

// pendingReader hands out the bytes that arrived with the handshake before the socket is read.
type pendingReader struct{ c *conn }

func (p *pendingReader) Read(b []byte) (int, error) {
	if len(p.c.pending) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.c.pending)
	p.c.pending = p.c.pending[n:]
	return n, nil
}

func (c *conn) writeLoop() error {
	w := bufio.NewWriterSize(c.nc, 64<<10)
	ticker := time.NewTicker(c.n.opts.TickInterval)
	defer ticker.Stop()
	wrote := false
	tick := make([]byte, frameHeaderLen)
	for {
		select {
		case b := <-c.out:
			if err := c.nc.SetWriteDeadline(time.Now().Add(4 * c.n.opts.TickInterval)); err != nil {
				return fmt.Errorf("node: set write deadline: %w", err)
			}
			if err := c.writeBatch(w, b); err != nil {
				return err
			}
			wrote = true
		case <-c.ticked:
			if wrote {
				continue
			}
			if err := c.writeTick(w, tick); err != nil {
				return err
			}
			wrote = true
		case <-ticker.C:
			if !wrote {
				if err := c.writeTick(w, tick); err != nil {
					return err
				}
			}
			wrote = false
		case <-c.done:
			return nil
		}
	}
}

// writeBatch writes b and whatever else is queued, then flushes once.
func (c *conn) writeBatch(w *bufio.Writer, b []byte) error {
	for {
		_, err := w.Write(b)
		c.bytesOut.Add(uint64(len(b)))
		c.msgsOut.Add(1)
		releaseFrame(b)
		if err != nil {
			return fmt.Errorf("node: write to %s: %w", c.peer, err)
		}
		select {
		case b = <-c.out:
			continue
		default:
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("node: write to %s: %w", c.peer, err)
		}
		return nil
	}
}

func (c *conn) writeTick(w *bufio.Writer, tick []byte) error {
	if _, err := w.Write(tick); err != nil {
		return fmt.Errorf("node: tick to %s: %w", c.peer, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("node: tick to %s: %w", c.peer, err)
	}
	c.bytesOut.Add(frameHeaderLen)
	return nil
}

// enqueue hands a frame built by encodeFrame to the writer. It blocks while the queue is full (back-pressure)
// and fails once the connection has stopped; either way the frame is no longer the caller's.
func (c *conn) enqueue(b []byte) error {
	select {
	case c.out <- b:
		return nil
	case <-c.done:
		releaseFrame(b)
		return errClosed
	}
}

// send encodes and queues one control message with an optional payload.
func (c *conn) send(control etf.Tuple, payload etf.Term, hasPayload bool) error {
	b, err := encodeFrame(control, payload, hasPayload)
	if err != nil {
		return err
	}
	return c.enqueue(b)
}
