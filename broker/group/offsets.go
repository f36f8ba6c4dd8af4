package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetCommit handles OffsetCommit v0-v9 (non-transactional). The broker
// checks topic existence and authorization before calling; the returned
// records must be appended before the response is sent.
func (c *Coordinator) OffsetCommit(now time.Time, req *kmsg.OffsetCommitRequest) (*kmsg.OffsetCommitResponse, Out) {
	defer c.check()
	var o Out
	r := kmsg.NewPtrOffsetCommitResponse()
	r.Version = req.Version
	respond := func(code func(topic string, p kmsg.OffsetCommitRequestTopicPartition) int16) (*kmsg.OffsetCommitResponse, Out) {
		for _, t := range req.Topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = code(t.Topic, p)
				rt.Partitions = append(rt.Partitions, rp)
			}
			r.Topics = append(r.Topics, rt)
		}
		return r, o
	}
	all := func(code int16) (*kmsg.OffsetCommitResponse, Out) {
		return respond(func(string, kmsg.OffsetCommitRequestTopicPartition) int16 { return code })
	}
	if code := c.checkGroup(req.Group, true); code != 0 {
		return all(code)
	}
	generation, memberID := req.Generation, req.MemberID
	if req.Version == 0 {
		generation, memberID = -1, ""
	}
	instance := ""
	if req.Version >= 7 && req.InstanceID != nil {
		instance = *req.InstanceID
	}
	g := c.groups[req.Group]
	if g == nil {
		if generation >= 0 {
			return all(errIllegalGeneration)
		}
		// Simple (standalone) consumers store offsets in a group with
		// no members, as Kafka allows.
		g = c.getOrCreate(now, req.Group)
	}
	switch {
	case generation < 0 && g.state == stateEmpty:
		// Admin clients and consumers without group management commit
		// to an Empty group whatever member id they send.
	case generation >= 0 || memberID != "" || instance != "":
		if code := g.validateMember(memberID, instance); code != 0 {
			return all(code)
		}
		if generation != g.generation {
			return all(errIllegalGeneration)
		}
	default:
		// A group with members takes commits from its members only.
		return all(errUnknownMember)
	}
	if g.state == stateCompletingRebalance {
		return all(errRebalanceInProgress)
	}
	if m := g.members[memberID]; m != nil {
		g.touch(now, m)
	}
	part := c.PartitionFor(g.id)
	tooLarge := map[topicPartition]bool{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			tp := topicPartition{t.Topic, p.Partition}
			meta := ""
			if p.Metadata != nil {
				meta = *p.Metadata
			}
			if len(meta) > c.cfg.OffsetMetadataMaxBytes {
				tooLarge[tp] = true
				continue
			}
			off := offset{offset: p.Offset, leaderEpoch: -1, metadata: meta, commitTime: now}
			if req.Version >= 6 {
				off.leaderEpoch = p.LeaderEpoch
			}
			if req.Version == 1 && p.Timestamp != -1 {
				off.commitTime = time.UnixMilli(p.Timestamp) // v1's explicit commit time
			}
			if req.Version >= 2 && req.Version <= 4 && req.RetentionTimeMillis != -1 {
				// v2-v4 may override retention: the offset then expires at
				// a fixed time (written as an OffsetCommitValue v1).
				off.expireTime = now.Add(time.Duration(req.RetentionTimeMillis) * time.Millisecond)
			}
			g.offsets[tp] = off
			o.Records = append(o.Records, offsetRecord(part, g.id, tp, off))
		}
	}
	return respond(func(topic string, p kmsg.OffsetCommitRequestTopicPartition) int16 {
		if tooLarge[topicPartition{topic, p.Partition}] {
			return kerr.OffsetMetadataTooLarge.Code
		}
		return 0
	})
}

// OffsetFetch handles OffsetFetch v0-v7 (one group) and v8+ (batched
// groups). Unknown partitions answer offset -1. Gregor has no transactional
// offset commits yet, so require_stable never finds a pending one.
func (c *Coordinator) OffsetFetch(now time.Time, req *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	r := kmsg.NewPtrOffsetFetchResponse()
	r.Version = req.Version
	if req.Version >= 8 {
		for _, rg := range req.Groups {
			var topics []kmsg.OffsetFetchRequestTopic
			all := rg.Topics == nil
			for _, t := range rg.Topics {
				topics = append(topics, kmsg.OffsetFetchRequestTopic{Topic: t.Topic, Partitions: t.Partitions})
			}
			rts, code := c.fetchGroup(rg.Group, topics, all)
			resp := kmsg.NewOffsetFetchResponseGroup()
			resp.Group = rg.Group
			resp.ErrorCode = code
			for _, t := range rts {
				gt := kmsg.NewOffsetFetchResponseGroupTopic()
				gt.Topic = t.Topic
				for _, p := range t.Partitions {
					gp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
					gp.Partition, gp.Offset, gp.LeaderEpoch, gp.Metadata, gp.ErrorCode = p.Partition, p.Offset, p.LeaderEpoch, p.Metadata, p.ErrorCode
					gt.Partitions = append(gt.Partitions, gp)
				}
				resp.Topics = append(resp.Topics, gt)
			}
			r.Groups = append(r.Groups, resp)
		}
		return r
	}
	all := req.Topics == nil && req.Version >= 2
	rts, code := c.fetchGroup(req.Group, req.Topics, all)
	r.Topics = rts
	if req.Version >= 2 {
		r.ErrorCode = code
	} else if code != 0 {
		// v0-v1 have no top-level error: Kafka puts it on every partition.
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				r.Topics[i].Partitions[j].ErrorCode = code
			}
		}
	}
	return r
}

func (c *Coordinator) fetchGroup(group string, topics []kmsg.OffsetFetchRequestTopic, all bool) ([]kmsg.OffsetFetchResponseTopic, int16) {
	code := c.checkGroup(group, true)
	unknown := func(p int32) kmsg.OffsetFetchResponseTopicPartition {
		rp := kmsg.NewOffsetFetchResponseTopicPartition()
		rp.Partition = p
		rp.Offset = -1
		rp.LeaderEpoch = -1
		return rp
	}
	var out []kmsg.OffsetFetchResponseTopic
	if code != 0 {
		for _, t := range topics {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rt.Partitions = append(rt.Partitions, unknown(p))
			}
			out = append(out, rt)
		}
		return out, code
	}
	g := c.groups[group]
	if all {
		if g == nil {
			return nil, 0
		}
		byTopic := map[string][]int32{}
		for tp := range g.offsets {
			byTopic[tp.topic] = append(byTopic[tp.topic], tp.partition)
		}
		for _, t := range sortedKeys(byTopic) {
			ps := byTopic[t]
			sortInt32s(ps)
			topics = append(topics, kmsg.OffsetFetchRequestTopic{Topic: t, Partitions: ps})
		}
	}
	for _, t := range topics {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := unknown(p)
			if g != nil {
				if off, ok := g.offsets[topicPartition{t.Topic, p}]; ok {
					rp.Offset = off.offset
					rp.LeaderEpoch = off.leaderEpoch
					meta := off.metadata
					rp.Metadata = &meta
				}
			}
			if rp.Metadata == nil {
				empty := ""
				rp.Metadata = &empty
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		out = append(out, rt)
	}
	return out, 0
}

// OffsetDelete handles OffsetDelete v0: GROUP_SUBSCRIBED_TO_TOPIC for
// topics a live consumer group subscribes to.
func (c *Coordinator) OffsetDelete(now time.Time, req *kmsg.OffsetDeleteRequest) (*kmsg.OffsetDeleteResponse, Out) {
	defer c.check()
	var o Out
	r := kmsg.NewPtrOffsetDeleteResponse()
	r.Version = req.Version
	if code := c.checkGroup(req.Group, false); code != 0 {
		r.ErrorCode = code
		return r, o
	}
	g := c.groups[req.Group]
	if g == nil {
		r.ErrorCode = kerr.GroupIDNotFound.Code
		return r, o
	}
	if g.state != stateEmpty && g.protocolType != "consumer" {
		r.ErrorCode = kerr.NonEmptyGroup.Code
		return r, o
	}
	part := c.PartitionFor(g.id)
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		subscribed := g.state != stateEmpty && g.subscribedTo(t.Topic)
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			if subscribed {
				rp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			} else {
				tp := topicPartition{t.Topic, p.Partition}
				if _, ok := g.offsets[tp]; ok {
					delete(g.offsets, tp)
					o.Records = append(o.Records, offsetTombstone(part, g.id, tp))
				}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		r.Topics = append(r.Topics, rt)
	}
	// Kafka's cleanupGroupMetadata: an Empty group left with no offsets
	// is Dead and deleted.
	if g.state == stateEmpty && len(g.offsets) == 0 && len(g.pending) == 0 {
		c.removeGroup(g, &o)
	}
	return r, o
}

// expireOffsets is Kafka 3.x's removeExpiredOffsets plus
// cleanupGroupMetadata: offsets of an Empty group expire once the group
// has been empty for offsets.retention.minutes; a Stable consumer group
// loses only offsets of topics it no longer subscribes to; groups with no
// protocol type (simple consumers) expire each offset from its commit.
// An Empty group left with no offsets becomes Dead and is tombstoned.
func (c *Coordinator) expireOffsets(now time.Time, o *Out) {
	ret := c.cfg.OffsetsRetention
	for _, id := range c.Groups() {
		g := c.groups[id]
		part := c.PartitionFor(id)
		var base func(offset) time.Time
		var keep func(string) bool
		switch {
		case g.protocolType == "" && len(g.members) == 0:
			base = func(off offset) time.Time { return off.commitTime }
		case g.state == stateEmpty:
			base = func(offset) time.Time { return g.stateTime }
		case g.protocolType == "consumer" && g.subscribed != nil && g.state == stateStable:
			base = func(off offset) time.Time { return off.commitTime }
			keep = func(t string) bool { return g.subscribed[t] }
		}
		if base != nil {
			for _, tp := range sortedTPs(g.offsets) {
				off := g.offsets[tp]
				if keep != nil && keep(tp.topic) {
					continue
				}
				expired := !now.Before(base(off).Add(ret))
				if !off.expireTime.IsZero() {
					expired = !now.Before(off.expireTime)
				}
				if expired {
					delete(g.offsets, tp)
					o.Records = append(o.Records, offsetTombstone(part, id, tp))
				}
			}
		}
		if g.state == stateEmpty && len(g.offsets) == 0 && len(g.pending) == 0 {
			c.removeGroup(g, o)
		}
	}
}
