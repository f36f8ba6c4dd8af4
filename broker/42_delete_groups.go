package broker

// DeleteGroups (key 42), v0-2: deletes Empty groups (NON_EMPTY_GROUP
// otherwise, GROUP_ID_NOT_FOUND for an unknown one) with their committed
// offsets; the tombstones are stored before the answer.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/group"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.DeleteGroups, 0, 2, handleDeleteGroups) }

func handleDeleteGroups(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.DeleteGroupsRequest)
	return b.groups.call(r, func(now time.Time, c *group.Coordinator) (kmsg.Response, group.Out) {
		return c.DeleteGroups(now, q)
	})
}
