package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzStateMachine drives random operations from a few clients (joins with
// and without KIP-394, static instances, syncs, heartbeats, leaves,
// commits, time steps) and checks after every step that the group's
// bookkeeping holds, that no parked request is answered twice, and that
// after a long quiet period every parked request has been answered.
func FuzzStateMachine(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{0x10, 0x10, 0x21, 0x21, 0x30, 0x31, 0x45, 0x50, 0x61, 0x70, 0x80})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 400 {
			ops = ops[:400]
		}
		c := New(Config{NumPartitions: 1, InitialRebalanceDelay: 2 * time.Second, MaxSize: 3})
		c.OwnAll()
		now := time.Unix(1_700_000_000, 0)
		type cl struct {
			id  string
			gen int32
		}
		clients := make([]cl, 4)
		answered := map[int]bool{}
		parked := map[int]bool{}
		seq := 0
		handle := func(o Out) {
			for _, d := range o.Deliveries {
				w := d.To.(int)
				if answered[w] {
					t.Fatalf("waiter %d answered twice", w)
				}
				answered[w] = true
				delete(parked, w)
				if r, ok := d.Resp.(*kmsg.JoinGroupResponse); ok {
					i := w % 4
					if r.MemberID != "" {
						clients[i].id = r.MemberID
					}
					if r.ErrorCode == 0 {
						clients[i].gen = r.Generation
					}
				}
			}
			if g := c.Group("g"); g != nil {
				if err := g.checkErr(); err != nil {
					t.Fatal(err)
				}
			}
		}
		waiter := func(i int) int {
			seq++
			w := seq*4 + i
			parked[w] = true
			return w
		}
		for _, op := range ops {
			i := int(op & 3)
			inst := (op>>2)&1 == 1 && i < 2
			switch op >> 4 & 7 {
			case 0, 1: // join
				req := kmsg.NewPtrJoinGroupRequest()
				req.Version = 5
				if op&0x80 != 0 {
					req.Version = 3
				}
				req.Group = "g"
				req.SessionTimeoutMillis = 10_000
				req.RebalanceTimeoutMillis = 20_000
				req.MemberID = clients[i].id
				if op>>4&7 == 1 {
					req.MemberID = ""
				}
				if inst {
					s := string(rune('A' + i))
					req.InstanceID = &s
				}
				req.ProtocolType = "consumer"
				req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
				handle(c.JoinGroup(now, Caller{ClientID: "c", Waiter: waiter(i)}, req))
			case 2: // sync (leader assigns everyone)
				req := kmsg.NewPtrSyncGroupRequest()
				req.Group, req.MemberID, req.Generation = "g", clients[i].id, clients[i].gen
				if g := c.Group("g"); g != nil && g.Leader() == clients[i].id {
					for _, m := range g.Members() {
						req.GroupAssignment = append(req.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: m, MemberAssignment: []byte(m)})
					}
				}
				handle(c.SyncGroup(now, Caller{Waiter: waiter(i)}, req))
			case 3: // heartbeat
				req := kmsg.NewPtrHeartbeatRequest()
				req.Group, req.MemberID, req.Generation = "g", clients[i].id, clients[i].gen
				c.Heartbeat(now, req)
				handle(Out{})
			case 4: // leave
				req := kmsg.NewPtrLeaveGroupRequest()
				req.Version = 3
				req.Group = "g"
				m := kmsg.LeaveGroupRequestMember{MemberID: clients[i].id}
				if inst && op&0x80 != 0 {
					s := string(rune('A' + i))
					m = kmsg.LeaveGroupRequestMember{InstanceID: &s}
				}
				req.Members = []kmsg.LeaveGroupRequestMember{m}
				_, o := c.LeaveGroup(now, req)
				handle(o)
			case 5: // commit
				req := kmsg.NewPtrOffsetCommitRequest()
				req.Group, req.MemberID, req.Generation = "g", clients[i].id, clients[i].gen
				req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{{Partition: int32(i), Offset: int64(op)}}}}
				_, o := c.OffsetCommit(now, req)
				handle(o)
			default: // time passes
				now = now.Add(time.Duration(op&0x8f) * 300 * time.Millisecond)
				handle(c.Tick(now))
			}
		}
		// A long quiet period: every rebalance, session and sync timer
		// fires, so nothing may stay parked.
		for range 40 {
			now = now.Add(time.Minute)
			handle(c.Tick(now))
		}
		if len(parked) != 0 {
			t.Fatalf("requests still parked after an hour of quiet: %v", parked)
		}
	})
}
