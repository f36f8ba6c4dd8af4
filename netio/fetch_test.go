package netio

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gregorlog/gregor/engine/batch"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestConsumerOverSendfile: franz-go consumes records whose batches leave a
// segment file through sendfile inside a hand-encoded Fetch v11 response
// (kafka-protocol.md §7.2), the way the broker will serve fetches.
func TestConsumerOverSendfile(t *testing.T) {
	const topic, nBatches, perBatch = "t", 20, 10
	// A segment file of Kafka batches, with a junk prefix so regions start
	// at a non-zero file offset.
	seg, err := os.Create(filepath.Join(t.TempDir(), "00000000000000000000.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	prefix := []byte("not part of the log")
	seg.Write(prefix)
	var positions []int64 // file position of each batch, then the end
	pos := int64(len(prefix))
	for i := range nBatches {
		recs := make([]batch.Record, perBatch)
		for j := range recs {
			recs[j] = batch.Record{OffsetDelta: int32(j), Value: []byte(fmt.Sprintf("v%d", i*perBatch+j))}
		}
		b, err := batch.Build(batch.BuildOptions{Codec: batch.Codec(i % 5), BaseOffset: int64(i * perBatch), BaseTimestamp: 1700000000000,
			ProducerID: batch.NoProducerID, ProducerEpoch: batch.NoProducerEpoch, BaseSequence: batch.NoSequence}, recs)
		if err != nil {
			t.Fatal(err)
		}
		seg.Write(b)
		positions = append(positions, pos)
		pos += int64(len(b))
	}
	positions = append(positions, pos)
	hw := int64(nBatches * perBatch)

	var srv *Server
	ready := make(chan struct{})
	h := HandlerFunc(func(_ context.Context, r *Request) Reply {
		<-ready
		req := kmsg.RequestForKey(r.APIKey)
		if req == nil {
			return CloseConn(nil)
		}
		req.SetVersion(r.APIVersion)
		if err := req.ReadFrom(r.Body); err != nil {
			return CloseConn(err)
		}
		out := r.AppendResponseHeader(nil)
		switch q := req.(type) {
		case *kmsg.ApiVersionsRequest:
			rs := q.ResponseKind().(*kmsg.ApiVersionsResponse)
			rs.ApiKeys = []kmsg.ApiVersionsResponseApiKey{{ApiKey: 18, MaxVersion: 3}, {ApiKey: 3, MaxVersion: 12}, {ApiKey: 1, MinVersion: 4, MaxVersion: 11}}
			rs.SetVersion(r.APIVersion)
			return Respond(new(Response).AddBytes(rs.AppendTo(out)))
		case *kmsg.MetadataRequest:
			rs := q.ResponseKind().(*kmsg.MetadataResponse)
			host, port, _ := net.SplitHostPort(srv.Addrs()[0].String())
			p, _ := strconv.Atoi(port)
			rs.Brokers = []kmsg.MetadataResponseBroker{{NodeID: 1, Host: host, Port: int32(p)}}
			rs.ControllerID = 1
			tn := topic
			rs.Topics = []kmsg.MetadataResponseTopic{{Topic: &tn, TopicID: [16]byte{1}, Partitions: []kmsg.MetadataResponseTopicPartition{{Partition: 0, Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}}}}
			rs.SetVersion(r.APIVersion)
			return Respond(new(Response).AddBytes(rs.AppendTo(out)))
		case *kmsg.FetchRequest:
			if r.APIVersion != 11 || len(q.Topics) != 1 || len(q.Topics[0].Partitions) != 1 {
				return CloseConn(fmt.Errorf("unexpected fetch v%d", r.APIVersion))
			}
			fetchOffset := q.Topics[0].Partitions[0].FetchOffset
			// Batches from the one holding fetchOffset to the end:
			// one file region, clamped at the high watermark.
			start, end := int64(0), int64(0)
			if fetchOffset < hw {
				i := fetchOffset / perBatch
				start, end = positions[i], positions[nBatches]
			}
			be := binary.BigEndian
			out = be.AppendUint32(out, 0) // throttle_time_ms
			out = be.AppendUint16(out, 0) // error_code
			out = be.AppendUint32(out, 0) // session_id
			out = be.AppendUint32(out, 1) // topics
			out = be.AppendUint16(out, uint16(len(topic)))
			out = append(out, topic...)
			out = be.AppendUint32(out, 1)          // partitions
			out = be.AppendUint32(out, 0)          // partition_index
			out = be.AppendUint16(out, 0)          // error_code
			out = be.AppendUint64(out, uint64(hw)) // high_watermark
			out = be.AppendUint64(out, uint64(hw)) // last_stable_offset
			out = be.AppendUint64(out, 0)          // log_start_offset
			out = be.AppendUint32(out, 0xffffffff) // aborted_transactions: null
			out = be.AppendUint32(out, 0xffffffff) // preferred_read_replica: -1
			out = be.AppendUint32(out, uint32(end-start))
			resp := new(Response).AddBytes(out)
			if end > start {
				resp.AddFile(FileRegion{File: seg, Offset: start, Length: end - start})
				return Respond(resp)
			}
			// Nothing new: answer after a short long-poll.
			reply, p := Defer()
			time.AfterFunc(20*time.Millisecond, func() { p.Respond(resp) })
			return reply
		}
		return CloseConn(nil)
	})
	srv, err = Listen(DefaultConfig(), h)
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	defer srv.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(srv.Addrs()[0].String()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(0)}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var next int64
	for next < hw {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", next, hw, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch error: %v", err) })
		fs.EachRecord(func(rec *kgo.Record) {
			if rec.Offset != next || string(rec.Value) != fmt.Sprintf("v%d", next) {
				t.Fatalf("record at offset %d: %d %q", next, rec.Offset, rec.Value)
			}
			next++
		})
	}
	if sf := srv.Metrics().SendfileBytes.Load(); sf < positions[nBatches]-positions[0] {
		t.Fatalf("only %d bytes left through sendfile", sf)
	}
}
