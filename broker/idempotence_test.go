package broker

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/engine/batch"
)

func idemBatch(t *testing.T, pid int64, epoch int16, seq int32, n int) []byte {
	t.Helper()
	recs := make([]batch.Record, n)
	for i := range recs {
		recs[i] = batch.Record{OffsetDelta: int32(i), Value: []byte("v")}
	}
	b, err := batch.Build(batch.BuildOptions{BaseTimestamp: time.Now().UnixMilli(), ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIdempotentProducer: sequence windows, duplicates answered with the
// original offset, out-of-order and stale-epoch rejections, and the state
// surviving a restart through the .snapshot file.
func TestIdempotentProducer(t *testing.T) {
	dir := t.TempDir()
	b, err := startBrokerIn(t, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := b.createTopic(ctx, "idem", 1, 1, nil, nil, false); err != nil {
		t.Fatal(err)
	}
	init := kmsg.NewPtrInitProducerIDRequest()
	init.Version = 4
	ir := roundTrip(t, b, init).(*kmsg.InitProducerIDResponse)
	if ir.ErrorCode != 0 || ir.ProducerID < 0 || ir.ProducerEpoch != 0 {
		t.Fatalf("InitProducerId: %+v", ir)
	}
	pid := ir.ProducerID
	ir2 := roundTrip(t, b, init).(*kmsg.InitProducerIDResponse)
	if ir2.ProducerID == pid {
		t.Fatalf("two producers got id %d", pid)
	}
	send := func(b *Broker, epoch int16, seq int32, n int) *kmsg.ProduceResponseTopicPartition {
		return produceVia(t, func(r kmsg.Request) kmsg.Response { return roundTrip(t, b, r) }, 9, -1, "idem", idemBatch(t, pid, epoch, seq, n))
	}
	check := func(p *kmsg.ProduceResponseTopicPartition, code int16, base int64, what string) {
		t.Helper()
		if p.ErrorCode != code || (code == 0 && p.BaseOffset != base) {
			t.Fatalf("%s: error %d (%v) base %d, want error %d base %d", what, p.ErrorCode, kerr.ErrorForCode(p.ErrorCode), p.BaseOffset, code, base)
		}
	}
	check(send(b, 0, 0, 2), 0, 0, "first batch")
	check(send(b, 0, 2, 3), 0, 2, "second batch")
	check(send(b, 0, 0, 2), 0, 0, "duplicate of the first")
	check(send(b, 0, 2, 3), 0, 2, "duplicate of the second")
	check(send(b, 0, 9, 1), kerr.OutOfOrderSequenceNumber.Code, 0, "gap")
	check(send(b, 0, 5, 1), 0, 5, "next in sequence")
	l, _ := b.Engine().Log("idem", 0)
	if leo := l.LogEndOffset(); leo != 6 {
		t.Fatalf("log end %d, want 6 (duplicates written?)", leo)
	}
	check(send(b, 1, 3, 1), kerr.OutOfOrderSequenceNumber.Code, 0, "new epoch not at 0")
	check(send(b, 1, 0, 1), 0, 6, "new epoch")
	check(send(b, 0, 6, 1), kerr.InvalidProducerEpoch.Code, 0, "old epoch")

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "kafka-logs", "idem-0", "*.snapshot"))
	if len(snaps) != 1 || filepath.Base(snaps[0]) != "00000000000000000007.snapshot" {
		t.Fatalf("snapshots after clean shutdown: %v", snaps)
	}
	b2, err := startBrokerIn(t, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	check(send(b2, 1, 0, 1), 0, 6, "duplicate after restart")
	check(send(b2, 1, 2, 1), kerr.OutOfOrderSequenceNumber.Code, 0, "gap after restart")
	check(send(b2, 1, 1, 1), 0, 7, "next after restart")
	// Without any snapshot (as after a crash) the state is rebuilt from
	// the log itself.
	if err := b2.Close(); err != nil {
		t.Fatal(err)
	}
	snaps, _ = filepath.Glob(filepath.Join(dir, "kafka-logs", "idem-0", "*.snapshot"))
	for _, s := range snaps {
		os.Remove(s)
	}
	b3, err := startBrokerIn(t, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	check(send(b3, 1, 1, 1), 0, 7, "duplicate found by replaying the log")
	check(send(b3, 1, 2, 1), 0, 8, "next after replay")
}

// TestInitProducerIDExternalZooKeeper: a broker on a ZooKeeper named by
// zookeeper.connect allocates producer id blocks there, with and without a
// chroot (a connect string without one used to panic in the handler).
// Brokers of one cluster (same ZooKeeper, same chroot) never hand out the
// same id; a chroot is a cluster of its own.
func TestInitProducerIDExternalZooKeeper(t *testing.T) {
	b0, err := startBrokerIn(t, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b1, err := startBrokerIn(t, t.TempDir(), map[string]string{"zookeeper.connect": b0.ZkAddr(), "broker.id": "1"})
	if err != nil {
		t.Fatal(err)
	}
	b2, err := startBrokerIn(t, t.TempDir(), map[string]string{"zookeeper.connect": b0.ZkAddr() + "/edge", "broker.id": "2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, cluster := range [][]*Broker{{b0, b1, b0, b1}, {b2, b2}} {
		seen := map[int64]int32{}
		for _, br := range cluster {
			init := kmsg.NewPtrInitProducerIDRequest()
			init.Version = 4
			ir := roundTrip(t, br, init).(*kmsg.InitProducerIDResponse)
			if ir.ErrorCode != 0 || ir.ProducerID < 0 {
				t.Fatalf("broker %d (zookeeper.connect %s): InitProducerId %+v", br.id, br.conf().ZooKeeper(), ir)
			}
			if other, ok := seen[ir.ProducerID]; ok {
				t.Fatalf("producer id %d handed out by brokers %d and %d", ir.ProducerID, other, br.id)
			}
			seen[ir.ProducerID] = br.id
		}
	}
}
