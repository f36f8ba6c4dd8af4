package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// DefaultMaxBuffer is jute.maxbuffer's default (0xfffff, 1 MiB - 1): the
// largest frame and the largest buffer a Decoder accepts unless told
// otherwise. Wire format: never change.
const DefaultMaxBuffer = 0xfffff

// Sentinel errors of the codec. Decoding errors wrap one of them.
var (
	// ErrShort means a record ended before all of its fields were read.
	ErrShort = errors.New("proto: record truncated")
	// ErrBadLength means a length or count was negative (other than -1) or
	// larger than the bytes remaining or jute.maxbuffer.
	ErrBadLength = errors.New("proto: bad length")
	// ErrUnknownOp means an opcode or txn type this codec does not know.
	ErrUnknownOp = errors.New("proto: unknown opcode")
	// ErrBadMulti means a malformed multi (bad sub-op type, missing end).
	ErrBadMulti = errors.New("proto: malformed multi")
)

// Record is a jute record: fields in declaration order, no tags.
type Record interface {
	// Encode appends the record to e.
	Encode(e *Encoder)
	// Decode reads the record from d; errors are sticky in d.
	Decode(d *Decoder)
}

// Decoder reads jute primitives from a byte slice. It never panics: the
// first error is sticky (see Err), and every later read returns a zero value.
// Every length is bounded by the bytes actually remaining and, for buffers
// and strings, by MaxBuffer, so hostile input cannot make it allocate more
// than the input's size.
//
// Buffers returned by Buffer are copies; the input may be reused.
type Decoder struct {
	b   []byte
	off int
	err error
	// MaxBuffer bounds buffer and string lengths (jute.maxbuffer).
	MaxBuffer int
}

// NewDecoder returns a Decoder over b with MaxBuffer = DefaultMaxBuffer.
func NewDecoder(b []byte) *Decoder {
	return &Decoder{b: b, MaxBuffer: DefaultMaxBuffer}
}

// Reset points d at b and clears its error, keeping MaxBuffer.
func (d *Decoder) Reset(b []byte) {
	d.b, d.off, d.err = b, 0, nil
	if d.MaxBuffer <= 0 {
		d.MaxBuffer = DefaultMaxBuffer
	}
}

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// Remaining returns the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Offset returns the number of bytes consumed so far.
func (d *Decoder) Offset() int { return d.off }

// Fail records err unless an earlier error is already recorded.
func (d *Decoder) Fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b)-d.off {
		d.err = fmt.Errorf("%w: need %d bytes at offset %d, have %d", ErrShort, n, d.off, len(d.b)-d.off)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

// Int reads a jute int (4 bytes, big-endian).
func (d *Decoder) Int() int32 {
	p := d.take(4)
	if p == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(p))
}

// Long reads a jute long (8 bytes, big-endian).
func (d *Decoder) Long() int64 {
	p := d.take(8)
	if p == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(p))
}

// Bool reads a jute boolean (1 byte; non-zero is true, as Java's
// DataInput.readBoolean).
func (d *Decoder) Bool() bool {
	p := d.take(1)
	if p == nil {
		return false
	}
	return p[0] != 0
}

// length reads a length prefix: -1 gives (0, true) for null; any other
// negative value, or more than max or than elemSize*n bytes remaining,
// is ErrBadLength.
func (d *Decoder) length(elemSize, max int) (n int, null bool) {
	v := d.Int()
	if d.err != nil {
		return 0, false
	}
	if v == -1 {
		return 0, true
	}
	if v < 0 {
		d.err = fmt.Errorf("%w: %d at offset %d", ErrBadLength, v, d.off-4)
		return 0, false
	}
	if max > 0 && int(v) > max {
		d.err = fmt.Errorf("%w: %d exceeds jute.maxbuffer %d", ErrBadLength, v, max)
		return 0, false
	}
	if int64(v)*int64(elemSize) > int64(len(d.b)-d.off) {
		d.err = fmt.Errorf("%w: %d elements of >= %d bytes but only %d bytes remain", ErrBadLength, v, elemSize, len(d.b)-d.off)
		return 0, false
	}
	return int(v), false
}

// Buffer reads a jute buffer. A null buffer (-1) is nil; an empty one is a
// non-nil empty slice, so re-encoding gives the same bytes. The result is a
// copy.
func (d *Decoder) Buffer() []byte {
	n, null := d.length(1, d.MaxBuffer)
	if null || d.err != nil {
		return nil
	}
	p := d.take(n)
	out := make([]byte, n)
	copy(out, p)
	return out
}

// String reads a jute ustring; null (-1) reads as "". Bytes are not checked
// for UTF-8 validity (ZooKeeper replaces bad sequences; paths are validated
// by the server).
func (d *Decoder) String() string {
	n, null := d.length(1, d.MaxBuffer)
	if null || d.err != nil {
		return ""
	}
	return string(d.take(n))
}

// VectorLen reads a vector count, bounded so that count*minElemSize bytes
// remain. null reports -1.
func (d *Decoder) VectorLen(minElemSize int) (n int, null bool) {
	if minElemSize < 1 {
		minElemSize = 1
	}
	return d.length(minElemSize, 0)
}

// Strings reads a vector<ustring>; null (-1) is nil, empty is non-nil.
func (d *Decoder) Strings() []string {
	n, null := d.VectorLen(4)
	if null || d.err != nil {
		return nil
	}
	out := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.String())
	}
	if d.err != nil {
		return nil
	}
	return out
}

// Encoder appends jute primitives to B.
type Encoder struct {
	B []byte
}

// Int appends a jute int.
func (e *Encoder) Int(v int32) { e.B = binary.BigEndian.AppendUint32(e.B, uint32(v)) }

// Long appends a jute long.
func (e *Encoder) Long(v int64) { e.B = binary.BigEndian.AppendUint64(e.B, uint64(v)) }

// Bool appends a jute boolean (1 or 0).
func (e *Encoder) Bool(v bool) {
	if v {
		e.B = append(e.B, 1)
	} else {
		e.B = append(e.B, 0)
	}
}

// Buffer appends a jute buffer: nil as null (-1), otherwise length + bytes.
// Servers replying with data should pass a non-nil slice (ZooKeeper writes
// an empty buffer, not null, for empty data).
func (e *Encoder) Buffer(b []byte) {
	if b == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(b)))
	e.B = append(e.B, b...)
}

// String appends a jute ustring.
func (e *Encoder) String(s string) {
	e.Int(int32(len(s)))
	e.B = append(e.B, s...)
}

// Strings appends a vector<ustring>: nil as null (-1).
func (e *Encoder) Strings(v []string) {
	if v == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(v)))
	for _, s := range v {
		e.String(s)
	}
}

// Record appends r.
func (e *Encoder) Record(r Record) { r.Encode(e) }

// BeginFrame appends a placeholder length and returns its position, for
// EndFrame.
func (e *Encoder) BeginFrame() int {
	at := len(e.B)
	e.Int(0)
	return at
}

// EndFrame patches the length written by BeginFrame at mark to the number
// of bytes appended since.
func (e *Encoder) EndFrame(mark int) {
	n := len(e.B) - mark - 4
	if n > math.MaxInt32 {
		panic("proto: frame larger than 2 GiB")
	}
	binary.BigEndian.PutUint32(e.B[mark:], uint32(n))
}

// Marshal returns r's encoding.
func Marshal(r Record) []byte {
	var e Encoder
	r.Encode(&e)
	return e.B
}

// Unmarshal decodes b into r. Trailing bytes are allowed, as ZooKeeper
// allows them; use a Decoder to see how much was read.
func Unmarshal(b []byte, r Record) error {
	d := NewDecoder(b)
	r.Decode(d)
	return d.Err()
}
