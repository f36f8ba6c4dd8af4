package broker

// ListGroups (key 16), v0-4: the groups this broker coordinates (clients
// ask every broker), with the v4 states filter. While a partition loads
// the answer carries COORDINATOR_LOAD_IN_PROGRESS along with the groups
// already loaded, as Kafka's does.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/group"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.ListGroups, 0, 4, handleListGroups) }

func handleListGroups(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.ListGroupsRequest)
	return b.groups.call(r, func(now time.Time, c *group.Coordinator) (kmsg.Response, group.Out) {
		return c.ListGroups(now, q), group.Out{}
	})
}
