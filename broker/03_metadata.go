package broker

// Metadata (key 3), v0-12, as Kafka 3.8.
//
// Topics: v0 with an empty list means every topic; v1+ uses null for every
// topic and an empty list for none. v10+ returns each topic's stable id
// (the topic_id in /brokers/topics/<t>) and accepts topics by id. An
// unknown topic is auto-created when auto.create.topics.enable is true and
// the request allows it (always below v4; allow_auto_topic_creation from
// v4); the answer for it is then LEADER_NOT_AVAILABLE (5), as Kafka's
// AutoTopicCreationManager gives, and clients retry. Any broker may
// auto-create (Kafka's ZK-mode brokers write the topic znodes directly),
// fenced by the current controller epoch. Brokers are listed
// with the endpoint of the listener the request came in on.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/zkmeta"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.Metadata, 0, 12, handleMetadata) }

func handleMetadata(b *Broker, ctx context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.MetadataRequest)
	resp := kmsg.NewPtrMetadataResponse()
	for _, bi := range b.meta.allBrokers() {
		for _, ep := range bi.Endpoints {
			if ep.Name != r.Listener {
				continue
			}
			mb := kmsg.NewMetadataResponseBroker()
			mb.NodeID, mb.Host, mb.Port = bi.ID, ep.Host, int32(ep.Port)
			if bi.Rack != "" {
				rack := bi.Rack
				mb.Rack = &rack
			}
			resp.Brokers = append(resp.Brokers, mb)
		}
	}
	cid := b.clusterID
	resp.ClusterID = &cid
	resp.ControllerID = b.controllerID()

	all := q.Topics == nil || (r.APIVersion == 0 && len(q.Topics) == 0)
	if all {
		for _, t := range b.meta.allTopics() {
			resp.Topics = append(resp.Topics, b.metadataTopic(t))
		}
		return respond(r, resp)
	}
	autoCreate := b.conf().Bool("auto.create.topics.enable") && (r.APIVersion < 4 || q.AllowAutoTopicCreation)
	for _, rt := range q.Topics {
		var t *topicMeta
		if rt.Topic != nil && *rt.Topic != "" {
			t = b.meta.topic(*rt.Topic)
		} else if rt.TopicID != [16]byte{} {
			t = b.meta.topicByID(rt.TopicID)
			if t == nil {
				mt := kmsg.NewMetadataResponseTopic()
				mt.TopicID = rt.TopicID
				mt.ErrorCode = kerr.UnknownTopicID.Code
				resp.Topics = append(resp.Topics, mt)
				continue
			}
		}
		if t != nil {
			resp.Topics = append(resp.Topics, b.metadataTopic(t))
			continue
		}
		mt := kmsg.NewMetadataResponseTopic()
		mt.Topic = rt.Topic
		mt.ErrorCode = kerr.UnknownTopicOrPartition.Code
		if rt.Topic != nil && autoCreate {
			mt.ErrorCode = b.autoCreate(ctx, *rt.Topic)
		}
		resp.Topics = append(resp.Topics, mt)
	}
	return respond(r, resp)
}

// autoCreate creates a topic a client asked for and returns the code to
// report for it now: LEADER_NOT_AVAILABLE while it is being created.
func (b *Broker) autoCreate(ctx context.Context, name string) int16 {
	if err := zkmeta.ValidateTopicName(name); err != nil {
		return kerr.InvalidTopicException.Code
	}
	f, err := b.configFence(ctx)
	if err != nil {
		return kerr.LeaderNotAvailable.Code
	}
	_, err = b.createTopicFenced(ctx, f, name, -1, -1, nil, nil, false)
	switch {
	case err == nil, errors.Is(err, zkmeta.ErrTopicExists):
		return kerr.LeaderNotAvailable.Code
	case errors.Is(err, errInvalidReplicationFactor):
		// Kafka reports the creation failure itself.
		return kerr.InvalidReplicationFactor.Code
	}
	b.log.Warn("auto-creating topic", "topic", name, "err", err)
	return kerr.LeaderNotAvailable.Code
}

func (b *Broker) metadataTopic(t *topicMeta) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	mt.Topic = &name
	mt.TopicID = t.ID
	mt.IsInternal = t.Internal
	live := map[int32]bool{}
	for _, bi := range b.meta.allBrokers() {
		live[bi.ID] = true
	}
	for _, p := range t.Partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = p.ID
		mp.Leader = p.Leader
		mp.LeaderEpoch = p.LeaderEpoch
		mp.Replicas = nonNil(p.Replicas)
		mp.ISR = nonNil(p.ISR)
		mp.OfflineReplicas = []int32{}
		for _, rep := range p.Replicas {
			if !live[rep] {
				mp.OfflineReplicas = append(mp.OfflineReplicas, rep)
			}
		}
		if p.Leader < 0 || !live[p.Leader] {
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
			mp.Leader = -1
		}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}
