package broker

// Fetch (key 1), v4-16, as Kafka 3.8 without fetch sessions.
//
// The response is encoded by hand (never by kmsg) so that each partition's
// records go out as a file region by sendfile: in every version Records is
// the last non-tagged field of a partition, so a response is
// [bytes][region][bytes][region]...[bytes] (kafka-protocol.md §7.2):
//
//	v4-v11 (after the correlation id):
//	  throttle_time_ms int32 | [v7+ error_code int16 | session_id int32]
//	  n_topics int32 { topic string(int16 len)
//	    n_partitions int32 { partition int32 | error_code int16 | high_watermark int64
//	      | last_stable_offset int64 | [v5+ log_start_offset int64]
//	      | aborted_transactions int32 count, -1 = null { producer_id int64 | first_offset int64 }
//	      | [v11+ preferred_read_replica int32]
//	      | records_size int32 | <region> } }
//	v12+ (flexible; the response header carries one 0x00 tag byte):
//	  throttle int32 | error_code int16 | session_id int32
//	  uvarint n_topics+1 { uvarint len+1 topic (v12) | topic_id [16]byte (v13+)
//	    uvarint n_partitions+1 { partition int32 | error_code int16 | hw int64 | lso int64
//	      | log_start int64 | uvarint n_aborted+1 (0 = null) { producer_id int64 | first_offset int64
//	      | 0x00 tags } | preferred_read_replica int32
//	      | uvarint size+1 | <region> | 0x00 partition tags } | 0x00 topic tags } | 0x00 tags
//
// Semantics (§7.5): limitBytes = min(max_bytes, fetch.max.bytes); each
// partition reads at most min(partition_max_bytes, what is left), within
// one segment, up to the high watermark (never past it: the region length
// is fixed when it is read). Only the first batch of the first non-empty
// partition may exceed the limits (KIP-74). An offset below the log start
// or past the log end is OFFSET_OUT_OF_RANGE. The request is parked until
// min_bytes are readable, a partition errs, or max_wait_ms passes, woken
// by the engine's high-watermark notification (no polling). Fetch
// sessions (KIP-227) are never created: session_id 0 answers every full
// fetch and an incremental one gets FETCH_SESSION_ID_NOT_FOUND, which
// every client handles by sending full fetches. v13+ name topics by id
// (UNKNOWN_TOPIC_ID for an unknown one); v15 moves replica_id into a tag;
// v16's NodeEndpoints tag is never needed because no partition answers
// NOT_LEADER_OR_FOLLOWER with a new leader (one replica per partition).

import (
	"context"
	"encoding/binary"
	"reflect"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/engine"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.Fetch, 4, 16, handleFetch) }

// fetchPartition is one partition of a Fetch response, everything the
// encoder writes for it.
type fetchPartition struct {
	partition int32
	code      int16
	hw, lso   int64
	logStart  int64
	// aborted is aborted_transactions: nil is sent as null (Kafka's answer
	// to read_uncommitted), empty as an empty array (read_committed with
	// no aborted transaction in range).
	aborted          []abortedTxn
	preferredReplica int32 // v11+; -1: read from the leader
	region           engine.Region
	log              *engine.Log // nil on error
}

type abortedTxn struct {
	producerID  int64
	firstOffset int64
}

type fetchTopic struct {
	name  string
	id    [16]byte
	parts []fetchPartition
}

type fetchResult struct {
	topics []fetchTopic
	bytes  int64
	errs   bool
}

func (fr *fetchResult) release() {
	for i := range fr.topics {
		for j := range fr.topics[i].parts {
			fr.topics[i].parts[j].region.Release()
			fr.topics[i].parts[j].region = engine.Region{}
		}
	}
}

func handleFetch(b *Broker, ctx context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.FetchRequest)
	if q.SessionID != 0 {
		return netio.Respond(encodeFetch(r, &fetchResult{}, kerr.FetchSessionIDNotFound.Code))
	}
	res := b.readFetch(q)
	if q.MaxWaitMillis <= 0 || res.bytes >= int64(q.MinBytes) || res.errs || len(q.Topics) == 0 {
		return netio.Respond(encodeFetch(r, res, 0))
	}
	res.release()
	reply, p := netio.Defer()
	b.inflight.Add(1)
	go func() {
		defer b.inflight.Done()
		res := b.longPoll(ctx, q, res)
		p.Respond(encodeFetch(r, res, 0))
	}()
	return reply
}

// longPoll re-reads whenever a partition's high watermark moves, until
// min_bytes are readable or max_wait_ms has passed.
func (b *Broker) longPoll(ctx context.Context, q *kmsg.FetchRequest, prev *fetchResult) *fetchResult {
	timer := time.NewTimer(time.Duration(q.MaxWaitMillis) * time.Millisecond)
	defer timer.Stop()
	for range 1 << 20 { // bounded: each round needs a high-watermark move
		cases := []reflect.SelectCase{
			{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)},
			{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
			{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(b.draining)},
		}
		for _, t := range prev.topics {
			for _, p := range t.parts {
				if p.log != nil {
					cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(p.log.WaitPast(p.hw))})
				}
			}
		}
		chosen, _, _ := reflect.Select(cases)
		res := b.readFetch(q)
		if chosen < 3 && chosen != 0 {
			return res // shutting down: answer with what there is
		}
		if chosen == 0 || res.bytes >= int64(q.MinBytes) || res.errs {
			return res
		}
		res.release()
		prev = res
	}
	return b.readFetch(q)
}

// readFetch reads every requested partition once (see the file comment
// for the limits).
func (b *Broker) readFetch(q *kmsg.FetchRequest) *fetchResult {
	limit := int64(b.conf().Long("fetch.max.bytes"))
	if q.MaxBytes > 0 && int64(q.MaxBytes) < limit {
		limit = int64(q.MaxBytes)
	}
	minOne := true
	res := &fetchResult{topics: make([]fetchTopic, len(q.Topics))}
	for i, qt := range q.Topics {
		ft := &res.topics[i]
		ft.name, ft.id = qt.Topic, qt.TopicID
		var tm *topicMeta
		unknownErr := error(errUnknownTopicOrPartition)
		if q.Version >= 13 {
			tm = b.meta.topicByID(qt.TopicID)
			unknownErr = errUnknownTopicID
		} else {
			tm = b.meta.topic(qt.Topic)
		}
		ft.parts = make([]fetchPartition, len(qt.Partitions))
		for j, qp := range qt.Partitions {
			fp := &ft.parts[j]
			fp.partition = qp.Partition
			fp.hw, fp.lso, fp.logStart = -1, -1, -1
			fp.preferredReplica = -1
			if q.IsolationLevel == 1 {
				// No transactions yet, so none aborted; read_uncommitted
				// gets null, as Kafka sends.
				fp.aborted = []abortedTxn{}
			}
			l, _, err := b.partitionLog(tm, qp.Partition)
			if tm == nil {
				err = unknownErr
			}
			if err != nil {
				fp.code = errorCode(err)
				res.errs = true
				continue
			}
			fp.hw = l.HighWatermark()
			fp.lso = fp.hw
			fp.logStart = l.LogStartOffset()
			maxBytes := min(int64(qp.PartitionMaxBytes), max(limit, 0))
			reg, err := l.Read(qp.FetchOffset, int(maxBytes), fp.hw, minOne)
			if err != nil {
				fp.code = errorCode(err)
				res.errs = true
				continue
			}
			fp.log = l
			if reg.Len > 0 {
				fp.region = reg
				minOne = false
				limit -= reg.Len
				res.bytes += reg.Len
			}
		}
	}
	return res
}

// encodeFetch writes the response for r's version; the regions of res are
// handed over to netio, which releases them once sent. FuzzFetchResponse
// checks it against kmsg for every advertised version.
func encodeFetch(r *netio.Request, res *fetchResult, topErr int16) *netio.Response {
	v := r.APIVersion
	flex := v >= 12
	resp := new(netio.Response)
	be := binary.BigEndian
	buf := r.AppendResponseHeader(make([]byte, 0, 256))
	buf = be.AppendUint32(buf, 0) // throttle_time_ms
	if v >= 7 {
		buf = be.AppendUint16(buf, uint16(topErr))
		buf = be.AppendUint32(buf, 0) // session_id: no sessions
	}
	arrayLen := func(n int) {
		if flex {
			buf = binary.AppendUvarint(buf, uint64(n)+1)
		} else {
			buf = be.AppendUint32(buf, uint32(n))
		}
	}
	arrayLen(len(res.topics))
	for _, t := range res.topics {
		if v >= 13 {
			buf = append(buf, t.id[:]...)
		} else if flex {
			buf = binary.AppendUvarint(buf, uint64(len(t.name))+1)
		} else {
			buf = be.AppendUint16(buf, uint16(len(t.name)))
		}
		if v < 13 {
			buf = append(buf, t.name...)
		}
		arrayLen(len(t.parts))
		for _, p := range t.parts {
			buf = be.AppendUint32(buf, uint32(p.partition))
			buf = be.AppendUint16(buf, uint16(p.code))
			buf = be.AppendUint64(buf, uint64(p.hw))
			buf = be.AppendUint64(buf, uint64(p.lso))
			if v >= 5 {
				buf = be.AppendUint64(buf, uint64(p.logStart))
			}
			switch {
			case p.aborted == nil && flex:
				buf = append(buf, 0)
			case p.aborted == nil:
				buf = be.AppendUint32(buf, 0xffffffff)
			default:
				arrayLen(len(p.aborted))
			}
			for _, a := range p.aborted {
				buf = be.AppendUint64(buf, uint64(a.producerID))
				buf = be.AppendUint64(buf, uint64(a.firstOffset))
				if flex {
					buf = append(buf, 0) // aborted transaction tags
				}
			}
			if v >= 11 {
				buf = be.AppendUint32(buf, uint32(p.preferredReplica))
			}
			n := p.region.Len
			if flex {
				buf = binary.AppendUvarint(buf, uint64(n)+1)
			} else {
				buf = be.AppendUint32(buf, uint32(n))
			}
			if n > 0 {
				resp.AddBytes(buf)
				buf = make([]byte, 0, 64)
				reg := p.region
				resp.AddFile(netio.FileRegion{File: reg.File, Offset: reg.Pos, Length: reg.Len, Release: reg.Release})
			}
			if flex {
				buf = append(buf, 0) // partition tags
			}
		}
		if flex {
			buf = append(buf, 0) // topic tags
		}
	}
	if flex {
		buf = append(buf, 0) // response tags
	}
	resp.AddBytes(buf)
	return resp
}
