package broker

// OffsetDelete (key 47), v0: deletes committed offsets of partitions the
// group is not subscribed to (GROUP_SUBSCRIBED_TO_TOPIC per partition
// otherwise, as Kafka does).

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/group"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.OffsetDelete, 0, 0, handleOffsetDelete) }

func handleOffsetDelete(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.OffsetDeleteRequest)
	return b.groups.call(r, func(now time.Time, c *group.Coordinator) (kmsg.Response, group.Out) {
		return c.OffsetDelete(now, q)
	})
}
