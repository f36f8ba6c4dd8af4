package broker

// DeleteRecords (key 21), v0-2, as Kafka 3.8.
//
// Moves a partition's log start offset up to the requested offset (-1
// means the high watermark); whole segments below it are deleted and the
// new start is checkpointed. An offset past the high watermark is
// OFFSET_OUT_OF_RANGE; the answer carries the new low watermark.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.DeleteRecords, 0, 2, handleDeleteRecords) }

func handleDeleteRecords(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.DeleteRecordsRequest)
	resp := q.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, qt := range q.Topics {
		rt := kmsg.NewDeleteRecordsResponseTopic()
		rt.Topic = qt.Topic
		tm := b.meta.topic(qt.Topic)
		for _, qp := range qt.Partitions {
			rp := kmsg.NewDeleteRecordsResponseTopicPartition()
			rp.Partition = qp.Partition
			rp.LowWatermark = -1
			l, _, err := b.partitionLog(tm, qp.Partition)
			if err == nil {
				off := qp.Offset
				if off == -1 {
					off = l.HighWatermark()
				}
				rp.LowWatermark, err = l.DeleteRecordsBefore(off)
			}
			if err != nil {
				rp.LowWatermark = -1
			}
			rp.ErrorCode = errorCode(err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return respond(r, resp)
}
