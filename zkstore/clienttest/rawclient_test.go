package clienttest

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/gregorlog/gregor/zkstore/proto"
)

// rawConn is a minimal synchronous ZooKeeper client on the proto codec:
// one request at a time, notifications buffered as they arrive. It lets
// the differential test see the exact replies, zxids and events a server
// sends, which real clients hide.
type rawConn struct {
	c         net.Conn
	addr      string
	xid       int32
	sessionID int64
	passwd    []byte
	timeout   int32
	lastZxid  int64
	events    []proto.WatcherEvent
	buf       []byte
}

const ioTimeout = 10 * time.Second

// dialRaw connects and performs the handshake. readOnlyByte selects the
// 45-byte (Java, kazoo) or 44-byte (go-zookeeper) ConnectRequest.
func dialRaw(addr string, sessionID int64, passwd []byte, lastZxid int64, readOnlyByte bool) (*rawConn, *proto.ConnectResponse, error) {
	return dialRawTimeout(addr, sessionID, passwd, lastZxid, readOnlyByte, 10000)
}

// dialRawTimeout is dialRaw asking for a session timeout in ms.
func dialRawTimeout(addr string, sessionID int64, passwd []byte, lastZxid int64, readOnlyByte bool, timeoutMs int32) (*rawConn, *proto.ConnectResponse, error) {
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return nil, nil, err
	}
	if passwd == nil {
		passwd = make([]byte, proto.PasswordLen)
	}
	req := proto.ConnectRequest{TimeOut: timeoutMs, SessionID: sessionID, Passwd: passwd, LastZxidSeen: lastZxid, HasReadOnly: readOnlyByte}
	r := &rawConn{c: c, addr: addr, lastZxid: lastZxid}
	if err := r.write(proto.AppendFramed(nil, &req)); err != nil {
		c.Close()
		return nil, nil, err
	}
	body, err := r.read()
	if err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("connect response: %w", err)
	}
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(body, &resp); err != nil {
		c.Close()
		return nil, nil, err
	}
	r.sessionID, r.passwd, r.timeout = resp.SessionID, resp.Passwd, resp.TimeOut
	return r, &resp, nil
}

func (r *rawConn) write(b []byte) error {
	r.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := r.c.Write(b)
	return err
}

func (r *rawConn) read() ([]byte, error) {
	r.c.SetReadDeadline(time.Now().Add(ioTimeout))
	b, err := proto.ReadFrame(r.c, r.buf, 16<<20)
	r.buf = b
	return b, err
}

// call sends one request and returns its reply header and decoded body
// (nil on error or for bodiless replies), buffering notifications that
// arrive first. xid 0 picks the next ordinary xid.
func (r *rawConn) call(xid int32, op proto.OpCode, req proto.Record) (proto.ReplyHeader, proto.Record, error) {
	if xid == 0 {
		r.xid++
		xid = r.xid
	}
	if err := r.write(proto.AppendRequest(nil, proto.RequestHeader{Xid: xid, Type: op}, req)); err != nil {
		return proto.ReplyHeader{}, nil, err
	}
	for {
		b, err := r.read()
		if err != nil {
			return proto.ReplyHeader{}, nil, err
		}
		d := proto.NewDecoder(b)
		var h proto.ReplyHeader
		h.Decode(d)
		if d.Err() != nil {
			return h, nil, d.Err()
		}
		if h.Xid == proto.XidNotification {
			var ev proto.WatcherEvent
			ev.Decode(d)
			if d.Err() != nil {
				return h, nil, d.Err()
			}
			r.events = append(r.events, ev)
			continue
		}
		if h.Xid != xid {
			return h, nil, fmt.Errorf("xid out of order: got %d, want %d", h.Xid, xid)
		}
		if h.Zxid > 0 {
			r.lastZxid = h.Zxid
		}
		if h.Err != proto.ErrOK {
			if d.Remaining() != 0 {
				return h, nil, fmt.Errorf("error reply %s carries %d body bytes", h.Err, d.Remaining())
			}
			return h, nil, nil
		}
		resp := proto.NewResponseRecord(op)
		if resp == nil {
			if d.Remaining() != 0 {
				return h, nil, fmt.Errorf("%s reply carries %d unexpected bytes", op, d.Remaining())
			}
			return h, nil, nil
		}
		resp.Decode(d)
		if d.Err() != nil {
			return h, nil, fmt.Errorf("%s reply: %w", op, d.Err())
		}
		return h, resp, nil
	}
}

// drain sends a ping and returns every notification that arrived before
// its reply (plus those buffered earlier). A server writes each event
// before the reply of any later request on the connection, so this
// deterministically collects the events caused by earlier operations.
func (r *rawConn) drain() ([]proto.WatcherEvent, error) {
	if _, _, err := r.call(proto.XidPing, proto.OpPing, nil); err != nil {
		return nil, err
	}
	ev := r.events
	r.events = nil
	return ev, nil
}

// pipeline writes all requests before reading any reply and returns the
// replies' headers in arrival order (notifications are buffered). It
// checks that replies come back in request order, as clients require.
func (r *rawConn) pipeline(ops []proto.OpCode, reqs []proto.Record) ([]proto.ReplyHeader, []proto.Record, error) {
	var buf []byte
	first := r.xid + 1
	for i := range ops {
		r.xid++
		buf = proto.AppendRequest(buf, proto.RequestHeader{Xid: r.xid, Type: ops[i]}, reqs[i])
	}
	errc := make(chan error, 1)
	go func() { errc <- r.write(buf) }()
	var hs []proto.ReplyHeader
	var bodies []proto.Record
	for len(hs) < len(ops) {
		b, err := r.read()
		if err != nil {
			return hs, bodies, err
		}
		d := proto.NewDecoder(b)
		var h proto.ReplyHeader
		h.Decode(d)
		if h.Xid == proto.XidNotification {
			var ev proto.WatcherEvent
			ev.Decode(d)
			r.events = append(r.events, ev)
			continue
		}
		if want := first + int32(len(hs)); h.Xid != want {
			return hs, bodies, fmt.Errorf("reply %d has xid %d, want %d (out of order)", len(hs), h.Xid, want)
		}
		if h.Zxid > 0 {
			r.lastZxid = h.Zxid
		}
		var body proto.Record
		if h.Err == proto.ErrOK {
			if body = proto.NewResponseRecord(ops[len(hs)]); body != nil {
				body.Decode(d)
				if d.Err() != nil {
					return hs, bodies, d.Err()
				}
			}
		}
		hs = append(hs, h)
		bodies = append(bodies, body)
	}
	return hs, bodies, <-errc
}

// await waits up to total for at least one notification, pinging every
// interval so the session stays alive, and returns the notifications.
func (r *rawConn) await(total, interval time.Duration) ([]proto.WatcherEvent, error) {
	deadline := time.Now().Add(total)
	for len(r.events) == 0 {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no notification within %v", total)
		}
		if err := r.write(proto.AppendRequest(nil, proto.RequestHeader{Xid: proto.XidPing, Type: proto.OpPing}, nil)); err != nil {
			return nil, err
		}
		// Read until the ping's reply; notifications may come first or
		// while we wait.
		for {
			r.c.SetReadDeadline(time.Now().Add(ioTimeout))
			b, err := proto.ReadFrame(r.c, nil, 16<<20)
			if err != nil {
				return nil, err
			}
			d := proto.NewDecoder(b)
			var h proto.ReplyHeader
			h.Decode(d)
			if h.Xid == proto.XidNotification {
				var ev proto.WatcherEvent
				ev.Decode(d)
				if d.Err() != nil {
					return nil, d.Err()
				}
				r.events = append(r.events, ev)
				continue
			}
			if h.Xid != proto.XidPing {
				return nil, fmt.Errorf("unexpected reply xid %d while waiting", h.Xid)
			}
			break
		}
		if len(r.events) == 0 {
			time.Sleep(interval)
		}
	}
	ev := r.events
	r.events = nil
	return ev, nil
}

// closeSession sends closeSession and waits for the server to close.
func (r *rawConn) closeSession() (proto.ReplyHeader, error) {
	h, _, err := r.call(0, proto.OpCloseSession, nil)
	if err != nil {
		return h, err
	}
	r.c.SetReadDeadline(time.Now().Add(ioTimeout))
	var one [1]byte
	if _, err := r.c.Read(one[:]); err == nil {
		return h, errors.New("server kept the connection open after closeSession")
	}
	r.c.Close()
	return h, nil
}
