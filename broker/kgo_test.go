package broker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/internal/testutil"
)

func TestProduceConsumeKgo(t *testing.T) {
	b := startBroker(t, nil)
	adm := newAdmin(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "events"); err != nil {
		t.Fatal(err)
	}
	prod := newClient(t, b, kgo.DefaultProduceTopic("events"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	const n = 300
	for i := range n {
		prod.Produce(ctx, kgo.StringRecord(fmt.Sprintf("v%d", i)), func(r *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := prod.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cons := newClient(t, b, kgo.ConsumeTopics("events"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := map[string]bool{}
	for len(seen) < n && ctx.Err() == nil {
		fs := cons.PollFetches(ctx)
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
	if len(seen) != n {
		t.Fatalf("consumed %d distinct records, want %d", len(seen), n)
	}
	// ListOffsets: earliest 0, latest = sum of partitions = n.
	ends, err := adm.ListEndOffsets(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	ends.Each(func(o kadmListed) { total += o.Offset })
	if total != n {
		t.Fatalf("end offsets sum %d, want %d", total, n)
	}
	if got := b.Metrics().SendfileBytes.Load(); got == 0 {
		t.Fatalf("no fetch bytes went out by sendfile")
	}
	// Delete the topic; producing to it fails afterwards.
	if _, err := adm.DeleteTopic(ctx, "events"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "events"); err != nil {
		t.Fatalf("recreate: %v", err)
	}
	_, err = adm.CreateTopic(ctx, 1, 1, nil, "events")
	if err == nil || !errorsIs(err, kerr.TopicAlreadyExists) {
		t.Fatalf("create twice: %v", err)
	}
}

// TestAcksZeroAndOne: fire-and-forget and leader-only acknowledgements
// both land every record.
func TestAcksZeroAndOne(t *testing.T) {
	b := startBroker(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := newAdmin(t, b).CreateTopic(ctx, 1, 1, nil, "acks"); err != nil {
		t.Fatal(err)
	}
	for _, acks := range []kgo.Acks{kgo.NoAck(), kgo.LeaderAck()} {
		p := newClient(t, b, kgo.DefaultProduceTopic("acks"), kgo.RequiredAcks(acks), kgo.DisableIdempotentWrite())
		for i := range 100 {
			p.Produce(ctx, kgo.StringRecord(fmt.Sprint(i)), nil)
		}
		if err := p.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	l, _ := b.Engine().Log("acks", 0)
	testutil.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if n := l.HighWatermark(); n != 200 {
			return fmt.Errorf("high watermark %d, want 200", n)
		}
		return nil
	})
}
