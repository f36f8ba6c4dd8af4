package group

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record schema versions Gregor writes. These match Kafka 3.8 (metadata
// version >= 2.3) and must never change: tools that read
// __consumer_offsets parse them.
const (
	offsetKeyVersion   = 1 // OffsetCommitKey; 0 and 1 are the same layout
	groupKeyVersion    = 2 // GroupMetadataKey
	offsetValueVersion = 3 // OffsetCommitValue with leader epoch
	// offsetValueExpireVersion is written when an explicit expire
	// timestamp exists (OffsetCommit v1 with a commit timestamp).
	offsetValueExpireVersion = 1
	groupValueVersion        = 3 // GroupMetadataValue with static members
)

// PartitionFor is Kafka's partitionFor: Utils.abs(groupId.hashCode) %
// partitions, where hashCode is Java's String.hashCode over UTF-16 code
// units and Utils.abs maps Integer.MIN_VALUE to 0.
func PartitionFor(group string, partitions int32) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(group)) {
		h = 31*h + int32(u)
	}
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % partitions
}

// OffsetKey encodes the __consumer_offsets key of a committed offset.
func OffsetKey(group, topic string, partition int32) []byte {
	k := kmsg.NewOffsetCommitKey()
	k.Version = offsetKeyVersion
	k.Group, k.Topic, k.Partition = group, topic, partition
	return k.AppendTo(nil)
}

// GroupKey encodes the __consumer_offsets key of a group's metadata.
func GroupKey(group string) []byte {
	k := kmsg.NewGroupMetadataKey()
	k.Version = groupKeyVersion
	k.Group = group
	return k.AppendTo(nil)
}

func offsetValue(off offset) []byte {
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetValueVersion
	v.Offset = off.offset
	v.LeaderEpoch = off.leaderEpoch
	v.Metadata = off.metadata
	v.CommitTimestamp = off.commitTime.UnixMilli()
	if !off.expireTime.IsZero() {
		v.Version = offsetValueExpireVersion
		v.ExpireTimestamp = off.expireTime.UnixMilli()
	}
	return v.AppendTo(nil)
}

func offsetRecord(part int32, group string, tp topicPartition, off offset) Record {
	return Record{Partition: part, Key: OffsetKey(group, tp.topic, tp.partition), Value: offsetValue(off)}
}

func offsetTombstone(part int32, group string, tp topicPartition) Record {
	return Record{Partition: part, Key: OffsetKey(group, tp.topic, tp.partition)}
}

func groupTombstone(group string, part int32) Record {
	return Record{Partition: part, Key: GroupKey(group)}
}

// groupValue is the GroupMetadataValue Kafka's storeGroup writes.
func (g *Group) groupValue() []byte {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	if g.protocol != "" {
		p := g.protocol
		v.Protocol = &p
	}
	if g.leader != "" {
		l := g.leader
		v.Leader = &l
	}
	v.CurrentStateTimestamp = g.stateTime.UnixMilli()
	for _, id := range g.order {
		m := g.members[id]
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID = m.id
		if m.instanceID != "" {
			inst := m.instanceID
			vm.InstanceID = &inst
		}
		vm.ClientID, vm.ClientHost = m.clientID, m.clientHost
		vm.RebalanceTimeoutMillis = int32(m.rebalance / time.Millisecond)
		vm.SessionTimeoutMillis = int32(m.session / time.Millisecond)
		vm.Subscription = m.metadataFor(g.protocol)
		vm.Assignment = m.assignment
		v.Members = append(v.Members, vm)
	}
	return v.AppendTo(nil)
}

func (g *Group) storeGroup(o *Out) {
	o.Records = append(o.Records, Record{Partition: g.c.PartitionFor(g.id), Key: GroupKey(g.id), Value: g.groupValue()})
}

// OwnAll makes this coordinator own every partition with nothing to load:
// a fresh single broker. A broker with data uses BeginLoad instead.
func (c *Coordinator) OwnAll() {
	for i := range c.parts {
		c.parts[i] = partOwned
	}
}

type loadState struct {
	groups  map[string]*kmsg.GroupMetadataValue // nil value: tombstoned
	offsets map[string]map[topicPartition]*kmsg.OffsetCommitValue
}

// BeginLoad marks partition p as loading: requests for its groups answer
// COORDINATOR_LOAD_IN_PROGRESS until FinishLoad.
func (c *Coordinator) BeginLoad(p int32) error {
	if p < 0 || p >= int32(len(c.parts)) {
		return fmt.Errorf("%w: %d", ErrBadPartition, p)
	}
	c.unload(p)
	c.parts[p] = partLoading
	c.loading[p] = &loadState{
		groups:  make(map[string]*kmsg.GroupMetadataValue),
		offsets: make(map[string]map[topicPartition]*kmsg.OffsetCommitValue),
	}
	return nil
}

// LoadRecord feeds one record of partition p, in log order (latest wins; a
// nil value is a tombstone). A malformed record returns ErrBadRecord and
// is otherwise ignored, so one bad record does not lose a partition.
func (c *Coordinator) LoadRecord(p int32, key, value []byte) error {
	ls := c.loading[p]
	if ls == nil {
		return fmt.Errorf("%w: %d", ErrNotLoading, p)
	}
	return ls.apply(key, value)
}

func (ls *loadState) apply(key, value []byte) error {
	if len(key) < 2 {
		return fmt.Errorf("%w: key of %d bytes", ErrBadRecord, len(key))
	}
	switch version := int16(key[0])<<8 | int16(key[1]); version {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(key); err != nil {
			return fmt.Errorf("%w: offset key: %v", ErrBadRecord, err)
		}
		tp := topicPartition{k.Topic, k.Partition}
		if value == nil {
			delete(ls.offsets[k.Group], tp)
			return nil
		}
		var v kmsg.OffsetCommitValue
		if err := v.ReadFrom(value); err != nil {
			return fmt.Errorf("%w: offset value: %v", ErrBadRecord, err)
		}
		if ls.offsets[k.Group] == nil {
			ls.offsets[k.Group] = make(map[topicPartition]*kmsg.OffsetCommitValue)
		}
		ls.offsets[k.Group][tp] = &v
	case 2:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(key); err != nil {
			return fmt.Errorf("%w: group key: %v", ErrBadRecord, err)
		}
		if value == nil {
			ls.groups[k.Group] = nil
			return nil
		}
		var v kmsg.GroupMetadataValue
		if err := v.ReadFrom(value); err != nil {
			return fmt.Errorf("%w: group value: %v", ErrBadRecord, err)
		}
		ls.groups[k.Group] = &v
	default:
		return fmt.Errorf("%w: key version %d", ErrBadRecord, version)
	}
	return nil
}

// FinishLoad builds the groups of partition p from the loaded records and
// starts serving them. Loaded groups with members are Stable; each member
// gets a fresh session from now, as Kafka schedules on load.
func (c *Coordinator) FinishLoad(now time.Time, p int32) error {
	defer c.check()
	ls := c.loading[p]
	if ls == nil {
		return fmt.Errorf("%w: %d", ErrNotLoading, p)
	}
	delete(c.loading, p)
	ids := make(map[string]bool)
	for id, v := range ls.groups {
		if v != nil {
			ids[id] = true
		}
	}
	for id, offs := range ls.offsets {
		if len(offs) > 0 {
			ids[id] = true
		}
	}
	for _, id := range sortedKeys(ids) {
		if PartitionFor(id, c.cfg.NumPartitions) != p {
			continue // not ours: a record written under another partition count
		}
		g := newGroup(c, id, now)
		if v := ls.groups[id]; v != nil {
			g.protocolType = v.ProtocolType
			g.generation = v.Generation
			if v.Protocol != nil {
				g.protocol = *v.Protocol
			}
			if v.CurrentStateTimestamp > 0 {
				g.stateTime = time.UnixMilli(v.CurrentStateTimestamp)
			}
			for _, vm := range v.Members {
				if _, dup := g.members[vm.MemberID]; dup || vm.MemberID == "" {
					continue // not written by a coordinator; keep the first
				}
				if vm.InstanceID != nil {
					if _, dup := g.static[*vm.InstanceID]; dup {
						continue
					}
				}
				m := &member{
					id:         vm.MemberID,
					clientID:   vm.ClientID,
					clientHost: vm.ClientHost,
					session:    time.Duration(vm.SessionTimeoutMillis) * time.Millisecond,
					rebalance:  time.Duration(vm.RebalanceTimeoutMillis) * time.Millisecond,
					protocols:  []protocol{{name: g.protocol, meta: vm.Subscription}},
					assignment: vm.Assignment,
				}
				if vm.InstanceID != nil {
					m.instanceID = *vm.InstanceID
				}
				g.add(m)
				g.touch(now, m)
			}
			if v.Leader != nil && g.members[*v.Leader] != nil {
				g.leader = *v.Leader
			}
			if len(g.members) > 0 {
				g.state = stateStable
				g.computeSubscribed()
			}
			if len(g.members) > c.cfg.MaxSize {
				// group.max.size was lowered: rebalance so the members
				// commit and the size limit applies on rejoin, as Kafka's
				// onGroupLoaded does. No request is parked yet, so nothing
				// is delivered.
				var o Out
				g.prepareRebalance(now, &o)
			}
		}
		for tp, v := range ls.offsets[id] {
			off := offset{offset: v.Offset, leaderEpoch: -1, metadata: v.Metadata, commitTime: time.UnixMilli(v.CommitTimestamp)}
			if v.Version >= 3 {
				off.leaderEpoch = v.LeaderEpoch
			}
			if v.Version == 1 && v.ExpireTimestamp >= 0 {
				off.expireTime = time.UnixMilli(v.ExpireTimestamp)
			}
			g.offsets[tp] = off
		}
		c.groups[id] = g
	}
	c.parts[p] = partOwned
	return nil
}

// Unload stops coordinating partition p (leadership moved): its groups are
// dropped from memory, and their parked requests answer NOT_COORDINATOR.
func (c *Coordinator) Unload(p int32) Out {
	defer c.check()
	var o Out
	for _, id := range c.Groups() {
		if c.PartitionFor(id) != p {
			continue
		}
		g := c.groups[id]
		for _, mid := range g.order {
			m := g.members[mid]
			if m.awaitingJoin() {
				o.deliver(m.joinWaiter, joinError(m.joinVersion, m.id, notCoordinator))
			}
			if m.awaitingSync() {
				o.deliver(m.syncWaiter, syncError(m.syncVersion, notCoordinator))
			}
		}
		delete(c.groups, id)
	}
	c.unload(p)
	return o
}

func (c *Coordinator) unload(p int32) {
	delete(c.loading, p)
	c.parts[p] = partNotOwned
}

func sortStrings(s []string) { sort.Strings(s) }
func sortInt32s(s []int32)   { slices.Sort(s) }

func sortedTPs[V any](m map[topicPartition]V) []topicPartition {
	tps := make([]topicPartition, 0, len(m))
	for tp := range m {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, func(a, b topicPartition) int {
		if c := strings.Compare(a.topic, b.topic); c != 0 {
			return c
		}
		return int(a.partition) - int(b.partition)
	})
	return tps
}
