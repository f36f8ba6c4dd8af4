package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func noProducer() BuildOptions {
	return BuildOptions{ProducerID: NoProducerID, ProducerEpoch: NoProducerEpoch, BaseSequence: NoSequence, BaseTimestamp: 1700000000000}
}

func sampleRecords(n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{TimestampDelta: int64(i), Key: []byte(fmt.Sprintf("k%d", i)), Value: bytes.Repeat([]byte{byte(i)}, i%17)}
	}
	return recs
}

func mustBuild(t testing.TB, opts BuildOptions, recs []Record) []byte {
	t.Helper()
	b, err := Build(opts, recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixCRC(b []byte) {
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
}

// TestValidateErrors covers the batch-level situations of
// kafka-protocol.md §10.1, each mapped to its sentinel (and so Kafka code).
func TestValidateErrors(t *testing.T) {
	valid := mustBuild(t, noProducer(), sampleRecords(5))
	mod := func(f func(b []byte) []byte, crc bool) []byte {
		b := f(append([]byte(nil), valid...))
		if crc {
			fixCRC(b)
		}
		return b
	}
	put32 := func(off int, v int32) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[off:], uint32(v)); return b }
	}
	idem := noProducer()
	idem.ProducerID, idem.ProducerEpoch, idem.BaseSequence = 7, 0, -1
	ctl := noProducer()
	ctl.Control = true
	zero := mustBuild(t, noProducer(), nil)
	lat := noProducer()
	lat.LogAppendTime = true
	cases := []struct {
		name    string
		b       []byte
		max     int
		produce bool
		want    error
	}{
		{"valid", valid, 1 << 20, true, nil},
		{"empty payload", nil, 1 << 20, true, ErrInvalidRecord},
		{"shorter than log overhead", valid[:8], 1 << 20, false, ErrTruncated},
		{"torn tail", valid[:len(valid)-1], 1 << 20, false, ErrTruncated},
		{"torn produce", valid[:len(valid)-1], 1 << 20, true, ErrTruncated},
		{"torn produce is INVALID_RECORD", valid[:len(valid)-1], 1 << 20, true, ErrInvalidRecord},
		{"torn produce header", valid[:20], 1 << 20, true, ErrInvalidRecord},
		{"LogAppendTime from producer", mustBuild(t, lat, sampleRecords(2)), 1 << 20, true, ErrInvalidTimestamp},
		{"LogAppendTime fine for Validate", mustBuild(t, lat, sampleRecords(2)), 1 << 20, false, nil},
		{"length below minimum", mod(put32(offLength, 13), false), 1 << 20, false, ErrCorrupt},
		{"negative length", mod(put32(offLength, -5), false), 1 << 20, false, ErrCorrupt},
		{"magic 3", mod(func(b []byte) []byte { b[offMagic] = 3; return b }, false), 1 << 20, false, ErrCorrupt},
		{"magic 1 on produce", mod(func(b []byte) []byte { b[offMagic] = 1; return b }, false), 1 << 20, true, ErrInvalidRecord},
		{"crc mismatch", mod(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, false), 1 << 20, false, ErrCorrupt},
		{"crc field flipped", mod(func(b []byte) []byte { b[offCRC] ^= 0x80; return b }, false), 1 << 20, false, ErrCorrupt},
		{"too large", valid, len(valid) - 1, false, ErrTooLarge},
		{"too large beats bad crc", mod(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, false), 10, false, ErrTooLarge},
		{"two batches", append(append([]byte(nil), valid...), valid...), 1 << 20, true, ErrInvalidRecord},
		{"trailing fragment", append(append([]byte(nil), valid...), 0, 0, 0), 1 << 20, true, ErrInvalidRecord},
		{"baseOffset from client", mod(func(b []byte) []byte { SetBaseOffset(b, 5); return b }, false), 1 << 20, true, ErrInvalidRecord},
		{"baseOffset fine for Validate", mod(func(b []byte) []byte { SetBaseOffset(b, 5); return b }, false), 1 << 20, false, nil},
		{"negative lastOffsetDelta", mod(put32(offLastOffsetDelta, -1), true), 1 << 20, false, ErrInvalidRecord},
		{"count zero", zero, 1 << 20, false, ErrInvalidRecord},
		{"count != offset range", mod(put32(offLastOffsetDelta, 9), true), 1 << 20, false, ErrInvalidRecord},
		{"count larger than records", mod(put32(offNumRecords, 6), true), 1 << 20, false, ErrInvalidRecord},
		{"control batch from client", mustBuild(t, ctl, sampleRecords(1)), 1 << 20, true, ErrInvalidRecord},
		{"producer id with negative sequence", mustBuild(t, idem, sampleRecords(2)), 1 << 20, true, ErrInvalidRecord},
		{"unknown codec 5", mod(func(b []byte) []byte { b[offAttributes+1] |= 5; return b }, true), 1 << 20, false, ErrUnsupportedCodec},
		{"garbage record bytes", mod(func(b []byte) []byte {
			for i := HeaderSize; i < len(b); i++ {
				b[i] = 0xff
			}
			return b
		}, true), 1 << 20, false, ErrInvalidRecord},
		{"gzip garbage", mod(func(b []byte) []byte { b[offAttributes+1] |= byte(CodecGzip); return b }, true), 1 << 20, false, ErrCorrupt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.produce {
				_, err = ValidateProduce(tc.b, tc.max)
			} else {
				_, err = Validate(tc.b, tc.max)
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNextWalksSegment(t *testing.T) {
	var seg []byte
	var want []int64
	for i := range 5 {
		opts := noProducer()
		opts.BaseOffset = int64(i * 10)
		opts.Codec = Codec(i % 5)
		seg = append(seg, mustBuild(t, opts, sampleRecords(i+1))...)
		want = append(want, int64(i*10))
	}
	torn := len(seg) - 7
	b := seg[:torn]
	var got []int64
	for {
		h, n, err := Next(b)
		if errors.Is(err, ErrTruncated) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckCRC(b[:n]); err != nil {
			t.Fatal(err)
		}
		got = append(got, h.BaseOffset)
		b = b[n:]
	}
	if fmt.Sprint(got) != fmt.Sprint(want[:4]) {
		t.Fatalf("walked %v, want %v", got, want[:4])
	}
}

func TestHeaderAccessorsAndPatching(t *testing.T) {
	opts := BuildOptions{Codec: CodecLZ4, BaseOffset: 0, BaseTimestamp: 1000, ProducerID: 42, ProducerEpoch: 3, BaseSequence: 17, Transactional: true}
	b := mustBuild(t, opts, sampleRecords(4))
	SetBaseOffset(b, 1234)
	SetPartitionLeaderEpoch(b, 9)
	h, err := Validate(b, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if h.BaseOffset != 1234 || h.PartitionLeaderEpoch != 9 || h.LastOffset() != 1237 || h.Size() != len(b) {
		t.Fatalf("header %+v", h)
	}
	if h.Codec() != CodecLZ4 || !h.IsTransactional() || h.IsControl() || h.LogAppendTime() || h.MaxTimestamp != 1003 {
		t.Fatalf("attributes %+v", h)
	}
	SetLogAppendTime(b, 5555)
	h, err = Validate(b, 1<<20)
	if err != nil || !h.LogAppendTime() || h.MaxTimestamp != 5555 {
		t.Fatalf("after SetLogAppendTime: %+v %v", h, err)
	}
	if _, err := ParseHeader(b[:HeaderSize-1]); !errors.Is(err, ErrTruncated) {
		t.Fatal(err)
	}
	ph, err := ParseHeader(b)
	if err != nil || ph != h {
		t.Fatalf("ParseHeader %+v %v", ph, err)
	}
}

// TestRoundTrip is a property test: random records through Build, Validate
// and Records come back unchanged, for every codec.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randBytes := func(n int) []byte {
		if rng.IntN(5) == 0 {
			return nil
		}
		b := make([]byte, rng.IntN(n))
		for i := range b {
			b[i] = byte(rng.IntN(4)) // compressible
		}
		return b
	}
	for iter := range 200 {
		n := 1 + rng.IntN(40)
		recs := make([]Record, n)
		for i := range recs {
			recs[i] = Record{TimestampDelta: rng.Int64N(1 << 40), OffsetDelta: int32(i), Key: randBytes(30), Value: randBytes(3000)}
			for range rng.IntN(3) {
				recs[i].Headers = append(recs[i].Headers, RecordHeader{Key: string(randBytes(8)), Value: randBytes(8)})
			}
		}
		opts := noProducer()
		opts.Codec = Codec(iter % 5)
		if iter%2 == 0 {
			opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = rng.Int64N(1<<40), int16(rng.IntN(100)), int32(rng.IntN(1<<30))
		}
		b := mustBuild(t, opts, recs)
		h, err := ValidateProduce(b, 1<<30)
		if err != nil {
			t.Fatalf("iter %d: %v", iter, err)
		}
		if h.ProducerID != opts.ProducerID || h.BaseSequence != opts.BaseSequence || int(h.NumRecords) != n {
			t.Fatalf("iter %d: header %+v", iter, h)
		}
		got, err := Records(b, 1<<30)
		if err != nil {
			t.Fatalf("iter %d: %v", iter, err)
		}
		for i := range recs {
			w, g := recs[i], got[i]
			if g.TimestampDelta != w.TimestampDelta || g.OffsetDelta != w.OffsetDelta ||
				!bytes.Equal(g.Key, w.Key) || (g.Key == nil) != (w.Key == nil) ||
				!bytes.Equal(g.Value, w.Value) || (g.Value == nil) != (w.Value == nil) || len(g.Headers) != len(w.Headers) {
				t.Fatalf("iter %d record %d: got %+v want %+v", iter, i, g, w)
			}
			for j := range w.Headers {
				if g.Headers[j].Key != w.Headers[j].Key || !bytes.Equal(g.Headers[j].Value, w.Headers[j].Value) || (g.Headers[j].Value == nil) != (w.Headers[j].Value == nil) {
					t.Fatalf("iter %d record %d header %d differs", iter, i, j)
				}
			}
		}
	}
}

func TestDecompressBombs(t *testing.T) {
	big := make([]byte, 4<<20) // zeros compress ~1000:1
	for _, c := range []Codec{CodecGzip, CodecSnappy, CodecLZ4, CodecZstd} {
		t.Run(c.String(), func(t *testing.T) {
			comp, err := Compress(c, nil, big)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Decompress(c, comp, len(big))
			if err != nil || !bytes.Equal(out, big) {
				t.Fatalf("exact limit: %v", err)
			}
			if _, err := Decompress(c, comp, len(big)-1); !errors.Is(err, ErrDecompressedTooLarge) {
				t.Fatalf("limit-1: %v", err)
			}
			if _, err := Decompress(c, comp, 1<<10); !errors.Is(err, ErrDecompressedTooLarge) {
				t.Fatalf("small limit: %v", err)
			}
		})
	}
	// A batch whose records decompress past DecompressLimit is refused.
	opts := noProducer()
	opts.Codec = CodecZstd
	b := mustBuild(t, opts, []Record{{Value: make([]byte, 40<<20)}})
	if _, err := Validate(b, 1<<20); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Fatalf("bomb batch: %v", err)
	}
	if _, err := Decompress(Codec(6), []byte{1}, 10); !errors.Is(err, ErrUnsupportedCodec) {
		t.Fatal(err)
	}
}

func TestRawSnappyAccepted(t *testing.T) {
	// librdkafka writes unframed snappy; kgo-snappy.batch is also raw.
	b, err := os.ReadFile(filepath.Join("testdata", "kgo-snappy.batch"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Records(b, 1<<20); err != nil {
		t.Fatal(err)
	}
}

func TestValidateNoAllocsUncompressed(t *testing.T) {
	b := mustBuild(t, noProducer(), sampleRecords(100))
	if n := testing.AllocsPerRun(50, func() {
		if _, err := Validate(b, 1<<20); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("Validate allocates %.1f times per uncompressed batch", n)
	}
}

func FuzzValidate(f *testing.F) {
	for _, c := range []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd} {
		opts := noProducer()
		opts.Codec = c
		b, _ := Build(opts, sampleRecords(3))
		f.Add(b)
	}
	if files, _ := filepath.Glob(filepath.Join("testdata", "*.batch")); len(files) > 0 {
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && len(b) < 16<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		b := append([]byte(nil), in...)
		// Patch a valid CRC in half the cases so the fuzzer reaches the
		// record checks.
		if len(b) >= HeaderSize && b[0]&1 == 1 {
			fixCRC(b)
		}
		h, err := Validate(b, 1<<20)
		Next(b)
		if err != nil {
			return
		}
		recs, err := Records(b, DecompressLimit(1<<20))
		if err != nil {
			t.Fatalf("Validate accepted a batch Records rejects: %v", err)
		}
		if len(recs) != int(h.NumRecords) {
			t.Fatalf("%d records, header says %d", len(recs), h.NumRecords)
		}
	})
}

func FuzzDecompress(f *testing.F) {
	for _, c := range []Codec{CodecGzip, CodecSnappy, CodecLZ4, CodecZstd} {
		small, _ := Compress(c, nil, []byte("hello hello hello hello"))
		bomb, _ := Compress(c, nil, make([]byte, 1<<20))
		f.Add(int8(c), small)
		f.Add(int8(c), bomb)
	}
	f.Fuzz(func(t *testing.T, c int8, src []byte) {
		const limit = 64 << 10
		out, err := Decompress(Codec(c), src, limit)
		if err == nil && len(out) > limit {
			t.Fatalf("output %d bytes over limit", len(out))
		}
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrDecompressedTooLarge) && !errors.Is(err, ErrUnsupportedCodec) {
			t.Fatalf("unclassified error %v", err)
		}
	})
}

func benchValidate(b *testing.B, size int, codec Codec) {
	const recSize = 1 << 10
	n := max(1, size/recSize)
	recs := make([]Record, n)
	for i := range recs {
		v := make([]byte, recSize-30)
		for j := range v {
			v[j] = byte(j * i)
		}
		recs[i] = Record{Value: v}
	}
	opts := noProducer()
	opts.Codec = codec
	batch := mustBuild(b, opts, recs)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Validate(batch, 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("none/%dKiB", size>>10), func(b *testing.B) { benchValidate(b, size, CodecNone) })
	}
	b.Run("lz4/64KiB", func(b *testing.B) { benchValidate(b, 64<<10, CodecLZ4) })
	b.Run("zstd/64KiB", func(b *testing.B) { benchValidate(b, 64<<10, CodecZstd) })
}

// BenchmarkCRC is the ceiling Validate is measured against.
func BenchmarkCRC(b *testing.B) {
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		crc32.Checksum(buf, castagnoli)
	}
}
