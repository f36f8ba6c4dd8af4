package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/config"
	"github.com/gregorlog/gregor/broker/zkmeta"
	"github.com/gregorlog/gregor/internal/testutil"
	"github.com/gregorlog/gregor/internal/zkref"
)

func runKcat(t *testing.T, kcat string, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %v: %v\n%s", args, err, errb.String())
	}
	return out.String()
}

// TestKcat: librdkafka 2.0 (kcat) produces with and without compression
// to an auto-created topic, consumes, and lists metadata.
func TestKcat(t *testing.T) {
	kcat := testutil.RequireTool(t, "kcat")
	b := startBroker(t, nil)
	bs := b.Addr()
	runKcat(t, kcat, "one\ntwo\nthree\n", "-P", "-b", bs, "-t", "kc")
	want := "one\ntwo\nthree\n"
	for _, codec := range []string{"gzip", "snappy", "lz4", "zstd"} {
		// Compressible, or librdkafka sends it uncompressed.
		line := codec + strings.Repeat("-", 500) + "\n"
		runKcat(t, kcat, line, "-P", "-b", bs, "-t", "kc", "-z", codec)
		want += line
	}
	got := runKcat(t, kcat, "", "-C", "-b", bs, "-t", "kc", "-o", "beginning", "-e", "-q")
	if got != want {
		t.Fatalf("kcat consumed %q, want %q", got, want)
	}
	// Compression really happened (librdkafka enables it only when
	// Produce v0 is advertised): the stored batches carry the codecs.
	l, err := b.Engine().Log("kc", 0)
	if err != nil {
		t.Fatal(err)
	}
	data, err := l.ReadCopy(0, 1<<20, l.HighWatermark(), true)
	if err != nil {
		t.Fatal(err)
	}
	codecs := map[int]bool{}
	for rest := data; len(rest) >= 61; {
		n := int(uint32(rest[8])<<24|uint32(rest[9])<<16|uint32(rest[10])<<8|uint32(rest[11])) + 12
		codecs[int(rest[22]&7)] = true
		rest = rest[n:]
	}
	// librdkafka 2.0.2 enables lz4 only when FindCoordinator v0 is
	// advertised (its "LZ4" feature flag), which comes with the group
	// coordinator; until then kcat sends lz4 batches uncompressed.
	for _, c := range []int{1, 2, 4} {
		if !codecs[c] {
			t.Errorf("no batch stored with codec %d (have %v)", c, codecs)
		}
	}
	md := runKcat(t, kcat, "", "-L", "-b", bs, "-t", "kc")
	if !strings.Contains(md, `topic "kc" with 1 partitions`) || !strings.Contains(md, "leader 0") {
		t.Fatalf("kcat -L:\n%s", md)
	}
	if b.Metrics().SendfileBytes.Load() == 0 {
		t.Error("kcat's fetches did not go out by sendfile")
	}
}

// TestLargeRecords: 15 MB records end to end with the sample
// configuration's message.max.bytes, and MESSAGE_TOO_LARGE for a larger
// one with the broker still serving.
func TestLargeRecords(t *testing.T) {
	const limit = 15728640
	b := startBroker(t, map[string]string{"message.max.bytes": fmt.Sprint(limit), "socket.request.max.bytes": "104857600"})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if _, err := newAdmin(t, b).CreateTopic(ctx, 1, 1, nil, "big"); err != nil {
		t.Fatal(err)
	}
	p := newClient(t, b, kgo.DefaultProduceTopic("big"), kgo.ProducerBatchMaxBytes(limit), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.RecordRetries(0), kgo.DisableIdempotentWrite())
	value := bytes.Repeat([]byte("0123456789abcdef"), 15*1000*1000/16) // 15 MB
	for i := range 2 {
		value[0] = byte('A' + i)
		if err := p.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
			t.Fatalf("15 MB record %d: %v", i, err)
		}
	}
	// One record over the limit: MESSAGE_TOO_LARGE from the broker.
	tooBig := make([]byte, limit+1000)
	err := p.ProduceSync(ctx, &kgo.Record{Value: tooBig}).FirstErr()
	if !errors.Is(err, kerr.MessageTooLarge) && !errors.Is(err, kerr.RecordListTooLarge) && !strings.Contains(fmt.Sprint(err), "too large") {
		t.Fatalf("record over message.max.bytes: %v", err)
	}
	// Raw, so the broker's answer is what is checked (kgo may refuse
	// client-side first).
	big := buildBatch(t, string(tooBig))
	if r := produceVia(t, func(req kmsg.Request) kmsg.Response { return roundTrip(t, b, req) }, 9, 1, "big", big); r.ErrorCode != kerr.MessageTooLarge.Code {
		t.Fatalf("raw batch over message.max.bytes: error %d", r.ErrorCode)
	}
	// Still serving: a small record goes through.
	if err := p.ProduceSync(ctx, kgo.StringRecord("small")).FirstErr(); err != nil {
		t.Fatalf("after MESSAGE_TOO_LARGE: %v", err)
	}
	c := newClient(t, b, kgo.ConsumeTopics("big"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(2*limit), kgo.FetchMaxPartitionBytes(limit))
	var got [][]byte
	for len(got) < 3 && ctx.Err() == nil {
		fs := c.PollFetches(ctx)
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r.Value) })
	}
	if len(got) != 3 || string(got[2]) != "small" || len(got[0]) != len(value) || got[0][0] != 'A' || got[1][0] != 'B' || !bytes.Equal(got[1][1:], value[1:]) {
		t.Fatalf("consumed %d records", len(got))
	}
	if b.Metrics().SendfileBytes.Load() < int64(2*len(value)) {
		t.Errorf("sendfile carried %d bytes, want >= %d", b.Metrics().SendfileBytes.Load(), 2*len(value))
	}
}

// TestRestartKeepsData: a clean restart finds the topic (same id), its
// records and the clean-shutdown marker's effect.
func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	b, err := startBrokerIn(t, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cres, err := newAdmin(t, b).CreateTopic(ctx, 2, 1, map[string]*string{"retention.ms": ptr("123456")}, "keep")
	if err != nil {
		t.Fatal(err)
	}
	p := newClient(t, b, kgo.DefaultProduceTopic("keep"))
	for i := range 20 {
		if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2, err := startBrokerIn(t, dir, nil)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	if rs := b2.Engine().RecoveryStats; rs.SegmentsRecovered != 0 {
		t.Errorf("clean restart recovered %d segments", rs.SegmentsRecovered)
	}
	adm := newAdmin(t, b2)
	md, err := adm.Metadata(ctx, "keep")
	if err != nil {
		t.Fatal(err)
	}
	if md.Topics["keep"].ID != cres.ID {
		t.Errorf("topic id changed across restart: %v -> %v", cres.ID, md.Topics["keep"].ID)
	}
	c := newClient(t, b2, kgo.ConsumeTopics("keep"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	n := 0
	for n < 20 && ctx.Err() == nil {
		fs := c.PollFetches(ctx)
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		n += fs.NumRecords()
	}
	if n != 20 {
		t.Fatalf("consumed %d of 20 records after restart", n)
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, "keep")
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := rcs.On("keep", nil)
	for i := range rc.Configs {
		if rc.Configs[i].Key == "retention.ms" && rc.Configs[i].MaybeValue() != "123456" {
			t.Errorf("retention.ms %q after restart", rc.Configs[i].MaybeValue())
		}
	}
}

// TestBrokerIDClash: a second broker with a live broker's id stops with a
// clear error.
func TestBrokerIDClash(t *testing.T) {
	b := startBroker(t, nil)
	_, err := startBrokerIn(t, t.TempDir(), map[string]string{"zookeeper.connect": b.ZkAddr(), "zookeeper.session.timeout.ms": "6000"})
	if !errors.Is(err, zkmeta.ErrBrokerIDClash) || !strings.Contains(err.Error(), "broker.id 0") {
		t.Fatalf("second broker with id 0: %v", err)
	}
	// The first broker is unaffected, its registration included.
	if err := newClient(t, b).Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ids, err := b.zk.BrokerIDs(context.Background()); err != nil || len(ids) != 1 || ids[0] != 0 {
		t.Fatalf("registrations after the clash: %v %v", ids, err)
	}
}

// TestOnApacheZooKeeper: the broker against Apache ZooKeeper 3.8 with a
// chroot, two brokers in one cluster: each sees the other, topics are
// spread over both, and a produce to the right leader works.
func TestOnApacheZooKeeper(t *testing.T) {
	zk := zkref.Start(t)
	connect := zk.Addr + "/edge"
	b0, err := startBrokerIn(t, t.TempDir(), map[string]string{"zookeeper.connect": connect})
	if err != nil {
		t.Fatal(err)
	}
	b1, err := startBrokerIn(t, t.TempDir(), map[string]string{"zookeeper.connect": connect, "broker.id": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if b0.ClusterID() != b1.ClusterID() {
		t.Fatalf("cluster ids differ: %s %s", b0.ClusterID(), b1.ClusterID())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := newAdmin(t, b1)
	testutil.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		md, err := adm.BrokerMetadata(ctx)
		if err != nil {
			return err
		}
		if len(md.Brokers) != 2 {
			return fmt.Errorf("%d brokers", len(md.Brokers))
		}
		return nil
	})
	if res, err := adm.CreateTopic(ctx, 4, 1, nil, "zk38"); err != nil || res.Err != nil {
		t.Fatalf("create on ZooKeeper 3.8: %v %v", err, res.Err)
	}
	// Both brokers learn the topic through their watches.
	testutil.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		for _, b := range []*Broker{b0, b1} {
			tm := b.meta.topic("zk38")
			if tm == nil || len(tm.Partitions) != 4 {
				return fmt.Errorf("broker %d does not know zk38 yet", b.ID())
			}
		}
		return nil
	})
	p := newClient(t, b0, kgo.DefaultProduceTopic("zk38"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	for i := range 40 {
		if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	led := map[int32]int{}
	for _, b := range []*Broker{b0, b1} {
		for _, l := range b.Engine().Logs() {
			led[b.ID()]++
			if l.LogEndOffset() != 10 {
				t.Errorf("broker %d %s-%d has %d records, want 10", b.ID(), l.Topic(), l.Partition(), l.LogEndOffset())
			}
		}
	}
	if led[0] != 2 || led[1] != 2 {
		t.Errorf("partitions led per broker: %v, want 2 and 2", led)
	}
	// Auto-creation works through the broker that is not the controller.
	md := metadataFor(t, b1, 12, true, "auto-on-1")
	if md.Topics[0].ErrorCode != kerr.LeaderNotAvailable.Code {
		t.Fatalf("auto-create via broker 1: %v", kerr.ErrorForCode(md.Topics[0].ErrorCode))
	}
	testutil.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if tm := b0.meta.topic("auto-on-1"); tm == nil {
			return errors.New("broker 0 does not see auto-on-1")
		}
		return nil
	})
	// The layout is Kafka's, under the chroot.
	st, err := b0.zk.PartitionState(ctx, "zk38", 0)
	if err != nil || st.Leader < 0 {
		t.Fatalf("partition state: %+v %v", st, err)
	}
	cfg, _ := config.FromMap(map[string]string{"zookeeper.connect": connect})
	if cfg.ZooKeeper().Chroot != "/edge" {
		t.Fatalf("chroot %q", cfg.ZooKeeper().Chroot)
	}
	_ = filepath.Join
}

// TestZooKeeperUnreachable: zookeeper.connection.timeout.ms bounds the
// wait, and the error names the ensemble.
func TestZooKeeperUnreachable(t *testing.T) {
	port := testutil.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	_, err := startBrokerIn(t, t.TempDir(), map[string]string{"zookeeper.connect": addr + "/x", "zookeeper.connection.timeout.ms": "1500"})
	if !errors.Is(err, zkmeta.ErrConnect) || !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("unreachable ZooKeeper: %v", err)
	}
}
