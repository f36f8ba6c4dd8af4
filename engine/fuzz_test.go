package engine

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gregorlog/gregor/engine/batch"
)

// seedSegment returns a small valid segment with its indexes (index
// interval 64 bytes, so there are many entries), built through the engine.
func seedSegment(tb testing.TB) [3][]byte {
	seedOnce.Do(func() {
		dir := tb.TempDir()
		cfg := testConfig(dir)
		cfg.IndexIntervalBytes = 64
		m := openT(tb, cfg, Options{})
		l, err := m.CreateLog("t", 0, TopicConfig{})
		if err != nil {
			tb.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			appendT(tb, l, mkBatch(tb, 1+i%3, 10+i*5, int64(100+i*10), i))
		}
		if err := m.Close(); err != nil {
			tb.Fatal(err)
		}
		for i, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
			if seedFiles[i], err = os.ReadFile(filepath.Join(dir, "t-0", segmentName(0)+suf)); err != nil {
				tb.Fatal(err)
			}
		}
	})
	return seedFiles
}

var (
	seedOnce  sync.Once
	seedFiles [3][]byte
)

// writePartition lays out one partition dir with the given segment files.
func writePartition(t *testing.T, logBytes, idx, tidx []byte, clean bool) string {
	dir := t.TempDir()
	p := filepath.Join(dir, "t-0")
	os.MkdirAll(p, 0o755)
	base := filepath.Join(p, segmentName(0))
	os.WriteFile(base+logSuffix, logBytes, 0o644)
	if idx != nil {
		os.WriteFile(base+indexSuffix, idx, 0o644)
	}
	if tidx != nil {
		os.WriteFile(base+timeIndexSuffix, tidx, 0o644)
	}
	if clean {
		os.WriteFile(filepath.Join(dir, cleanShutdownFileName), nil, 0o644)
	}
	return dir
}

// FuzzSegmentRecovery loads arbitrary .log bytes after an unclean
// shutdown. Recovery must not fail or panic, must keep exactly a prefix of
// the file made of valid batches, and must never serve a corrupt batch.
func FuzzSegmentRecovery(f *testing.F) {
	seg := seedSegment(f)
	f.Add(seg[0])
	f.Add(seg[0][:len(seg[0])-5])
	torn := bytes.Clone(seg[0])
	torn[len(torn)/2] ^= 0x40
	f.Add(torn)
	f.Add(append(bytes.Clone(seg[0]), make([]byte, 100)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := writePartition(t, data, nil, nil, false)
		m, err := Open(testConfig(dir), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		l, err := m.Log("t", 0)
		if err != nil {
			t.Fatal(err)
		}
		var served []byte
		for _, b := range readAll(t, l) { // fails on a CRC-invalid batch
			served = append(served, b...)
		}
		if int64(len(served)) != l.Size() || !bytes.HasPrefix(data, served) {
			t.Fatalf("recovered %d bytes, served %d, not a prefix of the input", l.Size(), len(served))
		}
		// The recovered log accepts appends.
		if _, err := l.AppendAsync(mkBatch(t, 1, 1, 1, 1), AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzIndexFiles loads a valid segment with arbitrary .index and
// .timeindex bytes after a clean shutdown (when the indexes are trusted).
// Every offset must still read back from the batch that holds it, and
// timestamp lookups must not fail or panic.
func FuzzIndexFiles(f *testing.F) {
	seg := seedSegment(f)
	f.Add(seg[1], seg[2])
	f.Add(seg[1][:len(seg[1])-3], seg[2][:len(seg[2])-1])
	bad := bytes.Clone(seg[1])
	if len(bad) > 12 {
		bad[11] ^= 0x10
	}
	f.Add(bad, []byte{})
	f.Add([]byte{0, 0, 0, 5, 0, 0, 0, 9}, make([]byte, 24))
	f.Fuzz(func(t *testing.T, idx, tidx []byte) {
		dir := writePartition(t, seg[0], idx, tidx, true)
		m, err := Open(testConfig(dir), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		l, err := m.Log("t", 0)
		if err != nil {
			t.Fatal(err)
		}
		leo := l.LogEndOffset()
		if leo != 39 {
			t.Fatalf("log end %d", leo)
		}
		for off := int64(0); off < leo; off++ {
			b, err := l.ReadCopy(off, 1, leo, true)
			if err != nil {
				t.Fatalf("offset %d: %v", off, err)
			}
			h, n, err := batch.Next(b)
			if err != nil || batch.CheckCRC(b[:n]) != nil || h.BaseOffset > off || h.LastOffset() < off {
				t.Fatalf("offset %d: got batch [%d,%d] %v", off, h.BaseOffset, h.LastOffset(), err)
			}
		}
		for _, ts := range []int64{-3, -2, -1, 0, 100, 150, 1000} {
			if _, _, err := l.OffsetForTimestamp(ts); err != nil {
				t.Fatalf("timestamp %d: %v", ts, err)
			}
		}
	})
}
