package etf

import "encoding/binary"

// SegmentDepth bounds how deep AppendEncodeSegments looks for big binaries.
const SegmentDepth = 4

// AppendEncodeSegments appends t to dst as an external term, version byte included, without copying its big
// binaries: those of at least big bytes become segments of their own, the term's own memory, between the
// encoded bytes around them. The encoding is head followed by every segment of more, in order; head starts
// with dst (and may be dst grown). Only tuples and lists within SegmentDepth levels whose binaries add up to
// big are walked; below that, and when the whole term's binaries add up to less than big, t is encoded as
// AppendEncode does and more is nil. The caller must not change the big binaries until the segments are
// written.
func AppendEncodeSegments(dst []byte, t Term, big int) (head []byte, more [][]byte, err error) {
	if sizeHint(t, SegmentDepth) < big {
		head, err = AppendEncode(dst, t)
		return head, nil, err
	}
	s := segmenter{cur: append(dst, versionByte), big: big}
	if err := s.term(t, SegmentDepth); err != nil {
		return dst, nil, err
	}
	segs := s.done
	if len(s.cur) > 0 || len(segs) == 0 {
		segs = append(segs, s.cur)
	}
	return segs[0], segs[1:], nil
}

// segmenter encodes a term whose big binaries become segments of their own: it writes the headers of the
// tuples and lists that lead to them and leaves everything else to AppendTerm.
type segmenter struct {
	cur  []byte   // the segment being written; the first one grows the caller's dst
	done [][]byte // finished segments
	big  int
}

func (s *segmenter) term(t Term, depth int) error {
	switch v := t.(type) {
	case []byte:
		if len(v) >= s.big {
			s.cur = binary.BigEndian.AppendUint32(append(s.cur, tagBinary), uint32(len(v)))
			s.done = append(s.done, s.cur, v)
			s.cur = nil
			return nil
		}
	case Tuple:
		if depth > 0 && sizeHint(v, depth) >= s.big {
			if len(v) <= 255 {
				s.cur = append(s.cur, tagSmallTuple, byte(len(v)))
			} else {
				s.cur = binary.BigEndian.AppendUint32(append(s.cur, tagLargeTuple), uint32(len(v)))
			}
			return s.all(v, depth-1)
		}
	case List:
		if depth > 0 && sizeHint(v, depth) >= s.big {
			s.cur = binary.BigEndian.AppendUint32(append(s.cur, tagList), uint32(len(v)))
			if err := s.all(v, depth-1); err != nil {
				return err
			}
			s.cur = append(s.cur, tagNil)
			return nil
		}
	}
	var err error
	s.cur, err = AppendTerm(s.cur, t)
	return err
}

func (s *segmenter) all(ts []Term, depth int) error {
	for _, t := range ts {
		if err := s.term(t, depth); err != nil {
			return err
		}
	}
	return nil
}

// sizeHint returns the bytes of the binaries and strings within depth levels of t.
func sizeHint(t Term, depth int) int {
	switch v := t.(type) {
	case []byte:
		return len(v)
	case string:
		return len(v)
	case Tuple:
		return sizeHintAll(v, depth)
	case List:
		return sizeHintAll(v, depth)
	}
	return 0
}

func sizeHintAll(ts []Term, depth int) int {
	if depth == 0 || len(ts) > 16 {
		return 0
	}
	n := 0
	for _, t := range ts {
		n += sizeHint(t, depth-1)
	}
	return n
}
