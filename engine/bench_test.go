package engine

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gregorlog/gregor/engine/batch"
	"github.com/gregorlog/gregor/engine/checkpoint"
)

// --- Append queue: lock-free MPSC vs a mutex-guarded slice ---------------

type qItem struct {
	mpscNode[qItem]
	b []byte
}

func (q *qItem) link() **qItem { return &q.next }

type benchQueue interface {
	push(*qItem) bool
	drain([]*qItem) []*qItem
}

type lockFreeQ struct{ q mpscQueue[qItem, *qItem] }

func (l *lockFreeQ) push(x *qItem) bool        { return l.q.push(x) }
func (l *lockFreeQ) drain(b []*qItem) []*qItem { return l.q.drain(b) }
func (m *mutexQ) drain(b []*qItem) []*qItem {
	m.mu.Lock()
	b = append(b[:0], m.items...)
	m.items = m.items[:0]
	m.mu.Unlock()
	return b
}
func (m *mutexQ) push(x *qItem) (wasEmpty bool) {
	m.mu.Lock()
	wasEmpty = len(m.items) == 0
	m.items = append(m.items, x)
	m.mu.Unlock()
	return
}
func newQueue(kind string) benchQueue {
	if kind == "lockfree" {
		return &lockFreeQ{}
	}
	return &mutexQ{}
}

type mutexQ struct {
	mu    sync.Mutex
	items []*qItem
}

// BenchmarkQueue measures the handoff from producers to the single
// appender under contention. The consumer copies each batch into a 64 MiB
// ring (standing in for the page-cache write) so that per-batch work is
// realistic; producers wake it the way Log.enqueue does, only when the
// queue was empty.
func BenchmarkQueue(b *testing.B) {
	for _, kind := range []string{"lockfree", "mutex"} {
		for _, producers := range []int{1, 8, 64} {
			for _, size := range []int{100, 1024, 64 << 10} {
				b.Run(fmt.Sprintf("%s/producers=%d/size=%d", kind, producers, size), func(b *testing.B) {
					q := newQueue(kind)
					ring := make([]byte, 64<<20)
					wake := make(chan struct{}, 1)
					done := make(chan struct{})
					total := b.N
					go func() {
						var buf []*qItem
						n, pos := 0, 0
						for n < total {
							buf = q.drain(buf)
							if len(buf) == 0 {
								<-wake
								continue
							}
							for _, it := range buf {
								if pos+len(it.b) > len(ring) {
									pos = 0
								}
								pos += copy(ring[pos:], it.b)
							}
							n += len(buf)
						}
						close(done)
					}()
					payload := make([]byte, size)
					b.SetBytes(int64(size))
					b.ResetTimer()
					var wg sync.WaitGroup
					for p := 0; p < producers; p++ {
						n := total / producers
						if p < total%producers {
							n++
						}
						wg.Add(1)
						go func() {
							defer wg.Done()
							for i := 0; i < n; i++ {
								if q.push(&qItem{b: payload}) {
									select {
									case wake <- struct{}{}:
									default:
									}
								}
							}
						}()
					}
					wg.Wait()
					select {
					case wake <- struct{}{}:
					default:
					}
					<-done
				})
			}
		}
	}
}

// --- Append throughput against the raw disk ------------------------------

var benchSizes = []struct {
	name string
	size int
}{{"100B", 100}, {"1KiB", 1 << 10}, {"1MiB", 1 << 20}, {"15MiB", 15 << 20}}

// rawWriter writes buffers of one size sequentially to a file, calling
// fdatasync after every syncEvery bytes (0: never). It is the physical
// baseline the engine is compared with in the same run.
type rawWriter struct {
	f         *osFile
	buf       []byte
	off       int64
	dirty     int
	syncEvery int
}

func newRawWriter(b *testing.B, dir string, size, syncEvery int) *rawWriter {
	f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("raw-%d", rand.Int())), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return &rawWriter{f: &osFile{f: f, fd: int(f.Fd())}, buf: make([]byte, size), syncEvery: syncEvery}
}

// write does n writes and returns the time taken.
func (w *rawWriter) write(b *testing.B, n int) time.Duration {
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := w.f.WritevAt([][]byte{w.buf}, w.off); err != nil {
			b.Fatal(err)
		}
		w.off += int64(len(w.buf))
		w.dirty += len(w.buf)
		if w.syncEvery > 0 && w.dirty >= w.syncEvery {
			if err := w.f.Datasync(); err != nil {
				b.Fatal(err)
			}
			w.dirty = 0
		}
	}
	return time.Since(start)
}

// BenchmarkAppend measures Log.Append MB/s for one-record batches under
// the default policy and under flush.messages=1, with 1, 8 and 64
// concurrent producers, and reports x_raw: the engine's bandwidth divided
// by the raw disk's for the same bytes in the same run (sequential writes
// of the same size; with one fdatasync per MiB for flush.messages=1).
// Producers are capped so their batch buffers stay under 256 MiB.
func BenchmarkAppend(b *testing.B) {
	for _, policy := range []string{"default", "flush1"} {
		for _, sz := range benchSizes {
			for _, producers := range []int{1, 8, 64} {
				p := min(producers, max(1, (256<<20)/sz.size))
				b.Run(fmt.Sprintf("policy=%s/size=%s/producers=%d", policy, sz.name, producers), func(b *testing.B) {
					benchAppend(b, policy, sz.size, p)
				})
			}
		}
	}
}

func benchAppend(b *testing.B, policy string, size, producers int) {
	dir := b.TempDir()
	cfg := testConfig(dir)
	m, err := Open(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	tc := TopicConfig{MaxMessageBytes: Ptr[int32](16 << 20)}
	if policy == "flush1" {
		tc.FlushMessages = Ptr[int64](1)
	}
	l, err := m.CreateLog("bench", 0, tc)
	if err != nil {
		b.Fatal(err)
	}
	bufs := make([][]byte, producers)
	for i := range bufs {
		bufs[i] = mkBatchOne(b, size)
	}
	batchLen := len(bufs[0])
	syncEvery := 0
	if policy == "flush1" {
		syncEvery = 1 << 20
	}
	raw := newRawWriter(b, dir, batchLen, syncEvery)
	// Interleave engine and raw rounds of about 32 MiB so both see the
	// same page-cache and writeback conditions on a noisy machine.
	round := max(producers, (32<<20)/batchLen)
	b.SetBytes(int64(batchLen))
	b.ResetTimer()
	var engineT, rawT time.Duration
	for done := 0; done < b.N; {
		r := min(round, b.N-done)
		start := time.Now()
		var wg sync.WaitGroup
		for p := 0; p < producers; p++ {
			n := r / producers
			if p < r%producers {
				n++
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n; i++ {
					batch.SetBaseOffset(bufs[p], 0) // the engine wrote the last offset into it
					if _, err := l.Append(context.Background(), bufs[p], AppendOptions{}); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		engineT += time.Since(start)
		b.StopTimer()
		rawT += raw.write(b, r)
		b.StartTimer()
		done += r
	}
	b.StopTimer()
	b.ReportMetric(rawT.Seconds()/engineT.Seconds(), "x_raw")
	b.ReportMetric(float64(b.N)*float64(batchLen)/rawT.Seconds()/1e6, "raw_MB/s")
	b.ReportMetric(float64(b.N)*float64(batchLen)/engineT.Seconds()/1e6, "engine_MB/s")
}

// mkBatchOne is a batch holding one record with a value of size bytes.
func mkBatchOne(tb testing.TB, size int) []byte {
	v := make([]byte, size)
	for i := range v {
		v[i] = byte(i * 7)
	}
	b, err := batch.Build(batch.BuildOptions{BaseTimestamp: 1, ProducerID: batch.NoProducerID, ProducerEpoch: batch.NoProducerEpoch, BaseSequence: batch.NoSequence}, []batch.Record{{Value: v}})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// --- Read by offset ------------------------------------------------------

// BenchmarkReadByOffset reads the batch at a random offset of a 200k-batch
// log (index lookup, header scan, pread of up to 4 KiB) and reports x_raw
// against a plain 4 KiB pread at a random position of the same file.
func BenchmarkReadByOffset(b *testing.B) {
	dir := b.TempDir()
	cfg := testConfig(dir)
	m, err := Open(cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	l, _ := m.CreateLog("read", 0, TopicConfig{})
	const n = 200_000
	bt := mkBatchOne(b, 100)
	var ps []*Pending
	for i := 0; i < n; i++ {
		p, err := l.AppendAsync(append([]byte(nil), bt...), AppendOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		if _, err := p.Result(); err != nil {
			b.Fatal(err)
		}
	}
	hw := l.HighWatermark()
	rng := rand.New(rand.NewPCG(1, 1))
	buf := make([]byte, 4096)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		r, err := l.Read(rng.Int64N(hw), 4096, hw, true)
		if err != nil || r.Len == 0 {
			b.Fatal(err)
		}
		r.File.ReadAt(buf[:r.Len], r.Pos)
		r.Release()
	}
	engine := time.Since(start)
	b.StopTimer()
	f, _ := os.Open(l.active().logPath)
	defer f.Close()
	size := l.Size()
	start = time.Now()
	for i := 0; i < b.N; i++ {
		f.ReadAt(buf, rng.Int64N(size-4096))
	}
	raw := time.Since(start)
	b.ReportMetric(raw.Seconds()/engine.Seconds(), "x_raw")
}

// --- Recovery ------------------------------------------------------------

// BenchmarkRecovery writes 256 MiB of 1 MiB batches, abandons the manager
// without a clean shutdown or recovery checkpoint, and times Open, which
// re-validates every batch and rebuilds every index. It reports s/GB and
// x_raw against a sequential 1 MiB read of the same files.
func BenchmarkRecovery(b *testing.B) {
	const total = 256 << 20
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := b.TempDir()
		cfg := testConfig(dir)
		cfg.SegmentBytes = 64 << 20
		m, err := Open(cfg, Options{})
		if err != nil {
			b.Fatal(err)
		}
		l, _ := m.CreateLog("rec", 0, TopicConfig{MaxMessageBytes: Ptr[int32](2 << 20)})
		bt := mkBatchOne(b, 1<<20)
		for n := 0; n < total; n += len(bt) {
			batch.SetBaseOffset(bt, 0)
			if _, err := l.Append(context.Background(), bt, AppendOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		os.Remove(filepath.Join(dir, recoveryPointCheckpoint))
		m.crash()
		os.Remove(filepath.Join(dir, recoveryPointCheckpoint))
		b.StartTimer()
		start := time.Now()
		m, err = Open(cfg, Options{})
		if err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		b.StopTimer()
		if m.RecoveryStats.BytesRecovered < total {
			b.Fatalf("recovered %d bytes", m.RecoveryStats.BytesRecovered)
		}
		gb := float64(m.RecoveryStats.BytesRecovered) / 1e9
		m.Close()
		// Raw: read the same segment files sequentially.
		start = time.Now()
		ents, _ := os.ReadDir(filepath.Join(dir, "rec-0"))
		buf := make([]byte, 1<<20)
		for _, e := range ents {
			if filepath.Ext(e.Name()) != logSuffix {
				continue
			}
			f, _ := os.Open(filepath.Join(dir, "rec-0", e.Name()))
			for {
				n, err := f.Read(buf)
				if n == 0 || err != nil {
					break
				}
			}
			f.Close()
		}
		raw := time.Since(start)
		b.ReportMetric(el.Seconds()/gb, "s/GB")
		b.ReportMetric(raw.Seconds()/el.Seconds(), "x_raw")
		b.StartTimer()
	}
}

// BenchmarkTenThousandPartitions creates 10,000 partitions (one batch
// each), reads every one back, and reports the open descriptors and index
// mappings the process holds at the end: both stay bounded by
// MaxOpenSegments (1024 by default) however many partitions exist.
// go test -run '^$' -bench TenThousand -benchtime 1x ./engine/
func BenchmarkTenThousandPartitions(b *testing.B) {
	for i := 0; i < b.N; i++ {
		cfg := testConfig(b.TempDir())
		m, err := Open(cfg, Options{})
		if err != nil {
			b.Fatal(err)
		}
		bt := mkBatchOne(b, 100)
		const n = 10_000
		for p := 0; p < n; p++ {
			l, err := m.CreateLog("wide", int32(p), TopicConfig{})
			if err != nil {
				b.Fatal(err)
			}
			batch.SetBaseOffset(bt, 0)
			if _, err := l.Append(context.Background(), bt, AppendOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		for p := 0; p < n; p++ {
			l, _ := m.Log("wide", int32(p))
			r, err := l.Read(0, 1<<20, l.HighWatermark(), true)
			if err != nil || r.Len == 0 {
				b.Fatal(err)
			}
			r.Release()
		}
		fds, _ := os.ReadDir("/proc/self/fd")
		maps, _ := os.ReadFile("/proc/self/maps")
		idxMaps := 0
		for _, line := range bytes.Split(maps, []byte("\n")) {
			if bytes.HasSuffix(line, []byte(indexSuffix)) || bytes.HasSuffix(line, []byte(timeIndexSuffix)) {
				idxMaps++
			}
		}
		b.ReportMetric(float64(len(fds)), "open_fds")
		b.ReportMetric(float64(idxMaps), "index_maps")
		b.ReportMetric(float64(m.cache.len()), "open_segments")
		m.Close()
	}
}

// BenchmarkRetention measures one retention pass (Manager.RunRetention)
// over one log of 10,000 small sealed segments loaded from disk (segment i
// holds one batch with timestamp t0+i), with retention.ms 7 days and a
// retention.bytes large enough to never bite (so the pass sums the sizes
// of all segments):
//
//   - none: nothing is deletable (the common case every
//     log.retention.check.interval.ms);
//   - prefix: the 100 oldest segments have expired; the pass deletes them
//     (renamed to .deleted, partition dir fsync'd,
//     log-start-offset-checkpoint rewritten). The deleted prefix is put
//     back outside the timer, so every pass sees the same 10,000 segments.
//
// go test -run '^$' -bench BenchmarkRetention -count 3 ./engine/
func BenchmarkRetention(b *testing.B) {
	const segs, prefix = 10_000, 100
	const week = 7 * 24 * 3600 * 1000
	dir := b.TempDir()
	pdir := filepath.Join(dir, "r-0")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < segs; i++ {
		base := int64(i) * 3
		name := filepath.Join(pdir, segmentName(base))
		for suffix, data := range map[string][]byte{logSuffix: stored(mkBatchAt(b, t0+int64(i), i), base, 0), indexSuffix: nil, timeIndexSuffix: nil} {
			if err := os.WriteFile(name+suffix, data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, cleanShutdownFileName), []byte(`{"version":0,"brokerEpoch":-1}`), 0o644); err != nil {
		b.Fatal(err)
	}
	clk := &fakeClock{t: time.UnixMilli(t0)}
	cfg := testConfig(dir)
	cfg.FileDeleteDelayMs = 60_000 // Kafka's default: the pass only renames
	m, err := Open(cfg, Options{Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	l, err := m.Log("r", 0)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.SetTopicConfig("r", TopicConfig{RetentionMs: Ptr[int64](week), RetentionBytes: Ptr[int64](1 << 40)}); err != nil {
		b.Fatal(err)
	}
	if n := len(l.Segments()); n != segs {
		b.Fatalf("%d segments", n)
	}
	b.Run("none", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			del, err := m.RunRetention(clk.Now())
			if err != nil || len(del) != 0 {
				b.Fatal(del, err)
			}
		}
	})
	b.Run("prefix", func(b *testing.B) {
		orig := l.segments()
		ls := l.LogStartOffset()
		now := time.UnixMilli(t0 + week + prefix)
		for i := 0; i < b.N; i++ {
			del, err := m.RunRetention(now)
			if err != nil || len(del) != prefix {
				b.Fatal(len(del), err)
			}
			b.StopTimer()
			// Undo the deletion: rename the files back and restore the
			// segment list and log start.
			for _, s := range orig[:prefix] {
				for _, p := range s.filePaths()[:3] {
					if err := os.Rename(p+deletedSuffix, p); err != nil {
						b.Fatal(err)
					}
				}
				s.mu.Lock()
				s.deleted = false
				s.mu.Unlock()
			}
			l.mu.Lock()
			l.segs.Store(&orig)
			l.logStart.Store(ls)
			l.mu.Unlock()
			m.deleter.mu.Lock()
			m.deleter.pending = nil
			m.deleter.mu.Unlock()
			b.StartTimer()
		}
	})
	// raw is the file-system floor of prefix: the same renames, the
	// partition dir fsync and one checkpoint write, with no engine work.
	b.Run("prefix-raw", func(b *testing.B) {
		orig := l.segments()[:prefix]
		cp := filepath.Join(dir, logStartCheckpoint+".raw")
		for i := 0; i < b.N; i++ {
			for _, s := range orig {
				for _, p := range s.filePaths()[:3] {
					if err := os.Rename(p, p+deletedSuffix); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := (OSFS{}).SyncDir(pdir); err != nil {
				b.Fatal(err)
			}
			if err := checkpoint.Write(cp, []checkpoint.Entry{{Topic: "r", Partition: 0, Offset: 300}}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			for _, s := range orig {
				for _, p := range s.filePaths()[:3] {
					os.Rename(p+deletedSuffix, p)
				}
			}
			b.StartTimer()
		}
	})
}
