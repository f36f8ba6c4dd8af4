package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/engine"
	"github.com/gregorlog/gregor/engine/batch"
	"github.com/gregorlog/gregor/netio"
)

// fuzzInput hands out the fuzz input as numbers and byte strings; past its
// end it yields zeros, so every input builds a model.
type fuzzInput struct{ b []byte }

func (in *fuzzInput) take(n int) []byte {
	n = min(n, len(in.b))
	out := in.b[:n]
	in.b = in.b[n:]
	return out
}

func (in *fuzzInput) u8() uint8 {
	if b := in.take(1); len(b) == 1 {
		return b[0]
	}
	return 0
}

func (in *fuzzInput) u16() uint16 { return uint16(in.u8())<<8 | uint16(in.u8()) }
func (in *fuzzInput) i32() int32  { return int32(uint32(in.u16())<<16 | uint32(in.u16())) }
func (in *fuzzInput) i64() int64 {
	return int64(uint64(uint32(in.i32()))<<32 | uint64(uint32(in.i32())))
}

// fetchModel is a Fetch response as the broker's encoder takes it, with
// the record bytes behind each region kept for comparison.
type fetchModel struct {
	corr    int32
	topErr  int16
	res     fetchResult
	records [][][]byte // [topic][partition]
}

// maxFuzzRecordBytes bounds the record data of one input (every version
// encodes and decodes all of it).
const maxFuzzRecordBytes = 2 << 20

// buildFetchModel derives a response from in, writing every partition's
// records into f at scattered offsets and pointing a region at them.
func buildFetchModel(t *testing.T, in *fuzzInput, f *os.File) *fetchModel {
	m := &fetchModel{corr: in.i32(), topErr: int16(in.u16())}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	var pos int64
	nTopics := int(in.u8() % 5)
	m.res.topics = make([]fetchTopic, nTopics)
	m.records = make([][][]byte, nTopics)
	for i := range m.res.topics {
		ft := &m.res.topics[i]
		// A name comes from the request, in the same version's string
		// encoding, so it always fits the response's.
		ft.name = string(in.take(int(in.u8()) % 64))
		copy(ft.id[:], in.take(16))
		ft.parts = make([]fetchPartition, in.u8()%5)
		m.records[i] = make([][]byte, len(ft.parts))
		for j := range ft.parts {
			p := &ft.parts[j]
			p.partition = in.i32()
			p.code = int16(in.u16())
			p.hw, p.lso, p.logStart = in.i64(), in.i64(), in.i64()
			switch mode := in.u8() % 3; mode {
			case 0: // null
			case 1:
				p.aborted = []abortedTxn{}
			case 2:
				p.aborted = make([]abortedTxn, 1+in.u8()%4)
				for k := range p.aborted {
					p.aborted[k] = abortedTxn{in.i64(), in.i64()}
				}
			}
			p.preferredReplica = in.i32()
			recs := fuzzRecords(t, in)
			if pos+int64(len(recs)) > maxFuzzRecordBytes {
				recs = nil // keep an input's work to milliseconds
			}
			m.records[i][j] = recs
			if len(recs) == 0 {
				continue
			}
			pos += int64(in.u8()) // a gap before the region
			if _, err := f.WriteAt(recs, pos); err != nil {
				t.Fatal(err)
			}
			p.region = engine.Region{File: f, Pos: pos, Len: int64(len(recs))}
			pos += int64(len(recs))
		}
	}
	return m
}

// fuzzRecords returns a partition's record data: none, real v2 batches
// (as a segment holds them), raw bytes of any size up to 4 KiB, or a
// large run up to 1 MiB.
func fuzzRecords(t *testing.T, in *fuzzInput) []byte {
	switch in.u8() % 4 {
	case 1:
		var out []byte
		for range 1 + in.u8()%3 {
			recs := make([]batch.Record, 1+in.u8()%4)
			for k := range recs {
				recs[k].Key = in.take(int(in.u8() % 16))
				recs[k].Value = bytes.Repeat([]byte{in.u8()}, int(in.u16()%2048))
			}
			b, err := batch.Build(batch.BuildOptions{Codec: batch.Codec(in.u8() % 5), BaseTimestamp: in.i64() >> 20,
				ProducerID: batch.NoProducerID, ProducerEpoch: batch.NoProducerEpoch, BaseSequence: batch.NoSequence}, recs)
			if err != nil {
				t.Fatal(err)
			}
			batch.SetBaseOffset(b, int64(len(out)))
			out = append(out, b...)
		}
		return out
	case 2:
		return bytes.Clone(in.take(int(in.u16() % 4096)))
	case 3:
		return bytes.Repeat([]byte{in.u8(), in.u8()}, int(in.u8())<<11)
	}
	return nil
}

// collect resolves a response into the bytes netio writes after the size
// prefix: byte chunks as they are, file regions read from their files.
func collect(t *testing.T, r *netio.Response) []byte {
	out := make([]byte, 0, r.Len())
	for _, p := range r.Parts {
		if p.Region == nil {
			out = append(out, p.Bytes...)
			continue
		}
		b := make([]byte, p.Region.Length)
		if _, err := p.Region.File.ReadAt(b, p.Region.Offset); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		out = append(out, b...)
		if p.Region.Release != nil {
			p.Region.Release()
		}
	}
	return out
}

// seedWriter writes fuzz inputs in the order buildFetchModel reads them.
type seedWriter []byte

func (w *seedWriter) u8(v uint8) *seedWriter   { *w = append(*w, v); return w }
func (w *seedWriter) u16(v uint16) *seedWriter { *w = binary.BigEndian.AppendUint16(*w, v); return w }
func (w *seedWriter) i32(v int32) *seedWriter {
	*w = binary.BigEndian.AppendUint32(*w, uint32(v))
	return w
}
func (w *seedWriter) i64(v int64) *seedWriter {
	*w = binary.BigEndian.AppendUint64(*w, uint64(v))
	return w
}
func (w *seedWriter) raw(b ...byte) *seedWriter {
	*w = append(*w, b...)
	return w
}

// topic writes a topic header: name, id, partition count.
func (w *seedWriter) topic(name string, id byte, parts uint8) *seedWriter {
	w.u8(uint8(len(name))).raw([]byte(name)...).raw(bytes.Repeat([]byte{id}, 16)...)
	return w.u8(parts)
}

// part writes a partition up to its records: aborted is nil (null), empty,
// or up to 4 producer ids with first offsets.
func (w *seedWriter) part(p int32, code int16, hw, lso, logStart int64, aborted []int64, preferred int32) *seedWriter {
	w.i32(p).u16(uint16(code)).i64(hw).i64(lso).i64(logStart)
	switch {
	case aborted == nil:
		w.u8(0)
	case len(aborted) == 0:
		w.u8(1)
	default:
		w.u8(2).u8(uint8(len(aborted) - 1))
		for _, id := range aborted {
			w.i64(id).i64(id * 10)
		}
	}
	return w.i32(preferred)
}

// batches writes records of kind "real batches": n batches of recs
// records each, with the codec, then the gap before the region.
func (w *seedWriter) batches(n, recs uint8, codec batch.Codec, value uint16, gap uint8) *seedWriter {
	w.u8(1).u8(n - 1)
	for range n {
		w.u8(recs - 1)
		for r := range recs {
			w.u8(3).raw('k', 'e', '0'+r).u8('v').u16(value)
		}
		w.u8(uint8(codec)).i64(1733270400000 << 20)
	}
	return w.u8(gap)
}

// fetchSeeds are realistic responses: what a consumer, a session-less
// incremental fetch and a busy multi-topic fetch get.
func fetchSeeds() []seedWriter {
	var consumer, session, busy, odd seedWriter
	// One topic, one partition, two uncompressed batches of 3 records.
	consumer.i32(7).u16(0).u8(1).topic("orders", 0xab, 1).
		part(0, 0, 6, 6, 0, nil, -1).batches(2, 3, batch.CodecNone, 100, 0)
	// FETCH_SESSION_ID_NOT_FOUND: no topics.
	session.i32(9).u16(uint16(kerr.FetchSessionIDNotFound.Code)).u8(0)
	// Three topics: an unknown partition (-1 offsets, no records), a
	// read_committed partition with aborted transactions and compressed
	// batches, raw bytes, and a 1 MiB run with a preferred replica.
	busy.i32(0x12345678).u16(0).u8(3)
	busy.topic("payments", 1, 2).
		part(5, kerr.UnknownTopicOrPartition.Code, -1, -1, -1, nil, -1).u8(0).
		part(0, 0, 1<<40, 1<<40-5, 1<<30, []int64{4000, 4001, 4002}, -1).batches(3, 4, batch.CodecZstd, 3000, 17)
	busy.topic("logs", 2, 2).
		part(1, 0, 12, 12, 0, []int64{}, 2).u8(2).u16(1234).raw(bytes.Repeat([]byte{0x5a}, 1234)...).u8(255).
		part(2, 0, 99, 90, 3, nil, -1).u8(3).u8(0xaa).u8(0x55).u8(255).u8(1)
	busy.topic("metrics", 3, 1).
		part(0, kerr.OffsetOutOfRange.Code, 100, 100, 50, nil, -1).u8(0)
	// An empty name, a topic with no partitions, a 63-byte name.
	odd.i32(-1).u16(0xffff).u8(3).topic("", 0, 0).topic(string(bytes.Repeat([]byte{'x'}, 63)), 0xff, 1).
		part(-1, -1, -1, -1, -1, []int64{}, -1).batches(1, 1, batch.CodecGzip, 0, 0).
		topic("z", 9, 4)
	for range 4 {
		odd.part(1<<31-1, 1<<15-1, 1<<63-1, 1<<63-1, 1<<63-1, nil, 1<<31-1).u8(0)
	}
	return []seedWriter{nil, consumer, session, busy, odd}
}

// checkFetchResponse encodes m at version v with the broker's encoder and
// checks it against kmsg: the size prefix netio would write is the exact
// length, the header is right, kmsg decodes every field back, and kmsg
// re-encodes the decoded response to exactly the same bytes (so every
// length, compact array and tag section was exact).
func checkFetchResponse(t *testing.T, m *fetchModel, v int16) error {
	r := &netio.Request{APIKey: int16(kmsg.Fetch), APIVersion: v, CorrelationID: m.corr, Flexible: v >= 12}
	resp := encodeFetch(r, &m.res, m.topErr)
	wire := collect(t, resp)
	if resp.Len() != int64(len(wire)) {
		return fmt.Errorf("size prefix %d for %d bytes", resp.Len(), len(wire))
	}
	if len(wire) < 4 || int32(binary.BigEndian.Uint32(wire)) != m.corr {
		return fmt.Errorf("correlation id wrong")
	}
	body := wire[4:]
	if r.Flexible {
		if len(body) == 0 || body[0] != 0 {
			return fmt.Errorf("response header v1 without an empty tag section")
		}
		body = body[1:]
	}
	got := kmsg.NewPtrFetchResponse()
	got.Version = v
	if err := got.ReadFrom(body); err != nil {
		return fmt.Errorf("kmsg cannot read it: %v", err)
	}
	if again := got.AppendTo(nil); !bytes.Equal(again, body) {
		return fmt.Errorf("kmsg re-encodes %d bytes to %d different bytes", len(body), len(again))
	}
	if got.ThrottleMillis != 0 || got.SessionID != 0 {
		return fmt.Errorf("throttle %d, session %d", got.ThrottleMillis, got.SessionID)
	}
	if v >= 7 && got.ErrorCode != m.topErr {
		return fmt.Errorf("error code %d, want %d", got.ErrorCode, m.topErr)
	}
	if len(got.Topics) != len(m.res.topics) {
		return fmt.Errorf("%d topics, want %d", len(got.Topics), len(m.res.topics))
	}
	for i, gt := range got.Topics {
		mt := &m.res.topics[i]
		if v < 13 && gt.Topic != mt.name || v >= 13 && gt.TopicID != mt.id {
			return fmt.Errorf("topic %d: name %q id %x, want %q %x", i, gt.Topic, gt.TopicID, mt.name, mt.id)
		}
		if len(gt.Partitions) != len(mt.parts) {
			return fmt.Errorf("topic %d: %d partitions, want %d", i, len(gt.Partitions), len(mt.parts))
		}
		for j, gp := range gt.Partitions {
			mp := &mt.parts[j]
			where := fmt.Sprintf("topic %d partition %d", i, j)
			if gp.Partition != mp.partition || gp.ErrorCode != mp.code || gp.HighWatermark != mp.hw || gp.LastStableOffset != mp.lso {
				return fmt.Errorf("%s: got %d/%d/%d/%d, want %d/%d/%d/%d", where, gp.Partition, gp.ErrorCode, gp.HighWatermark,
					gp.LastStableOffset, mp.partition, mp.code, mp.hw, mp.lso)
			}
			if v >= 5 && gp.LogStartOffset != mp.logStart {
				return fmt.Errorf("%s: log start %d, want %d", where, gp.LogStartOffset, mp.logStart)
			}
			if v >= 11 && gp.PreferredReadReplica != mp.preferredReplica {
				return fmt.Errorf("%s: preferred read replica %d, want %d", where, gp.PreferredReadReplica, mp.preferredReplica)
			}
			if (gp.AbortedTransactions == nil) != (mp.aborted == nil) || len(gp.AbortedTransactions) != len(mp.aborted) {
				return fmt.Errorf("%s: aborted %v, want %v", where, gp.AbortedTransactions, mp.aborted)
			}
			for k, a := range gp.AbortedTransactions {
				if a.ProducerID != mp.aborted[k].producerID || a.FirstOffset != mp.aborted[k].firstOffset {
					return fmt.Errorf("%s: aborted %d: %d@%d, want %v", where, k, a.ProducerID, a.FirstOffset, mp.aborted[k])
				}
			}
			if gp.RecordBatches == nil || !bytes.Equal(gp.RecordBatches, m.records[i][j]) {
				return fmt.Errorf("%s: %d record bytes (nil %v), want %d", where, len(gp.RecordBatches), gp.RecordBatches == nil, len(m.records[i][j]))
			}
			if r.Flexible && (gp.DivergingEpoch.Epoch != -1 || gp.CurrentLeader.LeaderID != -1 || gp.SnapshotID.Epoch != -1 || gp.UnknownTags.Len() != 0) {
				return fmt.Errorf("%s: unexpected tagged fields", where)
			}
		}
	}
	return nil
}

// FuzzFetchResponse checks the hand-written Fetch response encoder (the
// one that sends records as file regions) against kmsg, for every Fetch
// version the broker advertises: topics by name and by id, partitions
// with any error code and offsets, null, empty and full aborted
// transaction lists, the preferred read replica, and records of any size
// (none, real record batches, raw bytes, 1 MiB runs) read from a file.
func FuzzFetchResponse(f *testing.F) {
	file, err := os.Create(filepath.Join(f.TempDir(), "records"))
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	a := lookupAPI(int16(kmsg.Fetch))
	if a == nil || a.min > 4 || a.max < 16 {
		f.Fatal("Fetch is not advertised as v4-16")
	}
	for _, seed := range fetchSeeds() {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := buildFetchModel(t, &fuzzInput{b: data}, file)
		for v := a.min; v <= a.max; v++ {
			if err := checkFetchResponse(t, m, v); err != nil {
				t.Fatalf("Fetch v%d: %v", v, err)
			}
		}
	})
}

// TestFetchIsolationLevels: through a live broker, read_uncommitted gets
// a null aborted_transactions list and read_committed an empty one (there
// are no transactions yet), as Kafka answers; the preferred read replica
// is -1, and the records come back whole.
func TestFetchIsolationLevels(t *testing.T) {
	b := startBroker(t, nil)
	if _, err := b.createTopic(context.Background(), "iso", 1, 1, nil, nil, false); err != nil {
		t.Fatal(err)
	}
	cl := newClient(t, b)
	records := buildBatch(t, "one", "two")
	if r := produceRaw(t, cl, 9, 1, "iso", records); r.ErrorCode != 0 {
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	for _, v := range []int16{4, 11, 12, 16} {
		for _, iso := range []int8{0, 1} {
			req := kmsg.NewPtrFetchRequest()
			req.Version, req.IsolationLevel, req.MaxBytes, req.SessionEpoch = v, iso, 1<<20, -1
			rt := kmsg.NewFetchRequestTopic()
			rt.Topic, rt.TopicID = "iso", b.meta.topic("iso").ID
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.PartitionMaxBytes = 1 << 20
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp := roundTrip(t, b, req).(*kmsg.FetchResponse)
			if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
				t.Fatalf("v%d isolation %d: %d topics", v, iso, len(resp.Topics))
			}
			p := resp.Topics[0].Partitions[0]
			if p.ErrorCode != 0 || p.HighWatermark != 2 || (p.AbortedTransactions == nil) != (iso == 0) ||
				len(p.AbortedTransactions) != 0 || p.PreferredReadReplica != -1 || len(p.RecordBatches) != len(records) {
				t.Fatalf("v%d isolation %d: code %d hw %d aborted %v (nil %v) preferred %d, %d record bytes", v, iso,
					p.ErrorCode, p.HighWatermark, p.AbortedTransactions, p.AbortedTransactions == nil, p.PreferredReadReplica, len(p.RecordBatches))
			}
		}
	}
}
