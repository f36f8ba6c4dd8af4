package broker

// CreatePartitions (key 37), v0-3, as Kafka 3.8 in ZooKeeper mode.
//
// Served by the controller. count is the new total; fewer or equal to the
// current count is INVALID_PARTITIONS (37). New partitions are assigned
// round-robin over the live brokers with the topic's replication factor,
// or as given (INVALID_REPLICA_ASSIGNMENT for unknown brokers or a wrong
// number of lists). The new assignment and partition states are one
// fenced multi; the new logs exist when the answer is sent. validate_only
// writes nothing. A topic named twice is INVALID_REQUEST.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.CreatePartitions, 0, 3, handleCreatePartitions) }

func handleCreatePartitions(b *Broker, ctx context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.CreatePartitionsRequest)
	resp := q.ResponseKind().(*kmsg.CreatePartitionsResponse)
	seen := map[string]int{}
	for _, qt := range q.Topics {
		seen[qt.Topic]++
	}
	for _, qt := range q.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = qt.Topic
		var err error
		if seen[qt.Topic] > 1 {
			err = fmt.Errorf("%w: duplicate topic %s", errInvalidRequest, qt.Topic)
		} else {
			err = b.createPartitions(ctx, qt, q.ValidateOnly)
		}
		rt.ErrorCode = errorCode(err)
		rt.ErrorMessage = errorMessage(err)
		resp.Topics = append(resp.Topics, rt)
	}
	return respond(r, resp)
}

func (b *Broker) createPartitions(ctx context.Context, qt kmsg.CreatePartitionsRequestTopic, validateOnly bool) error {
	f, ok := b.controller()
	if !ok {
		return errNotController
	}
	tm := b.meta.topic(qt.Topic)
	if tm == nil {
		return fmt.Errorf("%w: %s", errUnknownTopicOrPartition, qt.Topic)
	}
	cur := int32(len(tm.Partitions))
	if qt.Count <= cur {
		if qt.Count == cur {
			return fmt.Errorf("%w: topic currently has %d partitions, which is the same as the requested count", errInvalidPartitions, cur)
		}
		return fmt.Errorf("%w: topic currently has %d partitions, %d would not be an increase", errInvalidPartitions, cur, qt.Count)
	}
	if qt.Count > maxPartitionsPerTopic {
		return fmt.Errorf("%w: %d partitions requested, at most %d per topic", errInvalidPartitions, qt.Count, maxPartitionsPerTopic)
	}
	brokers := b.liveBrokerIDs()
	live := map[int32]bool{}
	for _, id := range brokers {
		live[id] = true
	}
	extra := map[int32][]int32{}
	if qt.Assignment != nil {
		if int32(len(qt.Assignment)) != qt.Count-cur {
			return fmt.Errorf("%w: increasing the number of partitions by %d but %d assignments provided", errInvalidReplicaAssignment, qt.Count-cur, len(qt.Assignment))
		}
		for i, a := range qt.Assignment {
			if len(a.Replicas) == 0 {
				return fmt.Errorf("%w: empty replica list", errInvalidReplicaAssignment)
			}
			for _, rep := range a.Replicas {
				if !live[rep] {
					return fmt.Errorf("%w: unknown broker %d", errInvalidReplicaAssignment, rep)
				}
			}
			extra[cur+int32(i)] = a.Replicas
		}
	} else {
		rf := int16(1)
		if len(tm.Partitions) > 0 {
			rf = int16(len(tm.Partitions[0].Replicas))
		}
		if int(rf) > len(brokers) {
			return fmt.Errorf("%w: replication factor %d larger than available brokers %d", errInvalidReplicationFactor, rf, len(brokers))
		}
		extra = assign(brokers, cur, qt.Count-cur, rf)
	}
	if validateOnly {
		return nil
	}
	if _, err := b.zk.AddPartitions(ctx, f, qt.Topic, extra); err != nil {
		return err
	}
	return b.loadTopic(ctx, qt.Topic)
}
