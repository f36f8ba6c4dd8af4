package fuzz

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// bombBatch returns a RecordBatch v2 holding one record whose value is n
// zero bytes, compressed with codec (1 gzip, 3 lz4, 4 zstd) by streaming,
// so the test itself never holds the n bytes.
func bombBatch(t *testing.T, codec int16, n int) []byte {
	t.Helper()
	var rec []byte
	rec = append(rec, 0)               // attributes
	rec = binary.AppendVarint(rec, 0)  // timestampDelta
	rec = binary.AppendVarint(rec, 0)  // offsetDelta
	rec = binary.AppendVarint(rec, -1) // key: null
	rec = binary.AppendVarint(rec, int64(n))
	recLen := len(rec) + n + 1 // + headers count
	var payload bytes.Buffer
	var w io.WriteCloser
	switch codec {
	case 1:
		w, _ = gzip.NewWriterLevel(&payload, gzip.BestCompression)
	case 3:
		w = lz4.NewWriter(&payload)
	case 4:
		zw, err := zstd.NewWriter(&payload, zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			t.Fatal(err)
		}
		w = zw
	default:
		t.Fatalf("codec %d", codec)
	}
	write := func(b []byte) {
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	write(binary.AppendVarint(nil, int64(recLen)))
	write(rec)
	zeros := make([]byte, 1<<20)
	for left := n; left > 0; left -= len(zeros) {
		write(zeros[:min(left, len(zeros))])
	}
	write(binary.AppendVarint(nil, 0)) // headers count
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	now := time.Now().UnixMilli()
	var b []byte
	b = binary.BigEndian.AppendUint64(b, 0) // baseOffset
	b = binary.BigEndian.AppendUint32(b, uint32(49+payload.Len()))
	b = binary.BigEndian.AppendUint32(b, 0xffffffff) // partitionLeaderEpoch
	b = append(b, 2)                                 // magic
	b = binary.BigEndian.AppendUint32(b, 0)          // crc, below
	b = binary.BigEndian.AppendUint16(b, uint16(codec))
	b = binary.BigEndian.AppendUint32(b, 0) // lastOffsetDelta
	b = binary.BigEndian.AppendUint64(b, uint64(now))
	b = binary.BigEndian.AppendUint64(b, uint64(now))
	b = binary.BigEndian.AppendUint64(b, 0xffffffffffffffff) // producerId
	b = binary.BigEndian.AppendUint16(b, 0xffff)             // producerEpoch
	b = binary.BigEndian.AppendUint32(b, 0xffffffff)         // baseSequence
	b = binary.BigEndian.AppendUint32(b, 1)                  // records
	b = append(b, payload.Bytes()...)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestHostileBrokerDecompressionBomb produces compressed batches that fit
// message.max.bytes but expand to 64 MiB, twice the broker's decompression
// cap (32 x message.max.bytes): the broker must refuse each with
// CORRUPT_MESSAGE, write nothing, keep serving, and not keep the memory.
// snappy is absent: its best ratio (about 21:1) cannot reach the cap
// inside message.max.bytes.
func TestHostileBrokerDecompressionBomb(t *testing.T) {
	h := startBrokerTarget(t, kafkaLimits{})
	cl := newKgo(t, h.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "bomb"); err != nil {
		t.Fatal(err)
	}
	if err := h.op(); err != nil { // warm up: the good client's topic and connections
		t.Fatal(err)
	}
	before := heapInuse()
	const expanded = 64 << 20
	for _, codec := range []int16{1, 3, 4} {
		b := bombBatch(t, codec, expanded)
		if len(b) > 1000000 {
			t.Fatalf("codec %d: the bomb is %d bytes, over message.max.bytes", codec, len(b))
		}
		req := kmsg.NewPtrProduceRequest()
		req.Acks = -1
		req.TimeoutMillis = 30000
		tp := kmsg.NewProduceRequestTopic()
		tp.Topic = "bomb"
		p := kmsg.NewProduceRequestTopicPartition()
		p.Records = b
		tp.Partitions = append(tp.Partitions, p)
		req.Topics = append(req.Topics, tp)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("codec %d: %v", codec, err)
		}
		code := resp.Topics[0].Partitions[0].ErrorCode
		t.Logf("codec %d: %d-byte batch expanding to %d MiB: error code %d", codec, len(b), expanded>>20, code)
		if code != 2 { // CORRUPT_MESSAGE, as Kafka for a batch it cannot read
			t.Errorf("codec %d: error code %d, want CORRUPT_MESSAGE (2)", codec, code)
		}
	}
	offs, err := kadm.NewClient(cl).ListEndOffsets(ctx, "bomb")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := offs.Lookup("bomb", 0); o.Offset != 0 {
		t.Errorf("log end offset %d after refused batches, want 0", o.Offset)
	}
	if err := h.op(); err != nil {
		t.Fatalf("broker unusable after the bombs: %v", err)
	}
	checkHeap(t, "broker after the bombs", before, 64<<20)
}
