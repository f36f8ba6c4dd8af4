package broker

// CreateTopics (key 19), v0-7, as Kafka 3.8 in ZooKeeper mode.
//
// Served by the controller only (NOT_CONTROLLER elsewhere; clients find the
// controller through Metadata). num_partitions and replication_factor of
// -1 (v4+) take num.partitions and default.replication.factor; an explicit
// replica assignment is used as given. Configs are validated against the
// topic config table (INVALID_CONFIG names the key). validate_only (v1+)
// runs every check and writes nothing. The topic, its configs and every
// partition's initial state are one fenced ZooKeeper multi; the response
// is sent once the partitions' logs exist here. v5+ answers with the
// resulting partition count, replication factor and effective configs;
// v7 with the topic id. Errors: TOPIC_ALREADY_EXISTS (36),
// INVALID_PARTITIONS (37), INVALID_REPLICATION_FACTOR (38),
// INVALID_REPLICA_ASSIGNMENT (39), INVALID_CONFIG (40),
// INVALID_TOPIC_EXCEPTION (17), INVALID_REQUEST (42) for a name given twice.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.CreateTopics, 0, 7, handleCreateTopics) }

func handleCreateTopics(b *Broker, ctx context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.CreateTopicsRequest)
	resp := q.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := map[string]int{}
	for _, qt := range q.Topics {
		seen[qt.Topic]++
	}
	for _, qt := range q.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = qt.Topic
		rt.NumPartitions, rt.ReplicationFactor = -1, -1
		var err error
		if seen[qt.Topic] > 1 {
			err = fmt.Errorf("%w: create topics request has topic %s more than once", errInvalidRequest, qt.Topic)
		}
		var assignment map[int32][]int32
		if err == nil && len(qt.ReplicaAssignment) > 0 {
			if qt.NumPartitions != -1 || qt.ReplicationFactor != -1 {
				err = fmt.Errorf("%w: both numPartitions or replicationFactor and replicasAssignments were set", errInvalidRequest)
			}
			assignment = map[int32][]int32{}
			for _, ra := range qt.ReplicaAssignment {
				assignment[ra.Partition] = ra.Replicas
			}
		}
		configs := map[string]string{}
		for _, c := range qt.Configs {
			if c.Value == nil {
				err = fmt.Errorf("%w: null value not supported for topic config %s", errInvalidConfigBroker, c.Name)
				break
			}
			configs[c.Name] = *c.Value
		}
		var tm *topicMeta
		if err == nil {
			tm, err = b.createTopic(ctx, qt.Topic, qt.NumPartitions, qt.ReplicationFactor, assignment, configs, q.ValidateOnly)
		}
		rt.ErrorCode = errorCode(err)
		if r.APIVersion >= 1 {
			rt.ErrorMessage = errorMessage(err)
		}
		if err == nil && tm != nil {
			rt.TopicID = tm.ID
			rt.NumPartitions = int32(len(tm.Partitions))
			rf := int16(len(assignment[0]))
			if len(tm.Partitions) > 0 && len(tm.Partitions[0].Replicas) > 0 {
				rf = int16(len(tm.Partitions[0].Replicas))
			} else if rf == 0 {
				rf = qt.ReplicationFactor
				if rf == -1 {
					rf = int16(b.conf().Int("default.replication.factor"))
				}
			}
			rt.ReplicationFactor = rf
			if r.APIVersion >= 5 {
				rt.Configs = b.createdConfigs(configs)
			}
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return respond(r, resp)
}

// createdConfigs is the v5+ config list of a created topic.
func (b *Broker) createdConfigs(overrides map[string]string) []kmsg.CreateTopicsResponseTopicConfig {
	entries, err := b.conf().DescribeTopic(overrides)
	if err != nil {
		return nil
	}
	out := make([]kmsg.CreateTopicsResponseTopicConfig, 0, len(entries))
	for _, e := range entries {
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name = e.Name
		if !e.Null {
			v := e.Value
			c.Value = &v
		}
		c.ReadOnly = e.ReadOnly
		c.Source = int8(e.Source)
		c.IsSensitive = e.Sensitive
		out = append(out, c)
	}
	return out
}
