package group

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestFindCoordinator(t *testing.T) {
	c := New(Config{NumPartitions: 2})
	c.OwnAll()
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.Version = 2
	req.CoordinatorKey = "g"
	r := c.FindCoordinator(req, 7, "127.0.0.1", 9092)
	if r.ErrorCode != 0 || r.NodeID != 7 || r.Host != "127.0.0.1" || r.Port != 9092 || len(r.Coordinators) != 0 {
		t.Fatalf("v2: %+v", r)
	}
	req.Version = 4
	req.CoordinatorKeys = []string{"a", "b"}
	r = c.FindCoordinator(req, 7, "h", 1)
	if len(r.Coordinators) != 2 || r.Coordinators[1].Key != "b" || r.Coordinators[1].NodeID != 7 {
		t.Fatalf("v4: %+v", r)
	}
	req.CoordinatorType = 1
	r = c.FindCoordinator(req, 7, "h", 1)
	if r.Coordinators[0].ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("txn key: %+v", r)
	}
}

func TestOffsetFetchErrors(t *testing.T) {
	c := New(Config{NumPartitions: 1})
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = "g"
	req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0, 1}}}
	for _, v := range []int16{1, 5} {
		req.Version = v
		r := c.OffsetFetch(time.Now(), req)
		if v >= 2 && r.ErrorCode != kerr.NotCoordinator.Code {
			t.Fatalf("v%d top-level: %d", v, r.ErrorCode)
		}
		if v < 2 && r.Topics[0].Partitions[1].ErrorCode != kerr.NotCoordinator.Code {
			t.Fatalf("v%d partition: %+v", v, r.Topics[0].Partitions)
		}
	}
}

func TestOffsetCommitMetadataTooLarge(t *testing.T) {
	c := New(Config{NumPartitions: 1, OffsetMetadataMaxBytes: 4})
	c.OwnAll()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 2
	req.Group = "g"
	long, short := "12345", "1234"
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{
		{Partition: 0, Offset: 1, Metadata: &long}, {Partition: 1, Offset: 2, Metadata: &short}}}}
	r, o := c.OffsetCommit(time.Now(), req)
	if r.Topics[0].Partitions[0].ErrorCode != kerr.OffsetMetadataTooLarge.Code || r.Topics[0].Partitions[1].ErrorCode != 0 || len(o.Records) != 1 {
		t.Fatalf("%+v %d records", r.Topics, len(o.Records))
	}
}

func TestUnloadAnswersParkedRequests(t *testing.T) {
	c := New(Config{NumPartitions: 1, InitialRebalanceDelay: time.Second})
	c.OwnAll()
	now := time.Unix(0, 0)
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 3
	req.Group = "g"
	req.SessionTimeoutMillis = 10_000
	req.ProtocolType = "consumer"
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
	if o := c.JoinGroup(now, Caller{ClientID: "c", Waiter: "w"}, req); len(o.Deliveries) != 0 {
		t.Fatalf("join answered during the initial delay: %+v", o)
	}
	if d := c.NextDeadline(); !d.Equal(now.Add(time.Second)) {
		t.Fatalf("next deadline %v", d)
	}
	o := c.Unload(0)
	if len(o.Deliveries) != 1 || o.Deliveries[0].To != "w" || o.Deliveries[0].Resp.(*kmsg.JoinGroupResponse).ErrorCode != kerr.NotCoordinator.Code {
		t.Fatalf("unload: %+v", o)
	}
	if c.Group("g") != nil {
		t.Fatal("group kept after unload")
	}
}

// TestJoinGroupV0 checks the oldest version: the rebalance timeout is the
// session timeout, and the member id comes back at once.
func TestJoinGroupV0(t *testing.T) {
	c := New(Config{NumPartitions: 1, InitialRebalanceDelay: -1})
	c.OwnAll()
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 0
	req.Group = "g"
	req.SessionTimeoutMillis = 10_000
	req.ProtocolType = "consumer"
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range"}}
	o := c.JoinGroup(time.Unix(0, 0), Caller{ClientID: "kafka-go", Waiter: 1}, req)
	r := o.Deliveries[0].Resp.(*kmsg.JoinGroupResponse)
	if r.ErrorCode != 0 || !strings.HasPrefix(r.MemberID, "kafka-go-") || r.Generation != 1 || r.LeaderID != r.MemberID {
		t.Fatalf("%+v", r)
	}
	if m := c.Group("g").members[r.MemberID]; m.rebalance != 10*time.Second {
		t.Fatalf("rebalance timeout %v", m.rebalance)
	}
	// The generated member id is clientId-<uuid v4>.
	uuid := strings.TrimPrefix(r.MemberID, "kafka-go-")
	if len(uuid) != 36 || uuid[14] != '4' {
		t.Fatalf("member id %q", r.MemberID)
	}
}
