package netio

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// conn is one client connection: a reader goroutine that frames requests
// and calls the handler in order, and a writer goroutine that writes their
// replies in the same order.
type conn struct {
	s        *Server
	nc       net.Conn
	raw      syscall.RawConn // nil when not TCP: no sendfile
	id       uint64
	listener string
	ip       string
	ctx      context.Context
	cancel   context.CancelFunc
	killOnce sync.Once

	// slots carries requests from reader to writer in arrival order; its
	// capacity is MaxInFlight. The reader closes it when it stops.
	slots chan *slot
	// inflight counts slots handed to the writer and not yet finished.
	// Invariant: inflight >= 0; a connection with inflight > 0 is not idle.
	inflight   atomic.Int64
	lastActive atomic.Int64 // unix nanos of the last byte read or written
}

type slot struct {
	req *Request
	p   *Pending
}

func newConn(s *Server, nc net.Conn, listener, ip string) *conn {
	ctx, cancel := context.WithCancel(s.ctx)
	c := &conn{
		s: s, nc: nc, raw: tuneSocket(nc, &s.cfg), id: s.nextID.Add(1), listener: listener, ip: ip,
		ctx: ctx, cancel: cancel, slots: make(chan *slot, s.cfg.MaxInFlight),
	}
	c.touch()
	return c
}

func (c *conn) touch() { c.lastActive.Store(time.Now().UnixNano()) }

// kill closes the socket and cancels the connection's context.
func (c *conn) kill() {
	c.killOnce.Do(func() {
		c.cancel()
		c.nc.Close()
	})
}

// readFull fills p, treating a read timeout as idleness: the connection is
// closed only if nothing moved for ConnectionsMaxIdle and no request awaits
// its response.
func (c *conn) readFull(br *bufio.Reader, p []byte) error {
	idle := c.s.cfg.ConnectionsMaxIdle
	got := 0
	for got < len(p) {
		c.nc.SetReadDeadline(time.Now().Add(idle))
		n, err := br.Read(p[got:])
		if n > 0 {
			got += n
			c.s.metrics.BytesIn.Add(int64(n))
			c.touch()
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if c.inflight.Load() > 0 || time.Since(time.Unix(0, c.lastActive.Load())) < idle {
					continue
				}
				c.s.metrics.IdleClosed.Add(1)
			}
			if got > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// eagerFrameBytes is the largest frame whose buffer is allocated whole as
// soon as its size prefix arrives. Above it the buffer grows with the
// bytes actually received (see readBody).
const eagerFrameBytes = 64 << 10

// frameGrowth is the factor by which a large frame's buffer grows each time
// it fills. 4 keeps the copying to about a third of the frame (2 costs a
// whole frame of memcpy, about 10% of reading 15 MB over loopback) while a
// client still pins at most 4x what it sent.
const frameGrowth = 4

// readBody reads a size-byte frame body into a pooled buffer. Memory
// follows the bytes that arrive, not the size a client claims: a frame of
// up to eagerFrameBytes is allocated at once; a larger one starts with an
// eagerFrameBytes buffer that grows frameGrowth-fold each time it fills,
// up to size. So a client that claims socket.request.max.bytes and then
// sends little or nothing pins at most frameGrowth times what it sent (at
// least 64 KiB), instead of the claimed size (100 MiB by default) until the
// idle reaper runs. The price is copying each filled buffer into the next,
// about a third of the frame in all (BenchmarkLargeRequest15MB). The final
// buffer has the same size class as a whole-frame allocation, so pooling
// is unchanged.
func (c *conn) readBody(br *bufio.Reader, size int) (*[]byte, error) {
	buf := getFrameBuf(min(size, eagerFrameBytes))
	got := 0
	for {
		if err := c.readFull(br, (*buf)[got:]); err != nil {
			putFrameBuf(buf)
			return nil, err
		}
		got = len(*buf)
		if got == size {
			return buf, nil
		}
		next := getFrameBuf(min(frameGrowth*got, size))
		copy(*next, (*buf)[:got])
		putFrameBuf(buf)
		buf = next
	}
}

func (c *conn) readLoop() {
	defer c.s.wg.Done()
	defer close(c.slots)
	br := bufio.NewReaderSize(c.nc, 64<<10)
	maxSize := c.s.cfg.MaxRequestBytes
	var seq uint64
	var sizeBuf [4]byte
	for {
		if err := c.readFull(br, sizeBuf[:]); err != nil {
			// EOF included: like Kafka, a client that closed its side is
			// gone; responses still pending are dropped and released.
			if c.ctx.Err() == nil {
				c.s.cfg.Logger.Debug("netio: read ended", "conn", c.id, "err", err)
			}
			c.kill()
			return
		}
		size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
		if size < 0 || size > maxSize {
			// NetworkReceive: "Invalid receive (size = N larger than M)";
			// the connection is closed without a response.
			c.s.metrics.InvalidFrames.Add(1)
			c.s.cfg.Logger.Info("netio: invalid frame size, closing", "conn", c.id, "remote", c.nc.RemoteAddr(), "size", size, "max", maxSize)
			c.kill()
			return
		}
		buf, err := c.readBody(br, int(size))
		if err != nil {
			c.kill()
			return
		}
		req := &Request{RemoteAddr: c.nc.RemoteAddr(), Listener: c.listener, ConnID: c.id, Seq: seq, buf: buf}
		if err := parseHeader(req, *buf); err != nil {
			putFrameBuf(buf)
			c.s.metrics.InvalidFrames.Add(1)
			c.s.cfg.Logger.Info("netio: bad request header, closing", "conn", c.id, "err", err)
			c.kill()
			return
		}
		seq++
		c.s.metrics.Requests.Add(1)
		reply, ok := c.handle(req)
		if !ok {
			req.recycle()
			return
		}
		c.inflight.Add(1)
		select {
		case c.slots <- &slot{req: req, p: reply.p}:
		case <-c.ctx.Done():
			c.inflight.Add(-1)
			reply.p.abandon(req.recycle)
			return
		}
		if reply.p.closesNow() {
			return // earlier responses still go out; nothing after this request is read
		}
	}
}

// handle runs the handler under an IOThreads token. A panicking handler
// closes the connection instead of the process.
func (c *conn) handle(req *Request) (r Reply, ok bool) {
	select {
	case c.s.ioSem <- struct{}{}:
	case <-c.ctx.Done():
		return Reply{}, false
	}
	defer func() { <-c.s.ioSem }()
	defer func() {
		if v := recover(); v != nil {
			c.s.cfg.Logger.Error("netio: handler panic, closing connection", "conn", c.id, "apiKey", req.APIKey, "panic", v)
			r = CloseConn(fmt.Errorf("netio: handler panic: %v", v))
		}
	}()
	r = c.s.h.Handle(c.ctx, req)
	if r.p == nil {
		r = CloseConn(errors.New("netio: handler returned the zero Reply"))
	}
	return r, true
}

// closesNow reports whether p was created already resolved as a close.
func (p *Pending) closesNow() bool { return p.immediateClose }

func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	defer c.s.connDone(c)
	defer c.kill()
	dead := false
	for s := range c.slots {
		if dead {
			s.p.abandon(s.req.recycle)
			c.inflight.Add(-1)
			continue
		}
		var o outcome
		select {
		case o = <-s.p.ch:
		case <-c.ctx.Done():
			dead = true
			s.p.abandon(s.req.recycle)
			c.inflight.Add(-1)
			continue
		}
		switch o.kind {
		case outRespond:
			if err := c.writeResponse(o.resp); err != nil {
				c.s.cfg.Logger.Debug("netio: write failed, closing", "conn", c.id, "err", err)
				dead = true
				c.kill()
			}
			o.resp.release()
		case outClose:
			c.s.cfg.Logger.Debug("netio: handler closed connection", "conn", c.id, "apiKey", s.req.APIKey, "err", o.err)
			dead = true
			c.kill()
		case outNone:
		}
		s.req.recycle()
		c.inflight.Add(-1)
		c.touch()
	}
}

// writeResponse writes the size prefix and every part: runs of byte chunks
// with one writev, file regions with sendfile (or pread + write).
func (c *conn) writeResponse(r *Response) error {
	if r == nil {
		return errors.New("netio: nil response")
	}
	size := r.Len()
	if size > math.MaxInt32 {
		return fmt.Errorf("netio: response of %d bytes does not fit a frame", size)
	}
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
		return err
	}
	var prefix [4]byte
	binary.BigEndian.PutUint32(prefix[:], uint32(size))
	bufs := make(net.Buffers, 1, len(r.Parts)+1)
	bufs[0] = prefix[:]
	flush := func() error {
		if len(bufs) == 0 {
			return nil
		}
		n, err := bufs.WriteTo(c.nc)
		c.s.metrics.BytesOut.Add(n)
		bufs = bufs[:0]
		return err
	}
	for i := range r.Parts {
		p := &r.Parts[i]
		if p.Region == nil {
			if len(p.Bytes) > 0 {
				bufs = append(bufs, p.Bytes)
			}
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		err := c.sendRegion(p.Region)
		if rel := p.Region.Release; rel != nil {
			p.Region.Release = nil
			rel()
		}
		if err != nil {
			return err
		}
	}
	return flush()
}

func (c *conn) sendRegion(fr *FileRegion) error {
	if fr.Length == 0 {
		return nil
	}
	if fr.File == nil || fr.Offset < 0 || fr.Length < 0 {
		return fmt.Errorf("netio: invalid file region (offset %d, length %d)", fr.Offset, fr.Length)
	}
	if c.s.cfg.ZeroCopy && c.raw != nil {
		n, err := sendfileFn(c.raw, fr.File, fr.Offset, fr.Length)
		c.s.metrics.SendfileBytes.Add(n)
		c.s.metrics.BytesOut.Add(n)
		if err == nil {
			return nil
		}
		if n != 0 || !errors.Is(err, errSendfileUnsupported) {
			return err
		}
		// Nothing was sent: fall back to copying.
	}
	return c.copyRegion(fr)
}

// sendfileChunk caps one sendfile(2) call; measured on loopback, 1 MiB calls
// beat one huge call (io-and-performance.md §1.4).
const sendfileChunk = 1 << 20

var errSendfileUnsupported = errors.New("netio: sendfile unsupported for this file")

// sendfileFn is sendfileAt; tests replace it to exercise the fallback.
var sendfileFn = sendfileAt

// sendfileAt sends f[off:off+n] with sendfile(2) at an explicit offset, so
// the file's shared offset is never used; it parks on the netpoller when
// the socket buffer is full and honours the write deadline.
func sendfileAt(raw syscall.RawConn, f *os.File, off, n int64) (int64, error) {
	fc, err := f.SyscallConn()
	if err != nil {
		return 0, errSendfileUnsupported
	}
	var done int64
	var serr error
	cerr := fc.Control(func(infd uintptr) {
		werr := raw.Write(func(sock uintptr) bool {
			for done < n {
				o := off + done
				m, e := unix.Sendfile(int(sock), int(infd), &o, int(min(n-done, sendfileChunk)))
				if m > 0 {
					done += int64(m)
				}
				switch {
				case e == unix.EAGAIN:
					return false
				case e == unix.EINTR:
					continue
				case e == unix.EINVAL || e == unix.ENOSYS || e == unix.EOPNOTSUPP:
					serr = fmt.Errorf("%w: %v", errSendfileUnsupported, e)
					return true
				case e != nil:
					serr = e
					return true
				case m == 0:
					serr = fmt.Errorf("%w: sendfile hit end of file at offset %d, %d bytes short", ErrRegionTruncated, o, n-done)
					return true
				}
			}
			return true
		})
		if serr == nil {
			serr = werr
		}
	})
	if serr == nil {
		serr = cerr
	}
	return done, serr
}

const copyChunk = 1 << 20

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyChunk); return &b }}

// copyRegion sends a region through user space: pread (never the shared
// offset) into a pooled buffer, then write.
func (c *conn) copyRegion(fr *FileRegion) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var done int64
	for done < fr.Length {
		m := int(min(fr.Length-done, int64(len(buf))))
		n, err := fr.File.ReadAt(buf[:m], fr.Offset+done)
		if n > 0 {
			w, werr := c.nc.Write(buf[:n])
			done += int64(w)
			c.s.metrics.CopyBytes.Add(int64(w))
			c.s.metrics.BytesOut.Add(int64(w))
			if werr != nil {
				return werr
			}
		}
		if err != nil && done < fr.Length {
			if err == io.EOF {
				return fmt.Errorf("%w: end of file at offset %d, %d bytes short", ErrRegionTruncated, fr.Offset+done, fr.Length-done)
			}
			return err
		}
	}
	return nil
}
