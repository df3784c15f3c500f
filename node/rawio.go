package node

import (
	"io"
	"net"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"github.com/ergo-services/ergo/lib"
)

// rawSocket reads and writes a TCP connection's non-blocking socket with raw system calls, still parking on
// Go's netpoller (and keeping its deadlines) when the socket is not ready. A plain net.Conn read or write
// enters the scheduler's syscall state, and the first one after the process went idle wakes the runtime's
// sysmon thread: once per request on a link that answers one call at a time. Reads come from one goroutine
// at a time and writes from the holder of conn.wmu, so each side's state below is its own.
//
// A read that finds the socket empty re-reads for up to readSpin before parking when the last wait for data
// was that short: a peer that calls one at a time sends its next request a round trip after the reply, and a
// reader that parked for it pays a thread wakeup, on a VM an idle vCPU's too.
type rawSocket struct {
	rc syscall.RawConn

	rbuf     []byte
	rn       int
	rerrno   syscall.Errno
	readFn   func(fd uintptr) bool
	canSpin  bool  // more than one P: a spinning reader leaves the others one
	spin     bool  // the last wait for data took readSpin or less
	waitFrom int64 // monoNow when this read first found the socket empty; 0 until then

	wbufs   [][]byte
	wiov    []syscall.Iovec
	werrno  syscall.Errno
	writeFn func(fd uintptr) bool
}

// newRawSocket returns a rawSocket for nc when it is a plain TCP connection, else nil.
func newRawSocket(nc lib.NetReadWriter) *rawSocket {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	s := &rawSocket{rc: rc, canSpin: runtime.GOMAXPROCS(0) > 1}
	s.readFn = s.readOnce
	s.writeFn = s.writeOnce
	return s
}

// Read reads into b, parking until the socket is readable; io.EOF once the peer closed its end.
func (s *rawSocket) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	s.rbuf, s.rn, s.rerrno, s.waitFrom = b, 0, 0, 0
	err := s.rc.Read(s.readFn)
	s.rbuf = nil
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

// readOnce is one read(2), or several while it spins; false asks the netpoller to wait for the socket.
func (s *rawSocket) readOnce(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&s.rbuf[0])), uintptr(len(s.rbuf)))
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			now := monoNow()
			if s.waitFrom == 0 {
				s.waitFrom = now
			}
			if s.spin && now-s.waitFrom < int64(readSpin) {
				continue
			}
			return false
		case 0:
			s.rn = int(n)
		default:
			s.rerrno = errno
		}
		if s.waitFrom != 0 {
			s.spin = s.canSpin && monoNow()-s.waitFrom <= int64(readSpin)
		}
		return true
	}
}

// Write writes all of b.
func (s *rawSocket) Write(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	bufs := [1][]byte{b}
	n, err := s.writev(bufs[:])
	return int(n), err
}

// writev writes every buffer of bufs, in order, with as few writev(2) calls as the socket takes; bufs'
// elements are changed.
func (s *rawSocket) writev(bufs [][]byte) (int64, error) {
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
func (s *rawSocket) writeOnce(fd uintptr) bool {
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
func (s *rawSocket) consume(n int) {
	for len(s.wbufs) > 0 && n >= len(s.wbufs[0]) {
		n -= len(s.wbufs[0])
		s.wbufs = s.wbufs[1:]
	}
	if n > 0 {
		s.wbufs[0] = s.wbufs[0][n:]
	}
}
