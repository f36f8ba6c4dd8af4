package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gregorlog/gregor/engine/batch"
	"github.com/gregorlog/gregor/internal/testutil"
)

func TestAppendReadBack(t *testing.T) {
	dir := t.TempDir()
	m := openT(t, testConfig(dir), Options{})
	defer m.Close()
	l, err := m.CreateLog("t", 0, TopicConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	var next int64
	for i := 0; i < 200; i++ {
		b := mkBatch(t, 1+i%5, 10+i*3, 1000+int64(i), i)
		r := appendT(t, l, b)
		if r.BaseOffset != next || r.LastOffset != next+int64(1+i%5)-1 {
			t.Fatalf("append %d: got [%d,%d], want base %d", i, r.BaseOffset, r.LastOffset, next)
		}
		if r.LogAppendTime != -1 || r.LogStartOffset != 0 || r.Durable {
			t.Fatalf("append %d: %+v", i, r)
		}
		want = append(want, stored(b, next, 3))
		next = r.LastOffset + 1
	}
	if l.LogEndOffset() != next || l.HighWatermark() != next {
		t.Fatalf("leo %d hw %d, want %d", l.LogEndOffset(), l.HighWatermark(), next)
	}
	got := readAll(t, l)
	if len(got) != len(want) {
		t.Fatalf("read %d batches, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("batch %d differs", i)
		}
	}
	// Every offset reads back starting with the batch that holds it.
	for off := int64(0); off < next; off++ {
		b, err := l.ReadCopy(off, 1, next, true)
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := batch.Next(b)
		if err != nil || h.BaseOffset > off || h.LastOffset() < off {
			t.Fatalf("offset %d: batch [%d,%d] err %v", off, h.BaseOffset, h.LastOffset(), err)
		}
	}
	// Out of range and at-the-end reads.
	if _, err := l.Read(next+1, 100, next, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read past end: %v", err)
	}
	if r, err := l.Read(next, 100, next, true); err != nil || r.Len != 0 {
		t.Fatalf("read at end: %+v %v", r, err)
	}
}

func TestAppendRejectsBadBatches(t *testing.T) {
	m := openT(t, testConfig(t.TempDir()), Options{})
	defer m.Close()
	l, _ := m.CreateLog("t", 0, TopicConfig{MaxMessageBytes: Ptr[int32](2000)})
	good := mkBatch(t, 3, 10, 1, 1)
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 0xff
	big := mkBatch(t, 1, 3000, 1, 1)
	badCount := bytes.Clone(good)
	badCount[60]++ // record count no longer matches lastOffsetDelta (CRC fixed below)
	fixCRC(badCount)
	for _, c := range []struct {
		name string
		b    []byte
		want error
	}{
		{"crc", corrupt, ErrCorruptMessage},
		{"too large", big, ErrTooLarge},
		{"count", badCount, ErrInvalidRecord},
		{"torn", good[:len(good)-3], batch.ErrTruncated},
	} {
		if _, err := l.Append(context.Background(), c.b, AppendOptions{}); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if l.LogEndOffset() != 0 {
		t.Fatalf("rejected batches were written: leo %d", l.LogEndOffset())
	}
}

func fixCRC(b []byte) {
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
}

func TestRollAndIndexes(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.SegmentBytes = 4096
	cfg.IndexIntervalBytes = 256
	m := openT(t, cfg, Options{})
	l, _ := m.CreateLog("roll", 2, TopicConfig{})
	var want [][]byte
	for i := 0; i < 300; i++ {
		b := mkBatch(t, 2, 20+rand.IntN(200), int64(i*10), i)
		r := appendT(t, l, b)
		want = append(want, stored(b, r.BaseOffset, 3))
	}
	segs := l.Segments()
	if len(segs) < 5 {
		t.Fatalf("only %d segments", len(segs))
	}
	for i, s := range segs {
		if !s.Active && s.Size > cfg.SegmentBytes {
			t.Errorf("segment %d is %d bytes > %d", i, s.Size, cfg.SegmentBytes)
		}
		if i > 0 && s.BaseOffset != segs[i-1].NextOffset {
			t.Errorf("segment %d base %d, previous ends at %d", i, s.BaseOffset, segs[i-1].NextOffset)
		}
		name := filepath.Join(l.Dir(), segmentName(s.BaseOffset))
		if len(filepath.Base(name)) != 20 {
			t.Fatalf("name %s", name)
		}
		if !s.Active {
			st, err := os.Stat(name + indexSuffix)
			if err != nil || st.Size()%8 != 0 || st.Size() >= int64(cfg.IndexSizeMaxBytes) || st.Size() == 0 {
				t.Errorf("rolled index %s not trimmed: %v %v", name, st.Size(), err)
			}
			st, err = os.Stat(name + timeIndexSuffix)
			if err != nil || st.Size()%12 != 0 || st.Size() == 0 {
				t.Errorf("rolled time index %s not trimmed: %v", name, err)
			}
		}
	}
	check := func(l *Log) {
		got := readAll(t, l)
		if len(got) != len(want) {
			t.Fatalf("read %d batches, want %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("batch %d differs", i)
			}
		}
	}
	check(l)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = openT(t, cfg, Options{})
	defer m.Close()
	if m.RecoveryStats.CleanDirs != 1 || m.RecoveryStats.SegmentsRecovered != 0 {
		t.Fatalf("clean reopen recovered: %+v", m.RecoveryStats)
	}
	l, err := m.Log("roll", 2)
	if err != nil {
		t.Fatal(err)
	}
	check(l)
	// Appending continues after the reopen.
	b := mkBatch(t, 1, 10, 5000, 999)
	r := appendT(t, l, b)
	want = append(want, stored(b, r.BaseOffset, 3))
	check(l)
}

func TestRollByTimeAndIndexFull(t *testing.T) {
	clk := &fakeClock{t: time.UnixMilli(1_000_000)}
	cfg := testConfig(t.TempDir())
	cfg.IndexIntervalBytes = 0
	m := openT(t, cfg, Options{Clock: clk})
	defer m.Close()
	l, _ := m.CreateLog("t", 0, TopicConfig{SegmentMs: Ptr[int64](1000), SegmentIndexB: Ptr[int32](12 * 4)})
	// Kafka measures segment age in message time: the incoming batch's
	// timestamp minus the segment's first one.
	appendT(t, l, mkBatch(t, 1, 10, 5000, 1))
	appendT(t, l, mkBatch(t, 1, 10, 5900, 2))
	if n := len(l.Segments()); n != 1 {
		t.Fatalf("segment.ms: rolled after 900 ms of message time: %d segments", n)
	}
	appendT(t, l, mkBatch(t, 1, 10, 6100, 3))
	if n := len(l.Segments()); n != 2 {
		t.Fatalf("segment.ms: %d segments", n)
	}
	// Without timestamps (-1) the wall clock since the first append counts.
	noTs, _ := m.CreateLog("nots", 0, TopicConfig{SegmentMs: Ptr[int64](1000)})
	appendT(t, noTs, mkBatch(t, 1, 10, -1, 1))
	clk.add(500 * time.Millisecond)
	appendT(t, noTs, mkBatch(t, 1, 10, -1, 2))
	clk.add(2 * time.Second)
	appendT(t, noTs, mkBatch(t, 1, 10, -1, 3))
	if n := len(noTs.Segments()); n != 2 {
		t.Fatalf("segment.ms by wall clock: %d segments", n)
	}
	for i := 0; i < 10; i++ {
		appendT(t, l, mkBatch(t, 1, 10, 1, 3))
	}
	if n := len(l.Segments()); n < 3 {
		t.Fatalf("full index did not roll: %d segments", n)
	}
	// Concurrent producers fill a tiny index inside one drained group: the
	// group completes without entries, and the log rolls; it never fails.
	tiny, _ := m.CreateLog("tiny", 0, TopicConfig{SegmentIndexB: Ptr[int32](24), IndexIntervalB: Ptr[int32](0)})
	var wg sync.WaitGroup
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if _, err := tiny.Append(context.Background(), mkBatch(t, 1, 10, 1, p*100+i), AppendOptions{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := readAll(t, tiny); len(got) != 160 {
		t.Fatalf("%d batches", len(got))
	}
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestReadCapsAndMinOneBatch(t *testing.T) {
	m := openT(t, testConfig(t.TempDir()), Options{ManualHighWatermark: true})
	defer m.Close()
	l, _ := m.CreateLog("t", 0, TopicConfig{})
	var sizes []int
	for i := 0; i < 10; i++ {
		b := mkBatch(t, 2, 100, 1, i)
		sizes = append(sizes, len(b))
		appendT(t, l, b)
	}
	if l.HighWatermark() != 0 {
		t.Fatalf("manual hw moved to %d", l.HighWatermark())
	}
	if r, err := l.Read(0, 1<<20, l.HighWatermark(), true); err != nil || r.Len != 0 {
		t.Fatalf("read above hw: %+v %v", r, err)
	}
	l.SetHighWatermark(6) // batches 0-2
	r, err := l.Read(0, 1<<20, l.HighWatermark(), true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len != int64(sizes[0]+sizes[1]+sizes[2]) {
		t.Fatalf("capped read %d bytes, want %d", r.Len, sizes[0]+sizes[1]+sizes[2])
	}
	r.Release()
	// KIP-74: maxBytes smaller than the first batch still returns it.
	r, _ = l.Read(2, 10, 6, true)
	if r.Len != int64(sizes[1]) || r.BaseOffset != 2 {
		t.Fatalf("min one batch: %+v", r)
	}
	r.Release()
	r, _ = l.Read(2, 10, 6, false)
	if r.Len != 10 {
		t.Fatalf("hard limit: %+v", r)
	}
	r.Release()
	l.SetHighWatermark(100)
	if l.HighWatermark() != l.LogEndOffset() {
		t.Fatalf("hw not clamped to leo: %d", l.HighWatermark())
	}
}

func TestOffsetForTimestamp(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SegmentBytes = 2000
	cfg.IndexIntervalBytes = 100
	m := openT(t, cfg, Options{})
	defer m.Close()
	l, _ := m.CreateLog("t", 0, TopicConfig{})
	// Batch i holds 3 records with timestamps 1000+10i, +1, +2.
	for i := 0; i < 60; i++ {
		appendT(t, l, mkBatch(t, 3, 50, 1000+int64(i)*10, i))
	}
	for _, c := range []struct{ ts, off, rts int64 }{
		{0, 0, 1000},
		{1000, 0, 1000},
		{1001, 1, 1001},
		{1003, 3, 1010},
		{1255, 78, 1260},
		{1592, 179, 1592},
		{1593, -1, -1},
	} {
		off, rts, err := l.OffsetForTimestamp(c.ts)
		if err != nil || off != c.off || rts != c.rts {
			t.Errorf("ts %d: got (%d,%d,%v), want (%d,%d)", c.ts, off, rts, err, c.off, c.rts)
		}
	}
	if off, _, _ := l.OffsetForTimestamp(EarliestTimestamp); off != 0 {
		t.Errorf("earliest %d", off)
	}
	if off, _, _ := l.OffsetForTimestamp(LatestTimestamp); off != 180 {
		t.Errorf("latest %d", off)
	}
	if off, ts, _ := l.OffsetForTimestamp(MaxTimestamp); off != 179 || ts != 1592 {
		t.Errorf("max timestamp (%d,%d)", off, ts)
	}
	// After a clean reopen the time indexes answer the same.
	m.Close()
	m = openT(t, cfg, Options{})
	defer m.Close()
	l, _ = m.Log("t", 0)
	if off, rts, _ := l.OffsetForTimestamp(1255); off != 78 || rts != 1260 {
		t.Errorf("after reopen: (%d,%d)", off, rts)
	}
	if off, ts, _ := l.OffsetForTimestamp(MaxTimestamp); off != 179 || ts != 1592 {
		t.Errorf("max timestamp after reopen (%d,%d)", off, ts)
	}
}

func TestLogAppendTime(t *testing.T) {
	clk := &fakeClock{t: time.UnixMilli(777_000)}
	m := openT(t, testConfig(t.TempDir()), Options{Clock: clk})
	defer m.Close()
	l, _ := m.CreateLog("t", 0, TopicConfig{TimestampType: "LogAppendTime"})
	r := appendT(t, l, mkBatch(t, 2, 5, 5, 1))
	if r.LogAppendTime != 777_000 {
		t.Fatalf("log append time %d", r.LogAppendTime)
	}
	b, _ := l.ReadCopy(0, 1000, 10, true)
	h, err := batch.Validate(b, 0)
	if err != nil || !h.LogAppendTime() || h.MaxTimestamp != 777_000 {
		t.Fatalf("stored batch: %+v %v", h, err)
	}
}

func TestDeleteRecordsAndCheckpoint(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.SegmentBytes = 1000
	m := openT(t, cfg, Options{})
	l, _ := m.CreateLog("t", 0, TopicConfig{})
	for i := 0; i < 40; i++ {
		appendT(t, l, mkBatch(t, 1, 100, 1, i))
	}
	nseg := len(l.Segments())
	ls, err := l.DeleteRecordsBefore(27)
	if err != nil || ls != 27 || l.LogStartOffset() != 27 {
		t.Fatalf("delete records: %d %v", ls, err)
	}
	if len(l.Segments()) >= nseg {
		t.Fatalf("no segment deleted: %d", len(l.Segments()))
	}
	if _, err := l.Read(26, 100, 40, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, logStartCheckpoint))
	if err != nil || string(b) != "0\n1\nt 0 27\n" {
		t.Fatalf("checkpoint %q %v", b, err)
	}
	if _, err := l.DeleteRecordsBefore(41); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("delete past hw: %v", err)
	}
	m.Close()
	m = openT(t, cfg, Options{})
	defer m.Close()
	l, _ = m.Log("t", 0)
	if l.LogStartOffset() != 27 || l.LogEndOffset() != 40 {
		t.Fatalf("after reopen start %d end %d", l.LogStartOffset(), l.LogEndOffset())
	}
	for _, name := range []string{recoveryPointCheckpoint, replicationCheckpoint} {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		if string(b) != "0\n1\nt 0 40\n" {
			t.Errorf("%s = %q", name, b)
		}
	}
}

func TestTruncate(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SegmentBytes = 1000
	cfg.IndexIntervalBytes = 1
	m := openT(t, cfg, Options{})
	defer m.Close()
	l, _ := m.CreateLog("t", 0, TopicConfig{})
	var want [][]byte
	for i := 0; i < 30; i++ {
		b := mkBatch(t, 2, 100, int64(i), i)
		r := appendT(t, l, b)
		want = append(want, stored(b, r.BaseOffset, 3))
	}
	// Offset 21 is inside the batch [20,21]: the whole batch goes.
	if err := l.Truncate(21); err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 20 || l.HighWatermark() != 20 {
		t.Fatalf("leo %d hw %d", l.LogEndOffset(), l.HighWatermark())
	}
	got := readAll(t, l)
	if len(got) != 10 || !bytes.Equal(got[9], want[9]) {
		t.Fatalf("after truncate %d batches", len(got))
	}
	for i := 0; i < 5; i++ {
		b := mkBatch(t, 2, 100, int64(i), 100+i)
		r := appendT(t, l, b)
		if r.BaseOffset != 20+int64(2*i) {
			t.Fatalf("append after truncate at %d", r.BaseOffset)
		}
	}
	if n := len(readAll(t, l)); n != 15 {
		t.Fatalf("%d batches", n)
	}
}

func TestConcurrentProducersAndReaders(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SegmentBytes = 64 << 10
	cfg.MaxOpenSegments = 16
	m := openT(t, cfg, Options{})
	defer m.Close()
	l, _ := m.CreateLog("t", 0, TopicConfig{})
	const producers, each = 8, 100
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := l.Append(context.Background(), mkBatch(t, 1+i%3, 100, int64(i), p*1000+i), AppendOptions{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	var rwg sync.WaitGroup
	rwg.Add(1)
	go func() {
		defer rwg.Done()
		var off int64
		for {
			select {
			case <-stop:
				return
			case <-l.WaitPast(off):
			}
			b, err := l.ReadCopy(off, 4096, l.HighWatermark(), true)
			if err != nil {
				t.Error(err)
				return
			}
			for len(b) > 0 {
				h, n, err := batch.Next(b)
				if err != nil {
					break
				}
				if err := batch.CheckCRC(b[:n]); err != nil {
					t.Errorf("reader saw corrupt batch at %d", h.BaseOffset)
					return
				}
				off = h.LastOffset() + 1
				b = b[n:]
			}
		}
	}()
	wg.Wait()
	close(stop)
	rwg.Wait()
	got := readAll(t, l)
	if len(got) != producers*each {
		t.Fatalf("%d batches, want %d", len(got), producers*each)
	}
}

func TestWaitPast(t *testing.T) {
	m := openT(t, testConfig(t.TempDir()), Options{})
	defer m.Close()
	l, _ := m.CreateLog("t", 0, TopicConfig{})
	ch := l.WaitPast(0)
	select {
	case <-ch:
		t.Fatal("fired before data")
	default:
	}
	appendT(t, l, mkBatch(t, 1, 1, 1, 1))
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("not notified")
	}
	select {
	case <-l.WaitPast(0):
	default:
		t.Fatal("data already past 0")
	}
}

func TestFsyncFailureIsSticky(t *testing.T) {
	ffs := &faultFS{}
	dirs := []string{t.TempDir(), t.TempDir()}
	m := openT(t, testConfig(dirs...), Options{FS: ffs})
	defer m.Close()
	l, _ := m.CreateLog("t", 0, TopicConfig{FlushMessages: Ptr[int64](1)})
	other, _ := m.CreateLog("t", 1, TopicConfig{})
	if other.LogDir() == l.LogDir() {
		t.Fatalf("both partitions in %s", l.LogDir())
	}
	r := appendT(t, l, mkBatch(t, 1, 10, 1, 1))
	if !r.Durable {
		t.Fatal("flush.messages=1 append not durable")
	}
	ffs.failSync.Store(true)
	if _, err := l.Append(context.Background(), mkBatch(t, 1, 10, 1, 2), AppendOptions{}); !errors.Is(err, ErrOffline) {
		t.Fatalf("append with failing fsync: %v", err)
	}
	ffs.failSync.Store(false)
	syncs := ffs.syncs.Load()
	for i := 0; i < 3; i++ {
		if _, err := l.Append(context.Background(), mkBatch(t, 1, 10, 1, 3), AppendOptions{}); !errors.Is(err, ErrOffline) {
			t.Fatalf("append after failure: %v", err)
		}
	}
	if err := l.Flush(); !errors.Is(err, ErrOffline) {
		t.Fatalf("flush after failure: %v", err)
	}
	if ffs.syncs.Load() != syncs {
		t.Fatal("fsync was retried after a failure")
	}
	if _, err := l.Read(0, 100, 10, true); !errors.Is(err, ErrOffline) {
		t.Fatalf("read of offline log: %v", err)
	}
	// Only that dir is offline; the other keeps working.
	dirsInfo := m.Dirs()
	for _, d := range dirsInfo {
		if (d.Path == l.LogDir()) == d.Online {
			t.Fatalf("dir %s online=%v", d.Path, d.Online)
		}
	}
	appendT(t, other, mkBatch(t, 1, 10, 1, 4))
	if _, err := m.CreateLog("t", 2, TopicConfig{}); err != nil {
		t.Fatal(err)
	}
	if l2, _ := m.Log("t", 2); l2.LogDir() != other.LogDir() {
		t.Fatal("new partition placed on the offline dir")
	}
}

func TestWriteFailureIsSticky(t *testing.T) {
	ffs := &faultFS{}
	m := openT(t, testConfig(t.TempDir()), Options{FS: ffs})
	defer m.Close()
	l, _ := m.CreateLog("t", 0, TopicConfig{})
	appendT(t, l, mkBatch(t, 1, 10, 1, 1))
	ffs.failWrite.Store(true)
	if _, err := l.Append(context.Background(), mkBatch(t, 1, 10, 1, 2), AppendOptions{}); !errors.Is(err, ErrOffline) {
		t.Fatalf("append with failing write: %v", err)
	}
	ffs.failWrite.Store(false)
	if _, err := l.Append(context.Background(), mkBatch(t, 1, 10, 1, 3), AppendOptions{}); !errors.Is(err, ErrOffline) {
		t.Fatalf("append after failure: %v", err)
	}
	if l.LogEndOffset() != 1 {
		t.Fatalf("leo %d", l.LogEndOffset())
	}
}

func TestPlacementAndDelete(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir(), t.TempDir()}
	cfg := testConfig(dirs...)
	m := openT(t, cfg, Options{})
	count := map[string]int{}
	for p := int32(0); p < 9; p++ {
		l, err := m.CreateLog("t", p, TopicConfig{})
		if err != nil {
			t.Fatal(err)
		}
		count[l.LogDir()]++
		appendT(t, l, mkBatch(t, 1, 10, 1, int(p)))
	}
	for _, d := range dirs {
		if count[d] != 3 {
			t.Fatalf("placement %v", count)
		}
	}
	if _, err := m.CreateLog("t", 0, TopicConfig{}); !errors.Is(err, ErrLogExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	l, _ := m.Log("t", 4)
	pdir := l.Dir()
	if err := m.DeleteLog("t", 4); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Log("t", 4); !errors.Is(err, ErrUnknownLog) {
		t.Fatal(err)
	}
	testutil.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if _, err := os.Stat(pdir); err == nil {
			return errors.New("partition dir still there")
		}
		ents, _ := os.ReadDir(filepath.Dir(pdir))
		for _, e := range ents {
			if filepath.Ext(e.Name()) != "" && e.IsDir() {
				return errors.New("delete dir still there: " + e.Name())
			}
		}
		return nil
	})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = openT(t, cfg, Options{})
	defer m.Close()
	if n := len(m.Logs()); n != 8 {
		t.Fatalf("%d logs after reopen", n)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "meta.properties")); err != nil {
			t.Fatal(err)
		}
	}
	// A second manager cannot open locked dirs.
	if _, err := Open(cfg, Options{}); !errors.Is(err, ErrNoOnlineDir) {
		t.Fatalf("second open: %v", err)
	}
}

func TestDirsAndTopicConfig(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir()}
	m := openT(t, testConfig(dirs...), Options{})
	defer m.Close()
	a, _ := m.CreateLog("cfg", 0, TopicConfig{})
	b, _ := m.CreateLog("cfg", 1, TopicConfig{})
	other, _ := m.CreateLog("other", 0, TopicConfig{})
	appendT(t, a, mkBatch(t, 1, 100, 1, 1))
	n, err := m.SetTopicConfig("cfg", TopicConfig{MaxMessageBytes: Ptr[int32](150)})
	if err != nil || n != 2 {
		t.Fatalf("updated %d: %v", n, err)
	}
	for _, l := range []*Log{a, b} {
		if _, err := l.Append(context.Background(), mkBatch(t, 1, 200, 1, 2), AppendOptions{}); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("new max.message.bytes not applied: %v", err)
		}
	}
	appendT(t, other, mkBatch(t, 1, 200, 1, 3))
	if _, err := m.SetTopicConfig("cfg", TopicConfig{FlushMessages: Ptr[int64](0)}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("flush.messages=0 accepted: %v", err)
	}
	var total int64
	parts := 0
	for _, d := range m.Dirs() {
		if !d.Online || d.TotalBytes <= 0 || d.UsableBytes <= 0 {
			t.Fatalf("dir %+v", d)
		}
		for _, p := range d.Partitions {
			total += p.Size
			parts++
		}
	}
	if parts != 3 || total != a.Size()+b.Size()+other.Size() || total == 0 {
		t.Fatalf("DescribeLogDirs: %d partitions, %d bytes", parts, total)
	}
}
