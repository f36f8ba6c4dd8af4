package engine

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/gregorlog/gregor/engine/batch"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden from the current engine")

// goldenFiles are the files of testdata/golden/segments: a partition dir
// with two segments (rolled at 2 KiB, index interval 256 bytes) and the
// dir-level checkpoints, exactly as Kafka would lay them out.
var goldenFiles = []string{
	"golden-0/00000000000000000000.log",
	"golden-0/00000000000000000000.index",
	"golden-0/00000000000000000000.timeindex",
	"golden-0/00000000000000000024.log",
	"golden-0/00000000000000000024.index",
	"golden-0/00000000000000000024.timeindex",
	"recovery-point-offset-checkpoint",
	"replication-offset-checkpoint",
	"log-start-offset-checkpoint",
}

func goldenConfig(dir string) Config {
	cfg := testConfig(dir)
	cfg.SegmentBytes = 2048
	cfg.IndexIntervalBytes = 256
	return cfg
}

func writeGoldenLog(t *testing.T, dir string) {
	m := openT(t, goldenConfig(dir), Options{})
	l, err := m.CreateLog("golden", 0, TopicConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 15; i++ {
		recs := make([]batch.Record, 1+i%3)
		for j := range recs {
			recs[j] = batch.Record{OffsetDelta: int32(j), TimestampDelta: int64(j), Key: []byte{byte('a' + i)}, Value: bytes.Repeat([]byte{byte(i)}, 40+10*j)}
		}
		b, err := batch.Build(batch.BuildOptions{BaseTimestamp: 1_700_000_000_000 + int64(i)*1000, ProducerID: batch.NoProducerID, ProducerEpoch: batch.NoProducerEpoch, BaseSequence: batch.NoSequence}, recs)
		if err != nil {
			t.Fatal(err)
		}
		appendT(t, l, b)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestGoldenSegments pins the bytes the engine writes: segment names,
// batches with assigned offsets and leader epoch, sparse index and time
// index entries, trimmed index lengths and checkpoint text.
func TestGoldenSegments(t *testing.T) {
	dir := t.TempDir()
	writeGoldenLog(t, dir)
	golden := filepath.Join("testdata", "golden", "segments")
	for _, name := range goldenFiles {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(golden, name)
		if *updateGolden {
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the golden file (%d vs %d bytes)", name, len(got), len(want))
		}
	}
}

// TestGoldenIndexEntries decodes the golden index files independently of
// the engine and checks each entry against the batches in the .log.
func TestGoldenIndexEntries(t *testing.T) {
	golden := filepath.Join("testdata", "golden", "segments", "golden-0")
	for _, base := range []int64{0, 24} {
		logb, err := os.ReadFile(filepath.Join(golden, segmentName(base)+logSuffix))
		if err != nil {
			t.Fatal(err)
		}
		// Batch start positions and last offsets.
		last := map[int64]int64{}
		for pos := 0; pos < len(logb); {
			h, n, err := batch.Next(logb[pos:])
			if err != nil || batch.CheckCRC(logb[pos:pos+n]) != nil || h.PartitionLeaderEpoch != 3 {
				t.Fatalf("batch at %d: %+v %v", pos, h, err)
			}
			last[int64(pos)] = h.LastOffset()
			pos += n
		}
		idx, _ := os.ReadFile(filepath.Join(golden, segmentName(base)+indexSuffix))
		if len(idx) == 0 || len(idx)%8 != 0 {
			t.Fatalf("index length %d", len(idx))
		}
		for i := 0; i < len(idx); i += 8 {
			rel := int64(binary.BigEndian.Uint32(idx[i:]))
			pos := int64(binary.BigEndian.Uint32(idx[i+4:]))
			if lo, ok := last[pos]; !ok || lo != base+rel {
				t.Errorf("segment %d index entry (%d,%d): batch there ends at %d", base, rel, pos, lo)
			}
		}
		tidx, _ := os.ReadFile(filepath.Join(golden, segmentName(base)+timeIndexSuffix))
		if len(tidx) == 0 || len(tidx)%12 != 0 {
			t.Fatalf("time index length %d", len(tidx))
		}
		prev := int64(-1)
		for i := 0; i < len(tidx); i += 12 {
			ts := int64(binary.BigEndian.Uint64(tidx[i:]))
			if ts <= prev || ts < 1_700_000_000_000 {
				t.Errorf("time index entry %d: %d after %d", i/12, ts, prev)
			}
			prev = ts
		}
	}
}

// TestGoldenLoad opens the golden dir as a Kafka log dir after a clean
// shutdown and reads it back.
func TestGoldenLoad(t *testing.T) {
	dir := t.TempDir()
	golden := filepath.Join("testdata", "golden", "segments")
	for _, name := range goldenFiles {
		b, err := os.ReadFile(filepath.Join(golden, name))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, cleanShutdownFileName), nil, 0o644)
	m := openT(t, goldenConfig(dir), Options{})
	defer m.Close()
	if m.RecoveryStats.SegmentsRecovered != 0 {
		t.Fatalf("golden dir needed recovery: %+v", m.RecoveryStats)
	}
	l, err := m.Log("golden", 0)
	if err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 30 || len(l.Segments()) != 2 {
		t.Fatalf("leo %d, %d segments", l.LogEndOffset(), len(l.Segments()))
	}
	if got := readAll(t, l); len(got) != 15 {
		t.Fatalf("%d batches", len(got))
	}
	if off, ts, _ := l.OffsetForTimestamp(1_700_000_007_000); off != 13 || ts != 1_700_000_007_000 {
		t.Fatalf("timestamp lookup (%d,%d)", off, ts)
	}
}
