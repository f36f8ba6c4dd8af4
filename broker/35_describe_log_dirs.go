package broker

// DescribeLogDirs (key 35), v0-4, as Kafka 3.8.
//
// Every log dir of this broker with its partitions (size in bytes, offset
// lag = log end - high watermark), filtered to the requested topics and
// partitions (null = all). An offline dir reports KAFKA_STORAGE_ERROR
// (56) and no partitions. v4 adds the file system's total and usable
// bytes (KIP-827, -1 when unknown).

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.DescribeLogDirs, 0, 4, handleDescribeLogDirs) }

func handleDescribeLogDirs(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.DescribeLogDirsRequest)
	resp := q.ResponseKind().(*kmsg.DescribeLogDirsResponse)
	want := func(topic string, p int32) bool {
		if q.Topics == nil {
			return true
		}
		for _, t := range q.Topics {
			if t.Topic == topic && slices.Contains(t.Partitions, p) {
				return true
			}
		}
		return false
	}
	for _, d := range b.eng.Dirs() {
		rd := kmsg.NewDescribeLogDirsResponseDir()
		rd.Dir = d.Path
		rd.TotalBytes, rd.UsableBytes = d.TotalBytes, d.UsableBytes
		if !d.Online {
			rd.ErrorCode = kerr.KafkaStorageError.Code
		}
		idx := map[string]int{}
		for _, p := range d.Partitions {
			if !want(p.Topic, p.Partition) {
				continue
			}
			i, ok := idx[p.Topic]
			if !ok {
				i = len(rd.Topics)
				idx[p.Topic] = i
				rt := kmsg.NewDescribeLogDirsResponseDirTopic()
				rt.Topic = p.Topic
				rd.Topics = append(rd.Topics, rt)
			}
			rp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
			rp.Partition, rp.Size, rp.OffsetLag = p.Partition, p.Size, p.OffsetLag
			rd.Topics[i].Partitions = append(rd.Topics[i].Partitions, rp)
		}
		resp.Dirs = append(resp.Dirs, rd)
	}
	return respond(r, resp)
}
