package broker

// FindCoordinator (key 10), v0-4, as Kafka 3.8.
//
// v0 must be advertised: librdkafka enables consumer groups only when
// FindCoordinator v0 is in range (kafka-protocol.md §3.2). v4 batches keys
// (coordinator_keys); below v4 the single key's answer is top-level.
//
// A group's coordinator is the leader of its __consumer_offsets partition,
// abs(javaHash(group)) % partitions. The first lookup creates
// __consumer_offsets (groups.go, createOffsetsTopic); while it cannot be
// created (fewer live brokers than offsets.topic.replication.factor) or a
// partition has no live leader the answer is COORDINATOR_NOT_AVAILABLE,
// which clients retry. Transaction keys (key type 1) are
// COORDINATOR_NOT_AVAILABLE: Gregor has no transaction coordinator yet.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.FindCoordinator, 0, 4, handleFindCoordinator) }

func handleFindCoordinator(b *Broker, ctx context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.FindCoordinatorRequest)
	resp := kmsg.NewPtrFindCoordinatorResponse()
	keys := q.CoordinatorKeys
	if r.APIVersion < 4 {
		keys = []string{q.CoordinatorKey}
	}
	for _, k := range keys {
		rc := kmsg.NewFindCoordinatorResponseCoordinator()
		rc.Key = k
		rc.NodeID, rc.Port = -1, -1
		switch {
		case q.CoordinatorType != 0:
			rc.ErrorCode = kerr.CoordinatorNotAvailable.Code
		default:
			rc.NodeID, rc.Host, rc.Port, rc.ErrorCode = b.groups.coordinatorFor(ctx, r.Listener, k)
		}
		if rc.ErrorCode != 0 {
			msg := kerr.ErrorForCode(rc.ErrorCode).Error()
			rc.ErrorMessage = &msg
		}
		resp.Coordinators = append(resp.Coordinators, rc)
	}
	if r.APIVersion < 4 {
		rc := resp.Coordinators[0]
		resp.Coordinators = nil
		resp.ErrorCode, resp.NodeID, resp.Host, resp.Port = rc.ErrorCode, rc.NodeID, rc.Host, rc.Port
		if r.APIVersion >= 1 {
			resp.ErrorMessage = rc.ErrorMessage
		}
	}
	return respond(r, resp)
}
