package etf

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// minRead is the smallest read a Decoder asks its reader for.
const minRead = 4096

// Decoder reads external terms, each with its version byte, one after the
// other from a stream.
type Decoder struct {
	r    io.Reader
	buf  []byte // buf[off:] is read but not yet decoded
	off  int
	opts DecodeOptions
	err  error
}

// NewDecoder returns a Decoder that reads from r, buffering as needed.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{r: r} }

// SetOptions sets the options for the following reads; AliasBinaries is ignored.
func (d *Decoder) SetOptions(o DecodeOptions) {
	o.AliasBinaries = false
	d.opts = o
}

// Decode reads the next term and stores it in v: directly when v is a *Term,
// else through FromTerm. It blocks until a whole term has arrived. At the end
// of the stream it returns io.EOF, or io.ErrUnexpectedEOF inside a term. A read
// error or an invalid term is sticky, since the stream cannot be resynchronized;
// an error from FromTerm is not, because the term was read whole.
func (d *Decoder) Decode(v any) error {
	t, err := d.next()
	if err != nil {
		return err
	}
	if p, ok := v.(*Term); ok {
		*p = t
		return nil
	}
	return FromTerm(t, v)
}

// Buffered returns a reader of the bytes read from the stream but not yet
// decoded; it is valid until the next call to Decode.
func (d *Decoder) Buffered() io.Reader { return bytes.NewReader(d.buf[d.off:]) }

func (d *Decoder) next() (Term, error) {
	for d.err == nil {
		need := 1
		if d.off < len(d.buf) {
			t, n, err := d.opts.DecodePrefix(d.buf[d.off:])
			if err == nil {
				d.off += n
				return t, nil
			}
			var de *DecodeError
			if !errors.As(err, &de) || de.need == 0 {
				d.err = err
				break
			}
			need = de.need
		}
		d.fill(need)
	}
	return nil, d.err
}

// fill reads until at least need bytes are buffered past off.
func (d *Decoder) fill(need int) {
	limit := d.opts.MaxSize
	if limit <= 0 {
		limit = DefaultMaxSize
	}
	if need > limit {
		d.err = &DecodeError{Msg: "term larger than MaxSize " + strconv.Itoa(limit)}
		return
	}
	have := copy(d.buf, d.buf[d.off:])
	d.buf, d.off = d.buf[:have], 0
	if cap(d.buf) < max(need, minRead) {
		nb := make([]byte, have, min(max(need, 2*cap(d.buf), minRead), max(need, limit)))
		copy(nb, d.buf)
		d.buf = nb
	}
	n, err := io.ReadAtLeast(d.r, d.buf[have:cap(d.buf)], need-have)
	d.buf = d.buf[:have+n]
	switch {
	case err == io.EOF && have == 0:
		d.err = io.EOF
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		d.err = io.ErrUnexpectedEOF
	case err != nil:
		d.err = err
	}
}

// Encoder writes external terms, each with its version byte, to a stream.
type Encoder struct {
	w    io.Writer
	buf  []byte
	opts EncodeOptions
}

// NewEncoder returns an Encoder that writes to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// SetOptions sets the options for the following writes.
func (e *Encoder) SetOptions(o EncodeOptions) { e.opts = o }

// Encode writes the external term format of v, a term or a Go value that
// ToTerm converts, with one Write call. Nothing is written if v cannot be encoded.
func (e *Encoder) Encode(v any) error {
	b, err := e.opts.AppendEncode(e.buf[:0], v)
	if err != nil {
		return err
	}
	e.buf = b
	_, err = e.w.Write(b)
	return err
}
