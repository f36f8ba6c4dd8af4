package batch

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var updateGolden = flag.Bool("update-golden", false, "regenerate testdata/*.batch by producing with franz-go's kgo against kfake")

// goldenCodecs names the golden files: testdata/kgo-<name>.batch holds one
// RecordBatch exactly as franz-go's producer put it on the wire.
var goldenCodecs = []struct {
	name  string
	codec kgo.CompressionCodec
	want  Codec
}{
	{"none", kgo.NoCompression(), CodecNone},
	{"gzip", kgo.GzipCompression(), CodecGzip},
	{"snappy", kgo.SnappyCompression(), CodecSnappy},
	{"lz4", kgo.Lz4Compression(), CodecLZ4},
	{"zstd", kgo.ZstdCompression(), CodecZstd},
}

// goldenRecord is the i-th record the generator produces; the golden test
// checks decoded records against it.
func goldenRecord(i int) *kgo.Record {
	r := &kgo.Record{
		Topic:   "golden",
		Value:   bytes.Repeat([]byte(fmt.Sprintf("value-%03d|", i)), 20),
		Headers: []kgo.RecordHeader{{Key: "h", Value: []byte(fmt.Sprint(i))}},
	}
	if i%3 != 0 {
		r.Key = []byte(fmt.Sprintf("key-%d", i))
	}
	return r
}

const goldenRecords = 50

// captureKgoBatch produces goldenRecords records with a real kgo producer
// into kfake and returns the Produce request's raw batch as the client put
// it on the wire (captured through kfake's control hook).
func captureKgoBatch(t *testing.T, codec kgo.CompressionCodec) []byte {
	t.Helper()
	{
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "golden"))
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var captured []byte
		armed := false // set once the warm-up record is through
		c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			pr := req.(*kmsg.ProduceRequest)
			mu.Lock()
			defer mu.Unlock()
			for _, tp := range pr.Topics {
				for _, p := range tp.Partitions {
					if armed && captured == nil {
						captured = append([]byte(nil), p.Records...)
					}
				}
			}
			return nil, nil, false
		})
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerBatchCompression(codec),
			kgo.ManualFlushing(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		// A warm-up record first, so the client knows the partition before
		// the golden records: records produced while the topic's metadata
		// is still loading reach the partition's buffer a few at a time,
		// and Flush could send them as two batches.
		warm := &kgo.Record{Topic: "golden", Value: []byte("warm-up")}
		cl.Produce(ctx, warm, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		armed = true
		mu.Unlock()
		var wg sync.WaitGroup
		for i := range goldenRecords {
			wg.Add(1)
			r := goldenRecord(i)
			r.Timestamp = time.UnixMilli(1700000000000 + int64(i))
			cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					t.Error(err)
				}
			})
		}
		cl.Flush(ctx)
		wg.Wait()
		cancel()
		cl.Close()
		c.Close()
		mu.Lock()
		defer mu.Unlock()
		if captured == nil {
			t.Fatal("no produce captured")
		}
		return captured
	}
}

// TestKgoLive checks the batches today's franz-go producer writes, for
// every codec, without going through testdata.
func TestKgoLive(t *testing.T) {
	for _, gc := range goldenCodecs {
		t.Run(gc.name, func(t *testing.T) {
			checkGoldenBatch(t, captureKgoBatch(t, gc.codec), gc.want)
		})
	}
}

// javaSnappyRecords are the records of testdata/java-snappy.batch: enough
// data for several 32 KiB xerial blocks.
func javaSnappyRecords() []Record {
	recs := make([]Record, 3000)
	for i := range recs {
		recs[i] = Record{TimestampDelta: int64(i), OffsetDelta: int32(i), Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("java snappy value %05d", i))}
	}
	return recs
}

// generateJavaSnappy compresses a batch's records with snappy-java's
// SnappyOutputStream (what Kafka's Java producer uses) through
// testdata/Xerial.java (needs a JDK and Debian's libsnappy-java), and writes
// the resulting batch to testdata/java-snappy.batch.
func generateJavaSnappy(t *testing.T) {
	plain, err := Build(BuildOptions{BaseTimestamp: 1700000000000, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, javaSnappyRecords())
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("java", "-cp", "/usr/share/java/snappy-java.jar", filepath.Join("testdata", "Xerial.java"))
	cmd.Stdin = bytes.NewReader(plain[HeaderSize:])
	cmd.Stderr = os.Stderr
	compressed, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	b := append(append([]byte(nil), plain[:HeaderSize]...), compressed...)
	binary.BigEndian.PutUint32(b[offLength:], uint32(len(b)-LogOverhead))
	binary.BigEndian.PutUint16(b[offAttributes:], uint16(CodecSnappy))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
	if err := os.WriteFile(filepath.Join("testdata", "java-snappy.batch"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGoldenJavaSnappy(t *testing.T) {
	if *updateGolden {
		generateJavaSnappy(t)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "java-snappy.batch"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b[HeaderSize:], xerialMagic) {
		t.Fatal("not xerial framed")
	}
	if _, err := Validate(b, 1<<20); err != nil {
		t.Fatal(err)
	}
	got, err := Records(b, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	want := javaSnappyRecords()
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Key, want[i].Key) || !bytes.Equal(got[i].Value, want[i].Value) || got[i].OffsetDelta != want[i].OffsetDelta {
			t.Fatalf("record %d differs: %+v", i, got[i])
		}
	}
	// A limit below the decompressed size is refused per xerial block.
	if _, err := Records(b, 1000); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Fatalf("limit 1000: %v", err)
	}
}

// TestGolden decodes batches written by franz-go's producer for every
// codec (testdata/kgo-*.batch; rewritten from a live capture with
// -update-golden).
func TestGolden(t *testing.T) {
	for _, gc := range goldenCodecs {
		t.Run(gc.name, func(t *testing.T) {
			path := filepath.Join("testdata", "kgo-"+gc.name+".batch")
			if *updateGolden {
				if err := os.WriteFile(path, captureKgoBatch(t, gc.codec), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkGoldenBatch(t, b, gc.want)
		})
	}
}

func checkGoldenBatch(t *testing.T, b []byte, want Codec) {
	t.Helper()
	h, err := ValidateProduce(b, 1<<20)
	if err != nil {
		t.Fatalf("ValidateProduce: %v", err)
	}
	if h.Codec() != want {
		t.Fatalf("codec %v, want %v", h.Codec(), want)
	}
	if int(h.NumRecords) != goldenRecords || h.LastOffsetDelta != goldenRecords-1 {
		t.Fatalf("count %d lastOffsetDelta %d", h.NumRecords, h.LastOffsetDelta)
	}
	if h.BaseTimestamp != 1700000000000 || h.MaxTimestamp != 1700000000000+goldenRecords-1 {
		t.Fatalf("timestamps %d..%d", h.BaseTimestamp, h.MaxTimestamp)
	}
	recs, err := Records(b, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		w := goldenRecord(i)
		if int(r.OffsetDelta) != i || r.TimestampDelta != int64(i) {
			t.Fatalf("record %d: offsetDelta %d timestampDelta %d", i, r.OffsetDelta, r.TimestampDelta)
		}
		if !bytes.Equal(r.Key, w.Key) || (r.Key == nil) != (w.Key == nil) || !bytes.Equal(r.Value, w.Value) {
			t.Fatalf("record %d: key %q value %q", i, r.Key, r.Value)
		}
		if len(r.Headers) != 1 || r.Headers[0].Key != "h" || string(r.Headers[0].Value) != fmt.Sprint(i) {
			t.Fatalf("record %d: headers %+v", i, r.Headers)
		}
	}
	// Re-encoding the decoded records reproduces kgo's uncompressed batch
	// byte for byte (same varint encoding, same header fields).
	if want == CodecNone {
		opts := BuildOptions{BaseTimestamp: h.BaseTimestamp, ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch, BaseSequence: h.BaseSequence, PartitionLeaderEpoch: h.PartitionLeaderEpoch}
		rebuilt, err := Build(opts, recs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rebuilt, b) {
			t.Fatalf("Build does not reproduce kgo's uncompressed batch byte for byte")
		}
	}
}
