package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/engine/batch"
	"github.com/gregorlog/gregor/internal/testutil"
)

// rawRequest writes one frame with a v1 header and returns the
// connection.
func rawFrame(key, version int16, corr int32, body []byte) []byte {
	var f []byte
	f = binary.BigEndian.AppendUint32(f, 0)
	f = binary.BigEndian.AppendUint16(f, uint16(key))
	f = binary.BigEndian.AppendUint16(f, uint16(version))
	f = binary.BigEndian.AppendUint32(f, uint32(corr))
	f = binary.BigEndian.AppendUint16(f, 1)
	f = append(f, 'x')
	f = append(f, body...)
	binary.BigEndian.PutUint32(f, uint32(len(f)-4))
	return f
}

func dial(t *testing.T, b *Broker) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

func expectClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	buf := make([]byte, 1)
	if n, err := c.Read(buf); err == nil || n != 0 {
		t.Fatalf("%s: connection not closed (read %d, %v)", what, n, err)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("%s: connection still open", what)
	}
}

func TestBadFramesCloseConnection(t *testing.T) {
	b := startBroker(t, map[string]string{"socket.request.max.bytes": "1000"})
	t.Run("unknown key", func(t *testing.T) {
		c := dial(t, b)
		c.Write(rawFrame(9999, 0, 1, nil))
		expectClosed(t, c, "unknown key")
	})
	t.Run("unadvertised version", func(t *testing.T) {
		c := dial(t, b)
		c.Write(rawFrame(int16(kmsg.Fetch), 3, 1, make([]byte, 64)))
		expectClosed(t, c, "fetch v3")
	})
	t.Run("unadvertised key", func(t *testing.T) {
		c := dial(t, b)
		c.Write(rawFrame(int16(kmsg.TxnOffsetCommit), 0, 1, make([]byte, 64)))
		expectClosed(t, c, "TxnOffsetCommit")
	})
	t.Run("oversized frame", func(t *testing.T) {
		c := dial(t, b)
		c.Write([]byte{0, 0, 0x10, 0})
		expectClosed(t, c, "4096-byte frame over a 1000-byte limit")
	})
	t.Run("negative frame", func(t *testing.T) {
		c := dial(t, b)
		c.Write([]byte{0xff, 0xff, 0xff, 0xfe})
		expectClosed(t, c, "negative size")
	})
	t.Run("truncated body", func(t *testing.T) {
		c := dial(t, b)
		c.Write(rawFrame(int16(kmsg.Metadata), 1, 1, []byte{0, 0, 0, 5}))
		expectClosed(t, c, "metadata with 5 topics and no bytes")
	})
	// The broker still serves after all of that.
	cl := newClient(t, b)
	if err := cl.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestAPIVersionsKIP511: an ApiVersions version above ours is answered
// with a v0 body, error 35 and only our ApiVersions range.
func TestAPIVersionsKIP511(t *testing.T) {
	b := startBroker(t, nil)
	c := dial(t, b)
	c.Write(rawFrame(int16(kmsg.ApiVersions), 99, 0x0ccccccc, []byte{0, 0, 0}))
	got := make([]byte, 20)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 16, 0x0c, 0xcc, 0xcc, 0xcc, 0, 35, 0, 0, 0, 1, 0, 18, 0, 0, 0, 3}
	if !bytes.Equal(got, want) {
		t.Fatalf("KIP-511 answer\n got % x\nwant % x", got, want)
	}
	// A v3 request gets the whole table; librdkafka's feature windows need
	// Produce min 0 (compression) and Fetch min <= 4.
	cl := newClient(t, b)
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	ranges := map[int16][2]int16{}
	for _, k := range resp.ApiKeys {
		ranges[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	for key, want := range map[kmsg.Key][2]int16{kmsg.Produce: {0, 12}, kmsg.Fetch: {4, 16}, kmsg.Metadata: {0, 12}, kmsg.ApiVersions: {0, 3}, kmsg.ListOffsets: {0, 7}, kmsg.CreateTopics: {0, 7}, kmsg.DeleteTopics: {0, 6}, kmsg.DescribeConfigs: {0, 4}} {
		if ranges[int16(key)] != want {
			t.Errorf("%v advertised %v, want %v", key, ranges[int16(key)], want)
		}
	}
	// Group APIs (kafka-protocol.md §5): librdkafka needs FindCoordinator
	// and JoinGroup from v0, LeaveGroup min <= 1, OffsetCommit/Fetch <= 7.
	for key, want := range map[kmsg.Key][2]int16{kmsg.OffsetCommit: {0, 8}, kmsg.OffsetFetch: {0, 8}, kmsg.FindCoordinator: {0, 4},
		kmsg.JoinGroup: {0, 7}, kmsg.Heartbeat: {0, 4}, kmsg.LeaveGroup: {0, 4}, kmsg.SyncGroup: {0, 5}, kmsg.DescribeGroups: {0, 5},
		kmsg.ListGroups: {0, 4}, kmsg.DeleteGroups: {0, 2}, kmsg.OffsetDelete: {0, 0}} {
		if ranges[int16(key)] != want {
			t.Errorf("%v advertised %v, want %v", key, ranges[int16(key)], want)
		}
	}
}

func buildBatch(t testing.TB, values ...string) []byte {
	t.Helper()
	recs := make([]batch.Record, len(values))
	for i, v := range values {
		recs[i] = batch.Record{OffsetDelta: int32(i), Value: []byte(v)}
	}
	b, err := batch.Build(batch.BuildOptions{BaseTimestamp: time.Now().UnixMilli(), ProducerID: batch.NoProducerID,
		ProducerEpoch: batch.NoProducerEpoch, BaseSequence: batch.NoSequence}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func produceRaw(t *testing.T, cl *kgo.Client, version int16, acks int16, topic string, records []byte) *kmsg.ProduceResponseTopicPartition {
	t.Helper()
	return produceVia(t, func(req kmsg.Request) kmsg.Response {
		resp, err := cl.Request(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}, version, acks, topic, records)
}

// roundTrip sends req at exactly its version on a fresh connection.
func roundTrip(t *testing.T, b *Broker, req kmsg.Request) kmsg.Response {
	t.Helper()
	c := dial(t, b)
	body := req.AppendTo(nil)
	f := rawFrame(req.Key(), req.GetVersion(), 7, nil)
	if req.IsFlexible() {
		f = append(f, 0)
	}
	f = append(f, body...)
	binary.BigEndian.PutUint32(f, uint32(len(f)-4))
	if _, err := c.Write(f); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatalf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	resp := req.ResponseKind()
	buf = buf[4:]
	if resp.IsFlexible() {
		buf = buf[1:]
	}
	if err := resp.ReadFrom(buf); err != nil {
		t.Fatal(err)
	}
	return resp
}

func produceVia(t *testing.T, send func(kmsg.Request) kmsg.Response, version int16, acks int16, topic string, records []byte) *kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Version = version
	req.Acks = acks
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := send(req).(*kmsg.ProduceResponse)
	return &resp.Topics[0].Partitions[0]
}

// TestProduceErrorCodes: bad batches get Kafka's per-partition codes and
// nothing reaches the log.
func TestProduceErrorCodes(t *testing.T) {
	b := startBroker(t, map[string]string{"message.max.bytes": "2000"})
	adm := newAdmin(t, b)
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": ptr("1500")}, "t"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "wide"); err != nil {
		t.Fatal(err)
	}
	raw := func(req kmsg.Request) kmsg.Response { return roundTrip(t, b, req) }
	good := buildBatch(t, "a", "b")
	corrupt := buildBatch(t, "a", "b")
	corrupt[len(corrupt)-1] ^= 0xff
	badOffset := buildBatch(t, "a")
	binary.BigEndian.PutUint64(badOffset, 7)
	big := buildBatch(t, strings.Repeat("x", 1700))
	twoBatches := append(buildBatch(t, "a"), buildBatch(t, "b")...)
	cases := []struct {
		name    string
		version int16
		acks    int16
		topic   string
		records []byte
		want    int16
	}{
		{"corrupt crc", 9, 1, "t", corrupt, kerr.CorruptMessage.Code},
		{"base offset set", 9, 1, "t", badOffset, kerr.InvalidRecord.Code},
		{"two batches", 9, 1, "t", twoBatches, kerr.InvalidRecord.Code},
		{"truncated", 9, 1, "t", good[:len(good)-3], kerr.InvalidRecord.Code},
		{"empty", 9, 1, "t", nil, kerr.InvalidRecord.Code},
		{"topic max.message.bytes", 9, 1, "t", big, kerr.MessageTooLarge.Code},
		{"under message.max.bytes", 9, 1, "wide", big, 0},
		{"bad acks", 9, 2, "t", good, kerr.InvalidRequiredAcks.Code},
		{"unknown topic", 9, 1, "nope", good, kerr.UnknownTopicOrPartition.Code},
		{"produce v2", 2, 1, "t", good, kerr.UnsupportedVersion.Code},
		{"good", 9, -1, "t", good, 0},
	}
	for _, c := range cases {
		got := produceVia(t, raw, c.version, c.acks, c.topic, bytes.Clone(c.records))
		if got.ErrorCode != c.want {
			t.Errorf("%s: error %d (%v), want %d", c.name, got.ErrorCode, kerr.ErrorForCode(got.ErrorCode), c.want)
		}
	}
	l, err := b.Engine().Log("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if leo := l.LogEndOffset(); leo != 2 {
		t.Fatalf("log end offset %d after one good batch of 2, want 2", leo)
	}
	// acks=0 with an error closes the connection.
	c := dial(t, b)
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 7, 0, 1000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = corrupt
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	c.Write(rawFrame(0, 7, 5, req.AppendTo(nil)))
	expectClosed(t, c, "acks=0 produce of a corrupt batch")
}

func ptr[T any](v T) *T { return &v }

// TestFetchSemantics: OFFSET_OUT_OF_RANGE, the HW bound, long polling
// woken by a produce, and the KIP-74 first-batch rule.
func TestFetchSemantics(t *testing.T) {
	b := startBroker(t, nil)
	adm := newAdmin(t, b)
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "f"); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, b)
	for i := range 3 {
		if r := produceRaw(t, cl, 9, 1, "f", buildBatch(t, strings.Repeat(string(rune('a'+i)), 1000))); r.ErrorCode != 0 {
			t.Fatal(kerr.ErrorForCode(r.ErrorCode))
		}
	}
	fetch := func(version int16, offset int64, partMax, maxBytes, minBytes, wait int32) *kmsg.FetchResponseTopicPartition {
		t.Helper()
		req := kmsg.NewPtrFetchRequest()
		req.Version = version
		req.MaxWaitMillis, req.MinBytes, req.MaxBytes = wait, minBytes, maxBytes
		req.SessionEpoch = -1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "f"
		rt.TopicID = b.meta.topic("f").ID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.PartitionMaxBytes = offset, partMax
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := roundTrip(t, b, req).(*kmsg.FetchResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Errorf("fetch v%d: malformed response %+v", version, resp)
			return &kmsg.FetchResponseTopicPartition{ErrorCode: -1}
		}
		return &resp.Topics[0].Partitions[0]
	}
	for _, v := range []int16{4, 5, 7, 11, 12, 13, 15, 16} {
		p := fetch(v, 0, 1<<20, 1<<20, 1, 0)
		if p.ErrorCode != 0 || p.HighWatermark != 3 {
			t.Fatalf("v%d: error %d hw %d", v, p.ErrorCode, p.HighWatermark)
		}
		n := 0
		for rest := p.RecordBatches; len(rest) > 0; {
			var rb kmsg.RecordBatch
			if err := rb.ReadFrom(rest); err != nil {
				t.Fatalf("v%d: %v", v, err)
			}
			n++
			rest = rest[12+rb.Length:]
		}
		if n != 3 {
			t.Fatalf("v%d: %d batches, want 3", v, n)
		}
		if p := fetch(v, 4, 1<<20, 1<<20, 1, 0); p.ErrorCode != kerr.OffsetOutOfRange.Code {
			t.Fatalf("v%d: offset past the end: error %d", v, p.ErrorCode)
		}
	}
	// v13+: an unknown topic id is UNKNOWN_TOPIC_ID.
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.SessionEpoch = 13, -1
	rt := kmsg.NewFetchRequestTopic()
	rt.TopicID = [16]byte{9, 9}
	rt.Partitions = append(rt.Partitions, kmsg.NewFetchRequestTopicPartition())
	req.Topics = append(req.Topics, rt)
	if r := roundTrip(t, b, req).(*kmsg.FetchResponse); r.Topics[0].TopicID != rt.TopicID || r.Topics[0].Partitions[0].ErrorCode != kerr.UnknownTopicID.Code {
		t.Fatalf("unknown topic id: %+v", r.Topics[0])
	}
	// KIP-74: a partition limit smaller than the first batch still
	// returns that whole batch.
	if p := fetch(12, 1, 10, 10, 1, 0); len(p.RecordBatches) < 1000 {
		t.Fatalf("first batch cut to %d bytes under a 10-byte limit", len(p.RecordBatches))
	}
	// Long poll at the end: the reply comes once a produce lands.
	done := make(chan *kmsg.FetchResponseTopicPartition, 1)
	go func() { done <- fetch(12, 3, 1<<20, 1<<20, 1, 20000) }()
	testutil.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if len(done) != 0 {
			return nil
		}
		if r := produceRaw(t, cl, 9, 1, "f", buildBatch(t, "late")); r.ErrorCode != 0 {
			return kerr.ErrorForCode(r.ErrorCode)
		}
		select {
		case p := <-done:
			done <- p
			return nil
		case <-time.After(200 * time.Millisecond):
			return errors.New("long poll not answered yet")
		}
	})
	p := <-done
	if p.ErrorCode != 0 || len(p.RecordBatches) == 0 {
		t.Fatalf("long poll: error %d, %d bytes", p.ErrorCode, len(p.RecordBatches))
	}
}

// TestCloseAnswersLongPoll: a graceful shutdown answers a parked fetch
// instead of cutting it off, and does not wait for its max_wait_ms.
func TestCloseAnswersLongPoll(t *testing.T) {
	b, err := startBrokerIn(t, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.createTopic(context.Background(), "lp", 1, 1, nil, nil, false); err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.SessionEpoch = 11, 60000, 1, 1<<20, -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "lp"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	done := make(chan kmsg.Response, 1)
	go func() { done <- roundTrip(t, b, req) }()
	// Wait until the fetch is parked, then shut down.
	testutil.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		b.inflight.mu.Lock()
		defer b.inflight.mu.Unlock()
		if b.inflight.n == 0 {
			return errors.New("fetch not parked yet")
		}
		return nil
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if p := r.(*kmsg.FetchResponse).Topics[0].Partitions[0]; p.ErrorCode != 0 {
			t.Fatalf("parked fetch answered with error %d", p.ErrorCode)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("parked fetch not answered by a graceful shutdown")
	}
}
