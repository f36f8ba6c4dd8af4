package group

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// stableGroup builds a Stable group of n members through the state
// machine and returns their member ids (leader first).
func stableGroup(tb testing.TB, c *Coordinator, now time.Time, n int, assign func(i int) []byte) []string {
	ids := make([]string, n)
	join := func(i int, id string) Out {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Version = 5
		req.Group = "bench"
		req.SessionTimeoutMillis = 10_000
		req.RebalanceTimeoutMillis = 30_000
		req.MemberID = id
		req.ProtocolType = "consumer"
		meta := kmsg.NewConsumerMemberMetadata()
		meta.Topics = []string{"t"}
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta.AppendTo(nil)}}
		return c.JoinGroup(now, Caller{ClientID: fmt.Sprintf("c%d", i), Waiter: i}, req)
	}
	for i := range ids {
		o := join(i, "")
		ids[i] = o.Deliveries[0].Resp.(*kmsg.JoinGroupResponse).MemberID
	}
	rebalance(tb, c, now, ids, join, assign)
	return ids
}

// rebalance runs one full rebalance: every member rejoins, followers sync,
// the leader syncs with the assignment; the group ends Stable.
func rebalance(tb testing.TB, c *Coordinator, now time.Time, ids []string, join func(int, string) Out, assign func(i int) []byte) {
	var gen int32
	var leader string
	for i, id := range ids {
		o := join(i, id)
		for _, d := range o.Deliveries {
			r := d.Resp.(*kmsg.JoinGroupResponse)
			if r.ErrorCode != 0 {
				tb.Fatalf("join: %d", r.ErrorCode)
			}
			gen, leader = r.Generation, r.LeaderID
		}
	}
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Group = "bench"
	sync.Generation = gen
	for i, id := range ids {
		if id == leader {
			continue
		}
		sync.MemberID = id
		c.SyncGroup(now, Caller{Waiter: i}, sync)
	}
	sync.MemberID = leader
	for i, id := range ids {
		sync.GroupAssignment = append(sync.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: id, MemberAssignment: assign(i)})
	}
	o := c.SyncGroup(now, Caller{Waiter: -1}, sync)
	if len(o.Deliveries) != len(ids) || c.Group("bench").State() != Stable {
		tb.Fatalf("rebalance did not complete: %d deliveries, %s", len(o.Deliveries), c.Group("bench").State())
	}
}

// BenchmarkOffsetCommit100 commits 100 partitions per OffsetCommit through
// the state machine, including encoding the 100 __consumer_offsets records.
func BenchmarkOffsetCommit100(b *testing.B) {
	c := New(Config{InitialRebalanceDelay: -1})
	c.OwnAll()
	now := time.UnixMilli(1_700_000_000_000)
	ids := stableGroup(b, c, now, 1, func(int) []byte { return nil })
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 8
	req.Group = "bench"
	req.MemberID = ids[0]
	req.Generation = c.Group("bench").Generation()
	t := kmsg.NewOffsetCommitRequestTopic()
	t.Topic = "t"
	for p := range int32(100) {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition = p
		t.Partitions = append(t.Partitions, rp)
	}
	req.Topics = []kmsg.OffsetCommitRequestTopic{t}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for p := range req.Topics[0].Partitions {
			req.Topics[0].Partitions[p].Offset = int64(i)
		}
		resp, o := c.OffsetCommit(now, req)
		if len(o.Records) != 100 || resp.Topics[0].Partitions[99].ErrorCode != 0 {
			b.Fatal("commit failed")
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "partition-commits/s")
}

// BenchmarkRebalance10x100 is one full rebalance of a Stable 10-member
// group over 100 partitions (every member rejoins and syncs; the leader's
// assignment gives each member 10 partitions). State machine time only.
func BenchmarkRebalance10x100(b *testing.B) {
	c := New(Config{InitialRebalanceDelay: -1})
	c.OwnAll()
	now := time.UnixMilli(1_700_000_000_000)
	assignments := make([][]byte, 10)
	for i := range assignments {
		a := kmsg.NewConsumerMemberAssignment()
		t := kmsg.NewConsumerMemberAssignmentTopic()
		t.Topic = "t"
		for p := range int32(10) {
			t.Partitions = append(t.Partitions, int32(i)*10+p)
		}
		a.Topics = []kmsg.ConsumerMemberAssignmentTopic{t}
		assignments[i] = a.AppendTo(nil)
	}
	assign := func(i int) []byte { return assignments[i] }
	ids := stableGroup(b, c, now, 10, assign)
	join := func(i int, id string) Out {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Version = 5
		req.Group = "bench"
		req.SessionTimeoutMillis = 10_000
		req.RebalanceTimeoutMillis = 30_000
		req.MemberID = id
		req.ProtocolType = "consumer"
		meta := kmsg.NewConsumerMemberMetadata()
		meta.Topics = []string{"t"}
		meta.Generation = int32(i) // changes each round's metadata like cooperative clients do
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta.AppendTo(nil)}}
		return c.JoinGroup(now, Caller{ClientID: fmt.Sprintf("c%d", i), Waiter: i}, req)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rebalance(b, c, now, ids, join, assign)
	}
}
