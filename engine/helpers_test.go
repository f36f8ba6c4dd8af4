package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/gregorlog/gregor/engine/batch"
)

// mkBatch builds a producer batch (baseOffset 0) of n records with values
// of valSize bytes, deterministic in seed, timestamps from ts.
func mkBatch(t testing.TB, n, valSize int, ts int64, seed int) []byte {
	t.Helper()
	recs := make([]batch.Record, n)
	for i := range recs {
		v := make([]byte, valSize)
		for j := range v {
			v[j] = byte(seed*31 + i*7 + j)
		}
		recs[i] = batch.Record{OffsetDelta: int32(i), TimestampDelta: int64(i), Key: []byte(fmt.Sprintf("k%d-%d", seed, i)), Value: v}
	}
	b, err := batch.Build(batch.BuildOptions{BaseTimestamp: ts, ProducerID: batch.NoProducerID, ProducerEpoch: batch.NoProducerEpoch, BaseSequence: batch.NoSequence}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stored is how the engine stores b at base with epoch.
func stored(b []byte, base int64, epoch int32) []byte {
	c := bytes.Clone(b)
	batch.SetBaseOffset(c, base)
	batch.SetPartitionLeaderEpoch(c, epoch)
	return c
}

func testConfig(dirs ...string) Config {
	c := DefaultConfig(dirs...)
	c.FileDeleteDelayMs = 0
	c.FlushOffsetCheckpointIntervalMs = NoLimit
	c.FlushStartOffsetCheckpointIntervalMs = NoLimit
	c.HighWatermarkCheckpointIntervalMs = NoLimit
	c.FlushSchedulerIntervalMs = NoLimit
	c.RetentionCheckIntervalMs = NoLimit
	return c
}

func openT(t testing.TB, cfg Config, opts Options) *Manager {
	t.Helper()
	m, err := Open(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// crash abandons the manager the way SIGKILL would: no flush, no
// checkpoint, no marker; only our own file descriptors and locks go.
func (m *Manager) crash() {
	m.closed.Store(true)
	close(m.stop)
	m.wg.Wait()
	for _, l := range m.Logs() {
		l.closed.Store(true)
		l.mu.Lock()
		l.waitFlushIdle()
		for _, s := range l.segments() {
			m.cache.remove(s)
			s.closeFiles()
		}
		l.mu.Unlock()
	}
	m.releaseLocks()
}

func appendT(t testing.TB, l *Log, b []byte) AppendResult {
	t.Helper()
	r, err := l.Append(context.Background(), b, AppendOptions{LeaderEpoch: 3})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// readAll reads every batch from start to the high watermark with
// ReadCopy, checking each batch's CRC, and returns them.
func readAll(t testing.TB, l *Log) [][]byte {
	t.Helper()
	var out [][]byte
	off := l.LogStartOffset()
	for off < l.HighWatermark() {
		b, err := l.ReadCopy(off, 1<<20, l.HighWatermark(), true)
		if err != nil {
			t.Fatalf("read %d: %v", off, err)
		}
		if len(b) == 0 {
			t.Fatalf("read %d: empty below hw %d", off, l.HighWatermark())
		}
		for len(b) > 0 {
			h, n, err := batch.Next(b)
			if errors.Is(err, batch.ErrTruncated) {
				break
			}
			if err != nil {
				t.Fatalf("read %d: %v", off, err)
			}
			if err := batch.CheckCRC(b[:n]); err != nil {
				t.Fatalf("served a corrupt batch at %d: %v", h.BaseOffset, err)
			}
			if h.LastOffset() >= off {
				out = append(out, bytes.Clone(b[:n]))
				off = h.LastOffset() + 1
			}
			b = b[n:]
		}
	}
	return out
}

// faultFS wraps OSFS and fails Datasync / writes on demand.
type faultFS struct {
	OSFS
	failSync  atomic.Bool
	failWrite atomic.Bool
	syncs     atomic.Int64
	mu        sync.Mutex
	// failOpen fails every OpenFile under this prefix with EIO.
	failOpen string
}

type faultFile struct {
	File
	fs *faultFS
}

func (f *faultFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f.mu.Lock()
	prefix := f.failOpen
	f.mu.Unlock()
	if prefix != "" && strings.HasPrefix(name, prefix) {
		return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EIO}
	}
	ff, err := f.OSFS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: ff, fs: f}, nil
}

func (f *faultFile) Datasync() error {
	f.fs.syncs.Add(1)
	if f.fs.failSync.Load() {
		return &os.PathError{Op: "fdatasync", Path: f.OS().Name(), Err: syscall.EIO}
	}
	return f.File.Datasync()
}

func (f *faultFile) WritevAt(bufs [][]byte, off int64) (int, error) {
	if f.fs.failWrite.Load() {
		return 0, &os.PathError{Op: "pwritev", Path: f.OS().Name(), Err: syscall.EIO}
	}
	return f.File.WritevAt(bufs, off)
}
