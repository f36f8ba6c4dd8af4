package netio

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gregorlog/gregor/internal/testutil"
	"golang.org/x/sys/unix"
)

func startServer(t testing.TB, cfg Config, h Handler) (*Server, string) {
	t.Helper()
	if len(cfg.Listeners) == 0 {
		cfg.Listeners = []Listener{{Name: "PLAINTEXT", Host: "127.0.0.1"}}
	}
	s, err := Listen(cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, s.Addrs()[0].String()
}

func dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

// frame encodes a request with header v1 (or v2 with tags when tags != nil).
func frame(key, version int16, corr int32, clientID *string, tags []byte, body []byte) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	if clientID == nil {
		b = binary.BigEndian.AppendUint16(b, 0xffff)
	} else {
		b = binary.BigEndian.AppendUint16(b, uint16(len(*clientID)))
		b = append(b, *clientID...)
	}
	b = append(b, tags...)
	b = append(b, body...)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func readFrame(c net.Conn) ([]byte, error) {
	var sz [4]byte
	if _, err := io.ReadFull(c, sz[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint32(sz[:]))
	_, err := io.ReadFull(c, b)
	return b, err
}

// expectClosed reads until the server closes the connection and fails if
// any response arrives.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection not closed: n=%d err=%v", n, err)
	}
}

// echo answers with the correlation id followed by the request body.
var echo = HandlerFunc(func(_ context.Context, r *Request) Reply {
	return Respond(new(Response).AddBytes(r.AppendResponseHeader(nil)).AddBytes(append([]byte(nil), r.Body...)))
})

func corrOf(resp []byte) int32 { return int32(binary.BigEndian.Uint32(resp)) }

func TestFramingEdgeCases(t *testing.T) {
	cid := "c"
	good := frame(18, 0, 1, &cid, nil, nil)
	cases := []struct {
		name  string
		bytes []byte
	}{
		{"negative size", []byte{0xff, 0xff, 0xff, 0xfe}},
		{"oversized", binary.BigEndian.AppendUint32(nil, 1<<20+1)},
		{"zero size", []byte{0, 0, 0, 0}},
		{"shorter than a header", append(binary.BigEndian.AppendUint32(nil, 3), 1, 2, 3)},
		{"client id longer than frame", append(binary.BigEndian.AppendUint32(nil, 10), 0, 18, 0, 0, 0, 0, 0, 1, 0, 50)},
		{"client id length -2", append(binary.BigEndian.AppendUint32(nil, 10), 0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xfe)},
		{"bad tag section", frame(3, 12, 1, &cid, []byte{5}, nil)},
		{"garbage", bytes.Repeat([]byte{0x7f}, 64)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxRequestBytes = 1 << 20
			s, addr := startServer(t, cfg, echo)
			c := dial(t, addr)
			if _, err := c.Write(good); err != nil {
				t.Fatal(err)
			}
			if resp, err := readFrame(c); err != nil || corrOf(resp) != 1 {
				t.Fatalf("valid request before the bad one: %v", err)
			}
			c.Write(tc.bytes)
			expectClosed(t, c)
			testutil.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
				if s.Metrics().ConnectionsActive.Load() != 0 {
					return errors.New("connection still active")
				}
				return nil
			})
		})
	}
	t.Run("truncated frame then EOF", func(t *testing.T) {
		s, addr := startServer(t, DefaultConfig(), echo)
		c := dial(t, addr)
		c.Write(good[:len(good)-2])
		c.(*net.TCPConn).CloseWrite()
		expectClosed(t, c)
		if s.Metrics().Requests.Load() != 0 {
			t.Fatal("truncated frame was handled")
		}
	})
}

func TestHeaderParsing(t *testing.T) {
	got := make(chan *Request, 4)
	h := HandlerFunc(func(_ context.Context, r *Request) Reply {
		r.Keep()
		got <- r
		return Respond(new(Response).AddBytes(r.AppendResponseHeader(nil)))
	})
	_, addr := startServer(t, DefaultConfig(), h)
	c := dial(t, addr)
	cid := "my-client"
	body := []byte("body-bytes")
	// Metadata v12 is flexible: header v2 with one tag (id 7, 2 bytes).
	c.Write(frame(3, 12, 77, &cid, []byte{1, 7, 2, 0xaa, 0xbb}, body))
	// Produce v3 is not flexible; null client id.
	c.Write(frame(0, 3, 78, nil, nil, body))
	// ApiVersions v3 is flexible but its response header is v0.
	c.Write(frame(18, 3, 79, &cid, []byte{0}, body))
	for i, want := range []struct {
		key, ver  int16
		corr      int32
		flex      bool
		headerLen int
		respLen   int
	}{{3, 12, 77, true, 10 + 9 + 5, 5}, {0, 3, 78, false, 10, 4}, {18, 3, 79, true, 10 + 9 + 1, 4}} {
		r := <-got
		if r.APIKey != want.key || r.APIVersion != want.ver || r.CorrelationID != want.corr || r.Flexible != want.flex || r.HeaderLen != want.headerLen || !bytes.Equal(r.Body, body) || r.Seq != uint64(i) {
			t.Fatalf("request %d parsed as %+v", i, r)
		}
		if (r.ClientID == nil) != (want.key == 0) || (r.ClientID != nil && *r.ClientID != cid) {
			t.Fatalf("request %d client id %v", i, r.ClientID)
		}
		resp, err := readFrame(c)
		if err != nil || len(resp) != want.respLen || corrOf(resp) != want.corr {
			t.Fatalf("response %d: %x %v", i, resp, err)
		}
		if r.RemoteAddr.String() != c.LocalAddr().String() || r.Listener != "PLAINTEXT" {
			t.Fatalf("remote %v listener %s", r.RemoteAddr, r.Listener)
		}
	}
}

// TestOrderingOutOfOrderCompletion pipelines requests whose replies
// complete in reverse order; responses must still arrive in request order,
// and the handler must see one connection's requests in order, one at a time.
func TestOrderingOutOfOrderCompletion(t *testing.T) {
	const n = 50
	var mu sync.Mutex
	var pend []*Pending
	var reqs []*Request
	var running atomic.Int32
	var lastSeq int64 = -1
	var orderErr atomic.Value
	h := HandlerFunc(func(_ context.Context, r *Request) Reply {
		if running.Add(1) != 1 {
			orderErr.Store(errors.New("handler ran concurrently for one connection"))
		}
		defer running.Add(-1)
		if int64(r.Seq) != lastSeq+1 {
			orderErr.Store(fmt.Errorf("seq %d after %d", r.Seq, lastSeq))
		}
		lastSeq = int64(r.Seq)
		reply, p := Defer()
		mu.Lock()
		pend = append(pend, p)
		reqs = append(reqs, r)
		if len(pend) == n {
			for i := n - 1; i >= 0; i-- { // complete newest first
				q := reqs[i]
				go pend[i].Respond(new(Response).AddBytes(q.AppendResponseHeader(nil)).AddBytes(append([]byte(nil), q.Body...)))
			}
		}
		mu.Unlock()
		return reply
	})
	cfg := DefaultConfig()
	cfg.IOThreads = 4
	_, addr := startServer(t, cfg, h)
	c := dial(t, addr)
	var out []byte
	for i := range n {
		out = append(out, frame(1, 4, int32(i), nil, nil, []byte(fmt.Sprint(i)))...)
	}
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		resp, err := readFrame(c)
		if err != nil {
			t.Fatal(err)
		}
		if corrOf(resp) != int32(i) || string(resp[4:]) != fmt.Sprint(i) {
			t.Fatalf("response %d has correlation id %d body %q", i, corrOf(resp), resp[4:])
		}
	}
	if e := orderErr.Load(); e != nil {
		t.Fatal(e)
	}
}

func TestDeferredAbsentAndClose(t *testing.T) {
	release := make(chan struct{})
	h := HandlerFunc(func(_ context.Context, r *Request) Reply {
		switch string(r.Body) {
		case "none":
			return NoResponse()
		case "later":
			reply, p := Defer()
			go func() {
				<-release
				p.Respond(new(Response).AddBytes(r.AppendResponseHeader(nil)).AddBytes([]byte("late")))
				p.Respond(new(Response)) // a second resolution is ignored
			}()
			return reply
		case "close":
			return CloseConn(errors.New("unknown api key"))
		case "panic":
			panic("handler bug")
		}
		return echo(context.Background(), r)
	})
	_, addr := startServer(t, DefaultConfig(), h)
	c := dial(t, addr)
	for i, b := range []string{"a", "none", "later", "b"} {
		c.Write(frame(0, 3, int32(i), nil, nil, []byte(b)))
	}
	resp, err := readFrame(c)
	if err != nil || corrOf(resp) != 0 {
		t.Fatalf("first response: %v", err)
	}
	close(release)
	for _, want := range []struct {
		corr int32
		body string
	}{{2, "late"}, {3, "b"}} {
		resp, err := readFrame(c)
		if err != nil || corrOf(resp) != want.corr || string(resp[4:]) != want.body {
			t.Fatalf("got %q %v, want corr %d", resp, err, want.corr)
		}
	}
	// A close reply goes out after earlier responses; later requests are not read.
	release2 := make(chan struct{})
	h2 := HandlerFunc(func(_ context.Context, r *Request) Reply {
		if string(r.Body) == "later" {
			reply, p := Defer()
			go func() { <-release2; p.Respond(new(Response).AddBytes(r.AppendResponseHeader(nil))) }()
			return reply
		}
		return h(context.Background(), r)
	})
	_, addr2 := startServer(t, DefaultConfig(), h2)
	c2 := dial(t, addr2)
	c2.Write(append(append(frame(0, 3, 10, nil, nil, []byte("later")), frame(0, 3, 11, nil, nil, []byte("close"))...), frame(0, 3, 12, nil, nil, []byte("a"))...))
	close(release2)
	if resp, err := readFrame(c2); err != nil || corrOf(resp) != 10 {
		t.Fatalf("response before close: %v", err)
	}
	expectClosed(t, c2)
	// A panicking handler closes its connection, not the server.
	c3 := dial(t, addr)
	c3.Write(frame(0, 3, 20, nil, nil, []byte("panic")))
	expectClosed(t, c3)
	c4 := dial(t, addr)
	c4.Write(frame(0, 3, 21, nil, nil, []byte("ok")))
	if resp, err := readFrame(c4); err != nil || corrOf(resp) != 21 {
		t.Fatalf("after panic: %v", err)
	}
}

func writeTestFile(t testing.TB, size int) (*os.File, []byte) {
	t.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	p := filepath.Join(t.TempDir(), "00000000000000000000.log")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, data
}

func TestFileRegions(t *testing.T) {
	f, data := writeTestFile(t, 3<<20)
	for _, zeroCopy := range []bool{true, false} {
		t.Run(fmt.Sprintf("zerocopy=%v", zeroCopy), func(t *testing.T) {
			var released atomic.Int32
			regions := [][2]int64{{12345, 2<<20 + 17}, {7, 3}, {3<<20 - 10, 10}}
			h := HandlerFunc(func(_ context.Context, r *Request) Reply {
				resp := new(Response).AddBytes(r.AppendResponseHeader(nil))
				for i, rg := range regions {
					resp.AddBytes([]byte{byte(i)})
					resp.AddFile(FileRegion{File: f, Offset: rg[0], Length: rg[1], Release: func() { released.Add(1) }})
				}
				return Respond(resp.AddBytes([]byte("end")))
			})
			cfg := DefaultConfig()
			cfg.ZeroCopy = zeroCopy
			s, addr := startServer(t, cfg, h)
			c := dial(t, addr)
			c.Write(frame(1, 11, 5, nil, nil, nil))
			resp, err := readFrame(c)
			if err != nil {
				t.Fatal(err)
			}
			want := binary.BigEndian.AppendUint32(nil, 5)
			var regionBytes int64
			for i, rg := range regions {
				want = append(want, byte(i))
				want = append(want, data[rg[0]:rg[0]+rg[1]]...)
				regionBytes += rg[1]
			}
			want = append(want, "end"...)
			if !bytes.Equal(resp, want) {
				t.Fatalf("response differs (len %d, want %d)", len(resp), len(want))
			}
			m := s.Metrics()
			sf, cp := m.SendfileBytes.Load(), m.CopyBytes.Load()
			if zeroCopy && (sf != regionBytes || cp != 0) || !zeroCopy && (cp != regionBytes || sf != 0) {
				t.Fatalf("sendfile bytes %d, copy bytes %d, regions %d", sf, cp, regionBytes)
			}
			if m.BytesOut.Load() != int64(len(resp)+4) {
				t.Fatalf("BytesOut %d, want %d", m.BytesOut.Load(), len(resp)+4)
			}
			testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
				if released.Load() != int32(len(regions)) {
					return fmt.Errorf("%d regions released", released.Load())
				}
				return nil
			})
			if pos, _ := f.Seek(0, io.SeekCurrent); pos != 0 {
				t.Fatalf("the file's shared offset moved to %d", pos)
			}
		})
	}
}

func TestRegionPastEOFClosesConnection(t *testing.T) {
	f, _ := writeTestFile(t, 1000)
	for _, zeroCopy := range []bool{true, false} {
		var released atomic.Int32
		h := HandlerFunc(func(_ context.Context, r *Request) Reply {
			return Respond(new(Response).AddBytes(r.AppendResponseHeader(nil)).
				AddFile(FileRegion{File: f, Offset: 900, Length: 200, Release: func() { released.Add(1) }}))
		})
		cfg := DefaultConfig()
		cfg.ZeroCopy = zeroCopy
		_, addr := startServer(t, cfg, h)
		c := dial(t, addr)
		c.Write(frame(1, 11, 5, nil, nil, nil))
		// The frame promised 204 bytes; only 104 can come, then the close.
		got, _ := io.ReadAll(c)
		if len(got) != 4+4+100 {
			t.Fatalf("zerocopy=%v: read %d bytes before close", zeroCopy, len(got))
		}
		testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			if released.Load() != 1 {
				return errors.New("region not released")
			}
			return nil
		})
	}
}

func TestReleaseWhenConnectionDies(t *testing.T) {
	f, _ := writeTestFile(t, 1000)
	var released atomic.Int32
	pending := make(chan *Pending, 1)
	var handled atomic.Int32
	h := HandlerFunc(func(_ context.Context, r *Request) Reply {
		handled.Add(1)
		reply, p := Defer()
		pending <- p
		return reply
	})
	s, addr := startServer(t, DefaultConfig(), h)
	c := dial(t, addr)
	c.Write(frame(1, 11, 5, nil, nil, nil))
	p := <-pending
	c.Close()
	testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if s.Metrics().ConnectionsActive.Load() != 0 {
			return errors.New("connection still active")
		}
		return nil
	})
	p.Respond(new(Response).AddFile(FileRegion{File: f, Length: 10, Release: func() { released.Add(1) }}))
	if released.Load() != 1 {
		t.Fatal("region of a dead connection not released")
	}
}

func TestIdleClose(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ConnectionsMaxIdle = 150 * time.Millisecond
	h := HandlerFunc(func(_ context.Context, r *Request) Reply {
		if string(r.Body) != "slow" {
			return echo(context.Background(), r)
		}
		// A reply outstanding for longer than the idle time keeps the
		// connection open.
		reply, p := Defer()
		time.AfterFunc(3*cfg.ConnectionsMaxIdle, func() { p.Respond(new(Response).AddBytes(r.AppendResponseHeader(nil))) })
		return reply
	})
	s, addr := startServer(t, cfg, h)
	busy := dial(t, addr)
	busy.Write(frame(0, 3, 1, nil, nil, []byte("slow")))
	idle := dial(t, addr)
	expectClosed(t, idle)
	if resp, err := readFrame(busy); err != nil || corrOf(resp) != 1 {
		t.Fatalf("busy connection: %v", err)
	}
	expectClosed(t, busy) // idle after its response
	if n := s.Metrics().IdleClosed.Load(); n != 2 {
		t.Fatalf("IdleClosed %d", n)
	}
}

func TestConnectionLimits(t *testing.T) {
	t.Run("per ip", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.MaxConnectionsPerIP = 2
		s, addr := startServer(t, cfg, echo)
		a, b := dial(t, addr), dial(t, addr)
		for i, c := range []net.Conn{a, b} {
			c.Write(frame(0, 3, int32(i), nil, nil, nil))
			if _, err := readFrame(c); err != nil {
				t.Fatal(err)
			}
		}
		third := dial(t, addr)
		expectClosed(t, third)
		if s.Metrics().ConnectionsRejected.Load() != 1 {
			t.Fatal("rejection not counted")
		}
		a.Close()
		testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			c := dial(t, addr)
			c.Write(frame(0, 3, 9, nil, nil, nil))
			_, err := readFrame(c)
			c.Close()
			return err
		})
	})
	t.Run("total", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.MaxConnections = 1
		cfg.NetworkThreads = 2
		s, addr := startServer(t, cfg, echo)
		first := dial(t, addr)
		first.Write(frame(0, 3, 1, nil, nil, nil))
		if _, err := readFrame(first); err != nil {
			t.Fatal(err)
		}
		second := dial(t, addr) // completes in the kernel backlog
		second.Write(frame(0, 3, 2, nil, nil, nil))
		if got := s.Metrics().ConnectionsAccepted.Load(); got != 1 {
			t.Fatalf("%d connections accepted at max.connections=1", got)
		}
		first.Close()
		if resp, err := readFrame(second); err != nil || corrOf(resp) != 2 {
			t.Fatalf("second connection after the first closed: %v", err)
		}
		if s.Metrics().ConnectionsActive.Load() != 1 {
			t.Fatal("active count")
		}
	})
}

func TestLargeRequest(t *testing.T) {
	var gotLen atomic.Int64
	h := HandlerFunc(func(_ context.Context, r *Request) Reply {
		gotLen.Store(int64(len(r.Body)))
		sum := byte(0)
		for _, x := range r.Body {
			sum += x
		}
		return Respond(new(Response).AddBytes(r.AppendResponseHeader(nil)).AddBytes([]byte{sum}))
	})
	_, addr := startServer(t, DefaultConfig(), h)
	c := dial(t, addr)
	body := make([]byte, 15<<20)
	var sum byte
	for i := range body {
		body[i] = byte(i)
		sum += body[i]
	}
	for i := range 2 { // the second one reuses the pooled buffer
		go c.Write(frame(0, 3, int32(i), nil, nil, body))
		resp, err := readFrame(c)
		if err != nil || resp[4] != sum || gotLen.Load() != int64(len(body)) {
			t.Fatalf("large request %d: %v", i, err)
		}
	}
}

// TestFrameBufferGrowth: frames around the eager limit and the growth
// steps of readBody arrive byte for byte, whether written at once or in
// uneven pieces, and a frame cut short inside a grown buffer closes the
// connection without a request.
func TestFrameBufferGrowth(t *testing.T) {
	s, addr := startServer(t, DefaultConfig(), echo)
	c := dial(t, addr)
	rng := rand.New(rand.NewPCG(9, 9))
	sizes := []int{
		eagerFrameBytes - 11, eagerFrameBytes - 10, eagerFrameBytes - 9,
		frameGrowth*eagerFrameBytes - 10, frameGrowth*eagerFrameBytes - 9,
		frameGrowth*frameGrowth*eagerFrameBytes + 7, 3<<20 + 5,
	}
	for i, n := range sizes {
		body := make([]byte, n)
		for j := range body {
			body[j] = byte(rng.Uint32())
		}
		f := frame(0, 3, int32(i), nil, nil, body)
		pieces := rand.New(rand.NewPCG(uint64(i), 1))
		go func() {
			for rest := f; len(rest) > 0; {
				k := min(len(rest), 1+pieces.IntN(300<<10))
				if i%2 == 0 {
					k = len(rest)
				}
				if _, err := c.Write(rest[:k]); err != nil {
					return
				}
				rest = rest[k:]
			}
		}()
		resp, err := readFrame(c)
		if err != nil {
			t.Fatalf("frame of %d bytes: %v", len(f)-4, err)
		}
		if corrOf(resp) != int32(i) || !bytes.Equal(resp[4:], body) {
			t.Fatalf("frame of %d bytes: body did not round-trip", len(f)-4)
		}
	}
	f := frame(0, 3, 99, nil, nil, make([]byte, 1<<20))
	c.Write(f[:len(f)-1])
	c.(*net.TCPConn).CloseWrite()
	expectClosed(t, c)
	if got := s.Metrics().Requests.Load(); got != int64(len(sizes)) {
		t.Fatalf("%d requests handled, want %d: the truncated frame was handled", got, len(sizes))
	}
}

func TestParseListeners(t *testing.T) {
	ls, err := ParseListeners("PLAINTEXT://:9092, internal://127.0.0.1:0", "INTERNAL:PLAINTEXT,PLAINTEXT:PLAINTEXT")
	if err != nil || len(ls) != 2 || ls[1] != (Listener{Name: "INTERNAL", Protocol: "PLAINTEXT", Host: "127.0.0.1", Port: 0}) || ls[0].Port != 9092 || ls[0].Host != "" {
		t.Fatalf("%+v %v", ls, err)
	}
	for _, bad := range []string{"", "PLAINTEXT:9092", "PLAINTEXT://host", "PLAINTEXT://:99999", "A://:1,A://:2"} {
		if _, err := ParseListeners(bad, ""); !errors.Is(err, ErrConfig) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	ssl, _ := ParseListeners("SSL://:9093", "")
	if _, err := Listen(Config{Listeners: ssl}, echo); !errors.Is(err, ErrConfig) {
		t.Fatalf("SSL listener accepted: %v", err)
	}
	// Two listeners on port 0 both bind.
	ls, _ = ParseListeners("PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0", "INTERNAL:PLAINTEXT,PLAINTEXT:PLAINTEXT")
	s, err := Listen(Config{Listeners: ls}, echo)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if a := s.Addrs(); len(a) != 2 || a[0].(*net.TCPAddr).Port == 0 || s.Addr("INTERNAL") == nil {
		t.Fatalf("addrs %v", a)
	}
}

func FuzzParseHeader(f *testing.F) {
	cid := "client"
	for _, fr := range [][]byte{frame(3, 12, 1, &cid, []byte{1, 7, 2, 0xaa, 0xbb}, []byte("x")), frame(0, 3, 2, nil, nil, nil), frame(18, 3, 3, &cid, []byte{0}, nil)} {
		f.Add(fr[4:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Request
		if err := parseHeader(&r, b); err != nil {
			if !errors.Is(err, ErrBadHeader) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		if r.HeaderLen < 8 || r.HeaderLen > len(b) || len(r.Body) != len(b)-r.HeaderLen {
			t.Fatalf("header length %d of %d-byte frame", r.HeaderLen, len(b))
		}
	})
}

// TestWriteDeadline: a client that stops reading cannot hold a response
// (and its file region) forever; the write deadline closes the connection
// and the region is released.
func TestWriteDeadline(t *testing.T) {
	f, _ := writeTestFile(t, 64<<20)
	for _, zeroCopy := range []bool{true, false} {
		var released atomic.Int32
		h := HandlerFunc(func(_ context.Context, r *Request) Reply {
			return Respond(new(Response).AddBytes(r.AppendResponseHeader(nil)).
				AddFile(FileRegion{File: f, Length: 64 << 20, Release: func() { released.Add(1) }}))
		})
		cfg := DefaultConfig()
		cfg.ZeroCopy = zeroCopy
		cfg.WriteTimeout = 200 * time.Millisecond
		cfg.SendBufferBytes = 64 << 10
		s, addr := startServer(t, cfg, h)
		c := dial(t, addr)
		c.(*net.TCPConn).SetReadBuffer(64 << 10)
		c.Write(frame(1, 11, 1, nil, nil, nil))
		testutil.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
			if released.Load() != 1 || s.Metrics().ConnectionsActive.Load() != 0 {
				return fmt.Errorf("zerocopy=%v: released %d, active %d", zeroCopy, released.Load(), s.Metrics().ConnectionsActive.Load())
			}
			return nil
		})
	}
}

func TestControlledShutdownV0Header(t *testing.T) {
	var r Request
	fr := frame(7, 0, 42, nil, nil, nil)[4:]
	fr = append(fr[:8], 0, 0, 0, 5) // header v0, then an int32 broker id
	if err := parseHeader(&r, fr); err != nil || r.CorrelationID != 42 || r.HeaderLen != 8 || len(r.Body) != 4 {
		t.Fatalf("%+v %v", r, err)
	}
}

// TestManyConnectionsOrdering runs several pipelining connections at once
// with replies completing after random delays; each connection must see
// its own responses in order.
func TestManyConnectionsOrdering(t *testing.T) {
	h := HandlerFunc(func(_ context.Context, r *Request) Reply {
		reply, p := Defer()
		resp := new(Response).AddBytes(r.AppendResponseHeader(nil)).AddBytes(append([]byte(nil), r.Body...))
		d := time.Duration(r.Seq*7919%5) * time.Millisecond
		time.AfterFunc(d, func() { p.Respond(resp) })
		return reply
	})
	cfg := DefaultConfig()
	cfg.MaxInFlight = 8
	_, addr := startServer(t, cfg, h)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for conn := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			const n = 200
			go func() {
				for i := range n {
					if _, err := c.Write(frame(0, 3, int32(i), nil, nil, []byte(fmt.Sprintf("%d/%d", conn, i)))); err != nil {
						return
					}
				}
			}()
			for i := range n {
				resp, err := readFrame(c)
				if err != nil {
					errs <- err
					return
				}
				if corrOf(resp) != int32(i) || string(resp[4:]) != fmt.Sprintf("%d/%d", conn, i) {
					errs <- fmt.Errorf("conn %d: response %d is %d %q", conn, i, corrOf(resp), resp[4:])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestSendfileUnsupportedFallsBack: when sendfile reports EINVAL/ENOSYS
// before sending anything, the region goes through the copy path.
func TestSendfileUnsupportedFallsBack(t *testing.T) {
	f, data := writeTestFile(t, 1<<20)
	var calls atomic.Int32
	sendfileFn = func(syscall.RawConn, *os.File, int64, int64) (int64, error) {
		calls.Add(1)
		return 0, fmt.Errorf("%w: %v", errSendfileUnsupported, unix.EINVAL)
	}
	t.Cleanup(func() { sendfileFn = sendfileAt })
	h := HandlerFunc(func(_ context.Context, r *Request) Reply {
		return Respond(new(Response).AddBytes(r.AppendResponseHeader(nil)).AddFile(FileRegion{File: f, Offset: 100, Length: 5000}))
	})
	s, addr := startServer(t, DefaultConfig(), h)
	c := dial(t, addr)
	c.Write(frame(1, 11, 3, nil, nil, nil))
	resp, err := readFrame(c)
	if err != nil || !bytes.Equal(resp[4:], data[100:5100]) {
		t.Fatalf("fallback response wrong: %v", err)
	}
	// The writer counts CopyBytes after its write returns, which can be
	// after the client has read the response.
	testutil.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if calls.Load() != 1 || s.Metrics().CopyBytes.Load() != 5000 || s.Metrics().SendfileBytes.Load() != 0 {
			return fmt.Errorf("calls %d copy %d sendfile %d", calls.Load(), s.Metrics().CopyBytes.Load(), s.Metrics().SendfileBytes.Load())
		}
		return nil
	})
}
