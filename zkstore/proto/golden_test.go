package proto

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Golden traffic: testdata/*.frames hold real client sessions against
// Apache ZooKeeper 3.8 (Debian's package), recorded by a TCP proxy
// (capture_test.go, `go test -run TestCapture -capture`): one line per
// frame body, "C <hex>" from the client, "S <hex>" from the server,
// "conn" between connections. testdata/zk38.txns holds the txns of the
// reference server's own transaction log ("T <hex>", header+record, with
// ZooKeeper's trailing TxnDigest).

type goldenFrame struct {
	fromClient bool
	body       []byte
}

type goldenConn struct {
	file   string
	frames []goldenFrame
}

func loadGoldenConns(t testing.TB) []goldenConn {
	t.Helper()
	files, err := filepath.Glob("testdata/*.frames")
	if err != nil {
		t.Fatal(err)
	}
	var conns []goldenConn
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 4<<20)
		var cur *goldenConn
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "" || strings.HasPrefix(line, "#"):
			case line == "conn":
				conns = append(conns, goldenConn{file: filepath.Base(f)})
				cur = &conns[len(conns)-1]
			case strings.HasPrefix(line, "C ") || strings.HasPrefix(line, "S "):
				b, err := hex.DecodeString(line[2:])
				if err != nil || cur == nil {
					t.Fatalf("%s: bad line %q: %v", f, line, err)
				}
				cur.frames = append(cur.frames, goldenFrame{fromClient: line[0] == 'C', body: b})
			default:
				t.Fatalf("%s: bad line %q", f, line)
			}
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return conns
}

type goldenRequest struct {
	op   OpCode
	xid  int32
	body []byte
}

func loadGoldenRequests(t testing.TB) []goldenRequest {
	var out []goldenRequest
	for _, c := range loadGoldenConns(t) {
		first := true
		for _, fr := range c.frames {
			if !fr.fromClient {
				continue
			}
			if first {
				first = false
				continue
			}
			var h RequestHeader
			d := NewDecoder(fr.body)
			h.Decode(d)
			if d.Err() == nil {
				out = append(out, goldenRequest{op: h.Type, xid: h.Xid, body: fr.body[RequestHeaderSize:]})
			}
		}
	}
	return out
}

func loadGoldenConnects(t testing.TB) [][]byte {
	var out [][]byte
	for _, c := range loadGoldenConns(t) {
		for _, fr := range c.frames {
			if fr.fromClient {
				out = append(out, fr.body)
				break
			}
		}
	}
	return out
}

func loadGoldenTxns(t testing.TB) []*TxnEntry {
	t.Helper()
	b, err := os.ReadFile("testdata/zk38.txns")
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []*TxnEntry
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "T ") {
			continue
		}
		raw, err := hex.DecodeString(line[2:])
		if err != nil {
			t.Fatal(err)
		}
		te, err := DecodeTxnEntry(raw)
		if err != nil {
			t.Fatalf("golden txn %s: %v", line, err)
		}
		out = append(out, te)
	}
	return out
}

// TestGoldenTraffic decodes every captured frame with the codec and checks
// that re-encoding reproduces the client's and the server's exact bytes.
func TestGoldenTraffic(t *testing.T) {
	conns := loadGoldenConns(t)
	if len(conns) == 0 {
		t.Fatal("no golden traffic under testdata/")
	}
	seenOps := map[OpCode]bool{}
	seen := map[string]bool{}
	for ci, c := range conns {
		name := fmt.Sprintf("%s conn %d", c.file, ci)
		pending := map[int32]OpCode{}
		var connReq *ConnectRequest
		for fi, fr := range c.frames {
			where := fmt.Sprintf("%s frame %d", name, fi)
			switch {
			case fi == 0:
				if !fr.fromClient {
					t.Fatalf("%s: server spoke first", where)
				}
				r, err := DecodeConnectRequest(fr.body)
				if err != nil {
					t.Fatalf("%s: connect: %v", where, err)
				}
				if !bytes.Equal(Marshal(r), fr.body) {
					t.Fatalf("%s: connect request re-encodes differently", where)
				}
				connReq = r
				seen[fmt.Sprintf("connect-%d", len(fr.body))] = true
			case fi == 1 && !fr.fromClient:
				var r ConnectResponse
				if err := Unmarshal(fr.body, &r); err != nil {
					t.Fatalf("%s: connect response: %v", where, err)
				}
				if r.HasReadOnly != connReq.HasReadOnly {
					t.Fatalf("%s: response readOnly byte %v, request %v", where, r.HasReadOnly, connReq.HasReadOnly)
				}
				if !bytes.Equal(Marshal(&r), fr.body) {
					t.Fatalf("%s: connect response re-encodes differently", where)
				}
			case fr.fromClient:
				var h RequestHeader
				if err := Unmarshal(fr.body, &h); err != nil {
					t.Fatalf("%s: header: %v", where, err)
				}
				rec, err := DecodeRequest(h.Type, fr.body[RequestHeaderSize:])
				if err != nil {
					t.Fatalf("%s: %s request: %v", where, h.Type, err)
				}
				if got := AppendRequest(nil, h, rec)[4:]; !bytes.Equal(got, fr.body) {
					t.Fatalf("%s: %s request re-encodes differently\n got %x\nwant %x", where, h.Type, got, fr.body)
				}
				seenOps[h.Type] = true
				pending[h.Xid] = h.Type
			default:
				var h ReplyHeader
				d := NewDecoder(fr.body)
				h.Decode(d)
				if d.Err() != nil {
					t.Fatalf("%s: reply header: %v", where, d.Err())
				}
				var body Record
				if h.Xid == XidNotification {
					body = new(WatcherEvent)
					seen["notification"] = true
				} else {
					op, ok := pending[h.Xid]
					if !ok {
						t.Fatalf("%s: reply to unknown xid %d", where, h.Xid)
					}
					delete(pending, h.Xid)
					if h.Err == ErrOK {
						body = NewResponseRecord(op)
					}
					if op == OpMulti && h.Err == ErrOK {
						seen["multi-reply"] = true
					}
				}
				if body != nil {
					body.Decode(d)
					if d.Err() != nil {
						t.Fatalf("%s: reply body: %v", where, d.Err())
					}
				}
				if d.Remaining() != 0 {
					t.Fatalf("%s: %d bytes left after reply xid %d", where, d.Remaining(), h.Xid)
				}
				if got := AppendReply(nil, h, body)[4:]; !bytes.Equal(got, fr.body) {
					t.Fatalf("%s: reply re-encodes differently\n got %x\nwant %x", where, got, fr.body)
				}
			}
		}
	}
	for _, k := range []string{"connect-44", "connect-45", "notification", "multi-reply"} {
		if !seen[k] {
			t.Errorf("golden traffic lacks %s", k)
		}
	}
	for _, op := range []OpCode{OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL, OpDelete, OpExists,
		OpGetData, OpSetData, OpGetACL, OpSetACL, OpGetChildren, OpGetChildren2, OpSync, OpPing, OpMulti,
		OpSetWatches, OpAddWatch, OpRemoveWatches, OpGetEphemerals, OpGetAllChildrenNumber, OpWhoAmI,
		OpAuth, OpCloseSession} {
		if !seenOps[op] {
			t.Errorf("golden traffic lacks a %s request", op)
		}
	}
}

// TestGoldenTxns decodes the reference server's own txn log records.
func TestGoldenTxns(t *testing.T) {
	txns := loadGoldenTxns(t)
	if len(txns) == 0 {
		t.Fatal("no golden txns in testdata/zk38.txns")
	}
	types := map[OpCode]bool{}
	for _, te := range txns {
		types[te.Hdr.Type] = true
		again, err := DecodeTxnEntry(Marshal(te))
		if err != nil || !reflect.DeepEqual(again, te) {
			t.Fatalf("txn %s does not round-trip: %v", te.Hdr.Type, err)
		}
	}
	for _, op := range []OpCode{OpCreateSession, OpCreate, OpSetData, OpDelete, OpMulti, OpError, OpCloseSession} {
		if !types[op] {
			t.Errorf("golden txns lack %s", op)
		}
	}
}
