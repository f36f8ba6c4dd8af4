package fuzz

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker"
	bconfig "github.com/gregorlog/gregor/broker/config"
	"github.com/gregorlog/gregor/internal/testutil"
)

var capture = flag.Bool("capture", false, "re-record testdata/kafka-requests from kcat, franz-go and sarama sessions against the broker")

// requestsDir holds the captured Kafka request frames:
// <client>/<apikey>-<version>-<n>.bin, each one whole frame as sent on the
// wire: int32 size, request header, body.
const requestsDir = "testdata/kafka-requests"

// maxPerVersion caps the stored frames per client, key and version.
const maxPerVersion = 6

var frameName = regexp.MustCompile(`^(\d+)-(\d+)-(\d+)\.bin$`)

// TestKafkaRequestCorpus checks every stored frame: the size prefix
// matches, the header names the key and version of its file name, and
// kmsg decodes the body at that version, consuming all of it.
func TestKafkaRequestCorpus(t *testing.T) {
	clients, err := os.ReadDir(requestsDir)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	keys := map[string]map[int16]bool{}
	codecs := map[string]map[int16]bool{} // client -> record batch codecs seen in Produce
	for _, cd := range clients {
		if !cd.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(requestsDir, cd.Name()))
		if err != nil {
			t.Fatal(err)
		}
		keys[cd.Name()] = map[int16]bool{}
		for _, f := range files {
			m := frameName.FindStringSubmatch(f.Name())
			if m == nil {
				t.Errorf("%s/%s: not <apikey>-<version>-<n>.bin", cd.Name(), f.Name())
				continue
			}
			key, _ := strconv.Atoi(m[1])
			ver, _ := strconv.Atoi(m[2])
			b, err := os.ReadFile(filepath.Join(requestsDir, cd.Name(), f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := checkRequestFrame(b, int16(key), int16(ver)); err != nil {
				t.Errorf("%s/%s: %v", cd.Name(), f.Name(), err)
			}
			keys[cd.Name()][int16(key)] = true
			total++
			if key == 0 {
				if codecs[cd.Name()] == nil {
					codecs[cd.Name()] = map[int16]bool{}
				}
				for _, c := range produceCodecs(b, int16(ver)) {
					codecs[cd.Name()][c] = true
				}
			}
		}
	}
	// Every client's session covers the handshake, metadata, produce,
	// fetch and offsets.
	// Every client's session also covers a consumer group: FindCoordinator,
	// JoinGroup, SyncGroup, Heartbeat, OffsetCommit, OffsetFetch and
	// LeaveGroup.
	for _, c := range []string{"kcat", "franz-go", "sarama"} {
		for _, k := range []kmsg.Key{kmsg.Produce, kmsg.Fetch, kmsg.ListOffsets, kmsg.Metadata, kmsg.ApiVersions,
			kmsg.FindCoordinator, kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.OffsetCommit, kmsg.OffsetFetch, kmsg.LeaveGroup} {
			if !keys[c][int16(k)] {
				t.Errorf("%s: no %s request captured", c, kmsg.NameForKey(int16(k)))
			}
		}
		// Seeds for compressed payloads: none, gzip, snappy, lz4, zstd.
		want := []int16{0, 1, 2, 3, 4}
		for _, codec := range want {
			if !codecs[c][codec] {
				t.Errorf("%s: no Produce with compression codec %d captured", c, codec)
			}
		}
	}
	t.Logf("%d request frames from %d clients parse at their key and version", total, len(keys))
}

// checkRequestFrame validates one whole request frame.
func checkRequestFrame(b []byte, key, ver int16) error {
	if len(b) < 4+8+2 {
		return fmt.Errorf("frame of %d bytes is too short", len(b))
	}
	if n := binary.BigEndian.Uint32(b); int(n) != len(b)-4 {
		return fmt.Errorf("size prefix %d, frame has %d bytes after it", n, len(b)-4)
	}
	b = b[4:]
	if k, v := int16(binary.BigEndian.Uint16(b)), int16(binary.BigEndian.Uint16(b[2:])); k != key || v != ver {
		return fmt.Errorf("header says key %d version %d", k, v)
	}
	req := kmsg.RequestForKey(key)
	if req == nil {
		return fmt.Errorf("kmsg does not know key %d", key)
	}
	if ver < 0 || ver > req.MaxVersion() {
		return fmt.Errorf("kmsg knows %s up to version %d", kmsg.NameForKey(key), req.MaxVersion())
	}
	req.SetVersion(ver)
	pos := 8
	idLen := int(int16(binary.BigEndian.Uint16(b[pos:])))
	pos += 2
	if idLen > 0 {
		pos += idLen
	}
	if pos > len(b) {
		return errors.New("client id runs past the frame")
	}
	if req.IsFlexible() {
		// header v2: the client id stays a classic string; a tag section follows.
		r := kbin(b[pos:])
		n, err := r.uvarint()
		for range n {
			if err != nil {
				break
			}
			if _, err = r.uvarint(); err == nil {
				var sz uint64
				if sz, err = r.uvarint(); err == nil {
					err = r.skip(sz)
				}
			}
		}
		if err != nil {
			return fmt.Errorf("header tags: %w", err)
		}
		pos = len(b) - len(r)
	}
	if err := req.ReadFrom(b[pos:]); err != nil {
		return fmt.Errorf("kmsg %s v%d: %w", kmsg.NameForKey(key), ver, err)
	}
	// kmsg must give back the same bytes: no field silently dropped.
	if out := req.AppendTo(nil); !bytes.Equal(out, b[pos:]) {
		return fmt.Errorf("kmsg %s v%d re-encodes %d body bytes as %d different ones", kmsg.NameForKey(key), ver, len(b)-pos, len(out))
	}
	return nil
}

// produceCodecs returns the compression codec (attributes & 7) of every
// record batch in a stored Produce frame.
func produceCodecs(frame []byte, ver int16) []int16 {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(ver)
	body := frame[4+8:]
	idLen := max(int(int16(binary.BigEndian.Uint16(body))), 0)
	body = body[2+idLen:]
	if req.IsFlexible() {
		body = body[1:] // the captured clients send an empty header tag section
	}
	if req.ReadFrom(body) != nil {
		return nil
	}
	var out []int16
	for _, tp := range req.Topics {
		for _, p := range tp.Partitions {
			if len(p.Records) >= 23 {
				out = append(out, int16(binary.BigEndian.Uint16(p.Records[21:]))&7)
			}
		}
	}
	return out
}

type kbin []byte

func (r *kbin) uvarint() (uint64, error) {
	v, n := binary.Uvarint(*r)
	if n <= 0 {
		return 0, errors.New("bad uvarint")
	}
	*r = (*r)[n:]
	return v, nil
}

func (r *kbin) skip(n uint64) error {
	if n > uint64(len(*r)) {
		return errors.New("tag runs past the frame")
	}
	*r = (*r)[n:]
	return nil
}

// kafkaRecorder is a TCP proxy in front of the broker that keeps every
// request frame clients send through it.
type kafkaRecorder struct {
	ln       net.Listener
	upstream string

	mu     sync.Mutex
	frames [][]byte
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newKafkaRecorder(t *testing.T) *kafkaRecorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &kafkaRecorder{ln: ln}
	t.Cleanup(r.close)
	return r
}

func (r *kafkaRecorder) start(upstream string) {
	r.upstream = upstream
	r.wg.Add(1)
	go r.accept()
}

func (r *kafkaRecorder) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", r.upstream)
		if err != nil {
			c.Close()
			continue
		}
		r.mu.Lock()
		r.conns = append(r.conns, c, u)
		r.mu.Unlock()
		r.wg.Add(2)
		go func() { // requests, recorded
			defer r.wg.Done()
			defer u.Close()
			for {
				var hdr [4]byte
				if _, err := io.ReadFull(c, hdr[:]); err != nil {
					return
				}
				n := binary.BigEndian.Uint32(hdr[:])
				if n > 64<<20 {
					return
				}
				f := make([]byte, 4+n)
				copy(f, hdr[:])
				if _, err := io.ReadFull(c, f[4:]); err != nil {
					return
				}
				r.mu.Lock()
				r.frames = append(r.frames, f)
				r.mu.Unlock()
				if _, err := u.Write(f); err != nil {
					return
				}
			}
		}()
		go func() { // responses, passed through
			defer r.wg.Done()
			defer c.Close()
			io.Copy(c, u)
		}()
	}
}

func (r *kafkaRecorder) close() {
	r.ln.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// take returns and forgets the frames recorded so far.
func (r *kafkaRecorder) take() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.frames
	r.frames = nil
	return f
}

// captureBroker starts the broker advertising the recorder's address, so
// clients keep talking through it after the bootstrap.
func captureBroker(t *testing.T) *kafkaRecorder {
	rec := newKafkaRecorder(t)
	dir := t.TempDir()
	cfg, err := bconfig.FromMap(map[string]string{
		"broker.id":                        "0",
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"advertised.listeners":             "PLAINTEXT://" + rec.ln.Addr().String(),
		"log.dirs":                         filepath.Join(dir, "kafka-logs"),
		"embedded.zookeeper.data.dir":      filepath.Join(dir, "zookeeper"),
		"offsets.topic.replication.factor": "1",
	})
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
	t.Cleanup(func() { b.Close() })
	rec.start(b.Addr())
	return rec
}

// writeFrames stores frames under requestsDir/client, at most
// maxPerVersion distinct ones (correlation id aside) per key and version.
func writeFrames(t *testing.T, client string, frames [][]byte) {
	dir := filepath.Join(requestsDir, client)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	count := map[[2]int16]int{}
	for _, f := range frames {
		if len(f) < 12 {
			continue
		}
		key, ver := int16(binary.BigEndian.Uint16(f[4:])), int16(binary.BigEndian.Uint16(f[6:]))
		norm := append(append([]byte{}, f[:8]...), f[12:]...)
		kv := [2]int16{key, ver}
		if seen[string(norm)] || count[kv] >= maxPerVersion {
			continue
		}
		seen[string(norm)] = true
		name := fmt.Sprintf("%d-%d-%d.bin", key, ver, count[kv])
		count[kv]++
		if err := os.WriteFile(filepath.Join(dir, name), f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var kvs []string
	for kv, n := range count {
		kvs = append(kvs, fmt.Sprintf("%s v%d x%d", kmsg.NameForKey(kv[0]), kv[1], n))
	}
	sort.Strings(kvs)
	t.Logf("%s: %s", client, strings.Join(kvs, ", "))
}

// TestCaptureKafkaRequests re-records testdata/kafka-requests from real
// client sessions against the broker. It does nothing unless run with
// -capture (go test -run TestCaptureKafkaRequests -capture ./fuzz).
func TestCaptureKafkaRequests(t *testing.T) {
	if !*capture {
		t.Log("captured frames are committed under " + requestsDir + "; pass -capture to re-record them")
		return
	}
	t.Run("kcat", captureKcat)
	t.Run("franz-go", captureFranz)
	t.Run("sarama", captureSarama)
}

func captureKcat(t *testing.T) {
	kcat := testutil.RequireTool(t, "kcat", "/usr/bin/kcat")
	rec := captureBroker(t)
	addr := rec.ln.Addr().String()
	run := func(stdin string, args ...string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, kcat, append([]string{"-b", addr}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kcat %v: %v\n%s", args, err, out)
		}
	}
	run("", "-L")
	// librdkafka sends a batch uncompressed when compressing does not
	// shrink it, so the values are long and repetitive.
	lines := "k1:" + strings.Repeat("one ", 200) + "\nk2:" + strings.Repeat("two ", 200) + "\n" + strings.Repeat("three ", 200) + "\n"
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		run(lines, "-P", "-t", "cap-kcat", "-K", ":", "-X", "compression.codec="+codec)
	}
	run("", "-C", "-t", "cap-kcat", "-o", "beginning", "-e", "-q")
	run("", "-C", "-t", "cap-kcat", "-o", "-2", "-e", "-q")
	run("", "-Q", "-t", "cap-kcat:0:-1")
	// A balanced consumer (-G): the group protocol, commits and leave.
	run("", "-G", "cap-kcat-group", "-e", "-q", "-X", "auto.offset.reset=earliest", "-X", "auto.commit.interval.ms=100", "cap-kcat")
	writeFrames(t, "kcat", rec.take())
}

func captureFranz(t *testing.T) {
	rec := captureBroker(t)
	addr := rec.ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)
	if _, err := adm.CreateTopic(ctx, 2, 1, map[string]*string{"retention.ms": kadm.StringPtr("86400000")}, "cap-franz"); err != nil {
		t.Fatal(err)
	}
	codecs := []kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()}
	for i, codec := range codecs {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("cap-franz"), kgo.ProducerBatchCompression(codec))
		if err != nil {
			t.Fatal(err)
		}
		var recs []*kgo.Record
		for j := range 3 {
			recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprintf("k%d", j)), Value: bytes.Repeat([]byte{'a' + byte(i)}, 40), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}})
		}
		err = cl.ProduceSync(ctx, recs...).FirstErr()
		cl.Close()
		if err != nil {
			t.Fatalf("produce with codec %d: %v", i, err)
		}
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("cap-franz"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for got < 3*len(codecs) && ctx.Err() == nil {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}
	cons.Close()
	if got < 3*len(codecs) {
		t.Fatalf("consumed %d records", got)
	}
	// A group member (cooperative-sticky, franz-go's default): join, sync,
	// heartbeat, commit, fetch offsets, leave.
	grp, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics("cap-franz"), kgo.ConsumerGroup("cap-franz-group"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.HeartbeatInterval(100*time.Millisecond), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	for got = 0; got < 3*len(codecs) && ctx.Err() == nil; {
		fs := grp.PollFetches(ctx)
		if err := fs.Err0(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}
	time.Sleep(300 * time.Millisecond) // a few heartbeats on the wire
	if err := grp.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	grp.Close()
	if _, err := adm.FetchOffsets(ctx, "cap-franz-group"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.DescribeGroups(ctx, "cap-franz-group"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.ListGroups(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.ListEndOffsets(ctx, "cap-franz"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.ListStartOffsets(ctx, "cap-franz"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.DescribeTopicConfigs(ctx, "cap-franz"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.DeleteTopics(ctx, "cap-franz"); err != nil {
		t.Fatal(err)
	}
	writeFrames(t, "franz-go", rec.take())
}

func captureSarama(t *testing.T) {
	rec := captureBroker(t)
	addr := []string{rec.ln.Addr().String()}
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	adm, err := sarama.NewClusterAdmin(addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	if err := adm.CreateTopic("cap-sarama", &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	codecs := []sarama.CompressionCodec{sarama.CompressionNone, sarama.CompressionGZIP, sarama.CompressionSnappy, sarama.CompressionLZ4, sarama.CompressionZSTD}
	for i, codec := range codecs {
		pc := *cfg
		pc.Producer.Compression = codec
		// One partition, so each codec is one Produce request (the corpus
		// keeps at most maxPerVersion per key and version).
		pc.Producer.Partitioner = sarama.NewManualPartitioner
		pc.Producer.Flush.Messages, pc.Producer.Flush.Frequency = 3, 50*time.Millisecond
		prod, err := sarama.NewSyncProducer(addr, &pc)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []*sarama.ProducerMessage
		for j := range 3 {
			msgs = append(msgs, &sarama.ProducerMessage{Topic: "cap-sarama", Key: sarama.StringEncoder(fmt.Sprintf("k%d", j)),
				Value: sarama.ByteEncoder(bytes.Repeat([]byte{'a' + byte(i)}, 40)), Headers: []sarama.RecordHeader{{Key: []byte("h"), Value: []byte("v")}}})
		}
		err = prod.SendMessages(msgs)
		prod.Close()
		if err != nil {
			t.Fatalf("produce with %v: %v", codec, err)
		}
	}
	group, err := sarama.NewConsumerGroup(addr, "cap-sarama-group", cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := &saramaCapture{want: 3 * len(codecs), done: cancel}
	if err := group.Consume(ctx, []string{"cap-sarama"}, h); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if err := group.Close(); err != nil {
		t.Fatal(err)
	}
	if h.got.Load() < int64(h.want) {
		t.Fatalf("consumed %d of %d records", h.got.Load(), h.want)
	}
	if _, err := adm.ListConsumerGroupOffsets("cap-sarama-group", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.DescribeConsumerGroups([]string{"cap-sarama-group"}); err != nil {
		t.Fatal(err)
	}
	writeFrames(t, "sarama", rec.take())
}

// saramaCapture consumes until want records arrived, marking each for the
// auto-commit, lets a few heartbeats and commits go out, then ends the
// session.
type saramaCapture struct {
	want int
	got  atomic.Int64
	done func()
}

func (*saramaCapture) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (*saramaCapture) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *saramaCapture) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		s.MarkMessage(m, "")
		if h.got.Add(1) == int64(h.want) {
			s.Commit()
			time.AfterFunc(300*time.Millisecond, h.done)
		}
	}
	return nil
}
