package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorlog/gregor/engine/batch"
	"github.com/gregorlog/gregor/engine/checkpoint"
)

// cleanerTestConfig has no background cleaner: tests drive CleanOnce.
func cleanerTestConfig(dir string) Config {
	c := testConfig(dir)
	c.Cleaner.Enable = false
	c.Cleaner.DedupeBufferSize = 1 << 20
	return c
}

func compactTopic(segBytes int64) TopicConfig {
	return TopicConfig{CleanupPolicy: "compact", SegmentBytes: Ptr(segBytes), MinCleanableRatio: Ptr(0.0)}
}

// kv is one record as read back.
type kv struct {
	off   int64
	key   string
	value []byte // nil: tombstone
}

// keyedBatch builds a batch of the given records with codec c and
// producer fields.
func keyedBatch(t testing.TB, c batch.Codec, ts int64, pid int64, recs []kv) []byte {
	t.Helper()
	rs := make([]batch.Record, len(recs))
	for i, r := range recs {
		var k []byte
		if r.key != "" {
			k = []byte(r.key)
		}
		rs[i] = batch.Record{OffsetDelta: int32(i), TimestampDelta: int64(i), Key: k, Value: r.value}
		if k != nil {
			rs[i].Headers = []batch.RecordHeader{{Key: "key-copy", Value: k}}
		}
	}
	opts := batch.BuildOptions{Codec: c, BaseTimestamp: ts, ProducerID: batch.NoProducerID, ProducerEpoch: batch.NoProducerEpoch, BaseSequence: batch.NoSequence}
	if pid >= 0 {
		opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = pid, 7, int32(ts%1000)
	}
	b, err := batch.Build(opts, rs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readRecords reads the whole log (CRC-checked by readAll) and decodes
// every record, checking offsets strictly increase.
func readRecords(t testing.TB, l *Log) ([]kv, []batch.Header) {
	t.Helper()
	var out []kv
	var hs []batch.Header
	last := int64(-1)
	for _, b := range readAll(t, l) {
		h, _, err := batch.Next(b)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
		recs, err := batch.Records(b, 64<<20)
		if err != nil {
			t.Fatalf("batch at %d: %v", h.BaseOffset, err)
		}
		for _, r := range recs {
			off := h.BaseOffset + int64(r.OffsetDelta)
			if off <= last || off > h.LastOffset() {
				t.Fatalf("offset %d after %d (batch [%d, %d])", off, last, h.BaseOffset, h.LastOffset())
			}
			last = off
			if r.Key != nil && (len(r.Headers) != 1 || r.Headers[0].Key != "key-copy" || !bytes.Equal(r.Headers[0].Value, r.Key)) {
				t.Fatalf("record %d lost its header: %+v", off, r.Headers)
			}
			var v []byte
			if r.Value != nil {
				v = bytes.Clone(r.Value)
			}
			out = append(out, kv{off: off, key: string(r.Key), value: v})
		}
	}
	return out, hs
}

type cleanerWorkload struct {
	r       *rand.Rand
	keys    int
	model   map[string][]byte // latest value; nil value = tombstone
	headers map[int64]batch.Header
	ts      int64
	// noTombstones: appendRound writes values only.
	noTombstones bool
}

var allCodecs = []batch.Codec{batch.CodecNone, batch.CodecGzip, batch.CodecSnappy, batch.CodecLZ4, batch.CodecZstd}

// appendRound appends n random batches: 1-6 records, random keys, 10%
// tombstones, every codec, a few producer ids.
func (w *cleanerWorkload) appendRound(t testing.TB, l *Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		nr := 1 + w.r.IntN(6)
		recs := make([]kv, nr)
		for j := range recs {
			k := fmt.Sprintf("key-%05d", w.r.IntN(w.keys))
			var v []byte
			if w.r.IntN(10) != 0 || w.noTombstones {
				v = []byte(fmt.Sprintf("v-%d-%d-%s", i, j, strings.Repeat("x", w.r.IntN(60))))
			}
			recs[j] = kv{key: k, value: v}
		}
		w.ts++
		pid := int64(w.r.IntN(4)) - 1 // -1: no producer
		b := keyedBatch(t, allCodecs[w.r.IntN(len(allCodecs))], w.ts, pid, recs)
		res := appendT(t, l, b)
		h, _, _ := batch.Next(b)
		h.BaseOffset = res.BaseOffset
		w.headers[res.BaseOffset] = h
		for _, r := range recs {
			w.model[r.key] = r.value
		}
	}
}

// check verifies the log against the model: the last record of every key
// is the model's value (tombstoned keys: a tombstone or nothing, nothing
// at all when expired); below cleanedEnd each key appears at most once;
// every batch keeps its original header fields.
func (w *cleanerWorkload) check(t testing.TB, l *Log, cleanedEnd int64, tombstonesGone bool) {
	t.Helper()
	recs, hs := readRecords(t, l)
	last := map[string]kv{}
	seenClean := map[string]bool{}
	for _, r := range recs {
		if r.key == "" {
			t.Fatalf("keyless record at %d survived", r.off)
		}
		last[r.key] = r
		if r.off < cleanedEnd {
			if seenClean[r.key] {
				t.Fatalf("key %s twice in the cleaned section (second at %d, end %d)", r.key, r.off, cleanedEnd)
			}
			seenClean[r.key] = true
		}
	}
	for k, v := range w.model {
		got, ok := last[k]
		switch {
		case v != nil && (!ok || !bytes.Equal(got.value, v)):
			t.Fatalf("key %s: model %q, log %q (present %v)", k, v, got.value, ok)
		case v == nil && ok && got.value != nil:
			t.Fatalf("key %s: deleted in the model, log has %q at %d", k, got.value, got.off)
		case v == nil && ok && tombstonesGone && got.off < cleanedEnd:
			t.Fatalf("key %s: tombstone at %d outlived delete.retention.ms", k, got.off)
		}
	}
	for k := range last {
		if _, ok := w.model[k]; !ok {
			t.Fatalf("key %s not in the model", k)
		}
	}
	for _, h := range hs {
		o, ok := w.headers[h.BaseOffset]
		if !ok {
			t.Fatalf("batch at %d does not start where an appended batch did", h.BaseOffset)
		}
		if h.ProducerID != o.ProducerID || h.ProducerEpoch != o.ProducerEpoch || h.BaseSequence != o.BaseSequence ||
			h.PartitionLeaderEpoch != o.PartitionLeaderEpoch || h.MaxTimestamp != o.MaxTimestamp || h.LastOffsetDelta != o.LastOffsetDelta {
			t.Fatalf("batch at %d: header %+v, appended %+v", h.BaseOffset, h, o)
		}
		if h.NumRecords > 0 && h.Codec() != o.Codec() {
			t.Fatalf("batch at %d: codec %v, appended %v", h.BaseOffset, h.Codec(), o.Codec())
		}
		if _, hz := h.DeleteHorizonMs(); !hz && h.NumRecords > 0 && h.BaseTimestamp != o.BaseTimestamp {
			t.Fatalf("batch at %d: base timestamp %d, appended %d", h.BaseOffset, h.BaseTimestamp, o.BaseTimestamp)
		}
	}
}

func cleanAll(t testing.TB, m *Manager, now time.Time) (int64, int) {
	t.Helper()
	var end int64 = -1
	n := 0
	for i := 0; i < 50; i++ {
		st, ok, err := m.CleanOnce(now)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return end, n
		}
		end = st.EndOffset
		n++
	}
	t.Fatal("cleaner never settled")
	return 0, 0
}

func TestCleanerModel(t *testing.T) {
	for _, tc := range []struct {
		seed     uint64
		keys     int
		mapBytes int64
	}{
		{1, 50, 1 << 20},
		{2, 400, 1 << 20},
		{3, 3000, 1 << 14}, // the map fills: several partial cleanings
	} {
		t.Run(fmt.Sprint(tc.seed), func(t *testing.T) {
			dir := t.TempDir()
			cfg := cleanerTestConfig(dir)
			cfg.Cleaner.DedupeBufferSize = tc.mapBytes
			cfg.IndexIntervalBytes = 512
			clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
			m := openT(t, cfg, Options{Clock: clk})
			defer func() { m.Close() }()
			tcfg := compactTopic(4096)
			tcfg.DeleteRetentionM = Ptr[int64](3600_000)
			l, err := m.CreateLog("c", 0, tcfg)
			if err != nil {
				t.Fatal(err)
			}
			w := &cleanerWorkload{r: rand.New(rand.NewPCG(tc.seed, 99)), keys: tc.keys, model: map[string][]byte{}, headers: map[int64]batch.Header{}}
			var end int64
			for round := 0; round < 4; round++ {
				w.appendRound(t, l, 150)
				e, n := cleanAll(t, m, clk.Now())
				if n == 0 {
					t.Fatalf("round %d: nothing cleaned", round)
				}
				end = e
				w.check(t, l, end, false)
				clk.add(time.Minute)
			}
			// Restart in the middle: the checkpoint survives.
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			m = openT(t, cfg, Options{Clock: clk})
			if _, err := m.SetTopicConfig("c", tcfg); err != nil {
				t.Fatal(err)
			}
			l, _ = m.Log("c", 0)
			if got, ok := m.CleanerFirstDirtyOffset("c", 0); !ok || got != end {
				t.Fatalf("checkpoint after restart %d %v, want %d", got, ok, end)
			}
			w.check(t, l, end, false)
			// Past delete.retention.ms every stamped tombstone goes: stamp
			// them all, append without tombstones, clean after the horizon.
			w.appendRound(t, l, 60)
			w.noTombstones = true
			w.appendRound(t, l, 60) // seals the last tombstones
			cleanAll(t, m, clk.Now())
			clk.add(2 * time.Hour)
			w.appendRound(t, l, 60)
			end, _ = cleanAll(t, m, clk.Now())
			w.check(t, l, end, true)
			w.check(t, l, end, false)
		})
	}
}

// TestCleanerTombstoneHorizon: a tombstone survives the cleaning that
// stamps it and every cleaning before its delete horizon, and is dropped
// by the first cleaning after it (KIP-534).
func TestCleanerTombstoneHorizon(t *testing.T) {
	cfg := cleanerTestConfig(t.TempDir())
	clk := &fakeClock{t: time.UnixMilli(1_700_000_000_000)}
	m := openT(t, cfg, Options{Clock: clk})
	defer m.Close()
	tcfg := compactTopic(300)
	tcfg.DeleteRetentionM = Ptr[int64](1000)
	l, _ := m.CreateLog("c", 0, tcfg)
	put := func(k string, v []byte) {
		appendT(t, l, keyedBatch(t, batch.CodecLZ4, clk.Now().UnixMilli(), -1, []kv{{key: k, value: v}, {key: "filler-" + k, value: bytes.Repeat([]byte("f"), 200)}}))
	}
	put("a", []byte("1"))
	put("b", []byte("2"))
	put("a", nil)
	put("c", []byte("3"))
	put("d", []byte("4"))
	cleanAll(t, m, clk.Now())
	has := func(k string) (bool, bool) {
		recs, _ := readRecords(t, l)
		for _, r := range recs {
			if r.key == k {
				return true, r.value == nil
			}
		}
		return false, false
	}
	if ok, tomb := has("a"); !ok || !tomb {
		t.Fatalf("tombstone for a: present %v tombstone %v", ok, tomb)
	}
	clk.add(500 * time.Millisecond)
	put("e", []byte("5"))
	put("f", []byte("6"))
	cleanAll(t, m, clk.Now())
	if ok, _ := has("a"); !ok {
		t.Fatal("tombstone dropped before delete.retention.ms")
	}
	clk.add(time.Second)
	put("g", []byte("7"))
	put("h", []byte("8"))
	cleanAll(t, m, clk.Now())
	if ok, _ := has("a"); ok {
		t.Fatal("tombstone kept past its delete horizon")
	}
}

func TestCleanerDropsKeylessAndKeepsProducerTail(t *testing.T) {
	cfg := cleanerTestConfig(t.TempDir())
	m := openT(t, cfg, Options{})
	defer m.Close()
	// Keyless records get in while the topic is not compacted yet.
	l, _ := m.CreateLog("c", 0, TopicConfig{SegmentBytes: Ptr[int64](200)})
	appendT(t, l, keyedBatch(t, batch.CodecNone, 1, 5, []kv{{key: "k", value: []byte("old")}, {key: "", value: []byte("nokey")}}))
	if _, err := m.SetTopicConfig("c", compactTopic(200)); err != nil {
		t.Fatal(err)
	}
	appendT(t, l, keyedBatch(t, batch.CodecGzip, 2, -1, []kv{{key: "k", value: []byte("new")}, {key: "x", value: bytes.Repeat([]byte("p"), 300)}}))
	appendT(t, l, keyedBatch(t, batch.CodecNone, 3, -1, []kv{{key: "z", value: bytes.Repeat([]byte("p"), 300)}}))
	cleanAll(t, m, time.Now())
	recs, hs := readRecords(t, l)
	for _, r := range recs {
		if r.key == "" || string(r.value) == "old" {
			t.Fatalf("record %+v survived", r)
		}
	}
	// Producer 5's only batch is kept, empty, with its offset range.
	if hs[0].BaseOffset != 0 || hs[0].NumRecords != 0 || hs[0].ProducerID != 5 || hs[0].LastOffsetDelta != 1 {
		t.Fatalf("first batch %+v, want producer 5's empty batch [0, 1]", hs[0])
	}
}

// TestCleanerCrashAtEverySwapStep stops the cleaner dead after each step
// of the swap, reopens the dir without a clean shutdown and requires
// exactly the pre-clean or the post-clean records.
func TestCleanerCrashAtEverySwapStep(t *testing.T) {
	build := func(dir string) (*Manager, *Log) {
		cfg := cleanerTestConfig(dir)
		m := openT(t, cfg, Options{})
		l, err := m.Log("c", 0)
		if err != nil {
			l, _ = m.CreateLog("c", 0, compactTopic(1024))
			w := &cleanerWorkload{r: rand.New(rand.NewPCG(7, 7)), keys: 20, model: map[string][]byte{}, headers: map[int64]batch.Header{}}
			w.appendRound(t, l, 60)
		}
		// Bigger segments now, so the sealed ones form one group.
		if _, err := m.SetTopicConfig("c", compactTopic(1<<20)); err != nil {
			t.Fatal(err)
		}
		return m, l
	}
	// Reference run.
	refDir := t.TempDir()
	m, l := build(refDir)
	pre, _ := readRecords(t, l)
	steps := 0
	m.cleaners.hook = func(string) error { steps++; return nil }
	st, ok, err := m.CleanOnce(time.Now())
	if err != nil || !ok || st.Groups != 1 || st.SegmentsBefore < 3 {
		t.Fatalf("reference clean: %+v %v %v", st, ok, err)
	}
	post, _ := readRecords(t, l)
	m.Close()
	if len(post) >= len(pre) {
		t.Fatalf("cleaning removed nothing: %d -> %d records", len(pre), len(post))
	}
	if steps < 2+3+3+1 {
		t.Fatalf("only %d steps", steps)
	}
	for crashAt := 1; crashAt <= steps; crashAt++ {
		t.Run(fmt.Sprint(crashAt), func(t *testing.T) {
			dir := t.TempDir()
			m, _ := build(dir)
			n := 0
			var at string
			m.cleaners.hook = func(s string) error {
				n++
				if n == crashAt {
					at = s
					return errCrashInjected
				}
				return nil
			}
			if _, _, err := m.CleanOnce(time.Now()); !errors.Is(err, errCrashInjected) {
				t.Fatalf("clean: %v", err)
			}
			m.crash()
			m2 := openT(t, cleanerTestConfig(dir), Options{})
			defer m2.Close()
			l2, err := m2.Log("c", 0)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := readRecords(t, l2)
			if !equalKVs(got, pre) && !equalKVs(got, post) {
				t.Fatalf("crash after %s (step %d): %d records, pre-clean %d, post-clean %d", at, crashAt, len(got), len(pre), len(post))
			}
			for _, e := range segFiles(t, l2.Dir()) {
				if strings.HasSuffix(e, swapSuffix) || strings.HasSuffix(e, cleanedSuffix) {
					t.Fatalf("leftover %s after recovery", e)
				}
			}
			// The recovered log cleans to the post-clean records.
			if _, err := m2.SetTopicConfig("c", compactTopic(1<<20)); err != nil {
				t.Fatal(err)
			}
			cleanAll(t, m2, time.Now())
			if got, _ := readRecords(t, l2); !equalKVs(got, post) {
				t.Fatalf("after re-cleaning: %d records, want %d", len(got), len(post))
			}
		})
	}
}

func equalKVs(a, b []kv) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].off != b[i].off || a[i].key != b[i].key || !bytes.Equal(a[i].value, b[i].value) || (a[i].value == nil) != (b[i].value == nil) {
			return false
		}
	}
	return true
}

// TestCleanerConcurrentReads reads the whole log over and over while the
// cleaner swaps segments under it and appends continue; a Region taken
// before a swap stays readable after it.
func TestCleanerConcurrentReads(t *testing.T) {
	cfg := cleanerTestConfig(t.TempDir())
	m := openT(t, cfg, Options{})
	defer m.Close()
	l, _ := m.CreateLog("c", 0, compactTopic(2048))
	w := &cleanerWorkload{r: rand.New(rand.NewPCG(3, 3)), keys: 30, model: map[string][]byte{}, headers: map[int64]batch.Header{}}
	w.appendRound(t, l, 100)
	held, err := l.Read(0, 1<<20, l.HighWatermark(), true)
	if err != nil || held.Len == 0 {
		t.Fatal(err)
	}
	heldBytes := make([]byte, held.Len)
	if _, err := held.File.ReadAt(heldBytes, held.Pos); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := scanLog(l); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < 8; i++ {
		w.appendRound(t, l, 40)
		if _, _, err := m.CleanOnce(time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	again := make([]byte, held.Len)
	if _, err := held.File.ReadAt(again, held.Pos); err != nil || !bytes.Equal(again, heldBytes) {
		t.Fatalf("held region changed after the swap: %v", err)
	}
	held.Release()
	w.check(t, l, 0, false)
}

// scanLog reads the log from start to high watermark once, checking CRCs
// and increasing offsets, without testing.T (for goroutines).
func scanLog(l *Log) error {
	off := l.LogStartOffset()
	hw := l.HighWatermark()
	last := int64(-1)
	for off < hw {
		// The current high watermark, as a fetch uses: the cleaner may
		// have removed every record between off and an older one.
		b, err := l.ReadCopy(off, 64<<10, l.HighWatermark(), true)
		if err != nil {
			return fmt.Errorf("read %d: %w", off, err)
		}
		if len(b) == 0 {
			return fmt.Errorf("read %d: empty below %d; segments %+v", off, hw, l.Segments())
		}
		for len(b) > 0 {
			h, n, err := batch.Next(b)
			if errors.Is(err, batch.ErrTruncated) {
				break
			}
			if err != nil {
				return err
			}
			if err := batch.CheckCRC(b[:n]); err != nil {
				return fmt.Errorf("batch at %d: %w", h.BaseOffset, err)
			}
			if h.LastOffset() >= off {
				if h.BaseOffset <= last {
					return fmt.Errorf("batch at %d after offset %d", h.BaseOffset, last)
				}
				last = h.LastOffset()
				off = h.LastOffset() + 1
			}
			b = b[n:]
		}
	}
	return nil
}

func TestCleanerCheckpointFile(t *testing.T) {
	dir := t.TempDir()
	cfg := cleanerTestConfig(dir)
	m := openT(t, cfg, Options{})
	l, _ := m.CreateLog("c", 0, compactTopic(1024))
	w := &cleanerWorkload{r: rand.New(rand.NewPCG(5, 5)), keys: 10, model: map[string][]byte{}, headers: map[int64]batch.Header{}}
	w.appendRound(t, l, 50)
	end, _ := cleanAll(t, m, time.Now())
	m.Close()
	es, err := checkpoint.Read(filepath.Join(dir, cleanerCheckpoint))
	if err != nil || len(es) != 1 || es[0] != (checkpoint.Entry{Topic: "c", Partition: 0, Offset: end}) {
		t.Fatalf("checkpoint %+v %v, want c 0 %d", es, err, end)
	}
	m = openT(t, cfg, Options{})
	defer m.Close()
	if got, ok := m.CleanerFirstDirtyOffset("c", 0); !ok || got != end {
		t.Fatalf("after restart %d %v", got, ok)
	}
}

// TestCleanerSelection is the dirty-ratio and compaction-lag table test
// (Kafka's cleanableOffsets / grabFilthiestCompactedLog).
func TestCleanerSelection(t *testing.T) {
	const base = int64(1_700_000_000_000)
	// Five sealed segments (one batch each, timestamps base+0..4 s) and
	// an active one.
	mk := func(t *testing.T, m *Manager, name string, tc TopicConfig) *Log {
		l, err := m.CreateLog(name, 0, tc)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 6; i++ {
			appendT(t, l, keyedBatch(t, batch.CodecNone, base+int64(i)*1000, -1, []kv{{key: "k", value: bytes.Repeat([]byte("v"), 400)}}))
		}
		if n := len(l.Segments()); n != 6 {
			t.Fatalf("%d segments", n)
		}
		return l
	}
	cases := []struct {
		name        string
		tc          func(*TopicConfig)
		checkpoint  int64 // -1: none
		hw          int64 // -1: leo
		now         int64
		wantDirty   int64 // first dirty
		wantUnclean int64
		wantClean   bool
	}{
		{"fresh log is all dirty", nil, -1, -1, base + 10_000, 0, 5, true},
		{"fully cleaned", nil, 5, -1, base + 10_000, 5, 5, false},
		{"ratio 1/5 under 0.5", nil, 4, -1, base + 10_000, 4, 5, false},
		{"ratio 2/5 over 0.3", func(tc *TopicConfig) { tc.MinCleanableRatio = Ptr(0.3) }, 3, -1, base + 10_000, 3, 5, true},
		{"max.compaction.lag breached", func(tc *TopicConfig) { tc.MaxCompactionLag = Ptr[int64](5000) }, 4, -1, base + 10_000, 4, 5, true},
		{"max.compaction.lag not yet", func(tc *TopicConfig) { tc.MaxCompactionLag = Ptr[int64](60_000) }, 4, -1, base + 10_000, 4, 5, false},
		{"min.compaction.lag holds back young segments", func(tc *TopicConfig) { tc.MinCompactionLag = Ptr[int64](7500) }, -1, -1, base + 10_000, 0, 3, true},
		{"min.compaction.lag holds back everything", func(tc *TopicConfig) { tc.MinCompactionLag = Ptr[int64](60_000) }, -1, -1, base + 10_000, 0, 0, false},
		{"high watermark bounds the section", nil, -1, 2, base + 10_000, 0, 2, true},
		{"checkpoint past the end resets", nil, 99, -1, base + 10_000, 0, 5, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := cleanerTestConfig(t.TempDir())
			m := openT(t, cfg, Options{ManualHighWatermark: true})
			defer m.Close()
			tc := compactTopic(450)
			tc.MinCleanableRatio = nil
			if c.tc != nil {
				c.tc(&tc)
			}
			l := mk(t, m, "s", tc)
			hw := l.LogEndOffset()
			if c.hw >= 0 {
				hw = c.hw
			}
			l.SetHighWatermark(hw)
			got := examine(l, c.checkpoint, c.checkpoint >= 0, c.now)
			if got.firstDirty != c.wantDirty || got.firstUncleanable != c.wantUnclean || got.cleanable() != c.wantClean {
				t.Fatalf("got dirty %d uncleanable %d cleanable %v (ratio %.2f, delay %d); want %d %d %v",
					got.firstDirty, got.firstUncleanable, got.cleanable(), got.ratio(), got.maxCompactionDelayMs, c.wantDirty, c.wantUnclean, c.wantClean)
			}
		})
	}
	// The filthiest log wins.
	cfg := cleanerTestConfig(t.TempDir())
	m := openT(t, cfg, Options{})
	defer m.Close()
	mk(t, m, "a", compactTopic(450))
	mk(t, m, "b", compactTopic(450))
	mk(t, m, "d", TopicConfig{SegmentBytes: Ptr[int64](450)}) // delete policy: never cleaned
	m.cleaners.firstDirty[TopicPartition{"a", 0}] = 3
	got, ok := m.cleaners.grab(base + 10_000)
	if !ok || got.log.Topic() != "b" {
		t.Fatalf("grabbed %v %v, want b", got.log, ok)
	}
	got, ok = m.cleaners.grab(base + 10_000)
	if !ok || got.log.Topic() != "a" {
		t.Fatalf("second grab %v %v, want a (b in progress)", got.log, ok)
	}
	if _, ok := m.cleaners.grab(base + 10_000); ok {
		t.Fatal("grabbed a delete-policy log")
	}
}

// TestCleanerThreads: with log.cleaner.enable the background threads clean
// a compacted log on their own and stop with the manager.
func TestCleanerThreads(t *testing.T) {
	cfg := cleanerTestConfig(t.TempDir())
	cfg.Cleaner.Enable = true
	cfg.Cleaner.Threads = 2
	cfg.Cleaner.BackoffMs = 10
	m := openT(t, cfg, Options{})
	defer m.Close()
	l, _ := m.CreateLog("c", 0, compactTopic(1024))
	w := &cleanerWorkload{r: rand.New(rand.NewPCG(9, 9)), keys: 5, model: map[string][]byte{}, headers: map[int64]batch.Header{}}
	w.appendRound(t, l, 80)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if off, ok := m.CleanerFirstDirtyOffset("c", 0); ok && off > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("background cleaner never cleaned")
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.check(t, l, 0, false)
}

func TestThrottler(t *testing.T) {
	th := newThrottler(1 << 20)
	start := time.Now()
	for i := 0; i < 6; i++ {
		th.wait(256<<10, nil)
	}
	// 1.5 MiB at 1 MiB/s with a 1 MiB burst: about half a second.
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("throttler let 1.5 MiB through in %v", d)
	}
	if newThrottler(0).rate != 0 || newThrottler(1e308).rate != 0 {
		t.Fatal("unlimited throttler has a rate")
	}
}

func TestCompactedLogRejectsKeyless(t *testing.T) {
	m := openT(t, cleanerTestConfig(t.TempDir()), Options{})
	defer m.Close()
	l, _ := m.CreateLog("c", 0, compactTopic(1<<20))
	for _, c := range allCodecs {
		b := keyedBatch(t, c, 1, -1, []kv{{key: "k", value: []byte("v")}, {key: "", value: []byte("nokey")}})
		if _, err := l.AppendAsync(b, AppendOptions{}); !errors.Is(err, batch.ErrInvalidRecord) {
			t.Fatalf("%v: keyless record on a compacted topic: %v", c, err)
		}
	}
	d, _ := m.CreateLog("d", 0, TopicConfig{})
	appendT(t, d, keyedBatch(t, batch.CodecNone, 1, -1, []kv{{key: "", value: []byte("nokey")}}))
	appendT(t, l, keyedBatch(t, batch.CodecZstd, 1, -1, []kv{{key: "k", value: nil}}))
}

// TestCompactedLogRollsByMaxCompactionLag: Kafka's LogConfig.maxSegmentMs.
func TestCompactedLogRollsByMaxCompactionLag(t *testing.T) {
	cfg := DefaultConfig("x")
	for _, c := range []struct {
		tc   TopicConfig
		want int64
	}{
		{TopicConfig{CleanupPolicy: "compact", MaxCompactionLag: Ptr[int64](1000)}, 1000},
		{TopicConfig{CleanupPolicy: "compact,delete", MaxCompactionLag: Ptr[int64](1000), SegmentMs: Ptr[int64](500)}, 500},
		{TopicConfig{CleanupPolicy: "delete", MaxCompactionLag: Ptr[int64](1000)}, cfg.RollMs},
		{TopicConfig{CleanupPolicy: "compact"}, cfg.RollMs},
	} {
		lc, err := resolve(&cfg, c.tc)
		if err != nil || lc.segmentMs != c.want {
			t.Errorf("%+v: segment.ms %d %v, want %d", c.tc, lc.segmentMs, err, c.want)
		}
	}
}

// TestCleanerMarksCorruptLogUncleanable: a cleaning error other than an
// abort parks the log instead of retrying it every backoff.
func TestCleanerMarksCorruptLogUncleanable(t *testing.T) {
	cfg := cleanerTestConfig(t.TempDir())
	m := openT(t, cfg, Options{})
	defer m.Close()
	l, _ := m.CreateLog("c", 0, compactTopic(300))
	for i := 0; i < 6; i++ {
		appendT(t, l, keyedBatch(t, batch.CodecNone, int64(i), -1, []kv{{key: "k", value: bytes.Repeat([]byte("v"), 200)}}))
	}
	// Flip a byte inside the first segment's first batch on disk.
	f, err := os.OpenFile(l.segments()[0].logPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xee}, 100)
	f.Close()
	if _, _, err := m.CleanOnce(time.Now()); !errors.Is(err, ErrCorruptLog) {
		t.Fatalf("cleaning a corrupt log: %v", err)
	}
	if _, ok, err := m.CleanOnce(time.Now()); ok || err != nil {
		t.Fatalf("corrupt log picked again: %v %v", ok, err)
	}
}
