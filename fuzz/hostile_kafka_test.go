package fuzz

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker"
	bconfig "github.com/gregorlog/gregor/broker/config"
	"github.com/gregorlog/gregor/internal/testutil"
	"github.com/gregorlog/gregor/netio"
)

// kafkaHandler answers ApiVersions and Metadata with kmsg, enough for
// franz-go to work, and closes the connection on an unknown key, an
// unsupported version or an unparsable body, as Kafka does
// (kafka-protocol.md §10.1).
func kafkaHandler(addr func() string) netio.Handler {
	return netio.HandlerFunc(func(_ context.Context, r *netio.Request) netio.Reply {
		req := kmsg.RequestForKey(r.APIKey)
		if req == nil || r.APIVersion < 0 || r.APIVersion > req.MaxVersion() {
			return netio.CloseConn(nil)
		}
		req.SetVersion(r.APIVersion)
		if err := req.ReadFrom(r.Body); err != nil {
			return netio.CloseConn(err)
		}
		var resp kmsg.Response
		switch q := req.(type) {
		case *kmsg.ApiVersionsRequest:
			rs := q.ResponseKind().(*kmsg.ApiVersionsResponse)
			rs.ApiKeys = []kmsg.ApiVersionsResponseApiKey{{ApiKey: 18, MinVersion: 0, MaxVersion: 3}, {ApiKey: 3, MinVersion: 0, MaxVersion: 12}}
			resp = rs
		case *kmsg.MetadataRequest:
			rs := q.ResponseKind().(*kmsg.MetadataResponse)
			host, port, _ := net.SplitHostPort(addr())
			p, _ := strconv.Atoi(port)
			rs.Brokers = []kmsg.MetadataResponseBroker{{NodeID: 1, Host: host, Port: int32(p)}}
			rs.ControllerID = 1
			resp = rs
		default:
			return netio.CloseConn(nil)
		}
		resp.SetVersion(r.APIVersion)
		return netio.Respond(new(netio.Response).AddBytes(resp.AppendTo(r.AppendResponseHeader(nil))))
	})
}

// kafkaTarget is a Kafka listener under attack: netio with the test
// handler, or the real broker.
type kafkaTarget struct {
	addr string
	m    *netio.Metrics
	op   func() error // one request of a well-behaved franz-go client
}

// kafkaLimits are the listener limits a test sets, in both forms.
type kafkaLimits struct {
	maxRequestBytes int32
	maxIdle         time.Duration
	maxConns        int
	maxConnsPerIP   int
}

// kafkaTargets returns the listeners every Kafka hostile test runs
// against: netio with a kmsg handler (the framing layer alone) and the
// assembled broker with embedded coordination.
func kafkaTargets() map[string]func(*testing.T, kafkaLimits) *kafkaTarget {
	return map[string]func(*testing.T, kafkaLimits) *kafkaTarget{
		"netio":  startNetioTarget,
		"broker": startBrokerTarget,
	}
}

func startNetioTarget(t *testing.T, l kafkaLimits) *kafkaTarget {
	t.Helper()
	cfg := netio.DefaultConfig()
	cfg.MaxRequestBytes = l.maxRequestBytes
	cfg.ConnectionsMaxIdle = l.maxIdle
	cfg.MaxConnections = l.maxConns
	cfg.MaxConnectionsPerIP = l.maxConnsPerIP
	var mu sync.Mutex
	var addr string
	mu.Lock()
	srv, err := netio.Listen(cfg, kafkaHandler(func() string { mu.Lock(); defer mu.Unlock(); return addr }))
	if err != nil {
		mu.Unlock()
		t.Fatal(err)
	}
	addr = srv.Addrs()[0].String()
	mu.Unlock()
	t.Cleanup(func() { srv.Close() })
	return &kafkaTarget{addr: addr, m: srv.Metrics(), op: metadataOp(t, addr)}
}

func startBrokerTarget(t *testing.T, l kafkaLimits) *kafkaTarget {
	t.Helper()
	dir := t.TempDir()
	props := map[string]string{
		"broker.id":                        "0",
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"log.dirs":                         filepath.Join(dir, "kafka-logs"),
		"embedded.zookeeper.data.dir":      filepath.Join(dir, "zookeeper"),
		"offsets.topic.replication.factor": "1",
	}
	if l.maxRequestBytes > 0 {
		props["socket.request.max.bytes"] = strconv.Itoa(int(l.maxRequestBytes))
	}
	if l.maxIdle > 0 {
		props["connections.max.idle.ms"] = strconv.Itoa(int(l.maxIdle.Milliseconds()))
	}
	if l.maxConns > 0 {
		props["max.connections"] = strconv.Itoa(l.maxConns)
	}
	if l.maxConnsPerIP > 0 {
		props["max.connections.per.ip"] = strconv.Itoa(l.maxConnsPerIP)
	}
	cfg, err := bconfig.FromMap(props)
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(cfg, broker.Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("broker close: %v", err)
		}
	})
	return &kafkaTarget{addr: b.Addr(), m: b.Metrics(), op: produceOp(t, b.Addr())}
}

// metadataOp is one Metadata round trip of franz-go.
func metadataOp(t *testing.T, addr string) func() error {
	t.Helper()
	cl := newKgo(t, addr)
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		if len(resp.Brokers) != 1 {
			return fmt.Errorf("unexpected metadata %+v", resp.Brokers)
		}
		return nil
	}
}

// produceOp is one acknowledged (acks=all) produce of franz-go: the
// broker's whole write path, not only its network layer.
func produceOp(t *testing.T, addr string) func() error {
	t.Helper()
	cl := newKgo(t, addr, kgo.DefaultProduceTopic("hostile"), kgo.AllowAutoTopicCreation())
	n := 0
	return func() error {
		n++
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return cl.ProduceSync(ctx, &kgo.Record{Value: []byte(strconv.Itoa(n))}).FirstErr()
	}
}

func newKgo(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RetryTimeout(20 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// kframe builds a request frame: header v1 (int16 key, int16 version,
// int32 correlation id, int16-length client id) then body.
func kframe(key, version int16, corr int32, body []byte) []byte {
	var b []byte
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, 6)
	b = append(b, "hostil"...)
	b = append(b, body...)
	return frame32(uint32(len(b)), b)
}

// TestHostileKafkaListener attacks netio (the broker's network layer, with
// a kmsg handler) and the broker with bad frames while franz-go keeps
// requesting metadata (netio) or producing (broker): every bad frame
// closes its connection without a response (kafka-protocol.md §10.1), a
// silent half-sent request is reaped by connections.max.idle.ms, the
// client keeps its throughput and the heap returns to where it was.
func TestHostileKafkaListener(t *testing.T) {
	for name, start := range kafkaTargets() {
		t.Run(name, func(t *testing.T) { hostileKafkaListener(t, start) })
	}
}

func hostileKafkaListener(t *testing.T, start func(*testing.T, kafkaLimits) *kafkaTarget) {
	raiseNoFile(t)
	lim := kafkaLimits{maxRequestBytes: 2 << 20, maxIdle: 500 * time.Millisecond, maxConnsPerIP: 200}
	h := start(t, lim)
	m, op := h.m, h.op
	if err := op(); err != nil {
		t.Fatal(err)
	}
	const window = 2 * time.Second
	heapBefore := heapInuse()
	goroutinesBefore := runtime.NumGoroutine()

	var held connSet
	defer held.closeAll()

	// Slow senders: half a frame, then silence. The idle reaper must
	// close them; meanwhile each holds at most MaxRequestBytes.
	const slow = 20
	idleBefore := m.IdleClosed.Load()
	slowConns := make([]net.Conn, 0, slow)
	for i := range slow {
		c, err := dialFrom("127.0.0.2", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		held.add(c)
		f := kframe(3, 12, int32(i), make([]byte, 200))
		if i%2 == 0 {
			f = frame32(uint32(lim.maxRequestBytes), make([]byte, 100)) // claims the maximum, sends 100 bytes
		}
		if _, err := c.Write(f[:len(f)/2]); err != nil {
			t.Fatal(err)
		}
		slowConns = append(slowConns, c)
	}

	att := newAttackers()
	defer att.stop()
	const rounds = 5000
	rng := func(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 7)) }
	noReplyClose := func(c net.Conn) error {
		if n, err := closedByPeer(c, 0, 10*time.Second); err != nil || n != 0 {
			return fmt.Errorf("%d reply bytes, %v", n, err)
		}
		return nil
	}

	// Sizes netio must refuse before allocating: negative, 2 GiB, just
	// over socket.request.max.bytes.
	badSizes := []uint32{0xffffffff, 0x80000000, 0x7fffffff, uint32(lim.maxRequestBytes) + 1}
	att.loop("bad sizes", rounds, func(i int) error {
		c, err := dialFrom("127.0.0.2", h.addr)
		if err != nil {
			return err
		}
		defer c.Close()
		// Half the time after a valid request, so the bad frame is not
		// the first one.
		if i%2 == 1 {
			c.Write(kframe(18, 0, 1, nil))
			if _, err := readKafkaFrame(c); err != nil {
				return fmt.Errorf("ApiVersions before the bad frame: %w", err)
			}
		}
		c.Write(frame32(badSizes[i%len(badSizes)], make([]byte, 16)))
		return noReplyClose(c)
	})

	// Malformed headers and bodies: too short for a header, a client id
	// longer than the frame, unknown keys and versions, and arrays or
	// strings claiming 2^31-1 elements inside a small frame.
	hugeI32 := binary.BigEndian.AppendUint32(nil, 0x7fffffff)
	badFrames := [][]byte{
		frame32(3, []byte{0, 3, 0}),
		frame32(10, []byte{0, 3, 0, 1, 0, 0, 0, 1, 0x7f, 0xff}), // client id of 32767 bytes in a 10-byte frame
		kframe(1000, 0, 1, nil),                                 // unknown key
		kframe(3, 99, 1, nil),                                   // unknown version
		kframe(3, 1, 1, hugeI32),                                // Metadata v1: topics array of 2^31-1
		kframe(3, 4, 1, append(hugeI32, 1)),                     // Metadata v4 likewise
		kframe(0, 3, 1, append([]byte{0xff, 0xff, 0, 1, 0, 0, 0x75, 0x30}, hugeI32...)),                                                // Produce v3: topics array of 2^31-1
		kframe(0, 7, 1, append([]byte{0xff, 0xff, 0, 1, 0, 0, 0x75, 0x30, 0, 0, 0, 1, 0, 1, 'x', 0, 0, 0, 1, 0, 0, 0, 0}, hugeI32...)), // Produce v7: records of 2^31-1 bytes
		kframe(1, 4, 1, append([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff, 0}, hugeI32...)),         // Fetch v4: topics array of 2^31-1
	}
	att.loop("malformed requests", rounds, func(i int) error {
		c, err := dialFrom("127.0.0.2", h.addr)
		if err != nil {
			return err
		}
		defer c.Close()
		c.Write(badFrames[i%len(badFrames)])
		if err := noReplyClose(c); err != nil {
			return fmt.Errorf("frame %d: %w", i%len(badFrames), err)
		}
		return nil
	})
	att.loop("garbage", rounds, func(i int) error {
		r := rng(uint64(i))
		c, err := dialFrom("127.0.0.2", h.addr)
		if err != nil {
			return err
		}
		defer c.Close()
		var b []byte
		if i%2 == 0 {
			b = randBytes(r, 1+r.IntN(300)) // raw bytes, length prefix included
		} else {
			// a well-framed request with a real key, a random version
			// and a random body.
			key := int16(r.IntN(int(kmsg.MaxKey) + 1))
			b = kframe(key, int16(r.IntN(16)), r.Int32(), randBytes(r, r.IntN(200)))
		}
		c.Write(b)
		c.(*net.TCPConn).CloseWrite()
		_, err = closedByPeer(c, 1<<20, 10*time.Second)
		return err
	})
	att.loop("truncated", rounds, func(i int) error {
		c, err := dialFrom("127.0.0.2", h.addr)
		if err != nil {
			return err
		}
		defer c.Close()
		f := kframe(3, 4, 1, []byte{0, 0, 0, 0, 1})
		c.Write(f[:1+i%(len(f)-1)])
		c.(*net.TCPConn).CloseWrite()
		return noReplyClose(c)
	})

	quiet, attacked, err := interleaved(att, 8, window/8, op)
	if err != nil {
		t.Fatalf("well-behaved client failed: %v", err)
	}
	for _, err := range att.stop() {
		t.Error(err)
	}
	t.Logf("%d attack rounds completed; invalid frames counted %d", att.rounds.Load(), m.InvalidFrames.Load())
	if att.rounds.Load() < 100 {
		t.Errorf("only %d attack rounds ran alongside the client", att.rounds.Load())
	}
	checkThroughput(t, "under attack (interleaved with pauses)", quiet, attacked)

	for i, c := range slowConns {
		if err := noReplyClose(c); err != nil {
			t.Errorf("slow sender %d: %v", i, err)
		}
	}
	if got := m.IdleClosed.Load() - idleBefore; got < slow {
		t.Errorf("idle reaper closed %d connections, want at least the %d slow senders", got, slow)
	}
	held.closeAll()
	testutil.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		// only the good client's connection(s) remain
		if n := m.ConnectionsActive.Load(); n > 2 {
			return fmt.Errorf("%d connections still active", n)
		}
		return nil
	})
	if err := op(); err != nil {
		t.Fatalf("listener unusable after the attack: %v", err)
	}
	checkGoroutines(t, goroutinesBefore)
	checkHeap(t, t.Name()+" after the attack", heapBefore, 32<<20)
}

// TestHostileKafkaConnectionFlood holds idle connections from many
// loopback addresses against max.connections.per.ip while franz-go keeps
// working from its own address: the excess is closed at accept, the rest
// are held, and the client's throughput stays within a generous ratio.
func TestHostileKafkaConnectionFlood(t *testing.T) {
	for name, start := range kafkaTargets() {
		t.Run(name, func(t *testing.T) { hostileKafkaConnectionFlood(t, start) })
	}
}

func hostileKafkaConnectionFlood(t *testing.T, start func(*testing.T, kafkaLimits) *kafkaTarget) {
	flood := floodSize(t, 1500) // netio runs two goroutines per connection; the race detector allows 8128
	lim := kafkaLimits{maxConnsPerIP: 50}
	h := start(t, lim)
	m, op := h.m, h.op
	if err := op(); err != nil {
		t.Fatal(err)
	}
	const window = 2 * time.Second
	heapBefore := heapInuse()
	goroutinesBefore := runtime.NumGoroutine()
	quiet, err := throughput(window, op)
	if err != nil {
		t.Fatal(err)
	}
	activeBefore := m.ConnectionsActive.Load()

	var held connSet
	defer held.closeAll()
	const extra = 3
	ips := flood / (lim.maxConnsPerIP + extra)
	bySrc := map[string][]net.Conn{}
	rejected := 0
	for ip := range ips {
		src := fmt.Sprintf("127.0.%d.%d", 1+ip/250, 1+ip%250)
		for k := range lim.maxConnsPerIP + extra {
			c, err := dialFrom(src, h.addr)
			if err != nil {
				t.Fatalf("flood dial %s #%d: %v", src, k, err)
			}
			held.add(c)
			bySrc[src] = append(bySrc[src], c)
			if k >= lim.maxConnsPerIP {
				rejected++
			}
		}
	}
	accepted := int64(ips * lim.maxConnsPerIP)
	testutil.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		if a, r := m.ConnectionsActive.Load()-activeBefore, m.ConnectionsRejected.Load(); a != accepted || r != int64(rejected) {
			return fmt.Errorf("%d active, %d rejected; want %d and %d", a, r, accepted, rejected)
		}
		return nil
	})
	// Which connections of an address are refused depends on accept order;
	// how many does not.
	countClosedPerSource(t, bySrc, extra)
	t.Logf("flood: %d idle connections held from %d addresses, %d refused; HeapInuse %d MiB", accepted, ips, rejected, heapInuse()>>20)
	attacked, err := throughput(window, op)
	if err != nil {
		t.Fatalf("well-behaved client failed during the flood: %v", err)
	}
	checkThroughput(t, "during the flood", quiet, attacked)
	held.closeAll()
	testutil.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		if n := m.ConnectionsActive.Load(); n != activeBefore {
			return fmt.Errorf("%d connections active, want %d", n, activeBefore)
		}
		return nil
	})
	checkGoroutines(t, goroutinesBefore)
	checkHeap(t, t.Name()+" after the flood", heapBefore, 32<<20)
}

// TestHostileKafkaMaxConnections floods a listener with max.connections
// and a short connections.max.idle.ms: netio never holds more than the
// limit (the rest wait in the backlog, as Kafka's acceptor does), the idle
// reaper frees the slots, and a well-behaved client gets in and is served.
func TestHostileKafkaMaxConnections(t *testing.T) {
	for name, start := range kafkaTargets() {
		t.Run(name, func(t *testing.T) { hostileKafkaMaxConnections(t, start) })
	}
}

func hostileKafkaMaxConnections(t *testing.T, start func(*testing.T, kafkaLimits) *kafkaTarget) {
	raiseNoFile(t)
	lim := kafkaLimits{maxConns: 100, maxIdle: 300 * time.Millisecond}
	h := start(t, lim)
	m := h.m

	var held connSet
	defer held.closeAll()
	const flood = 300
	for i := range flood {
		c, err := dialFrom(fmt.Sprintf("127.0.1.%d", 1+i%200), h.addr)
		if err != nil {
			t.Fatalf("flood dial #%d: %v", i, err)
		}
		held.add(c)
	}
	var maxActive int64
	testutil.CheckFor(t, 30*time.Second, 10*time.Millisecond, func() error {
		a := m.ConnectionsActive.Load()
		maxActive = max(maxActive, a)
		if n := m.IdleClosed.Load(); n < flood {
			return fmt.Errorf("%d of %d idle connections reaped (%d active)", n, flood, a)
		}
		return nil
	})
	if maxActive > int64(lim.maxConns) {
		t.Errorf("%d connections active at once, max.connections is %d", maxActive, lim.maxConns)
	}
	op := h.op
	for i := range 20 {
		if err := op(); err != nil {
			t.Fatalf("request %d after the flood: %v", i, err)
		}
	}
	held.closeAll()
}

func readKafkaFrame(c net.Conn) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	var sz [4]byte
	if _, err := readFull(c, sz[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(sz[:])
	if n > 1<<20 {
		return nil, fmt.Errorf("response of %d bytes", n)
	}
	b := make([]byte, n)
	_, err := readFull(c, b)
	return b, err
}
