package netio

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Request is one parsed request frame.
type Request struct {
	APIKey        int16
	APIVersion    int16
	CorrelationID int32
	ClientID      *string // nil = null client id
	HeaderLen     int     // bytes of the request header, tag section included
	Flexible      bool    // header v2: kmsg knows this key and version as flexible
	Body          []byte  // the bytes after the header; aliases Frame
	Frame         []byte  // the whole frame after the size prefix
	RemoteAddr    net.Addr
	Listener      string // listener name the connection came in on
	ConnID        uint64 // unique per connection for the server's lifetime
	Seq           uint64 // 0, 1, 2... per connection, in arrival order

	buf  *[]byte // pooled backing array of Frame; nil once kept or recycled
	kept bool
}

// Keep tells netio not to recycle the request's buffer: the handler keeps
// Body or Frame beyond the request's reply.
func (r *Request) Keep() { r.kept = true }

// AppendResponseHeader appends the response header for r to dst: the
// correlation id, and the empty tag section of response header v1 when the
// request is flexible, except for ApiVersions, whose response header is
// always v0.
func (r *Request) AppendResponseHeader(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(r.CorrelationID))
	if r.Flexible && r.APIKey != int16(kmsg.ApiVersions) {
		dst = append(dst, 0)
	}
	return dst
}

func (r *Request) recycle() {
	if r.buf != nil && !r.kept {
		putFrameBuf(r.buf)
	}
	r.buf = nil
}

// firstFlexible[key] is the first flexible version of each key kmsg knows,
// or -1 if the key has none.
var firstFlexible = func() []int16 {
	out := make([]int16, kmsg.MaxKey+1)
	for k := range out {
		out[k] = -1
		req := kmsg.RequestForKey(int16(k))
		if req == nil {
			continue
		}
		for v := int16(0); v <= req.MaxVersion(); v++ {
			req.SetVersion(v)
			if req.IsFlexible() {
				out[k] = v
				break
			}
		}
	}
	return out
}()

// isFlexible reports whether (key, version) uses request header v2.
func isFlexible(key, version int16) bool {
	if key < 0 || int(key) >= len(firstFlexible) {
		return false
	}
	f := firstFlexible[key]
	return f >= 0 && version >= f
}

// parseHeader fills r from frame (the bytes after the size prefix).
func parseHeader(r *Request, frame []byte) error {
	if len(frame) >= 8 && binary.BigEndian.Uint16(frame) == uint16(kmsg.ControlledShutdown) && binary.BigEndian.Uint16(frame[2:]) == 0 {
		// Header v0 (no client id) is used only by ControlledShutdown v0.
		r.APIKey, r.APIVersion = int16(kmsg.ControlledShutdown), 0
		r.CorrelationID = int32(binary.BigEndian.Uint32(frame[4:]))
		r.HeaderLen, r.Frame, r.Body = 8, frame, frame[8:]
		return nil
	}
	if len(frame) < 10 {
		return fmt.Errorf("%w: %d-byte frame is shorter than a request header", ErrBadHeader, len(frame))
	}
	be := binary.BigEndian
	r.APIKey = int16(be.Uint16(frame[0:]))
	r.APIVersion = int16(be.Uint16(frame[2:]))
	r.CorrelationID = int32(be.Uint32(frame[4:]))
	n := int(int16(be.Uint16(frame[8:])))
	pos := 10
	switch {
	case n == -1:
		r.ClientID = nil
	case n < -1 || n > len(frame)-pos:
		return fmt.Errorf("%w: client id length %d with %d bytes left", ErrBadHeader, n, len(frame)-pos)
	default:
		s := string(frame[pos : pos+n])
		r.ClientID = &s
		pos += n
	}
	r.Flexible = isFlexible(r.APIKey, r.APIVersion)
	if r.Flexible {
		p, err := skipTags(frame, pos)
		if err != nil {
			return err
		}
		pos = p
	}
	r.HeaderLen = pos
	r.Frame = frame
	r.Body = frame[pos:]
	return nil
}

// skipTags skips a KIP-482 tag section starting at pos.
func skipTags(b []byte, pos int) (int, error) {
	count, n := binary.Uvarint(b[pos:])
	if n <= 0 || count > uint64(len(b)) {
		return 0, fmt.Errorf("%w: bad tag count", ErrBadHeader)
	}
	pos += n
	for i := uint64(0); i < count; i++ {
		if _, n = binary.Uvarint(b[pos:]); n <= 0 {
			return 0, fmt.Errorf("%w: bad tag id", ErrBadHeader)
		}
		pos += n
		size, n := binary.Uvarint(b[pos:])
		if n <= 0 || size > uint64(len(b)-pos-n) {
			return 0, fmt.Errorf("%w: bad tag size", ErrBadHeader)
		}
		pos += n + int(size)
	}
	return pos, nil
}

// Frame buffers come from size-classed pools (powers of two from 4 KiB to
// 128 MiB) so a 15 MB produce reuses a buffer instead of allocating one.
const (
	minClassShift = 12
	maxClassShift = 27
)

var framePools [maxClassShift - minClassShift + 1]sync.Pool

func sizeClass(n int) int {
	c := 0
	for (1 << (minClassShift + c)) < n {
		c++
	}
	return c
}

func getFrameBuf(n int) *[]byte {
	c := sizeClass(n)
	if c >= len(framePools) {
		b := make([]byte, n)
		return &b
	}
	if v := framePools[c].Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<(minClassShift+c))
	return &b
}

func putFrameBuf(b *[]byte) {
	c := sizeClass(cap(*b))
	if c >= len(framePools) || cap(*b) != 1<<(minClassShift+c) {
		return
	}
	framePools[c].Put(b)
}

// Handler handles requests. See the package doc for the ordering contract.
type Handler interface {
	Handle(ctx context.Context, req *Request) Reply
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req *Request) Reply

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, req *Request) Reply { return f(ctx, req) }

type outcomeKind uint8

const (
	outRespond outcomeKind = iota
	outNone
	outClose
)

type outcome struct {
	kind outcomeKind
	resp *Response
	err  error
}

// Reply is what Handle returns: a response now, no response, a close, or a
// deferred outcome resolved through a Pending.
type Reply struct {
	p *Pending
}

// Respond replies now with resp.
func Respond(resp *Response) Reply { return Reply{p: resolved(outcome{kind: outRespond, resp: resp})} }

// NoResponse sends nothing (acks=0); the response order moves past it.
func NoResponse() Reply { return Reply{p: resolved(outcome{kind: outNone})} }

// CloseConn closes the connection once earlier responses are written.
func CloseConn(err error) Reply { return Reply{p: resolved(outcome{kind: outClose, err: err})} }

// Defer returns a Reply whose outcome is decided later through the Pending.
func Defer() (Reply, *Pending) {
	p := &Pending{ch: make(chan outcome, 1)}
	return Reply{p: p}, p
}

func resolved(o outcome) *Pending {
	p := &Pending{ch: make(chan outcome, 1), resolvedFlag: true, immediateClose: o.kind == outClose}
	p.ch <- o
	return p
}

// Pending is a deferred reply. Exactly one of Respond, NoResponse or Close
// takes effect; later calls are ignored (their file regions released).
type Pending struct {
	ch             chan outcome // buffered 1: resolving never blocks
	immediateClose bool         // created resolved as a close; immutable

	mu           sync.Mutex
	resolvedFlag bool // guarded by mu
	abandoned    bool // guarded by mu: the connection died; release on resolve
	cleanup      func()
}

// Respond resolves the reply with resp.
func (p *Pending) Respond(resp *Response) { p.resolve(outcome{kind: outRespond, resp: resp}) }

// NoResponse resolves the reply with no response.
func (p *Pending) NoResponse() { p.resolve(outcome{kind: outNone}) }

// Close resolves the reply by closing the connection.
func (p *Pending) Close(err error) { p.resolve(outcome{kind: outClose, err: err}) }

func (p *Pending) resolve(o outcome) {
	p.mu.Lock()
	if p.resolvedFlag {
		p.mu.Unlock()
		o.resp.release()
		return
	}
	p.resolvedFlag = true
	if p.abandoned {
		cleanup := p.cleanup
		p.mu.Unlock()
		o.resp.release()
		if cleanup != nil {
			cleanup()
		}
		return
	}
	p.ch <- o
	p.mu.Unlock()
}

// abandon is called by the writer of a dead connection: an outcome already
// present is released now, a later one when it arrives. cleanup runs once
// the outcome is known (it recycles the request buffer).
func (p *Pending) abandon(cleanup func()) {
	p.mu.Lock()
	p.abandoned = true
	if !p.resolvedFlag {
		p.cleanup = cleanup
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	select {
	case o := <-p.ch:
		o.resp.release()
	default:
	}
	cleanup()
}

// FileRegion is a byte range of a file sent without copying it through
// user space. Release, if set, is called exactly once after the region was
// written or the connection died.
type FileRegion struct {
	File    *os.File
	Offset  int64
	Length  int64
	Release func()
}

// Part is one piece of a Response: Bytes, or a file Region when Region is
// non-nil.
type Part struct {
	Bytes  []byte
	Region *FileRegion
}

// Response is an ordered list of parts. netio writes the 4-byte size prefix
// computed from them; the first part must start with the response header
// (Request.AppendResponseHeader).
type Response struct {
	Parts []Part
}

// AddBytes appends a byte chunk.
func (r *Response) AddBytes(b []byte) *Response {
	r.Parts = append(r.Parts, Part{Bytes: b})
	return r
}

// AddFile appends a file region.
func (r *Response) AddFile(fr FileRegion) *Response {
	r.Parts = append(r.Parts, Part{Region: &fr})
	return r
}

// Len is the response size without the size prefix.
func (r *Response) Len() int64 {
	var n int64
	for _, p := range r.Parts {
		if p.Region != nil {
			n += p.Region.Length
		} else {
			n += int64(len(p.Bytes))
		}
	}
	return n
}

// release calls Release on every region not yet released.
func (r *Response) release() {
	if r == nil {
		return
	}
	for i := range r.Parts {
		if fr := r.Parts[i].Region; fr != nil && fr.Release != nil {
			rel := fr.Release
			fr.Release = nil
			rel()
		}
	}
}
