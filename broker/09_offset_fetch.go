package broker

// OffsetFetch (key 9), v0-8: v0-7 fetch one group's offsets (null topics
// = all, v2+), v8 a batch of groups, each with its own error.
// Unknown partitions answer offset -1. Gregor has no transactional commits
// yet, so require_stable (v7+) never waits.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/group"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.OffsetFetch, 0, 8, handleOffsetFetch) }

func handleOffsetFetch(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.OffsetFetchRequest)
	return b.groups.call(r, func(now time.Time, c *group.Coordinator) (kmsg.Response, group.Out) {
		return c.OffsetFetch(now, q), group.Out{}
	})
}
