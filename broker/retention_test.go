package broker

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gregorlog/gregor/internal/testutil"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestRetentionThroughBroker: server.properties retention settings reach
// the engine, a topic's retention.bytes set by IncrementalAlterConfigs
// takes effect at the next pass of the background loop, ListOffsets
// earliest advances, and a consumer from the new start reads exactly the
// records that are left.
func TestRetentionThroughBroker(t *testing.T) {
	dir := t.TempDir()
	props := map[string]string{
		"log.retention.check.interval.ms": "50",
		"log.retention.hours":             "1000",
		"log.retention.bytes":             "-1",
		"log.cleanup.policy":              "delete",
		"log.segment.delete.delay.ms":     "100",
	}
	b, err := startBrokerIn(t, dir, props)
	if err != nil {
		t.Fatal(err)
	}
	ec := b.eng.Config()
	if ec.RetentionCheckIntervalMs != 50 || ec.RetentionMs != 1000*3600*1000 || ec.RetentionBytes != -1 || ec.CleanupPolicy != "delete" || ec.FileDeleteDelayMs != 100 {
		t.Fatalf("engine config %+v", ec)
	}
	adm := newAdmin(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, topic := range []string{"ret", "compacted"} {
		cfg := map[string]*string{"segment.bytes": ptr("1000")}
		if topic == "compacted" {
			cfg["cleanup.policy"] = ptr("compact")
			cfg["retention.bytes"] = ptr("0")
		}
		if r, err := adm.CreateTopic(ctx, 1, 1, cfg, topic); err != nil || r.Err != nil {
			t.Fatalf("create %s: %v %v", topic, err, r.Err)
		}
	}
	const n = 200
	val := func(i int) string { return fmt.Sprintf("value-%04d-%s", i, strings.Repeat("x", 80)) }
	prod := newClient(t, b, kgo.DefaultProduceTopic("ret"), kgo.ProducerLinger(0))
	for i := 0; i < n; i++ {
		for _, topic := range []string{"ret", "compacted"} {
			// Unique keys: a compacted topic refuses keyless records, and
			// the cleaner then has nothing to remove either.
			if err := prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("key-%04d", i)), Value: []byte(val(i))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	l, err := b.eng.Log("ret", 0)
	if err != nil {
		t.Fatal(err)
	}
	if segs := len(l.Segments()); segs < 10 {
		t.Fatalf("only %d segments", segs)
	}
	// retention.bytes -1 (the broker default): a pass deletes nothing.
	if del, err := b.eng.RunRetention(time.Now()); err != nil || len(del) != 0 {
		t.Fatalf("pass with no retention: %v %v", del, err)
	}

	ar, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.bytes", Value: ptr("3000")}}, "ret")
	if err != nil || ar[0].Err != nil {
		t.Fatalf("alter: %v %v", err, ar)
	}
	var start int64
	testutil.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		so, err := adm.ListStartOffsets(ctx, "ret")
		if err != nil {
			return err
		}
		o, _ := so.Lookup("ret", 0)
		if o.Err != nil {
			return o.Err
		}
		if o.Offset == 0 || l.Size() > 3000+1000 {
			return fmt.Errorf("earliest %d, size %d", o.Offset, l.Size())
		}
		start = o.Offset
		return nil
	})
	if l.Size() < 3000 {
		t.Fatalf("size %d below retention.bytes", l.Size())
	}
	if eo, _ := adm.ListEndOffsets(ctx, "ret"); eo["ret"][0].Offset != n {
		t.Fatalf("end offset %d", eo["ret"][0].Offset)
	}

	// A consumer from the earliest offset reads exactly [start, n).
	cons := newClient(t, b, kgo.ConsumeTopics("ret"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	next := start
	for next < n {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed up to %d: %v", next, err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			t.Fatalf("fetch: %v", errs)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset != next || string(r.Value) != val(int(r.Offset)) {
				t.Fatalf("record at %d (want %d): %q", r.Offset, next, r.Value)
			}
			next++
		})
	}

	// The compacted topic keeps everything despite retention.bytes=0.
	if so, _ := adm.ListStartOffsets(ctx, "compacted"); so["compacted"][0].Offset != 0 {
		t.Fatalf("compacted topic start %d", so["compacted"][0].Offset)
	}
	cl, _ := b.eng.Log("compacted", 0)
	if cl.LogStartOffset() != 0 || cl.TopicConfig().CleanupPolicy != "compact" {
		t.Fatalf("compacted: start %d, policy %q", cl.LogStartOffset(), cl.TopicConfig().CleanupPolicy)
	}
	// The renamed segments go after log.segment.delete.delay.ms.
	testutil.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		ents, err := os.ReadDir(l.Dir())
		if err != nil {
			return err
		}
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".deleted") {
				return fmt.Errorf("%s still there", e.Name())
			}
		}
		return nil
	})

	// After a restart the start offsets are the same, and the compacted
	// topic (whose log loads with the broker's delete default) keeps
	// everything through several passes.
	cons.Close()
	prod.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2, err := startBrokerIn(t, dir, props)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	adm2 := newAdmin(t, b2)
	cl2, _ := b2.eng.Log("compacted", 0)
	passes := 0
	testutil.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		if del, _ := b2.eng.RunRetention(time.Now()); len(del) != 0 {
			t.Fatalf("after restart deleted %v", del)
		}
		if passes++; passes < 5 {
			return fmt.Errorf("pass %d", passes)
		}
		return nil
	})
	so, err := adm2.ListStartOffsets(ctx, "ret", "compacted")
	if err != nil {
		t.Fatal(err)
	}
	if so["ret"][0].Offset != start || so["compacted"][0].Offset != 0 || cl2.LogStartOffset() != 0 {
		t.Fatalf("after restart: ret starts at %d (was %d), compacted at %d", so["ret"][0].Offset, start, so["compacted"][0].Offset)
	}
}
