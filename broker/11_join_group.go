package broker

// JoinGroup (key 11), v0-7.
//
// v0 stays advertised for librdkafka's GSSAPI window (kafka-protocol.md
// §3.2). The state machine (broker/group) does the work: KIP-394's
// MEMBER_ID_REQUIRED round on v4+, protocol selection, leader choice,
// group.initial.rebalance.delay.ms and static membership (v5+). The
// request parks until the rebalance completes; its response is a Delivery
// (groups.go). The client host is the socket's peer address, written as
// Kafka writes it ("/127.0.0.1").

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/group"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.JoinGroup, 0, 7, handleJoinGroup) }

func handleJoinGroup(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.JoinGroupRequest)
	return b.groups.park(r, func(now time.Time, c *group.Coordinator, caller group.Caller) group.Out {
		return c.JoinGroup(now, caller, q)
	})
}
