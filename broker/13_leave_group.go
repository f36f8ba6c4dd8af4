package broker

// LeaveGroup (key 13), v0-4: v0-2 name one member, v3+ a batch (static
// members by group.instance.id). A member leaving starts a rebalance; the
// requests of the members still parked are answered by the state machine.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/group"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.LeaveGroup, 0, 4, handleLeaveGroup) }

func handleLeaveGroup(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.LeaveGroupRequest)
	defer b.groups.kick()
	return b.groups.call(r, func(now time.Time, c *group.Coordinator) (kmsg.Response, group.Out) {
		return c.LeaveGroup(now, q)
	})
}
