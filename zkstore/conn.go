package zkstore

import (
	"bufio"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregorlog/gregor/zkstore/proto"
)

// pending is one request in a connection's reply FIFO. Exactly one of w
// (a write committed by the committer), run (executed in turn, after every
// earlier request of the connection has completed) or a precomputed reply
// is set.
type pending struct {
	xid   int32
	op    int32
	start int64 // nanotime at receipt

	w   *writeReq
	run func() (zxid int64, code Code, body proto.Record)

	zxid int64
	code Code
	body proto.Record

	noReply    bool // close without replying (malformed request)
	closeAfter bool
}

// conn is one client connection: a reader goroutine decodes requests and
// queues them in order; a writer goroutine completes them in the same
// order, writing any queued watch events before each reply.
type conn struct {
	s       *Server
	nc      net.Conn
	ip      string
	remote  string
	est     time.Time
	timeout int32

	sessionID atomic.Int64
	auth      atomic.Pointer[authSet]

	out    chan *pending
	notify chan struct{}

	evMu   sync.Mutex // guards events
	events []Event

	closeOnce sync.Once
	closed    chan struct{}

	recved atomic.Int64
	sent   atomic.Int64

	statMu   sync.Mutex // guards the fields below (cons)
	lastOp   string
	lastCxid int32
	lastZxid int64
	lastResp int64 // ms of the monotonic clock, as ZooKeeper's currentElapsedTime
	lastLat  int64
	latMin   int64
	latMax   int64
	latSum   int64
	latCnt   int64
}

func newConn(s *Server, nc net.Conn, ip string) *conn {
	c := &conn{
		s:      s,
		nc:     nc,
		ip:     ip,
		remote: nc.RemoteAddr().String(),
		est:    time.Now(),
		out:    make(chan *pending, 1024),
		notify: make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
	c.auth.Store(&authSet{ids: []AuthID{{Scheme: "ip", ID: ip}}})
	return c
}

// SessionID implements Watcher.
func (c *conn) SessionID() int64 { return c.sessionID.Load() }

func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.nc.Close()
	})
}

// shutdownRead stops taking requests; the writer finishes the queued ones.
func (c *conn) shutdownRead() {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.CloseRead()
		return
	}
	c.close()
}

// queueEvent queues a watch event; the writer sends it before the next
// reply. The committer calls it before it advances the durable zxid, and a
// read that observed the change waits for that, so the event is queued
// before such a read's reply is written.
func (c *conn) queueEvent(ev Event) {
	c.evMu.Lock()
	c.events = append(c.events, ev)
	c.evMu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *conn) serve() {
	defer c.s.removeConn(c)
	defer c.close()
	br := bufio.NewReaderSize(c.nc, 64<<10)
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	var lenBuf [4]byte
	if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
		return
	}
	n := int32(binary.BigEndian.Uint32(lenBuf[:]))
	if w, ok := proto.FourLetterWord(n); ok {
		c.recved.Add(1)
		c.s.stats.packetsReceived.Add(1)
		if w == "stmk" && c.s.fourLetterAllowed(w) {
			// stmk carries the new trace mask as 8 more bytes.
			var mask [8]byte
			if _, err := io.ReadFull(br, mask[:]); err != nil {
				return
			}
			c.s.traceMask.Store(int64(binary.BigEndian.Uint64(mask[:])))
		}
		c.s.fourLetter(c.nc, w)
		return
	}
	if err := proto.CheckFrameLen(n, c.s.set.maxBuffer); err != nil {
		return
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return
	}
	c.s.stats.packetsReceived.Add(1)
	c.recved.Add(1)
	req, err := proto.DecodeConnectRequest(body)
	if err != nil || !c.handshake(req) {
		return
	}
	c.nc.SetReadDeadline(time.Time{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	c.readLoop(br)
	close(c.out)
	<-writerDone
}

func (c *conn) negotiateTimeout(requested int32) int32 {
	to := requested
	if lo := int32(c.s.set.minSessionTimeout); to < lo {
		to = lo
	}
	if hi := int32(c.s.set.maxSessionTimeout); to > hi {
		to = hi
	}
	return to
}

// handshake answers the ConnectRequest: a new session goes through the log
// as a createSession txn; a reattach needs a live session and its password.
func (c *conn) handshake(req *proto.ConnectRequest) bool {
	s := c.s
	s.mu.RLock()
	last := s.tree.lastZxid
	s.mu.RUnlock()
	if req.LastZxidSeen > last {
		s.log.Warn("zkstore: refusing session: client has seen a newer zxid",
			"clientZxid", fmt.Sprintf("0x%x", req.LastZxidSeen), "ourZxid", fmt.Sprintf("0x%x", last))
		return false
	}
	resp := proto.ConnectResponse{HasReadOnly: req.HasReadOnly}
	if req.SessionID == 0 {
		to := c.negotiateTimeout(req.TimeOut)
		s.smu.Lock()
		id := s.nextSessionID
		s.nextSessionID++
		s.smu.Unlock()
		r := &writeReq{session: id, op: OpCreateSession, timeout: to}
		if !s.submit(r) {
			return false
		}
		select {
		case <-r.done:
		case <-c.closed:
			return false
		case <-s.stop:
			return false
		}
		if r.err != nil {
			return false
		}
		s.smu.Lock()
		s.tracker.Add(id, int64(to), s.nowMs())
		s.owners[id] = c
		s.smu.Unlock()
		c.sessionID.Store(id)
		c.timeout = to
		resp.TimeOut, resp.SessionID, resp.Passwd = to, id, sessionPassword(s.secret, id)
	} else {
		id := req.SessionID
		// ZooKeeper closes the session's current connection before it
		// even checks the password (processConnectRequest).
		s.smu.Lock()
		if old := s.owners[id]; old != nil && old != c {
			delete(s.owners, id)
			s.smu.Unlock()
			old.close()
		} else {
			s.smu.Unlock()
		}
		s.mu.RLock()
		to, ok := s.tree.SessionTimeout(id)
		s.mu.RUnlock()
		ok = ok && hmac.Equal(req.Passwd, sessionPassword(s.secret, id))
		var old *conn
		if ok {
			// The reattaching client negotiates its timeout afresh, and
			// the session's deadlines follow it (touchSession(id, to)).
			to = c.negotiateTimeout(req.TimeOut)
			s.smu.Lock()
			if ok = s.tracker.Touch(id, s.nowMs()); ok {
				s.tracker.Add(id, int64(to), s.nowMs())
				old = s.owners[id]
				s.owners[id] = c
			}
			s.smu.Unlock()
		}
		if !ok {
			c.s.log.Info("zkstore: refusing reattach", "session", fmt.Sprintf("0x%x", id))
		}
		if !ok {
			// Expired, unknown or wrong password: clients read timeOut 0 /
			// sessionId 0 as "session expired".
			resp.Passwd = make([]byte, proto.PasswordLen)
			c.nc.Write(proto.AppendFramed(nil, &resp))
			return false
		}
		if old != nil && old != c {
			old.close()
		}
		c.sessionID.Store(id)
		c.timeout = to
		resp.TimeOut, resp.SessionID, resp.Passwd = to, id, sessionPassword(s.secret, id)
	}
	if _, err := c.nc.Write(proto.AppendFramed(nil, &resp)); err != nil {
		return false
	}
	c.sent.Add(1)
	s.stats.packetsSent.Add(1)
	return true
}

func (c *conn) touch() {
	s := c.s
	s.smu.Lock()
	s.tracker.Touch(c.sessionID.Load(), s.nowMs())
	s.smu.Unlock()
}

func (c *conn) readLoop(br *bufio.Reader) {
	var buf []byte
	for {
		body, err := proto.ReadFrame(br, buf, c.s.set.maxBuffer)
		if err != nil {
			if errors.Is(err, proto.ErrBadLength) {
				c.s.log.Warn("zkstore: closing connection", "remote", c.remote, "err", err)
			}
			return
		}
		buf = body[:0]
		c.s.stats.packetsReceived.Add(1)
		c.recved.Add(1)
		if len(body) < proto.RequestHeaderSize {
			return
		}
		var hdr proto.RequestHeader
		d := proto.NewDecoder(body)
		hdr.Decode(d)
		c.touch()
		p := c.dispatch(hdr, body[proto.RequestHeaderSize:])
		p.start = nanotime()
		c.s.stats.outstanding.Add(1)
		select {
		case c.out <- p:
		case <-c.closed:
			c.s.stats.outstanding.Add(-1)
			return
		}
		if p.closeAfter || p.noReply {
			return
		}
	}
}

func (c *conn) writeLoop() {
	bw := bufio.NewWriterSize(c.nc, 64<<10)
	var scratch []byte
	for {
		select {
		case p, ok := <-c.out:
			if !ok {
				c.writeEvents(bw, &scratch)
				bw.Flush()
				return
			}
			ok = c.complete(p, bw, &scratch)
			c.s.stats.outstanding.Add(-1)
			if !ok || p.closeAfter || p.noReply {
				bw.Flush()
				c.close()
				// Drain so the reader never blocks on a full queue.
				for range c.out {
					c.s.stats.outstanding.Add(-1)
				}
				return
			}
			if len(c.out) == 0 {
				c.writeEvents(bw, &scratch)
				if bw.Flush() != nil {
					c.close()
				}
			}
		case <-c.notify:
			c.writeEvents(bw, &scratch)
			if bw.Flush() != nil {
				c.close()
			}
		case <-c.closed:
			for range c.out {
				c.s.stats.outstanding.Add(-1)
			}
			return
		}
	}
}

func (c *conn) writeEvents(bw *bufio.Writer, scratch *[]byte) {
	c.evMu.Lock()
	evs := c.events
	c.events = nil
	c.evMu.Unlock()
	for _, ev := range evs {
		*scratch = proto.AppendNotification((*scratch)[:0], proto.WatcherEvent{
			Type: proto.EventType(ev.Type), State: proto.StateSyncConnected, Path: ev.Path,
		})
		bw.Write(*scratch)
		c.sent.Add(1)
		c.s.stats.packetsSent.Add(1)
	}
}

// complete finishes one request in FIFO order and writes its reply after
// any watch events queued so far. It returns false when the connection
// must close without further replies.
func (c *conn) complete(p *pending, bw *bufio.Writer, scratch *[]byte) bool {
	if p.noReply {
		return false
	}
	zxid, code, body := p.zxid, p.code, p.body
	switch {
	case p.w != nil:
		select {
		case <-p.w.done:
		case <-c.closed:
			return false
		}
		if p.w.err != nil {
			return false
		}
		zxid = p.w.txn.Zxid
		code, body = writeReply(p.op, &p.w.res)
		if p.op == OpCheck && code == CodeOK {
			c.s.log.Warn("zkstore: check outside multi passed; closing connection as ZooKeeper does", "remote", c.remote)
			return false
		}
		if p.op == OpCloseSession {
			c.s.smu.Lock()
			c.s.tracker.Remove(p.w.session)
			if c.s.owners[p.w.session] == c {
				delete(c.s.owners, p.w.session)
			}
			c.s.smu.Unlock()
		}
	case p.run != nil:
		zxid, code, body = p.run()
		// The read may have seen txns applied but not yet fsynced: hold
		// the reply (and its zxid) until they are durable. Their watch
		// events are queued by then, so they still go out first.
		if !c.s.waitDurable(zxid, c.closed) {
			return false
		}
	}
	c.writeEvents(bw, scratch)
	*scratch = proto.AppendReply((*scratch)[:0], proto.ReplyHeader{Xid: p.xid, Zxid: zxid, Err: proto.ErrCode(code)}, body)
	if _, err := bw.Write(*scratch); err != nil {
		return false
	}
	c.sent.Add(1)
	c.s.stats.packetsSent.Add(1)
	latMs := (nanotime() - p.start) / int64(time.Millisecond)
	if p.op != OpPing {
		c.s.stats.observeLatency(latMs)
	}
	c.statMu.Lock()
	c.lastOp = opShortName(p.op)
	if p.xid > 0 {
		c.lastCxid = p.xid
	}
	c.lastZxid = zxid
	c.lastResp = elapsedMs()
	c.lastLat = latMs
	if c.latCnt == 0 || latMs < c.latMin {
		c.latMin = latMs
	}
	c.latMax = max(c.latMax, latMs)
	c.latSum += latMs
	c.latCnt++
	c.statMu.Unlock()
	return true
}

// opShortName is the 4-letter op name cons prints as lop
// (Request.op2String abbreviations).
func opShortName(op int32) string {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL:
		return "CREA"
	case OpDelete:
		return "DELE"
	case OpExists:
		return "EXIS"
	case OpGetData:
		return "GETD"
	case OpSetData:
		return "SETD"
	case OpGetACL:
		return "GETA"
	case OpSetACL:
		return "SETA"
	case OpGetChildren, OpGetChildren2:
		return "GETC"
	case OpSync:
		return "SYNC"
	case OpPing:
		return "PING"
	case OpCheck:
		return "CHEC"
	case OpMulti:
		return "MULT"
	case OpMultiRead:
		return "MLTR"
	case OpSetWatches, OpSetWatches2:
		return "SETW"
	case OpCloseSession:
		return "CLOS"
	case OpAddWatch:
		return "ADDW"
	}
	return "NA"
}

func (c *conn) curZxid() int64 {
	c.s.mu.RLock()
	z := c.s.tree.lastZxid
	c.s.mu.RUnlock()
	return z
}

// dispatch turns one decoded request into its pending reply.
func (c *conn) dispatch(hdr proto.RequestHeader, body []byte) *pending {
	op := int32(hdr.Type)
	p := &pending{xid: hdr.Xid, op: op}
	if hdr.Type == proto.OpPing {
		p.run = func() (int64, Code, proto.Record) { return c.curZxid(), CodeOK, nil }
		return p
	}
	rec, err := proto.DecodeRequestMax(hdr.Type, body, c.s.set.maxBuffer)
	if err != nil {
		if errors.Is(err, proto.ErrUnknownOp) {
			p.run = func() (int64, Code, proto.Record) { return c.curZxid(), CodeUnimplemented, nil }
			p.closeAfter = true
			return p
		}
		c.s.log.Warn("zkstore: bad request; closing connection", "remote", c.remote, "op", hdr.Type, "err", err)
		p.noReply = true
		return p
	}
	if h := writeHandlers[op]; h != nil {
		ops, multi, code := h(rec)
		if code != CodeOK {
			p.run = func() (int64, Code, proto.Record) { return c.curZxid(), code, nil }
			return p
		}
		p.w = &writeReq{session: c.sessionID.Load(), cxid: hdr.Xid, op: op, ops: ops, multi: multi, auth: c.auth.Load()}
		c.s.submit(p.w)
		return p
	}
	switch hdr.Type {
	case proto.OpCloseSession:
		p.w = &writeReq{session: c.sessionID.Load(), cxid: hdr.Xid, op: OpCloseSession}
		p.closeAfter = true
		c.s.submit(p.w)
		return p
	case proto.OpAuth:
		return c.handleAuth(p, rec.(*proto.AuthPacket))
	}
	if h := readHandlers[op]; h != nil {
		p.run = func() (int64, Code, proto.Record) { return h(c, rec) }
		return p
	}
	switch hdr.Type {
	case proto.OpReconfig:
		p.run = func() (int64, Code, proto.Record) { return c.curZxid(), -123, nil } // ReconfigDisabled
	default: // sasl
		p.run = func() (int64, Code, proto.Record) { return c.curZxid(), CodeUnimplemented, nil }
		p.closeAfter = true
	}
	return p
}

// writeHandlers map a write request record to its ops.
var writeHandlers = map[int32]func(proto.Record) ([]WriteOp, bool, Code){}

// readHandlers serve a read in FIFO turn.
var readHandlers = map[int32]func(c *conn, rec proto.Record) (int64, Code, proto.Record){}

// writeReply builds the reply of a committed write from its result.
func writeReply(op int32, res *Result) (Code, proto.Record) {
	if op == OpMulti {
		return CodeOK, &proto.MultiResponse{Results: multiResults(res)}
	}
	if res.Err != CodeOK {
		return res.Err, nil
	}
	switch op {
	case OpCreate:
		return CodeOK, &proto.CreateResponse{Path: res.Path}
	case OpCreate2, OpCreateContainer, OpCreateTTL:
		return CodeOK, &proto.Create2Response{Path: res.Path, Stat: proto.Stat(res.Stat)}
	case OpSetData, OpSetACL, OpCheck:
		return CodeOK, &proto.StatResponse{Stat: proto.Stat(res.Stat)}
	}
	return CodeOK, nil
}
