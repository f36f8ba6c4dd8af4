package broker

// OffsetCommit (key 8), v0-8.
//
// As Kafka's KafkaApis.handleOffsetCommitRequest: a partition of a topic
// this cluster does not have answers UNKNOWN_TOPIC_OR_PARTITION and is not
// committed; the rest goes to the coordinator (group and generation
// checks, OFFSET_METADATA_TOO_LARGE) and is answered once its records are
// stored in __consumer_offsets (a failed store answers
// COORDINATOR_NOT_AVAILABLE or NOT_COORDINATOR, see groups.go). v0 means
// "commit to ZooKeeper" in old Kafkas; Gregor, like Kafka 3.x, stores v0
// commits in __consumer_offsets too.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/group"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.OffsetCommit, 0, 8, handleOffsetCommit) }

func handleOffsetCommit(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.OffsetCommitRequest)
	known := *q
	known.Topics = nil
	unknown := 0
	for _, t := range q.Topics {
		tm := b.meta.topic(t.Topic)
		kt := t
		kt.Partitions = nil
		for _, p := range t.Partitions {
			if tm == nil || p.Partition < 0 || int(p.Partition) >= len(tm.Partitions) {
				unknown++
				continue
			}
			kt.Partitions = append(kt.Partitions, p)
		}
		if len(kt.Partitions) > 0 {
			known.Topics = append(known.Topics, kt)
		}
	}
	if unknown == 0 {
		return b.groups.call(r, func(now time.Time, c *group.Coordinator) (kmsg.Response, group.Out) {
			return c.OffsetCommit(now, q)
		})
	}
	if len(known.Topics) == 0 {
		return respond(r, offsetCommitResponse(q, nil))
	}
	return b.groups.call(r, func(now time.Time, c *group.Coordinator) (kmsg.Response, group.Out) {
		kr, out := c.OffsetCommit(now, &known)
		return offsetCommitResponse(q, kr), out
	})
}

// offsetCommitResponse answers every partition of q in request order:
// the coordinator's code from kr, UNKNOWN_TOPIC_OR_PARTITION for the
// partitions kr does not hold.
func offsetCommitResponse(q *kmsg.OffsetCommitRequest, kr *kmsg.OffsetCommitResponse) *kmsg.OffsetCommitResponse {
	type tp struct {
		t string
		p int32
	}
	codes := map[tp]int16{}
	if kr != nil {
		for _, t := range kr.Topics {
			for _, p := range t.Partitions {
				codes[tp{t.Topic, p.Partition}] = p.ErrorCode
			}
		}
	}
	resp := kmsg.NewPtrOffsetCommitResponse()
	for _, t := range q.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			code, ok := codes[tp{t.Topic, p.Partition}]
			if !ok {
				code = kerr.UnknownTopicOrPartition.Code
			}
			rp.ErrorCode = code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
