package broker

// DescribeGroups (key 15), v0-5: state, protocol and members (with their
// assignments when Stable) of groups this broker coordinates; an unknown
// group is described as Dead, a group coordinated elsewhere answers
// NOT_COORDINATOR.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/group"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.DescribeGroups, 0, 5, handleDescribeGroups) }

func handleDescribeGroups(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.DescribeGroupsRequest)
	return b.groups.call(r, func(now time.Time, c *group.Coordinator) (kmsg.Response, group.Out) {
		return c.DescribeGroups(now, q), group.Out{}
	})
}
