package broker

// ListOffsets (key 2), v0-7, as Kafka 3.8.
//
// Timestamp -1 is the latest offset (the high watermark; the last stable
// offset for read_committed, equal to it without transactions), -2 the
// log start offset, -3 (v7, KIP-734) the offset of the record with the
// largest timestamp, anything else the first offset whose timestamp is at
// or after it (time index, then a scan), or -1/-1 when no record is that
// late. v0 answers in old_style_offsets (a single offset; Kafka once
// listed segment starts there). Epochs are the partition's current leader
// epoch.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.ListOffsets, 0, 7, handleListOffsets) }

func handleListOffsets(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.ListOffsetsRequest)
	resp := q.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, qt := range q.Topics {
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = qt.Topic
		tm := b.meta.topic(qt.Topic)
		for _, qp := range qt.Partitions {
			rp := kmsg.NewListOffsetsResponseTopicPartition()
			rp.Partition = qp.Partition
			rp.Timestamp, rp.Offset, rp.LeaderEpoch = -1, -1, -1
			l, pm, err := b.partitionLog(tm, qp.Partition)
			if err == nil && qp.Timestamp == -3 && r.APIVersion < 7 {
				err = errUnsupportedVersion
			}
			if err == nil && r.APIVersion >= 4 && qp.CurrentLeaderEpoch >= 0 && qp.CurrentLeaderEpoch != pm.LeaderEpoch {
				if qp.CurrentLeaderEpoch < pm.LeaderEpoch {
					rp.ErrorCode = kerr.FencedLeaderEpoch.Code
				} else {
					rp.ErrorCode = kerr.UnknownLeaderEpoch.Code
				}
				rt.Partitions = append(rt.Partitions, rp)
				continue
			}
			if err == nil {
				var off, ts int64
				off, ts, err = l.OffsetForTimestamp(qp.Timestamp)
				if err == nil {
					rp.Offset, rp.Timestamp = off, ts
					if off >= 0 {
						rp.LeaderEpoch = pm.LeaderEpoch
					}
					if r.APIVersion == 0 {
						rp.OldStyleOffsets = []int64{}
						if off >= 0 {
							rp.OldStyleOffsets = []int64{off}
						}
					}
				}
			}
			rp.ErrorCode = errorCode(err)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return respond(r, resp)
}
