package broker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/internal/testutil"
)

// TestCompactedTopicEndToEnd: a topic created with cleanup.policy=compact
// refuses keyless records with INVALID_RECORD, and the broker's log
// cleaner thread compacts it so that a consumer reading from the start
// sees the latest value of every key, without the deleted one once its
// tombstone's delete.retention.ms (0 here) has passed.
func TestCompactedTopicEndToEnd(t *testing.T) {
	b := startBroker(t, map[string]string{"log.cleaner.backoff.ms": "20"})
	adm := newAdmin(t, b)
	ctx := context.Background()
	cfg := map[string]*string{
		"cleanup.policy":            ptr("compact"),
		"segment.bytes":             ptr("2048"),
		"min.cleanable.dirty.ratio": ptr("0.01"),
		"delete.retention.ms":       ptr("0"),
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, cfg, "cmp"); err != nil {
		t.Fatal(err)
	}
	raw := func(req kmsg.Request) kmsg.Response { return roundTrip(t, b, req) }
	if got := produceVia(t, raw, 9, -1, "cmp", buildBatch(t, "no key")); got.ErrorCode != kerr.InvalidRecord.Code {
		t.Fatalf("keyless record on a compacted topic: error %d, want INVALID_RECORD", got.ErrorCode)
	}
	p := newClient(t, b, kgo.DefaultProduceTopic("cmp"), kgo.ProducerLinger(0))
	want := map[string]string{}
	for i := 0; i < 400; i++ {
		k := fmt.Sprintf("k%02d", i%20)
		v := fmt.Sprintf("value-%d-%s", i, k)
		if err := p.ProduceSync(ctx, &kgo.Record{Key: []byte(k), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		want[k] = v
	}
	if err := p.ProduceSync(ctx, &kgo.Record{Key: []byte("k00")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	delete(want, "k00")
	l, err := b.Engine().Log("cmp", 0)
	if err != nil {
		t.Fatal(err)
	}
	round := 0
	testutil.CheckFor(t, 60*time.Second, 50*time.Millisecond, func() error {
		// Keep the log dirty: the tombstone goes only in a cleaning after
		// the one that stamped its delete horizon.
		round++
		for i := 0; i < 19; i++ {
			k := fmt.Sprintf("k%02d", 1+i)
			v := fmt.Sprintf("late-%d-%s", round, k)
			if err := p.ProduceSync(ctx, &kgo.Record{Key: []byte(k), Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
			want[k] = v
		}
		got, n := consumeAll(t, b, "cmp", l.LogEndOffset())
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("key %s: %q, want %q", k, got[k], v)
			}
		}
		if _, ok := got["k00"]; ok || n > 150 {
			return fmt.Errorf("not compacted yet: %d records, k00 present %v", n, ok)
		}
		return nil
	})
}

// consumeAll reads the topic from the start up to end and returns the
// last value per key and the number of records.
func consumeAll(t *testing.T, b *Broker, topic string, end int64) (map[string]string, int) {
	t.Helper()
	c := newClient(t, b, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer c.Close()
	got := map[string]string{}
	n := 0
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	seen := int64(-1)
	for seen+1 < end {
		fs := c.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consuming %s: %v", topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			if r.Value == nil {
				got[string(r.Key)] = "<tombstone>"
			} else {
				got[string(r.Key)] = string(r.Value)
			}
			seen = max(seen, r.Offset)
		})
	}
	return got, n
}
