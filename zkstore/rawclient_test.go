package zkstore

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gregorlog/gregor/zkstore/proto"
)

// rawClient speaks the wire protocol directly, for ops go-zookeeper does
// not send (whoAmI, addWatch, removeWatches, multiRead, getEphemerals...)
// and for byte-level ordering checks.
type rawClient struct {
	t       testing.TB
	nc      net.Conn
	br      *bufio.Reader
	xid     int32
	session int64
	passwd  []byte
	// frames received, in order: notifications and replies.
	events []proto.WatcherEvent
}

func dialRaw(t testing.TB, s *Server, session int64, passwd []byte, readOnlyByte bool) (*rawClient, *proto.ConnectResponse) {
	t.Helper()
	if passwd == nil {
		passwd = make([]byte, 16)
	}
	return dialRawWith(t, s, proto.ConnectRequest{TimeOut: 10000, SessionID: session, Passwd: passwd, HasReadOnly: readOnlyByte})
}

func dialRawWith(t testing.TB, s *Server, req proto.ConnectRequest) (*rawClient, *proto.ConnectResponse) {
	t.Helper()
	return dialRawAddr(t, s.Addr().String(), req)
}

func dialRawAddr(t testing.TB, addr string, req proto.ConnectRequest) (*rawClient, *proto.ConnectResponse) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := nc.Write(proto.AppendFramed(nil, &req)); err != nil {
		t.Fatal(err)
	}
	rc := &rawClient{t: t, nc: nc, br: bufio.NewReader(nc)}
	body, err := proto.ReadFrame(rc.br, nil, 1<<20)
	if err != nil {
		return rc, nil
	}
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	rc.session, rc.passwd = resp.SessionID, resp.Passwd
	return rc, &resp
}

// send writes one request and returns its xid.
func (rc *rawClient) send(op proto.OpCode, rec proto.Record) int32 {
	rc.xid++
	if _, err := rc.nc.Write(proto.AppendRequest(nil, proto.RequestHeader{Xid: rc.xid, Type: op}, rec)); err != nil {
		rc.t.Fatal(err)
	}
	return rc.xid
}

// recv reads frames until the reply to xid, collecting notifications.
func (rc *rawClient) recv(xid int32) (proto.ReplyHeader, *proto.Decoder) {
	rc.t.Helper()
	h, d, err := rc.recvErr(xid)
	if err != nil {
		rc.t.Fatalf("read reply to xid %d: %v", xid, err)
	}
	return h, d
}

// recvErr is recv returning a read error (a closed connection).
func (rc *rawClient) recvErr(xid int32) (proto.ReplyHeader, *proto.Decoder, error) {
	for {
		body, err := proto.ReadFrame(rc.br, nil, 1<<20)
		if err != nil {
			return proto.ReplyHeader{}, nil, err
		}
		d := proto.NewDecoder(body)
		var h proto.ReplyHeader
		h.Decode(d)
		if h.Xid == proto.XidNotification {
			var ev proto.WatcherEvent
			ev.Decode(d)
			rc.events = append(rc.events, ev)
			continue
		}
		if h.Xid != xid {
			return h, nil, fmt.Errorf("reply xid %d, want %d", h.Xid, xid)
		}
		return h, d, nil
	}
}

// call sends a request, waits for its reply and decodes the body into out
// (when the reply is not an error and out is not nil).
func (rc *rawClient) call(op proto.OpCode, rec proto.Record, out proto.Record) proto.ReplyHeader {
	rc.t.Helper()
	h, d := rc.recv(rc.send(op, rec))
	if h.Err == 0 && out != nil {
		out.Decode(d)
		if d.Err() != nil {
			rc.t.Fatalf("decode %T: %v", out, d.Err())
		}
	}
	return h
}

func createReq(p string) *proto.CreateRequest {
	return &proto.CreateRequest{Path: p, Data: []byte(p), ACL: proto.WorldAnyone()}
}

func existsReq(p string) *proto.PathWatchRequest { return &proto.PathWatchRequest{Path: p} }
