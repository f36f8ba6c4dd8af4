package broker

// SyncGroup (key 14), v0-5.
//
// Followers park until the leader's SyncGroup brings the assignment; the
// leader's request writes the group's metadata to __consumer_offsets, and
// every member's answer goes out only once that record is stored (a
// failed store answers the error: NOT_COORDINATOR or
// COORDINATOR_NOT_AVAILABLE, see groups.go).

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/group"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.SyncGroup, 0, 5, handleSyncGroup) }

func handleSyncGroup(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.SyncGroupRequest)
	return b.groups.park(r, func(now time.Time, c *group.Coordinator, caller group.Caller) group.Out {
		return c.SyncGroup(now, caller, q)
	})
}
