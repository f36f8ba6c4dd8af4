package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorlog/gregor/engine/batch"
	"github.com/gregorlog/gregor/internal/testutil"
)

// t0 is the fake clock's start; batch timestamps are relative to it.
const t0 = 1_700_000_000_000

// oneBatchSegments is a topic config under which every batch of
// mkBatch(t, n, 20, ...) with n <= 3 gets a segment of its own.
func oneBatchSegments(tc TopicConfig) TopicConfig {
	tc.SegmentBytes = Ptr[int64](200)
	return tc
}

// mkBatchAt builds a 3-record batch whose records all carry timestamp
// ts, so its max timestamp is ts (-1: no timestamps).
func mkBatchAt(t testing.TB, ts int64, seed int) []byte {
	t.Helper()
	recs := make([]batch.Record, 3)
	for i := range recs {
		recs[i] = batch.Record{OffsetDelta: int32(i), Key: []byte(fmt.Sprintf("k%08d-%d", seed, i)), Value: bytes.Repeat([]byte{byte(seed)}, 20)}
	}
	b, err := batch.Build(batch.BuildOptions{BaseTimestamp: ts, ProducerID: batch.NoProducerID, ProducerEpoch: batch.NoProducerEpoch, BaseSequence: batch.NoSequence}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// segLog creates a log and appends one 3-record batch per timestamp, each
// in its own segment; the last one is the active segment.
func segLog(t *testing.T, m *Manager, topic string, tc TopicConfig, tss ...int64) *Log {
	t.Helper()
	l, err := m.CreateLog(topic, 0, oneBatchSegments(tc))
	if err != nil {
		t.Fatal(err)
	}
	for i, ts := range tss {
		appendT(t, l, mkBatchAt(t, ts, i))
	}
	if n := len(l.Segments()); n != len(tss) {
		t.Fatalf("%d segments for %d batches", n, len(tss))
	}
	return l
}

func bases(l *Log) []int64 {
	var out []int64
	for _, s := range l.Segments() {
		out = append(out, s.BaseOffset)
	}
	return out
}

func deletedBases(del []DeletedSegment) []int64 {
	var out []int64
	for _, d := range del {
		out = append(out, d.BaseOffset)
	}
	return out
}

func eq(a, b []int64) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func retentionManager(t *testing.T, mut func(*Config)) (*Manager, *fakeClock, Config) {
	t.Helper()
	clk := &fakeClock{t: time.UnixMilli(t0)}
	cfg := testConfig(t.TempDir())
	if mut != nil {
		mut(&cfg)
	}
	m := openT(t, cfg, Options{Clock: clk})
	t.Cleanup(func() { m.Close() })
	return m, clk, cfg
}

func TestRetentionTime(t *testing.T) {
	m, clk, _ := retentionManager(t, nil)
	l := segLog(t, m, "t", TopicConfig{RetentionMs: Ptr[int64](1000)},
		t0-5000, t0-4000, t0-3000, t0-1000, t0)
	want := readAll(t, l)

	// Segment 3 is exactly retention.ms old: Kafka deletes only when
	// now - largestTimestamp > retention.ms.
	del, err := m.RunRetention(clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !eq(deletedBases(del), []int64{0, 3, 6}) || !eq(bases(l), []int64{9, 12}) || l.LogStartOffset() != 9 {
		t.Fatalf("deleted %v, left %v, start %d", deletedBases(del), bases(l), l.LogStartOffset())
	}
	for _, d := range del {
		if d.Reason != ReasonRetentionMs || d.Topic != "t" || d.NextOffset != d.BaseOffset+3 || d.MaxTimestamp < 0 {
			t.Fatalf("%+v", d)
		}
	}
	if _, err := l.Read(8, 100, l.HighWatermark(), true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below the new start: %v", err)
	}
	if got := readAll(t, l); !equalBatches(got, want[3:]) {
		t.Fatal("remaining data differs")
	}
	if off, _, _ := l.OffsetForTimestamp(EarliestTimestamp); off != 9 {
		t.Fatalf("earliest %d", off)
	}

	// One ms later segment 3 goes too, then nothing until the active
	// segment expires: then the log rolls an empty segment at the end
	// and deletes the old active one (the log always keeps a segment).
	clk.add(time.Millisecond)
	del, _ = m.RunRetention(clk.Now())
	if !eq(deletedBases(del), []int64{9}) {
		t.Fatalf("deleted %v", deletedBases(del))
	}
	clk.add(999 * time.Millisecond)
	if del, _ := m.RunRetention(clk.Now()); len(del) != 0 {
		t.Fatalf("active segment at exactly retention.ms deleted: %v", del)
	}
	clk.add(time.Millisecond)
	del, _ = m.RunRetention(clk.Now())
	if !eq(deletedBases(del), []int64{12}) || !eq(bases(l), []int64{15}) {
		t.Fatalf("active roll: deleted %v, left %v", deletedBases(del), bases(l))
	}
	if l.LogStartOffset() != 15 || l.LogEndOffset() != 15 || l.HighWatermark() != 15 {
		t.Fatalf("start %d end %d hw %d", l.LogStartOffset(), l.LogEndOffset(), l.HighWatermark())
	}
	// The empty active segment is never deleted; appends carry on.
	clk.add(time.Hour)
	if del, _ := m.RunRetention(clk.Now()); len(del) != 0 {
		t.Fatalf("empty active segment deleted: %v", del)
	}
	if r := appendT(t, l, mkBatch(t, 3, 20, clk.Now().UnixMilli(), 9)); r.BaseOffset != 15 || r.LogStartOffset != 15 {
		t.Fatalf("append after full deletion: %+v", r)
	}
	if got := readAll(t, l); len(got) != 1 {
		t.Fatalf("%d batches", len(got))
	}
}

func equalBatches(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestRetentionTimeEdgeCases(t *testing.T) {
	m, clk, _ := retentionManager(t, func(c *Config) { c.RetentionMs = 1000 })

	// -1 keeps everything forever.
	forever := segLog(t, m, "forever", TopicConfig{RetentionMs: Ptr[int64](-1)}, 0, 1, 2)
	// A segment with timestamps in the future stops the deletion at it,
	// even though a later segment is old (Kafka deletes a prefix only).
	future := segLog(t, m, "future", TopicConfig{}, t0-10_000, t0+3_600_000, t0-10_000, t0)
	// Batches without timestamps (-1) are judged by the file's mtime.
	noTs := segLog(t, m, "nots", TopicConfig{}, -1, -1, -1)
	old := time.UnixMilli(t0 - 5000)
	for _, b := range []int64{0, 3} {
		if err := os.Chtimes(filepath.Join(noTs.Dir(), segmentName(b)+logSuffix), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(filepath.Join(noTs.Dir(), segmentName(6)+logSuffix), time.UnixMilli(t0), time.UnixMilli(t0)); err != nil {
		t.Fatal(err)
	}
	// The broker default (1000 ms) applies to topics without an override.
	del, err := m.RunRetention(clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]int64{}
	for _, d := range del {
		got[d.Topic] = append(got[d.Topic], d.BaseOffset)
	}
	if len(got["forever"]) != 0 || !eq(got["future"], []int64{0}) || !eq(got["nots"], []int64{0, 3}) {
		t.Fatalf("deleted %v", got)
	}
	if !eq(bases(forever), []int64{0, 3, 6}) || !eq(bases(future), []int64{3, 6, 9}) || !eq(bases(noTs), []int64{6}) {
		t.Fatalf("left %v %v %v", bases(forever), bases(future), bases(noTs))
	}
}

func TestRetentionSize(t *testing.T) {
	m, clk, _ := retentionManager(t, nil)
	tss := make([]int64, 10)
	for i := range tss {
		tss[i] = t0
	}
	l := segLog(t, m, "t", TopicConfig{}, tss...)
	segSize := l.Segments()[0].Size
	for _, s := range l.Segments() {
		if s.Size != segSize {
			t.Fatal("segments differ in size")
		}
	}
	// Delete while the log stays at least retention.bytes without the
	// segment: 10 segments, a limit of 3.5 leaves 4.
	if _, err := m.SetTopicConfig("t", oneBatchSegments(TopicConfig{RetentionBytes: Ptr(segSize * 7 / 2)})); err != nil {
		t.Fatal(err)
	}
	del, err := m.RunRetention(clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(del) != 6 || del[0].Reason != ReasonRetentionBytes || !eq(bases(l), []int64{18, 21, 24, 27}) {
		t.Fatalf("deleted %v, left %v", deletedBases(del), bases(l))
	}
	if l.Size() < segSize*7/2 {
		t.Fatalf("size %d below retention.bytes", l.Size())
	}
	// Exactly at the limit nothing goes.
	m.SetTopicConfig("t", oneBatchSegments(TopicConfig{RetentionBytes: Ptr(segSize * 4)}))
	if del, _ := m.RunRetention(clk.Now()); len(del) != 0 {
		t.Fatalf("deleted %v at the limit", deletedBases(del))
	}
	// Unlimited (-1, the default) deletes nothing.
	m.SetTopicConfig("t", oneBatchSegments(TopicConfig{}))
	if del, _ := m.RunRetention(clk.Now()); len(del) != 0 {
		t.Fatalf("deleted %v with retention.bytes -1", deletedBases(del))
	}
	// retention.bytes 0 empties the log, active segment included (after
	// rolling an empty one).
	m.SetTopicConfig("t", oneBatchSegments(TopicConfig{RetentionBytes: Ptr[int64](0)}))
	del, _ = m.RunRetention(clk.Now())
	if len(del) != 4 || !eq(bases(l), []int64{30}) || l.LogStartOffset() != 30 || l.Size() != 0 {
		t.Fatalf("deleted %v, left %v", deletedBases(del), bases(l))
	}
}

func TestRetentionHighWatermarkBound(t *testing.T) {
	clk := &fakeClock{t: time.UnixMilli(t0)}
	m := openT(t, testConfig(t.TempDir()), Options{Clock: clk, ManualHighWatermark: true})
	defer m.Close()
	l := segLog(t, m, "t", TopicConfig{RetentionMs: Ptr[int64](0)}, 1, 2, 3, 4)
	// Only segments wholly below the high watermark go.
	l.SetHighWatermark(5)
	del, _ := m.RunRetention(clk.Now())
	if !eq(deletedBases(del), []int64{0}) || l.LogStartOffset() != 3 {
		t.Fatalf("hw 5: deleted %v start %d", deletedBases(del), l.LogStartOffset())
	}
	l.SetHighWatermark(9)
	del, _ = m.RunRetention(clk.Now())
	if !eq(deletedBases(del), []int64{3, 6}) {
		t.Fatalf("hw 9: deleted %v", deletedBases(del))
	}
	// The active segment only once the high watermark reaches the end.
	l.SetHighWatermark(11)
	if del, _ := m.RunRetention(clk.Now()); len(del) != 0 {
		t.Fatalf("hw 11: deleted %v", deletedBases(del))
	}
	l.SetHighWatermark(12)
	if del, _ := m.RunRetention(clk.Now()); !eq(deletedBases(del), []int64{9}) || l.LogStartOffset() != 12 {
		t.Fatalf("hw 12: deleted %v", deletedBases(del))
	}
}

func TestCleanupPolicy(t *testing.T) {
	for _, tc := range []struct {
		policy  string
		deletes bool
	}{
		{"", true}, // the broker default: delete
		{"delete", true},
		{"compact", false},
		{"compact,delete", true},
		{"delete, compact", true},
		{"compact,compact", false},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			m, clk, _ := retentionManager(t, nil)
			l := segLog(t, m, "t", TopicConfig{CleanupPolicy: tc.policy, RetentionMs: Ptr[int64](1000), RetentionBytes: Ptr[int64](0)}, 1, 2, 3)
			del, err := m.RunRetention(clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			if got := len(del) > 0; got != tc.deletes {
				t.Fatalf("policy %q deleted %v", tc.policy, deletedBases(del))
			}
			if !tc.deletes {
				// Segments below the log start offset go under every
				// policy (set directly: DeleteRecords deletes at once).
				l.logStart.Store(4)
				del, _ = m.RunRetention(clk.Now())
				if !eq(deletedBases(del), []int64{0}) || del[0].Reason != ReasonLogStart || l.LogStartOffset() != 4 {
					t.Fatalf("log start breach under %q: %v", tc.policy, del)
				}
			}
		})
	}
	// The broker default applies to topics without their own policy.
	m, clk, _ := retentionManager(t, func(c *Config) { c.CleanupPolicy = "compact" })
	segLog(t, m, "t", TopicConfig{RetentionMs: Ptr[int64](0)}, 1, 2)
	if del, _ := m.RunRetention(clk.Now()); len(del) != 0 {
		t.Fatalf("log.cleanup.policy=compact deleted %v", del)
	}
	m.SetTopicConfig("t", oneBatchSegments(TopicConfig{RetentionMs: Ptr[int64](0), CleanupPolicy: "delete"}))
	if del, _ := m.RunRetention(clk.Now()); len(del) != 2 {
		t.Fatalf("topic cleanup.policy=delete over a compact default deleted %v", del)
	}
}

func TestCleanupPolicyValidation(t *testing.T) {
	for _, bad := range []string{"compact;delete", "delete,", "Delete", "none", ","} {
		if _, _, err := parseCleanupPolicy(bad, "cleanup.policy"); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "cleanup.policy") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	cfg := testConfig(t.TempDir())
	cfg.CleanupPolicy = "delete,bogus"
	if _, err := Open(cfg, Options{}); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "log.cleanup.policy") {
		t.Fatalf("Open: %v", err)
	}
	for _, mut := range []func(*Config){
		func(c *Config) { c.RetentionMs = -2 },
		func(c *Config) { c.RetentionCheckIntervalMs = 0 },
		func(c *Config) { c.FileDeleteDelayMs = -1 },
	} {
		cfg := testConfig(t.TempDir())
		mut(&cfg)
		if _, err := Open(cfg, Options{}); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("Open: %v", err)
		}
	}
	m, _, _ := retentionManager(t, nil)
	if _, err := m.CreateLog("t", 0, TopicConfig{CleanupPolicy: "compaction"}); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), `cleanup.policy "compaction"`) {
		t.Fatalf("CreateLog: %v", err)
	}
	m.CreateLog("t", 0, TopicConfig{})
	if _, err := m.SetTopicConfig("t", TopicConfig{CleanupPolicy: "delete compact"}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("SetTopicConfig: %v", err)
	}
	if _, err := m.SetTopicConfig("t", TopicConfig{RetentionMs: Ptr[int64](-5)}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("SetTopicConfig retention.ms -5: %v", err)
	}
}

// segFiles lists the partition dir's files, sorted.
func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestDeletedFilesRemovedAfterDelay(t *testing.T) {
	m, clk, cfg := retentionManager(t, func(c *Config) { c.FileDeleteDelayMs = 60_000 })
	l := segLog(t, m, "t", TopicConfig{RetentionMs: Ptr[int64](3_600_000)}, t0-7_200_000, t0-7_200_000, t0)
	// A producer snapshot at a deleted segment's base goes with it.
	snap := filepath.Join(l.Dir(), segmentName(3)+snapshotSuffix)
	if err := os.WriteFile(snap, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := m.RunRetention(clk.Now()); err != nil {
		t.Fatal(err)
	}
	renamed := []string{
		segmentName(0) + logSuffix + deletedSuffix, segmentName(0) + indexSuffix + deletedSuffix, segmentName(0) + timeIndexSuffix + deletedSuffix,
		segmentName(3) + logSuffix + deletedSuffix, segmentName(3) + indexSuffix + deletedSuffix, segmentName(3) + snapshotSuffix + deletedSuffix,
		segmentName(3) + timeIndexSuffix + deletedSuffix,
	}
	live := []string{segmentName(6) + indexSuffix, segmentName(6) + logSuffix, segmentName(6) + timeIndexSuffix}
	if got := segFiles(t, l.Dir()); !sameStrings(got, append(append([]string(nil), renamed...), live...)) {
		t.Fatalf("after the pass: %v", got)
	}
	clk.add(59 * time.Second)
	m.RunRetention(clk.Now())
	if got := segFiles(t, l.Dir()); len(got) != len(renamed)+len(live) {
		t.Fatalf("removed before file.delete.delay.ms: %v", got)
	}
	clk.add(time.Second)
	m.RunRetention(clk.Now())
	if got := segFiles(t, l.Dir()); !sameStrings(got, live) {
		t.Fatalf("after file.delete.delay.ms: %v", got)
	}
	if n := m.deleter.pendingCount(); n != 0 {
		t.Fatalf("%d removals pending", n)
	}

	// Restart with removals pending: Open removes the leftovers.
	l2 := segLog(t, m, "u", TopicConfig{RetentionBytes: Ptr[int64](0)}, 1, 2, 3)
	m.RunRetention(clk.Now())
	if got := segFiles(t, l2.Dir()); len(got) != 12 {
		t.Fatalf("before restart: %v", got)
	}
	m.Close()
	m = openT(t, cfg, Options{Clock: clk})
	defer m.Close()
	l2, _ = m.Log("u", 0)
	if got := segFiles(t, l2.Dir()); !sameStrings(got, []string{segmentName(9) + indexSuffix, segmentName(9) + logSuffix, segmentName(9) + timeIndexSuffix}) {
		t.Fatalf("after restart: %v", got)
	}
	if l2.LogStartOffset() != 9 || l2.LogEndOffset() != 9 {
		t.Fatalf("after restart: start %d end %d", l2.LogStartOffset(), l2.LogEndOffset())
	}

	// With the wall clock the manager's own deleter removes them.
	cfg2 := testConfig(t.TempDir())
	cfg2.FileDeleteDelayMs = 50
	m2 := openT(t, cfg2, Options{})
	defer m2.Close()
	l3 := segLog(t, m2, "t", TopicConfig{RetentionBytes: Ptr[int64](0)}, 1, 2)
	if _, err := l3.DeleteOldSegments(time.Now()); err != nil {
		t.Fatal(err)
	}
	testutil.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if got := segFiles(t, l3.Dir()); len(got) != 3 {
			return fmt.Errorf("files %v", got)
		}
		return nil
	})
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestRetentionLogStartCheckpoint(t *testing.T) {
	m, clk, cfg := retentionManager(t, func(c *Config) { c.FileDeleteDelayMs = 60_000 })
	tss := make([]int64, 10)
	for i := range tss {
		tss[i] = t0
	}
	l := segLog(t, m, "t", TopicConfig{}, tss...)
	cp := filepath.Join(cfg.Dirs[0], logStartCheckpoint)
	if _, err := l.DeleteRecordsBefore(4); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(cp); string(b) != "0\n1\nt 0 4\n" {
		t.Fatalf("checkpoint %q", b)
	}
	segSize := l.Segments()[0].Size
	m.SetTopicConfig("t", oneBatchSegments(TopicConfig{RetentionBytes: Ptr(segSize * 3)}))
	del, err := m.RunRetention(clk.Now())
	if err != nil || len(del) != 6 || l.LogStartOffset() != 21 {
		t.Fatalf("deleted %v start %d: %v", deletedBases(del), l.LogStartOffset(), err)
	}
	// Kafka lists only logs whose start is past their first segment.
	if b, _ := os.ReadFile(cp); string(b) != "0\n0\n" {
		t.Fatalf("checkpoint after retention %q", b)
	}
	if _, err := l.DeleteRecordsBefore(23); err != nil {
		t.Fatal(err)
	}
	// A crash leaves the renamed segments and the checkpoint behind.
	m.crash()
	m = openT(t, cfg, Options{Clock: clk})
	defer m.Close()
	l, _ = m.Log("t", 0)
	if l.LogStartOffset() != 23 || !eq(bases(l), []int64{21, 24, 27}) || l.LogEndOffset() != 30 {
		t.Fatalf("after crash: start %d, segments %v, end %d", l.LogStartOffset(), bases(l), l.LogEndOffset())
	}
	for _, f := range segFiles(t, l.Dir()) {
		if strings.HasSuffix(f, deletedSuffix) {
			t.Fatalf("leftover %s", f)
		}
	}
	// Retention after the restart finds the reloaded state.
	m.SetTopicConfig("t", oneBatchSegments(TopicConfig{RetentionBytes: Ptr(segSize)}))
	if del, _ := m.RunRetention(clk.Now()); !eq(deletedBases(del), []int64{21, 24}) || l.LogStartOffset() != 27 {
		t.Fatalf("after restart deleted %v, start %d", deletedBases(del), l.LogStartOffset())
	}
}

// TestDeferRetention: with Options.DeferRetention a log loaded from disk
// gets time and size retention only once SetTopicConfig has told it its
// topic's policy; the broker-wide delete default never judges it first.
func TestDeferRetention(t *testing.T) {
	clk := &fakeClock{t: time.UnixMilli(t0)}
	cfg := testConfig(t.TempDir())
	cfg.RetentionMs = 1000
	m := openT(t, cfg, Options{Clock: clk, DeferRetention: true})
	// A log made by CreateLog knows its configuration.
	segLog(t, m, "fresh", TopicConfig{}, t0-5000, t0)
	segLog(t, m, "offsets", TopicConfig{CleanupPolicy: "compact"}, t0-5000, t0)
	if del, _ := m.RunRetention(clk.Now()); !eq(deletedBases(del), []int64{0}) || del[0].Topic != "fresh" {
		t.Fatalf("deleted %v", del)
	}
	m.Close()
	m = openT(t, cfg, Options{Clock: clk, DeferRetention: true})
	defer m.Close()
	l, _ := m.Log("offsets", 0)
	if del, _ := m.RunRetention(clk.Now()); len(del) != 0 {
		t.Fatalf("judged by the broker default before SetTopicConfig: %v", del)
	}
	m.SetTopicConfig("offsets", oneBatchSegments(TopicConfig{CleanupPolicy: "compact"}))
	if del, _ := m.RunRetention(clk.Now()); len(del) != 0 {
		t.Fatalf("compacted topic: %v", del)
	}
	// The log start breach applies regardless.
	l.logStart.Store(3)
	if del, _ := m.RunRetention(clk.Now()); !eq(deletedBases(del), []int64{0}) {
		t.Fatalf("log start breach: %v", del)
	}
	m.SetTopicConfig("fresh", oneBatchSegments(TopicConfig{}))
	clk.add(time.Hour)
	if del, _ := m.RunRetention(clk.Now()); !eq(deletedBases(del), []int64{3}) || del[0].Topic != "fresh" {
		t.Fatalf("after SetTopicConfig: %v", del)
	}
}

// TestRetentionBackgroundLoop drives the manager's own scheduler.
func TestRetentionBackgroundLoop(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.RetentionCheckIntervalMs = 20
	cfg.RetentionBytes = 0
	var logged atomic.Int64
	m := openT(t, cfg, Options{Logf: func(f string, a ...any) {
		if strings.Contains(fmt.Sprintf(f, a...), "retention.bytes breach") {
			logged.Add(1)
		}
	}})
	defer m.Close()
	l := segLog(t, m, "t", TopicConfig{}, 1, 2, 3)
	testutil.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if l.LogStartOffset() != 9 || logged.Load() == 0 {
			return fmt.Errorf("log start %d, logged %d", l.LogStartOffset(), logged.Load())
		}
		return nil
	})
}

// TestReadInterleavedWithRetention runs a retention pass at each point
// inside Log.Read where a reader holds no lock: a read of an offset that
// the pass deletes is ErrOffsetOutOfRange, never the next surviving batch
// and never an I/O error; an offset that survives reads normally.
func TestReadInterleavedWithRetention(t *testing.T) {
	for _, delay := range []int64{0, 60_000} {
		for stage := 0; stage < 2; stage++ {
			t.Run(fmt.Sprintf("delay=%d/stage=%d", delay, stage), func(t *testing.T) {
				m, clk, _ := retentionManager(t, func(c *Config) { c.FileDeleteDelayMs = delay })
				l := segLog(t, m, "t", TopicConfig{RetentionMs: Ptr[int64](1000)}, t0-5000, t0, t0)
				want := readAll(t, l)
				ran := false
				testHookRead = func(s int) {
					if s == stage && !ran {
						ran = true
						if del, err := m.RunRetention(clk.Now()); err != nil || len(del) != 1 {
							t.Errorf("pass in Read: %v %v", del, err)
						}
					}
				}
				defer func() { testHookRead = nil }()
				for _, fn := range []func() error{
					func() error { _, err := l.ReadCopy(1, 1000, l.HighWatermark(), true); return err },
					func() error {
						r, err := l.Read(1, 1000, l.HighWatermark(), true)
						r.Release()
						return err
					},
				} {
					ran = false
					if err := fn(); !errors.Is(err, ErrOffsetOutOfRange) {
						t.Fatalf("read of a deleted offset: %v", err)
					}
					if !ran {
						t.Fatal("hook did not run")
					}
					// Put the deleted segment back for the next reader:
					// rebuild the log.
					m.DeleteLog("t", 0)
					l = segLog(t, m, "t", TopicConfig{RetentionMs: Ptr[int64](1000)}, t0-5000, t0, t0)
				}
				ran = false
				b, err := l.ReadCopy(4, 1000, l.HighWatermark(), true)
				if err != nil || !bytes.HasPrefix(b, want[1]) {
					t.Fatalf("surviving offset: %v", err)
				}
			})
		}
	}
}

// TestReadsDuringRetention: readers racing retention (files unlinked at
// once) get whole, CRC-valid batches holding the offset they asked for,
// or a clean ErrOffsetOutOfRange; never garbage, never another error. A
// Region taken before its segment is deleted stays readable.
func TestReadsDuringRetention(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.MaxOpenSegments = 16 // evictions too
	clk := &fakeClock{t: time.UnixMilli(t0)}
	m := openT(t, cfg, Options{Clock: clk})
	defer m.Close()
	l, err := m.CreateLog("t", 0, oneBatchSegments(TopicConfig{RetentionBytes: Ptr[int64](2000)}))
	if err != nil {
		t.Fatal(err)
	}
	const batches = 1000
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads, outOfRange atomic.Int64
	checkBatches := func(b []byte, off int64) error {
		first := true
		for len(b) > 0 {
			h, n, err := batch.Next(b)
			if errors.Is(err, batch.ErrTruncated) && !first {
				return nil
			}
			if err != nil {
				return fmt.Errorf("offset %d: %v", off, err)
			}
			if err := batch.CheckCRC(b[:n]); err != nil {
				return fmt.Errorf("offset %d: corrupt batch at %d: %v", off, h.BaseOffset, err)
			}
			if first && (h.BaseOffset > off || h.LastOffset() < off) {
				return fmt.Errorf("offset %d: got batch [%d, %d]", off, h.BaseOffset, h.LastOffset())
			}
			first = false
			b = b[n:]
		}
		return nil
	}
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for !stop.Load() {
				ls, hw := l.LogStartOffset(), l.HighWatermark()
				if hw <= ls {
					continue
				}
				// Mostly the oldest offsets: those are the ones deleted.
				off := ls + rng.Int64N(min(hw-ls, 12))
				var b []byte
				var err error
				if r%2 == 0 {
					b, err = l.ReadCopy(off, 500, hw, true)
				} else {
					var reg Region
					reg, err = l.Read(off, 500, hw, true)
					if err == nil && reg.Len > 0 {
						b = make([]byte, reg.Len)
						_, err = reg.File.ReadAt(b, reg.Pos)
						reg.Release()
					}
				}
				switch {
				case errors.Is(err, ErrOffsetOutOfRange):
					outOfRange.Add(1)
				case err != nil:
					t.Errorf("read %d: %v", off, err)
					return
				case len(b) == 0:
					t.Errorf("read %d: empty below hw %d", off, hw)
					return
				default:
					if err := checkBatches(b, off); err != nil {
						t.Error(err)
						return
					}
					reads.Add(1)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if _, err := m.RunRetention(clk.Now()); err != nil {
				t.Errorf("retention: %v", err)
				return
			}
			runtime.Gosched() // let the appender at the lock
		}
	}()
	var held []Region
	for i := 0; i < batches; i++ {
		appendT(t, l, mkBatchAt(t, t0, i))
		if i%100 == 0 {
			r, err := l.Read(l.LogStartOffset(), 1000, l.HighWatermark(), true)
			if err == nil && r.Len > 0 {
				held = append(held, r)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	if _, err := m.RunRetention(clk.Now()); err != nil {
		t.Fatal(err)
	}
	for _, r := range held {
		b := make([]byte, r.Len)
		if _, err := r.File.ReadAt(b, r.Pos); err != nil {
			t.Fatalf("held region: %v", err)
		}
		if err := checkBatches(b, r.BaseOffset); err != nil {
			t.Fatalf("held region: %v", err)
		}
		r.Release()
	}
	if l.LogStartOffset() == 0 || l.Size() > 2000+200 {
		t.Fatalf("retention did not keep up: start %d size %d", l.LogStartOffset(), l.Size())
	}
	t.Logf("%d reads, %d out of range, %d held regions", reads.Load(), outOfRange.Load(), len(held))
}
