package engine

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gregorlog/gregor/engine/batch"
)

// cleanerBenchLog builds, once, a closed log dir of about 32 MiB whose
// records are 10% live: 10 records per batch, 100-byte values, keys drawn
// from a space a tenth of the record count, each key written ~10 times in
// a shuffled order.
func cleanerBenchLog(b *testing.B, codec batch.Codec) (dir string, logBytes int64) {
	b.Helper()
	dir = b.TempDir()
	cfg := cleanerTestConfig(dir)
	m := openT(b, cfg, Options{})
	l, err := m.CreateLog("bench", 0, compactTopic(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	const records = 240_000
	const keys = records / 10
	value := make([]byte, 100)
	for i := range value {
		value[i] = byte(i * 7)
	}
	// A fixed permutation walk: every key appears ten times, spread out.
	recs := make([]batch.Record, 10)
	for i := 0; i < records; i += 10 {
		for j := range recs {
			k := ((i+j)*7919 + (i+j)/keys) % keys
			recs[j] = batch.Record{OffsetDelta: int32(j), TimestampDelta: int64(j), Key: []byte(fmt.Sprintf("key-%08d", k)), Value: value}
		}
		bb, err := batch.Build(batch.BuildOptions{Codec: codec, BaseTimestamp: int64(i), ProducerID: batch.NoProducerID, ProducerEpoch: batch.NoProducerEpoch, BaseSequence: batch.NoSequence}, recs)
		if err != nil {
			b.Fatal(err)
		}
		appendT(b, l, bb)
	}
	logBytes = l.Size()
	if err := m.Close(); err != nil {
		b.Fatal(err)
	}
	return dir, logBytes
}

func copyTree(b *testing.B, src, dst string) {
	b.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		t := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(t, 0o755)
		}
		if info.Name() == lockFileName {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(t)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCleaner measures one full cleaning of a 10%-live log (MB/s of
// log) and, in the same iteration, a raw sequential read+write copy of the
// same segment files (1 MiB preads and pwrites, fdatasync per file): the
// floor any cleaner that reads everything and rewrites it pays. x_raw is
// raw copy time / cleaning time (1 = as fast as the copy), measured side
// by side so machine noise hits both.
func BenchmarkCleaner(b *testing.B) {
	for _, codec := range []batch.Codec{batch.CodecNone, batch.CodecLZ4} {
		tmpl, size := cleanerBenchLog(b, codec)
		partDir := filepath.Join(tmpl, "bench-0")
		b.Run(codec.String(), func(b *testing.B) {
			b.SetBytes(size)
			es, err := os.ReadDir(partDir)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 1<<20)
			var kept, read int64
			var cleanTime, rawTime time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := b.TempDir()
				copyTree(b, tmpl, dir)
				cfg := cleanerTestConfig(dir)
				cfg.Cleaner.DedupeBufferSize = 128 << 20
				m := openT(b, cfg, Options{})
				if _, err := m.SetTopicConfig("bench", compactTopic(1<<20)); err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				b.StartTimer()
				var st CleanStats
				for {
					s, ok, err := m.CleanOnce(time.Now())
					if err != nil {
						b.Fatal(err)
					}
					if !ok {
						break
					}
					st = s
					kept, read = kept+s.RecordsKept, read+s.RecordsRead
				}
				b.StopTimer()
				cleanTime += time.Since(start)
				if st.EndOffset == 0 {
					b.Fatal("nothing cleaned")
				}
				m.Close()
				out := b.TempDir()
				start = time.Now()
				for _, e := range es {
					if filepath.Ext(e.Name()) != logSuffix {
						continue
					}
					if err := rawCopy(filepath.Join(partDir, e.Name()), filepath.Join(out, e.Name()), buf); err != nil {
						b.Fatal(err)
					}
				}
				rawTime += time.Since(start)
				b.StartTimer()
			}
			if read > 0 {
				b.ReportMetric(float64(kept)/float64(read), "kept/record")
			}
			b.ReportMetric(float64(size)*float64(b.N)/rawTime.Seconds()/1e6, "raw_MB/s")
			b.ReportMetric(rawTime.Seconds()/cleanTime.Seconds(), "x_raw")
		})
	}
}

func rawCopy(src, dst string, buf []byte) error {
	in, err := OSFS{}.OpenFile(src, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := OSFS{}.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	var pos int64
	for {
		n, err := in.ReadAt(buf, pos)
		if n > 0 {
			if _, werr := out.WriteAt(buf[:n], pos); werr != nil {
				return werr
			}
			pos += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	return out.Datasync()
}
