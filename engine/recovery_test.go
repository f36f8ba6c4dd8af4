package engine

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregorlog/gregor/engine/batch"
	"github.com/gregorlog/gregor/internal/testutil"
)

// fillLog creates topic t-0 and appends n batches, returning them as stored.
func fillLog(t *testing.T, m *Manager, n int, tc TopicConfig) (*Log, [][]byte) {
	t.Helper()
	l, err := m.CreateLog("t", 0, tc)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for i := 0; i < n; i++ {
		b := mkBatch(t, 1+i%4, 50+i%200, int64(1000+i), i)
		r := appendT(t, l, b)
		want = append(want, stored(b, r.BaseOffset, 3))
	}
	return l, want
}

func checkBatches(t *testing.T, l *Log, want [][]byte) {
	t.Helper()
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

func activeLogPath(l *Log) string { return l.active().logPath }

func TestUncleanReopenRebuildsIndexes(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SegmentBytes = 8 << 10
	cfg.IndexIntervalBytes = 512
	m := openT(t, cfg, Options{})
	l, want := fillLog(t, m, 300, TopicConfig{})
	// The rolled segments were flushed on roll; checkpoint that, then
	// kill: the active index stays preallocated with trailing zeros.
	testutil.CheckFor(t, 10*time.Second, time.Millisecond, func() error {
		if l.RecoveryPoint() < l.active().base {
			return fmt.Errorf("recovery point %d", l.RecoveryPoint())
		}
		return nil
	})
	m.checkpointAll(true, true, true)
	idx := l.active().offIdx.path
	m.crash()
	if st, _ := os.Stat(idx); st.Size() != int64(cfg.IndexSizeMaxBytes) {
		t.Fatalf("active index size %d, expected the preallocated size", st.Size())
	}
	m = openT(t, cfg, Options{})
	defer m.Close()
	if m.RecoveryStats.CleanDirs != 0 || m.RecoveryStats.SegmentsRecovered != 1 || m.RecoveryStats.BytesTruncated != 0 {
		t.Fatalf("stats %+v", m.RecoveryStats)
	}
	l, _ = m.Log("t", 0)
	checkBatches(t, l, want)
	// The recovery point after an unclean start is the checkpointed one
	// (rolled segments were flushed), not the log end.
	if rp := l.RecoveryPoint(); rp < l.active().base || rp > l.LogEndOffset() {
		t.Fatalf("recovery point %d, leo %d", rp, l.LogEndOffset())
	}
}

func TestTornTail(t *testing.T) {
	for _, c := range []struct {
		name string
		tail func(last []byte) []byte
	}{
		{"partial batch", func(last []byte) []byte { return last[:len(last)/2] }},
		{"partial header", func(last []byte) []byte { return last[:7] }},
		{"garbage", func([]byte) []byte { return bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 300) }},
		{"zeros", func([]byte) []byte { return make([]byte, 5000) }},
		{"bad crc", func(last []byte) []byte {
			c := bytes.Clone(last)
			c[len(c)-1] ^= 1
			return c
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir())
			m := openT(t, cfg, Options{})
			l, want := fillLog(t, m, 50, TopicConfig{})
			path := activeLogPath(l)
			m.crash()
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(c.tail(want[len(want)-1]))
			f.Close()
			before, _ := os.Stat(path)
			m = openT(t, cfg, Options{})
			defer m.Close()
			l, _ = m.Log("t", 0)
			checkBatches(t, l, want)
			after, _ := os.Stat(path)
			if after.Size() >= before.Size() || m.RecoveryStats.BytesTruncated != before.Size()-after.Size() {
				t.Fatalf("tail not truncated: %d -> %d, stats %+v", before.Size(), after.Size(), m.RecoveryStats)
			}
			// The log accepts appends at the right offset afterwards.
			b := mkBatch(t, 1, 10, 1, 77)
			r := appendT(t, l, b)
			if r.BaseOffset != l.LogEndOffset()-1 {
				t.Fatalf("append after recovery at %d", r.BaseOffset)
			}
			checkBatches(t, l, append(want, stored(b, r.BaseOffset, 3)))
		})
	}
}

func TestCorruptMiddleTruncatesAndDropsLaterSegments(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SegmentBytes = 4 << 10
	m := openT(t, cfg, Options{})
	l, want := fillLog(t, m, 120, TopicConfig{})
	segs := l.Segments()
	if len(segs) < 4 {
		t.Fatalf("%d segments", len(segs))
	}
	// Corrupt a byte inside the second segment's third batch.
	victim := l.segments()[1]
	m.crash()
	// Make the dir recover from the start.
	os.Remove(filepath.Join(cfg.Dirs[0], recoveryPointCheckpoint))
	data, _ := os.ReadFile(victim.logPath)
	var pos int64
	kept := 0
	for i := range want {
		if stored := want[i]; int64(len(stored)) > 0 && batchBase(stored) >= victim.base {
			if kept == 2 {
				break
			}
			pos += int64(len(stored))
			kept++
		}
	}
	data[pos+40] ^= 0xff
	os.WriteFile(victim.logPath, data, 0o644)
	m = openT(t, cfg, Options{})
	defer m.Close()
	l, _ = m.Log("t", 0)
	var expect [][]byte
	for _, b := range want {
		if batchBase(b) < victim.base {
			expect = append(expect, b)
		}
	}
	expect = append(expect, want[len(expect):len(expect)+2]...)
	checkBatches(t, l, expect)
	if n := len(l.Segments()); n != 2 {
		t.Fatalf("%d segments after recovery, later ones should be gone", n)
	}
}

func batchBase(b []byte) int64 {
	var v int64
	for _, c := range b[:8] {
		v = v<<8 | int64(c)
	}
	return v
}

func TestCorruptIndexRebuiltOnCleanStart(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SegmentBytes = 4 << 10
	cfg.IndexIntervalBytes = 100
	m := openT(t, cfg, Options{})
	l, want := fillLog(t, m, 100, TopicConfig{})
	seg := l.segments()[0].offIdx.path
	act := l.active().offIdx.path
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(seg, []byte{1, 2, 3}, 0o644)             // not a multiple of 8
	os.WriteFile(act, bytes.Repeat([]byte{9}, 16), 0o644) // positions past the end
	m = openT(t, cfg, Options{})
	defer m.Close()
	l, _ = m.Log("t", 0)
	checkBatches(t, l, want)
	if m.RecoveryStats.SegmentsRecovered != 2 {
		t.Fatalf("stats %+v", m.RecoveryStats)
	}
}

func TestLeftoverFilesAndDirs(t *testing.T) {
	cfg := testConfig(t.TempDir())
	m := openT(t, cfg, Options{})
	l, want := fillLog(t, m, 10, TopicConfig{})
	pdir := l.Dir()
	m.Close()
	os.WriteFile(filepath.Join(pdir, "00000000000000000005.log.deleted"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(pdir, "00000000000000000005.log.cleaned"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(cfg.Dirs[0], "gone-0.0123456789abcdef0123456789abcdef-delete"), 0o755)
	m = openT(t, cfg, Options{})
	defer m.Close()
	l, _ = m.Log("t", 0)
	checkBatches(t, l, want)
	ents, _ := os.ReadDir(pdir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".deleted") || strings.HasSuffix(e.Name(), ".cleaned") {
			t.Fatalf("leftover %s", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.Dirs[0], "gone-0.0123456789abcdef0123456789abcdef-delete")); err == nil {
		t.Fatal("-delete dir not removed")
	}
}

func TestRecoveryThreadsManyLogs(t *testing.T) {
	cfg := testConfig(t.TempDir(), t.TempDir())
	cfg.RecoveryThreadsPerDataDir = 4
	m := openT(t, cfg, Options{})
	want := map[int32][][]byte{}
	for p := int32(0); p < 40; p++ {
		l, _ := m.CreateLog("many", p, TopicConfig{})
		for i := 0; i < 5; i++ {
			b := mkBatch(t, 1, 10, 1, int(p)*10+i)
			r := appendT(t, l, b)
			want[p] = append(want[p], stored(b, r.BaseOffset, 3))
		}
	}
	m.crash()
	m = openT(t, cfg, Options{})
	defer m.Close()
	if m.RecoveryStats.Logs != 40 || m.RecoveryStats.SegmentsRecovered != 40 {
		t.Fatalf("stats %+v", m.RecoveryStats)
	}
	for p := int32(0); p < 40; p++ {
		l, err := m.Log("many", p)
		if err != nil {
			t.Fatal(err)
		}
		checkBatches(t, l, want[p])
	}
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

func TestManyPartitionsBoundedFiles(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 300
	}
	cfg := testConfig(t.TempDir())
	cfg.MaxOpenSegments = 32
	cfg.IndexSizeMaxBytes = 64 << 10
	base := openFDs(t)
	m := openT(t, cfg, Options{})
	defer m.Close()
	for p := 0; p < n; p++ {
		l, err := m.CreateLog("wide", int32(p), TopicConfig{})
		if err != nil {
			t.Fatal(err)
		}
		appendT(t, l, mkBatch(t, 1, 10, 1, p))
	}
	// Every open segment holds at most 3 descriptors (log + 2 indexes).
	limit := base + 3*cfg.MaxOpenSegments + 16
	if got := openFDs(t); got > limit {
		t.Fatalf("%d fds open for %d partitions, bound %d", got, n, limit)
	}
	if c := m.cache.len(); c > cfg.MaxOpenSegments {
		t.Fatalf("cache holds %d > %d", c, cfg.MaxOpenSegments)
	}
	// Cold partitions reopen on demand, readable and appendable.
	for p := 0; p < n; p += 97 {
		l, _ := m.Log("wide", int32(p))
		if got := readAll(t, l); len(got) != 1 {
			t.Fatalf("partition %d: %d batches", p, len(got))
		}
		appendT(t, l, mkBatch(t, 1, 10, 1, p))
	}
	if got := openFDs(t); got > limit {
		t.Fatalf("%d fds after reads, bound %d", got, limit)
	}
	// Mappings stay bounded too.
	if maps := countMaps(t); maps > 2*cfg.MaxOpenSegments+400 {
		t.Fatalf("%d mappings", maps)
	}
}

func countMaps(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasSuffix(line, indexSuffix) || strings.HasSuffix(line, timeIndexSuffix) {
			n++
		}
	}
	return n
}

func TestRegionSurvivesEvictionAndDeletion(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SegmentBytes = 1000
	cfg.MaxOpenSegments = 16
	cfg.FileDeleteDelayMs = 0
	m := openT(t, cfg, Options{})
	defer m.Close()
	l, want := fillLog(t, m, 60, TopicConfig{})
	r, err := l.Read(0, 1<<20, l.HighWatermark(), true)
	if err != nil || r.Len == 0 {
		t.Fatal(r, err)
	}
	// Evict it: open many other segments.
	for p := int32(1); p < 40; p++ {
		ol, _ := m.CreateLog("other", p, TopicConfig{})
		appendT(t, ol, mkBatch(t, 1, 10, 1, int(p)))
	}
	// Delete it.
	if _, err := l.DeleteRecordsBefore(l.HighWatermark()); err != nil {
		t.Fatal(err)
	}
	testutil.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if _, err := os.Stat(filepath.Join(l.Dir(), segmentName(0)+logSuffix+deletedSuffix)); err == nil {
			return fmt.Errorf("not yet removed")
		}
		return nil
	})
	buf := make([]byte, r.Len)
	if _, err := r.File.ReadAt(buf, r.Pos); err != nil {
		t.Fatalf("region unreadable after eviction and deletion: %v", err)
	}
	if !bytes.HasPrefix(buf, want[0]) {
		t.Fatal("region bytes changed")
	}
	r.Release()
}

func TestFlushPolicies(t *testing.T) {
	ffs := &faultFS{}
	clk := &fakeClock{t: time.UnixMilli(0)}
	cfg := testConfig(t.TempDir())
	cfg.FlushSchedulerIntervalMs = 10
	m := openT(t, cfg, Options{FS: ffs, Clock: clk})
	defer m.Close()
	// Default: never fsync on append.
	def, _ := m.CreateLog("def", 0, TopicConfig{})
	s0 := ffs.syncs.Load()
	for i := 0; i < 50; i++ {
		appendT(t, def, mkBatch(t, 1, 10, 1, i))
	}
	if ffs.syncs.Load() != s0 || def.RecoveryPoint() != 0 {
		t.Fatalf("default policy fsynced: %d", ffs.syncs.Load()-s0)
	}
	// flush.messages=10: a background fsync once 10 messages are dirty.
	fm, _ := m.CreateLog("fm", 0, TopicConfig{FlushMessages: Ptr[int64](10)})
	for i := 0; i < 10; i++ {
		r := appendT(t, fm, mkBatch(t, 1, 10, 1, i))
		if r.Durable {
			t.Fatal("flush.messages=10 acknowledged as durable")
		}
	}
	testutil.CheckFor(t, 10*time.Second, time.Millisecond, func() error {
		if fm.RecoveryPoint() != 10 {
			return fmt.Errorf("recovery point %d", fm.RecoveryPoint())
		}
		return nil
	})
	// flush.ms: the scheduler flushes a log dirty for longer.
	fms, _ := m.CreateLog("fms", 0, TopicConfig{FlushMs: Ptr[int64](1000)})
	appendT(t, fms, mkBatch(t, 1, 10, 1, 1))
	clk.add(2 * time.Second)
	testutil.CheckFor(t, 10*time.Second, time.Millisecond, func() error {
		if fms.RecoveryPoint() != 1 {
			return fmt.Errorf("recovery point %d", fms.RecoveryPoint())
		}
		return nil
	})
	// flush.messages=1: durable before acknowledgement, and concurrent
	// producers share fsyncs (group commit).
	one, _ := m.CreateLog("one", 0, TopicConfig{FlushMessages: Ptr[int64](1)})
	s1 := ffs.syncs.Load()
	const producers, each = 16, 20
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r, err := one.Append(context.Background(), mkBatch(t, 1, 10, 1, p*100+i), AppendOptions{})
				if err != nil || !r.Durable || one.RecoveryPoint() <= r.LastOffset {
					t.Errorf("append %+v %v, recovery point %d", r, err, one.RecoveryPoint())
					return
				}
			}
		}()
	}
	wg.Wait()
	syncs := ffs.syncs.Load() - s1
	t.Logf("%d appends, %d fdatasyncs (GOMAXPROCS %d)", producers*each, syncs, runtime.GOMAXPROCS(0))
	if syncs > producers*each {
		t.Fatalf("more fsyncs (%d) than appends", syncs)
	}
}

func TestDirFailingAtLoadGoesOfflineAlone(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir()}
	cfg := testConfig(dirs...)
	m := openT(t, cfg, Options{})
	want := map[int32][][]byte{}
	where := map[int32]string{}
	for p := int32(0); p < 4; p++ {
		l, _ := m.CreateLog("t", p, TopicConfig{})
		b := mkBatch(t, 1, 10, 1, int(p))
		r := appendT(t, l, b)
		want[p] = [][]byte{stored(b, r.BaseOffset, 3)}
		where[p] = l.LogDir()
	}
	m.crash()
	ffs := &faultFS{failOpen: dirs[1]}
	m = openT(t, cfg, Options{FS: ffs})
	defer m.Close()
	for _, d := range m.Dirs() {
		if d.Online != (d.Path == dirs[0]) || (!d.Online && d.Err == nil) {
			t.Fatalf("dir %s online=%v err=%v", d.Path, d.Online, d.Err)
		}
	}
	for p := int32(0); p < 4; p++ {
		l, err := m.Log("t", p)
		if where[p] == dirs[0] {
			if err != nil {
				t.Fatal(err)
			}
			checkBatches(t, l, want[p])
			continue
		}
		if err == nil && !l.Offline() {
			t.Fatalf("partition %d in the failed dir is online", p)
		}
	}
	if l, err := m.CreateLog("t", 9, TopicConfig{}); err != nil || l.LogDir() != dirs[0] {
		t.Fatalf("create after dir failure: %v", err)
	}
}

// TestEvictionStress reads random offsets of many small segments from
// several goroutines while producers append and roll, with the open-file
// cache at its minimum, so handles are evicted and reopened constantly.
func TestEvictionStress(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SegmentBytes = 2048
	cfg.IndexIntervalBytes = 200
	cfg.MaxOpenSegments = 16
	m := openT(t, cfg, Options{})
	defer m.Close()
	var logs []*Log
	for p := int32(0); p < 4; p++ {
		l, _ := m.CreateLog("stress", p, TopicConfig{})
		logs = append(logs, l)
	}
	const perProducer = 150
	var wg sync.WaitGroup
	for _, l := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perProducer; i++ {
				if _, err := l.Append(context.Background(), mkBatch(t, 1+i%3, 60, int64(i), i), AppendOptions{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var rwg sync.WaitGroup
	for r := 0; r < 4; r++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 9))
			for n := 0; n < 3000; n++ {
				l := logs[rng.IntN(len(logs))]
				hw := l.HighWatermark()
				if hw == 0 {
					continue
				}
				off := rng.Int64N(hw)
				reg, err := l.Read(off, 300, hw, true)
				if err != nil || reg.Len == 0 {
					t.Errorf("read %d of %d: %v", off, hw, err)
					return
				}
				buf := make([]byte, reg.Len)
				if _, err := reg.File.ReadAt(buf, reg.Pos); err != nil {
					t.Errorf("region read: %v", err)
				}
				reg.Release()
				h, nb, err := batch.Next(buf)
				if err != nil || batch.CheckCRC(buf[:nb]) != nil || h.BaseOffset > off || h.LastOffset() < off {
					t.Errorf("offset %d: batch [%d,%d] %v", off, h.BaseOffset, h.LastOffset(), err)
					return
				}
				if _, _, err := l.OffsetForTimestamp(int64(rng.IntN(perProducer))); err != nil {
					t.Errorf("timestamp lookup: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rwg.Wait()
	for _, l := range logs {
		if n := len(readAll(t, l)); n != perProducer {
			t.Fatalf("%d batches", n)
		}
		if len(l.Segments()) < 10 {
			t.Fatalf("only %d segments", len(l.Segments()))
		}
	}
	if c := m.cache.len(); c > cfg.MaxOpenSegments {
		t.Fatalf("cache holds %d", c)
	}
	// Readers racing rolls never re-extended a sealed index: after a
	// clean close every index is trimmed, and a reopen needs no rebuild.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		for _, s := range l.segments() {
			for _, p := range []string{s.offIdx.path, s.timeIdx.path} {
				if st, err := os.Stat(p); err != nil || st.Size() >= int64(cfg.IndexSizeMaxBytes) {
					t.Fatalf("%s not trimmed: %v", p, err)
				}
			}
		}
	}
	m2 := openT(t, cfg, Options{})
	defer m2.Close()
	if m2.RecoveryStats.SegmentsRecovered != 0 {
		t.Fatalf("clean reopen rebuilt %d segments", m2.RecoveryStats.SegmentsRecovered)
	}
}
