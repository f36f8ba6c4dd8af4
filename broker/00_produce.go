package broker

// Produce (key 0), advertised v0-12, served for v3+.
//
// v0 is advertised only because librdkafka 2.0.2 enables compression only
// when Produce v0 is in range (kafka-protocol.md §3.2); v0-2 (magic 0/1
// message sets) are answered UNSUPPORTED_VERSION per partition, as Kafka
// 4.0 does. v12 = v11 without KIP-890; v13 (topic ids) is not advertised.
//
// Each partition's payload must be exactly one magic-2 batch; the engine
// validates it (CRC, lengths, record count, max.message.bytes or the
// topic's max.message.bytes) outside any lock and the codes come from
// errors.go: CORRUPT_MESSAGE, INVALID_RECORD, MESSAGE_TOO_LARGE,
// INVALID_TIMESTAMP. zstd below v7 is UNSUPPORTED_COMPRESSION_TYPE; an
// internal topic is INVALID_TOPIC_EXCEPTION; acks outside {-1, 0, 1} is
// INVALID_REQUIRED_ACKS for every partition. Nothing invalid reaches a log.
//
// The reply is deferred until every append may be acknowledged under the
// topic's flush policy, so a pipelining producer is not serialised on
// fsync. acks=-1 waits for the ISR; with one replica per partition (no
// replication yet) that is the local append. acks=0 sends nothing; any
// error closes the connection, as Kafka does.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/engine"
	"github.com/gregorlog/gregor/engine/batch"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.Produce, 0, 12, handleProduce) }

const codecZstd = 4

type produceSlot struct {
	rp   *kmsg.ProduceResponseTopicPartition
	wait func() (engine.AppendResult, error)
}

func handleProduce(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.ProduceRequest)
	resp := q.ResponseKind().(*kmsg.ProduceResponse)
	var pending []produceSlot
	var firstErr error
	resp.Topics = make([]kmsg.ProduceResponseTopic, len(q.Topics))
	for i := range q.Topics {
		qt := &q.Topics[i]
		rt := &resp.Topics[i]
		*rt = kmsg.NewProduceResponseTopic()
		rt.Topic = qt.Topic
		rt.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(qt.Partitions))
		tm := b.meta.topic(qt.Topic)
		for j := range qt.Partitions {
			qp := &qt.Partitions[j]
			rp := &rt.Partitions[j]
			*rp = kmsg.NewProduceResponseTopicPartition()
			rp.Partition = qp.Partition
			rp.BaseOffset, rp.LogAppendTime, rp.LogStartOffset = -1, -1, -1
			wait, err := b.appendPartition(r.APIVersion, q.Acks, tm, qp)
			if err != nil {
				rp.ErrorCode = errorCode(err)
				if r.APIVersion >= 8 {
					rp.ErrorMessage = errorMessage(err)
				}
				if firstErr == nil {
					firstErr = fmt.Errorf("%s-%d: %w", qt.Topic, qp.Partition, err)
				}
				continue
			}
			pending = append(pending, produceSlot{rp: rp, wait: wait})
		}
	}
	if q.Acks == 0 {
		// The engine rewrites the batch in place after we return.
		r.Keep()
		if firstErr != nil {
			return netio.CloseConn(fmt.Errorf("produce with acks=0 failed: %w", firstErr))
		}
		return netio.NoResponse()
	}
	if len(pending) == 0 {
		return respond(r, resp)
	}
	reply, p := netio.Defer()
	b.inflight.Add(1)
	go func() {
		defer b.inflight.Done()
		for _, s := range pending {
			res, err := s.wait()
			if err != nil {
				s.rp.ErrorCode = errorCode(err)
				if r.APIVersion >= 8 {
					s.rp.ErrorMessage = errorMessage(err)
				}
				continue
			}
			s.rp.BaseOffset = res.BaseOffset
			s.rp.LogAppendTime = res.LogAppendTime
			s.rp.LogStartOffset = res.LogStartOffset
		}
		respondTo(p, r, resp)
	}()
	return reply
}

// appendPartition validates and queues one partition's batch.
func (b *Broker) appendPartition(version, acks int16, tm *topicMeta, qp *kmsg.ProduceRequestTopicPartition) (func() (engine.AppendResult, error), error) {
	if acks != -1 && acks != 0 && acks != 1 {
		return nil, errInvalidRequiredAcks
	}
	if version < 3 {
		return nil, fmt.Errorf("%w: produce v%d (message format v0/v1) is not supported", errUnsupportedVersion, version)
	}
	if tm == nil {
		return nil, errUnknownTopicOrPartition
	}
	if tm.Internal {
		return nil, fmt.Errorf("%w: %s", errInternalTopic, tm.Name)
	}
	l, pm, err := b.partitionLog(tm, qp.Partition)
	if err != nil {
		return nil, err
	}
	if version < 7 && len(qp.Records) > 22 && qp.Records[22]&0x07 == codecZstd {
		return nil, errUnsupportedCompression
	}
	opts := engine.AppendOptions{LeaderEpoch: pm.LeaderEpoch}
	h, herr := batch.ParseHeader(qp.Records)
	if herr != nil || !h.HasProducerID() || h.BaseSequence < 0 {
		pend, err := l.AppendAsync(qp.Records, opts)
		if err != nil {
			return nil, err
		}
		return pend.Result, nil
	}
	if h.IsTransactional() {
		return nil, fmt.Errorf("%w: transactional batches are not supported yet", errInvalidRecord)
	}
	// Idempotent producer: check the sequence and enqueue in one critical
	// section, so checks happen in append order.
	pp := b.producersFor(l)
	pp.mu.Lock()
	dup, err := pp.checkLocked(h)
	if err != nil {
		pp.mu.Unlock()
		return nil, err
	}
	if dup != nil {
		pend, first, last := dup.pend, dup.firstOffset, dup.lastOffset
		pp.mu.Unlock()
		return func() (engine.AppendResult, error) {
			if pend != nil {
				res, err := pend.Result()
				return res, err
			}
			return engine.AppendResult{BaseOffset: first, LastOffset: last, LogAppendTime: -1, LogStartOffset: l.LogStartOffset()}, nil
		}, nil
	}
	pend, err := l.AppendAsync(qp.Records, opts)
	if err != nil {
		pp.mu.Unlock()
		return nil, err
	}
	sb := &seqBatch{firstSeq: h.BaseSequence, lastSeq: h.BaseSequence + h.LastOffsetDelta, firstOffset: -1, lastOffset: -1, timestamp: h.MaxTimestamp, pend: pend}
	pp.recordLocked(h, sb)
	pp.mu.Unlock()
	return func() (engine.AppendResult, error) {
		res, err := pend.Result()
		if err != nil {
			pp.forget(h.ProducerID, sb)
			return res, err
		}
		pp.settle(sb, res)
		return res, nil
	}, nil
}
