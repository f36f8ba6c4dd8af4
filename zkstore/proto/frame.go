package proto

import (
	"encoding/binary"
	"fmt"
	"io"
)

// ReadFrame reads one length-prefixed frame from r into buf (grown as
// needed) and returns the body. A length below 0 or above max (jute.maxbuffer)
// is ErrBadLength: ZooKeeper's "Len error", after which the connection must
// be closed. Use FourLetterWord on the raw length of a connection's first
// frame before calling this when 4lw commands are served.
func ReadFrame(r io.Reader, buf []byte, max int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if err := CheckFrameLen(n, max); err != nil {
		return nil, err
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// CheckFrameLen validates a frame length against jute.maxbuffer.
func CheckFrameLen(n int32, max int) error {
	if max <= 0 {
		max = DefaultMaxBuffer
	}
	if n < 0 || int64(n) > int64(max) {
		return fmt.Errorf("%w: Len error %d", ErrBadLength, n)
	}
	return nil
}
