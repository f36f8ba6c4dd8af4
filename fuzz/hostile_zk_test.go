package fuzz

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/internal/testutil"
	"github.com/gregorlog/gregor/zkstore"
	"github.com/gregorlog/gregor/zkstore/config"
	"github.com/gregorlog/gregor/zkstore/proto"
)

// zkHostile is the zkstore under attack and the knobs the attacks use.
type zkHostile struct {
	srv       *zkstore.Server
	addr      string
	perIP     int // maxClientCnxns
	maxBuf    int // jute.maxbuffer
	sessMsMin int32
}

func startZkHostile(t *testing.T) *zkHostile {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.ClientPort = 0
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.AdminEnableServer = false
	cfg.ForceSync = false // the attack is on the network path; fsync noise would only blur the ratio
	cfg.TickTime = 200    // sessions (and so stalled connections) expire in 400 ms
	cfg.MinSessionTimeout = 400
	cfg.MaxSessionTimeout = 8000
	cfg.MaxClientCnxns = 60 // ZooKeeper's default
	srv, err := zkstore.NewServer(cfg, zkstore.WithLogger(discardLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &zkHostile{srv: srv, addr: srv.Addr().String(), perIP: cfg.MaxClientCnxns, maxBuf: cfg.JuteMaxBuffer, sessMsMin: 400}
}

// frame32 prefixes body with a 4-byte big-endian length.
func frame32(n uint32, body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, n), body...)
}

// connectFrame is a 45-byte ConnectRequest as zkCli sends it.
func connectFrame(timeoutMs int32) []byte {
	return proto.AppendFramed(nil, &proto.ConnectRequest{TimeOut: timeoutMs, Passwd: make([]byte, 16), HasReadOnly: true})
}

// zkHandshake opens a session by hand and returns the connection ready for
// requests. The caller owns the connection.
func (h *zkHostile) handshake(src string, timeoutMs int32) (net.Conn, error) {
	c, err := dialFrom(src, h.addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(connectFrame(timeoutMs)); err != nil {
		c.Close()
		return nil, err
	}
	body, err := proto.ReadFrame(c, nil, 1<<20)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(body, &resp); err != nil || resp.SessionID == 0 {
		c.Close()
		return nil, fmt.Errorf("handshake refused: %+v %v", resp, err)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

var connectionsRE = regexp.MustCompile(`(?m)^Connections: (\d+)$`)

// srvrConnections asks the server for its live connection count with the
// srvr four-letter word, from a source address no attack uses.
func (h *zkHostile) srvrConnections() (int, error) {
	c, err := dialFrom("127.0.0.3", h.addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("srvr")); err != nil {
		return 0, err
	}
	out, err := io.ReadAll(c)
	if err != nil {
		return 0, err
	}
	m := connectionsRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no Connections line in srvr output %q", out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n - 1, nil // the srvr connection itself
}

// TestHostileZkstore attacks a running zkstore on loopback with everything
// a hostile or broken client can send (zookeeper.md §1-§3) while a
// go-zookeeper client keeps working, and checks the server stays up, the
// client keeps its throughput, the per-IP limit holds and memory returns.
func TestHostileZkstore(t *testing.T) {
	h := startZkHostile(t)
	flood := floodSize(t, 2000)

	good, events, err := zk.Connect([]string{h.addr}, 8*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	go func() {
		for range events {
		}
	}()
	if _, err := good.Create("/hostile", []byte("v0"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	i := 0
	op := func() error {
		i++
		if i%8 == 0 {
			_, err := good.Set("/hostile", []byte(strconv.Itoa(i)), -1)
			return err
		}
		_, _, err := good.Get("/hostile")
		return err
	}
	const window = 2 * time.Second
	heapBefore := heapInuse()
	goroutinesBefore := runtime.NumGoroutine()
	preFlood, err := throughput(window, op)
	if err != nil {
		t.Fatalf("quiet baseline: %v", err)
	}

	var held connSet
	defer held.closeAll()

	// 1. Idle connections against maxClientCnxns: flood from many
	// loopback addresses, each one perIP+extra connections that never
	// send a byte. The extras must be closed at once; the rest are held.
	const extra = 3
	ips := flood / (h.perIP + extra)
	bySrc := map[string][]net.Conn{}
	rejected := 0
	for ip := range ips {
		src := fmt.Sprintf("127.0.%d.%d", 1+ip/250, 1+ip%250)
		for k := range h.perIP + extra {
			c, err := dialFrom(src, h.addr)
			if err != nil {
				t.Fatalf("flood dial %s #%d: %v", src, k, err)
			}
			held.add(c)
			bySrc[src] = append(bySrc[src], c)
			if k >= h.perIP {
				rejected++
			}
		}
	}
	accepted := ips * h.perIP
	testutil.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		n, err := h.srvrConnections()
		if err != nil {
			return err
		}
		// accepted flood connections plus the good client.
		if n != accepted+1 {
			return fmt.Errorf("server reports %d connections, want %d", n, accepted+1)
		}
		return nil
	})
	// Which connections of an address are refused depends on accept order;
	// how many does not.
	countClosedPerSource(t, bySrc, extra)
	t.Logf("flood: %d idle connections held from %d addresses, %d refused; HeapInuse %d MiB", accepted, ips, rejected, heapInuse()>>20)

	// 2. Slow senders that never finish. Before the handshake: half a
	// ConnectRequest (zkstore's handshake deadline must close it). After
	// it, on 400 ms sessions: half a request then silence, and a request
	// dripped byte by byte (session expiry must close both; partial
	// bytes are not activity).
	preSlow, err := dialFrom("127.0.0.2", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	held.add(preSlow)
	if _, err := preSlow.Write(connectFrame(30000)[:20]); err != nil {
		t.Fatal(err)
	}
	postSlow, err := h.handshake("127.0.0.2", h.sessMsMin)
	if err != nil {
		t.Fatal(err)
	}
	held.add(postSlow)
	if _, err := postSlow.Write(proto.AppendRequest(nil, proto.RequestHeader{Xid: 1, Type: proto.OpGetData}, &proto.GetDataRequest{Path: "/hostile"})[:9]); err != nil {
		t.Fatal(err)
	}
	postSlowClosed := make(chan error, 1)
	go func() {
		_, err := closedByPeer(postSlow, 0, 30*time.Second)
		postSlowClosed <- err
	}()
	// The same, dripped one byte every 20 ms: bytes that never complete
	// a frame must not keep the session alive.
	drip, err := h.handshake("127.0.0.2", h.sessMsMin)
	if err != nil {
		t.Fatal(err)
	}
	held.add(drip)
	dripClosed := make(chan error, 1)
	go func() {
		_, err := closedByPeer(drip, 0, 30*time.Second)
		dripClosed <- err
	}()
	dripDone := make(chan struct{})
	dripFrame := frame32(1000, make([]byte, 996))
	dripSent := 0 // read after dripDone
	go func() {
		defer close(dripDone)
		for i := 0; i < len(dripFrame); i++ { // bounded: 1000 bytes, 20 s at most
			if _, err := drip.Write(dripFrame[i : i+1]); err != nil {
				return
			}
			dripSent++
			time.Sleep(20 * time.Millisecond) // the attack's pacing, not synchronisation
		}
	}()

	// 3. Continuous attacks from 127.0.0.2, each a bounded loop, while
	// the good client runs.
	att := newAttackers()
	defer att.stop()
	const rounds = 5000
	rng := func(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 42)) }

	// Framing: lengths ZooKeeper rejects before allocating, as the first
	// frame and after the handshake. No reply may come, only a close.
	badLengths := []uint32{0xffffffff, 0x80000000, 0x7fffffff, uint32(h.maxBuf) + 1}
	att.loop("bad length before handshake", rounds, func(i int) error {
		c, err := dialFrom("127.0.0.2", h.addr)
		if err != nil {
			return err
		}
		defer c.Close()
		c.Write(frame32(badLengths[i%len(badLengths)], make([]byte, 16)))
		if n, err := closedByPeer(c, 0, 10*time.Second); err != nil || n != 0 {
			return fmt.Errorf("length %#x: %d reply bytes, %v", badLengths[i%len(badLengths)], n, err)
		}
		return nil
	})
	att.loop("bad length after handshake", rounds, func(i int) error {
		c, err := h.handshake("127.0.0.2", 4000)
		if err != nil {
			return err
		}
		defer c.Close()
		c.Write(frame32(badLengths[i%len(badLengths)], make([]byte, 16)))
		if n, err := closedByPeer(c, 0, 10*time.Second); err != nil || n != 0 {
			return fmt.Errorf("length %#x: %d reply bytes, %v", badLengths[i%len(badLengths)], n, err)
		}
		return nil
	})

	// Huge allocations requested inside small, well-framed requests:
	// buffer, string and vector lengths of 2^31-1. The server may answer
	// with an error or close; it must neither allocate nor hang.
	huge := binary.BigEndian.AppendUint32(nil, 0x7fffffff)
	hugeBodies := [][]byte{
		// getData {path ustring(2^31-1), watch}
		append(reqHeader(1, proto.OpGetData), append(huge, 0)...),
		// create {path "/a", data buffer(2^31-1)}
		append(reqHeader(2, proto.OpCreate), append(jstr("/a"), huge...)...),
		// create {path "/a", data "", acl vector(2^31-1)}
		append(reqHeader(3, proto.OpCreate), append(append(jstr("/a"), 0, 0, 0, 0), huge...)...),
		// setWatches {relativeZxid, dataWatches vector(2^31-1)}
		append(reqHeader(4, proto.OpSetWatches), append(make([]byte, 8), huge...)...),
		// setData {path "/hostile", data buffer(2^31-1)}
		append(reqHeader(5, proto.OpSetData), append(jstr("/hostile"), huge...)...),
		// multi {type create, done false, err -1} then create with huge path
		append(reqHeader(6, proto.OpMulti), append([]byte{0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff}, huge...)...),
		// auth {type 0, scheme "digest", auth buffer(2^31-1)}
		append(reqHeader(-4, proto.OpAuth), append(append([]byte{0, 0, 0, 0}, jstr("digest")...), huge...)...),
	}
	att.loop("huge jute lengths", rounds, func(i int) error {
		c, err := h.handshake("127.0.0.2", 4000)
		if err != nil {
			return err
		}
		defer c.Close()
		b := hugeBodies[i%len(hugeBodies)]
		c.Write(frame32(uint32(len(b)), b))
		// Either an error reply and then, for a follow-up ping, a
		// reply; or a close. Both are fine; silence is not.
		c.Write(frame32(8, reqHeader(-2, proto.OpPing)))
		return replyOrClose(c)
	})
	att.loop("huge passwd in ConnectRequest", rounds, func(i int) error {
		c, err := dialFrom("127.0.0.2", h.addr)
		if err != nil {
			return err
		}
		defer c.Close()
		b := make([]byte, 0, 45)
		b = append(b, 0, 0, 0, 0)         // protocolVersion
		b = append(b, make([]byte, 8)...) // lastZxidSeen
		b = binary.BigEndian.AppendUint32(b, 30000)
		b = append(b, make([]byte, 8)...) // sessionId
		b = append(b, huge...)            // passwd length 2^31-1
		b = append(b, make([]byte, 16)...)
		c.Write(frame32(uint32(len(b)), b))
		if n, err := closedByPeer(c, 64, 10*time.Second); err != nil {
			return fmt.Errorf("%d reply bytes, %w", n, err)
		}
		return nil
	})

	// Garbage: random ConnectRequests, random requests after a valid
	// handshake, and raw garbage ended by a half-close.
	att.loop("garbage ConnectRequest", rounds, func(i int) error {
		r := rng(uint64(i))
		c, err := dialFrom("127.0.0.2", h.addr)
		if err != nil {
			return err
		}
		defer c.Close()
		b := randBytes(r, 1+r.IntN(80))
		c.Write(frame32(uint32(len(b)), b))
		c.(*net.TCPConn).CloseWrite()
		_, err = closedByPeer(c, 1<<10, 10*time.Second)
		return err
	})
	att.loop("garbage requests", rounds, func(i int) error {
		r := rng(uint64(1e6 + i))
		c, err := h.handshake("127.0.0.2", 4000)
		if err != nil {
			return err
		}
		defer c.Close()
		var b []byte
		for range 1 + r.IntN(8) {
			// xid, a real or random opcode, then random bytes.
			body := binary.BigEndian.AppendUint32(nil, uint32(r.Int32()))
			ops := []proto.OpCode{proto.OpGetData, proto.OpCreate, proto.OpSetData, proto.OpMulti, proto.OpSetWatches, proto.OpGetChildren2, proto.OpAddWatch, proto.OpCheckWatches, proto.OpReconfig, proto.OpSASL, proto.OpCreateTTL}
			op := int32(ops[r.IntN(len(ops))])
			if r.IntN(4) == 0 {
				op = r.Int32()
			}
			body = binary.BigEndian.AppendUint32(body, uint32(op))
			body = append(body, randBytes(r, r.IntN(64))...)
			b = append(b, frame32(uint32(len(body)), body)...)
		}
		c.Write(b)
		c.(*net.TCPConn).CloseWrite()
		_, err = closedByPeer(c, 1<<20, 10*time.Second)
		return err
	})
	att.loop("raw garbage", rounds, func(i int) error {
		r := rng(uint64(2e6 + i))
		c, err := dialFrom("127.0.0.2", h.addr)
		if err != nil {
			return err
		}
		defer c.Close()
		c.Write(randBytes(r, 1+r.IntN(300)))
		c.(*net.TCPConn).CloseWrite()
		_, err = closedByPeer(c, 64<<10, 10*time.Second)
		return err
	})
	// Truncated frames: a length, part of the body, then EOF.
	att.loop("truncated frames", rounds, func(i int) error {
		var c net.Conn
		var err error
		if i%2 == 0 {
			c, err = dialFrom("127.0.0.2", h.addr)
		} else {
			c, err = h.handshake("127.0.0.2", 4000)
		}
		if err != nil {
			return err
		}
		defer c.Close()
		full := connectFrame(30000)
		if i%2 == 1 {
			full = proto.AppendRequest(nil, proto.RequestHeader{Xid: 1, Type: proto.OpGetData}, &proto.GetDataRequest{Path: "/hostile"})
		}
		c.Write(full[:4+(i%(len(full)-4))])
		c.(*net.TCPConn).CloseWrite()
		if n, err := closedByPeer(c, 0, 10*time.Second); err != nil || n != 0 {
			return fmt.Errorf("%d reply bytes, %v", n, err)
		}
		return nil
	})

	quiet, attacked, err := interleaved(att, 8, window/8, op)
	if err != nil {
		t.Fatalf("well-behaved client failed: %v", err)
	}
	for _, err := range att.stop() {
		t.Error(err)
	}
	t.Logf("%d attack rounds completed", att.rounds.Load())
	if att.rounds.Load() < 100 {
		t.Errorf("only %d attack rounds ran alongside the client", att.rounds.Load())
	}
	checkThroughput(t, "with the flood held (vs before it)", preFlood, quiet)
	checkThroughput(t, "under attack (interleaved with pauses)", quiet, attacked)

	if err := <-postSlowClosed; err != nil {
		t.Errorf("a request left half-sent after the handshake: %v", err)
	}
	if err := <-dripClosed; err != nil {
		t.Errorf("a request dripped byte by byte after the handshake: %v", err)
	}
	<-dripDone
	if dripSent >= len(dripFrame) {
		t.Errorf("the dripping connection stayed open until its frame was complete")
	}
	t.Logf("dripping connection closed after %d of %d bytes", dripSent, len(dripFrame))
	if _, err := closedByPeer(preSlow, 0, 60*time.Second); err != nil {
		t.Errorf("a ConnectRequest left half-sent: %v", err)
	}

	held.closeAll()
	testutil.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		n, err := h.srvrConnections()
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("server still holds %d connections, want only the good client's", n)
		}
		return nil
	})
	if _, _, err := good.Get("/hostile"); err != nil {
		t.Fatalf("server unusable after the attack: %v", err)
	}
	if err := h.srv.Err(); err != nil {
		t.Fatalf("server failed: %v", err)
	}
	checkGoroutines(t, goroutinesBefore)
	checkHeap(t, "zkstore after the attack", heapBefore, 32<<20)
}

func reqHeader(xid int32, op proto.OpCode) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(xid))
	return binary.BigEndian.AppendUint32(b, uint32(op))
}

func jstr(s string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(s))), s...)
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// replyOrClose reads replies until the ping's (xid -2) or a close.
func replyOrClose(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for range 16 {
		body, err := proto.ReadFrame(br, nil, 1<<20)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
				return nil
			}
			return err
		}
		if len(body) >= 4 && int32(binary.BigEndian.Uint32(body)) == -2 {
			return nil
		}
	}
	return errors.New("no ping reply among 16 frames")
}
