package etf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
)

// Header sizes of {packet, N} framing, as in open_port/2 and gen_tcp: each
// frame is an N-byte big-endian length followed by that many bytes.
const (
	Packet1 = 1 // Packet1 is {packet, 1}: frames of up to 255 bytes.
	Packet2 = 2 // Packet2 is {packet, 2}: frames of up to 65,535 bytes.
	Packet4 = 4 // Packet4 is {packet, 4}: frames of up to 4 GiB - 1.
)

// DefaultMaxFrame is the largest frame a PacketReader accepts unless
// SetMaxFrame says otherwise: 64 MiB.
const DefaultMaxFrame = 64 << 20

// smallFrame is the largest frame PacketWriter copies behind its header so
// that header and body go out in one Write; larger ones are not copied.
const smallFrame = 4 << 10

// ErrFrameTooLarge is matched by errors.Is for a frame longer than the
// reader's maximum or than the writer's header can express.
var ErrFrameTooLarge = errors.New("etf: frame too large")

// maxFrameFor returns the largest length an n-byte header can express.
func maxFrameFor(n int) uint64 { return 1<<(8*n) - 1 }

func checkHeaderSize(n int) error {
	switch n {
	case Packet1, Packet2, Packet4:
		return nil
	}
	return fmt.Errorf("etf: {packet,%d} is not a framing; want 1, 2 or 4", n)
}

// PacketReader reads {packet, N} frames from an io.Reader. It is not safe for
// concurrent use. A read error (truncation, an oversized frame, or the
// reader's own error) leaves the stream out of step, so it is sticky: every
// later ReadFrame returns it again.
type PacketReader struct {
	r   io.Reader
	n   int
	max int
	hdr [4]byte
	buf []byte
	err error
}

// NewPacketReader returns a reader of frames with n-byte headers (Packet1,
// Packet2 or Packet4) and a maximum frame size of DefaultMaxFrame.
func NewPacketReader(r io.Reader, n int) (*PacketReader, error) {
	if err := checkHeaderSize(n); err != nil {
		return nil, err
	}
	return &PacketReader{r: r, n: n, max: DefaultMaxFrame}, nil
}

// SetMaxFrame sets the largest frame body, in bytes, that ReadFrame accepts;
// a longer frame fails with ErrFrameTooLarge before anything is allocated.
func (p *PacketReader) SetMaxFrame(n int) { p.max = n }

// ReadFrame blocks until it has read one whole frame and returns its body.
// The body lives in a buffer that the PacketReader owns and reuses: it is
// valid only until the next ReadFrame, so copy it to keep it (Decode copies
// what it keeps only as documented there). At a clean end of stream, before
// any header byte, ReadFrame returns io.EOF; a stream that ends inside a
// frame gives an error matching io.ErrUnexpectedEOF.
func (p *PacketReader) ReadFrame() ([]byte, error) {
	if p.err != nil {
		return nil, p.err
	}
	hdr := p.hdr[:p.n]
	if k, err := io.ReadFull(p.r, hdr); err != nil {
		if err == io.EOF {
			p.err = io.EOF
		} else if errors.Is(err, io.ErrUnexpectedEOF) {
			p.err = fmt.Errorf("etf: truncated {packet,%d} header: got %d of %d bytes: %w", p.n, k, p.n, err)
		} else {
			p.err = fmt.Errorf("etf: reading {packet,%d} header: %w", p.n, err)
		}
		return nil, p.err
	}
	var size uint64
	switch p.n {
	case Packet1:
		size = uint64(hdr[0])
	case Packet2:
		size = uint64(binary.BigEndian.Uint16(hdr))
	case Packet4:
		size = uint64(binary.BigEndian.Uint32(hdr))
	}
	if size > uint64(max(p.max, 0)) {
		p.err = fmt.Errorf("%w: {packet,%d} frame of %d bytes, max %d", ErrFrameTooLarge, p.n, size, p.max)
		return nil, p.err
	}
	if uint64(cap(p.buf)) < size {
		p.buf = make([]byte, size)
	}
	body := p.buf[:size]
	if k, err := io.ReadFull(p.r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		p.err = fmt.Errorf("etf: truncated {packet,%d} frame: got %d of %d bytes: %w", p.n, k, size, err)
		return nil, p.err
	}
	return body, nil
}

// PacketWriter writes {packet, N} frames to an io.Writer. It is not safe for
// concurrent use. A write error leaves the stream out of step, so it is
// sticky: every later write returns it again.
type PacketWriter struct {
	w     io.Writer
	n     int
	buf   []byte   // header and body of a small frame
	parts [][]byte // header and parts of a large one; cleared after use
	err   error
}

// NewPacketWriter returns a writer of frames with n-byte headers (Packet1,
// Packet2 or Packet4).
func NewPacketWriter(w io.Writer, n int) (*PacketWriter, error) {
	if err := checkHeaderSize(n); err != nil {
		return nil, err
	}
	return &PacketWriter{w: w, n: n}, nil
}

// WriteFrame writes b as one frame. A body longer than the header can
// express fails with ErrFrameTooLarge and writes nothing. WriteFrame does not
// keep b.
func (p *PacketWriter) WriteFrame(b []byte) error {
	return p.WriteFrameParts(b)
}

// WriteFrameParts writes the concatenation of parts as one frame without
// copying the parts (small frames excepted): with a net.Conn the header and
// parts go out in one writev. It does not keep the parts.
func (p *PacketWriter) WriteFrameParts(parts ...[]byte) error {
	if p.err != nil {
		return p.err
	}
	var size uint64
	for _, b := range parts {
		size += uint64(len(b))
	}
	if size > maxFrameFor(p.n) {
		return fmt.Errorf("%w: %d bytes do not fit a {packet,%d} header", ErrFrameTooLarge, size, p.n)
	}
	var hdr [4]byte
	switch p.n {
	case Packet1:
		hdr[0] = byte(size)
	case Packet2:
		binary.BigEndian.PutUint16(hdr[:], uint16(size))
	case Packet4:
		binary.BigEndian.PutUint32(hdr[:], uint32(size))
	}
	var err error
	if size <= smallFrame {
		p.buf = append(p.buf[:0], hdr[:p.n]...)
		for _, b := range parts {
			p.buf = append(p.buf, b...)
		}
		_, err = p.w.Write(p.buf)
	} else {
		p.parts = append(append(p.parts[:0], hdr[:p.n]), parts...)
		bufs := net.Buffers(p.parts)
		_, err = bufs.WriteTo(p.w)
		clear(p.parts)
	}
	if err != nil {
		p.err = fmt.Errorf("etf: writing {packet,%d} frame: %w", p.n, err)
	}
	return p.err
}
