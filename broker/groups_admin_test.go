package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/group"
	"github.com/gregorlog/gregor/engine"
	"github.com/gregorlog/gregor/internal/testutil"
)

// TestGroupAdmin drives kadm's group administration against the broker.
func TestGroupAdmin(t *testing.T) {
	b := groupBroker(t, nil)
	adm := newAdmin(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const parts = 3
	if _, err := adm.CreateTopic(ctx, parts, 1, nil, "ga"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "other"); err != nil {
		t.Fatal(err)
	}
	produceN(t, b, "ga", 0, 30)
	produceN(t, b, "other", 0, 3)
	ta := newTally()
	m := startKgoMemberAt(t, b.Addr(), "ga", "ga", ta, true)
	waitConsumed(t, ta, 30)
	waitCommitted(t, adm, "ga", 30)
	// An admin commit for a topic the group does not consume.
	oc := kadm.Offsets{}
	oc.Add(kadm.Offset{Topic: "other", Partition: 0, At: 0, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, "standalone", oc); err != nil {
		t.Fatal(err)
	}

	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := listed["ga"]; !ok || listed["ga"].State != "Stable" || listed["ga"].ProtocolType != "consumer" {
		t.Fatalf("ListGroups: %+v", listed)
	}
	if listed["standalone"].State != "Empty" {
		t.Fatalf("ListGroups standalone: %+v", listed["standalone"])
	}
	dg := waitAssigned(t, adm, "ga", "ga", parts, 1)
	if dg.Protocol != "cooperative-sticky" || dg.Members[0].ClientHost != "/127.0.0.1" {
		t.Fatalf("DescribeGroups: protocol %q host %q", dg.Protocol, dg.Members[0].ClientHost)
	}
	produceN(t, b, "ga", 30, 9) // lag 9 until consumed
	lags, err := adm.Lag(ctx, "standalone")
	if err != nil {
		t.Fatal(err)
	}
	if l := lags["standalone"]; l.Error() != nil || l.Lag.Total() != 3 {
		t.Fatalf("kadm Lag of standalone: total %d err %v", l.Lag.Total(), l.Error())
	}
	waitConsumed(t, ta, 39)
	waitCommitted(t, adm, "ga", 39)
	gl := b.GroupLag("ga")
	if len(gl) != parts {
		t.Fatalf("GroupLag: %+v", gl)
	}
	for _, pl := range gl {
		if pl.Lag != 0 || pl.LogEnd != pl.Committed {
			t.Fatalf("GroupLag: %+v", gl)
		}
	}

	// A group with members cannot be deleted, nor offsets it consumes.
	dr, err := adm.DeleteGroups(ctx, "ga")
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(dr["ga"].Err, kerr.NonEmptyGroup) {
		t.Fatalf("DeleteGroups of a live group: %v", dr["ga"].Err)
	}
	del := kadm.TopicsSet{}
	del.Add("ga", 0)
	odr, err := adm.DeleteOffsets(ctx, "ga", del)
	if err != nil {
		t.Fatal(err)
	}
	if err := odr.Error(); !errors.Is(err, kerr.GroupSubscribedToTopic) {
		t.Fatalf("OffsetDelete on a subscribed topic: %v", err)
	}
	m.close(true)
	testutil.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		dgs, err := adm.DescribeGroups(ctx, "ga")
		if err != nil {
			return err
		}
		if s := dgs["ga"].State; s != "Empty" {
			return fmt.Errorf("state %s after the member left", s)
		}
		return nil
	})
	odr, err = adm.DeleteOffsets(ctx, "ga", del)
	if err != nil || odr.Error() != nil {
		t.Fatalf("OffsetDelete: %v %v", err, odr.Error())
	}
	fo, err := adm.FetchOffsets(ctx, "ga")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fo.Lookup("ga", 0); ok {
		t.Fatalf("offset of ga-0 still there after OffsetDelete: %+v", fo)
	}
	if _, ok := fo.Lookup("ga", 1); !ok {
		t.Fatalf("offset of ga-1 gone: %+v", fo)
	}
	dr, err = adm.DeleteGroups(ctx, "ga", "nope")
	if err != nil {
		t.Fatal(err)
	}
	if dr["ga"].Err != nil || !errors.Is(dr["nope"].Err, kerr.GroupIDNotFound) {
		t.Fatalf("DeleteGroups: %v / %v", dr["ga"].Err, dr["nope"].Err)
	}
	listed, err = adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := listed["ga"]; ok {
		t.Fatalf("deleted group still listed: %+v", listed)
	}
	fo, err = adm.FetchOffsets(ctx, "ga")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(fo); n != 0 {
		t.Fatalf("offsets of a deleted group: %+v", fo)
	}
}

// TestGroupProtocolDetails covers FindCoordinator v0-v4, the internal
// topic's creation and metadata, and OffsetCommit's topic checks.
func TestGroupProtocolDetails(t *testing.T) {
	b := groupBroker(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for v := int16(0); v <= 4; v++ {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version = v
		req.CoordinatorKey = "g"
		req.CoordinatorKeys = []string{"g", "h"}
		resp := roundTrip(t, b, req).(*kmsg.FindCoordinatorResponse)
		if v < 4 {
			if resp.ErrorCode != 0 || resp.NodeID != 0 || fmt.Sprintf("%s:%d", resp.Host, resp.Port) != b.Addr() {
				t.Fatalf("FindCoordinator v%d: %+v", v, resp)
			}
			continue
		}
		if len(resp.Coordinators) != 2 || resp.Coordinators[1].Key != "h" || resp.Coordinators[1].ErrorCode != 0 || resp.Coordinators[1].NodeID != 0 {
			t.Fatalf("FindCoordinator v4: %+v", resp.Coordinators)
		}
	}
	// The first lookup created __consumer_offsets: internal, compacted.
	md := metadataFor(t, b, 12, false, offsetsTopic)
	if mt := md.Topics[0]; mt.ErrorCode != 0 || !mt.IsInternal || len(mt.Partitions) != 4 {
		t.Fatalf("metadata of __consumer_offsets: %+v", mt)
	}
	adm := newAdmin(t, b)
	rcs, err := adm.DescribeTopicConfigs(ctx, offsetsTopic)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := rcs.On(offsetsTopic, nil)
	want := map[string]string{"cleanup.policy": "compact", "segment.bytes": "104857600"}
	for _, c := range rc.Configs {
		if w, ok := want[c.Key]; ok {
			if c.MaybeValue() != w {
				t.Errorf("%s=%s, want %s", c.Key, c.MaybeValue(), w)
			}
			delete(want, c.Key)
		}
	}
	if len(want) != 0 {
		t.Errorf("configs missing: %v", want)
	}
	// Producing to it is refused.
	if resp := produceRaw(t, newClient(t, b), 7, -1, offsetsTopic, buildBatch(t, "x")); resp.ErrorCode != kerr.InvalidTopicException.Code {
		t.Fatalf("produce to __consumer_offsets: %d", resp.ErrorCode)
	}

	// OffsetCommit: unknown topics and partitions are refused per
	// partition, the rest is committed.
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "oc"); err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 2
	req.Group = "oc"
	req.Generation = -1
	req.RetentionTimeMillis = -1
	for _, tp := range []struct {
		topic string
		parts []int32
	}{{"oc", []int32{0, 5}}, {"nope", []int32{0}}, {"oc", []int32{1}}} {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = tp.topic
		for _, p := range tp.parts {
			rp := kmsg.NewOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset = p, 7
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp := roundTrip(t, b, req).(*kmsg.OffsetCommitResponse)
	got := fmt.Sprint(resp.Topics[0].Partitions[0].ErrorCode, resp.Topics[0].Partitions[1].ErrorCode,
		resp.Topics[1].Partitions[0].ErrorCode, resp.Topics[2].Partitions[0].ErrorCode)
	if got != fmt.Sprint(0, kerr.UnknownTopicOrPartition.Code, kerr.UnknownTopicOrPartition.Code, 0) {
		t.Fatalf("OffsetCommit codes %s: %+v", got, resp.Topics)
	}
	fo, err := adm.FetchOffsets(ctx, "oc")
	if err != nil {
		t.Fatal(err)
	}
	if len(fo["oc"]) != 2 || len(fo["nope"]) != 0 {
		t.Fatalf("committed: %+v", fo)
	}
	// The records are in Kafka's schemas: a plain consumer of
	// __consumer_offsets decodes them with kmsg's OffsetCommitKey/Value.
	part := group.PartitionFor("oc", 4)
	cons := newClient(t, b, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{offsetsTopic: {part: kgo.NewOffset().AtStart()}}))
	found := map[int32]int64{}
	for len(found) < 2 && ctx.Err() == nil {
		fs := cons.PollFetches(ctx)
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch __consumer_offsets: %v", err) })
		fs.EachRecord(func(r *kgo.Record) {
			var k kmsg.OffsetCommitKey
			if err := k.ReadFrom(r.Key); err != nil || k.Version > 1 {
				return // group metadata (key version 2)
			}
			var v kmsg.OffsetCommitValue
			if err := v.ReadFrom(r.Value); err != nil {
				t.Fatalf("offset commit value: %v", err)
			}
			if k.Group == "oc" && k.Topic == "oc" {
				found[k.Partition] = v.Offset
			}
		})
	}
	if found[0] != 7 || found[1] != 7 {
		t.Fatalf("offset records read back: %v", found)
	}
	// A group request for a group this broker does not coordinate.
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Version = 3
	hb.Group = "oc"
	hb.MemberID = "m"
	if r := roundTrip(t, b, hb).(*kmsg.HeartbeatResponse); r.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat of an unknown member: %d", r.ErrorCode)
	}
}

// TestGroupOffsetsTopicNeedsBrokers: as in Kafka, __consumer_offsets is
// not created with fewer live brokers than its replication factor;
// lookups answer COORDINATOR_NOT_AVAILABLE meanwhile.
func TestGroupOffsetsTopicNeedsBrokers(t *testing.T) {
	b := groupBroker(t, map[string]string{"offsets.topic.replication.factor": "3"})
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.Version = 2
	req.CoordinatorKey = "g"
	resp := roundTrip(t, b, req).(*kmsg.FindCoordinatorResponse)
	if resp.ErrorCode != kerr.CoordinatorNotAvailable.Code {
		t.Fatalf("FindCoordinator: %+v", resp)
	}
	if b.meta.topic(offsetsTopic) != nil {
		t.Fatal("__consumer_offsets created with too few brokers")
	}
}

// TestGroupCloseAnswersParkedJoin: a JoinGroup parked in the initial
// rebalance delay is answered (NOT_COORDINATOR) by a graceful shutdown.
func TestGroupCloseAnswersParkedJoin(t *testing.T) {
	b := groupBroker(t, map[string]string{"group.initial.rebalance.delay.ms": "60000"})
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.Version = 2
	fc.CoordinatorKey = "slow"
	if r := roundTrip(t, b, fc).(*kmsg.FindCoordinatorResponse); r.ErrorCode != 0 {
		t.Fatalf("FindCoordinator: %d", r.ErrorCode)
	}
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 3 // no KIP-394 round
	req.Group = "slow"
	req.SessionTimeoutMillis = 10000
	req.RebalanceTimeoutMillis = 60000
	req.ProtocolType = "consumer"
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 0, 0, 0, 0, 0, 0, 0}}}
	done := make(chan kmsg.Response, 1)
	var resp kmsg.Response
	testutil.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		go func() { done <- roundTrip(t, b, req) }()
		select {
		case resp = <-done:
			// Loading: retry.
			return fmt.Errorf("answered at once: %v", kerr.ErrorForCode(resp.(*kmsg.JoinGroupResponse).ErrorCode))
		case <-time.After(300 * time.Millisecond):
			return nil
		}
	})
	start := time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if code := r.(*kmsg.JoinGroupResponse).ErrorCode; code != kerr.NotCoordinator.Code {
			t.Fatalf("parked join answered %v", kerr.ErrorForCode(code))
		}
	case <-time.After(20 * time.Second):
		t.Fatal("parked join not answered by a graceful shutdown")
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("close took %v", d)
	}
}

// TestGroupsTwoBrokers: with two brokers the coordinator of a group is
// the leader of its __consumer_offsets partition, the other answers
// NOT_COORDINATOR, and a group of consumers works across both.
func TestGroupsTwoBrokers(t *testing.T) {
	b0 := groupBroker(t, nil)
	b1 := groupBroker(t, map[string]string{"broker.id": "1", "zookeeper.connect": b0.ZkAddr()})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	testutil.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		if n := len(b0.meta.allBrokers()); n != 2 {
			return fmt.Errorf("broker 0 sees %d brokers", n)
		}
		return nil
	})
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.Version = 4
	for i := range 8 {
		fc.CoordinatorKeys = append(fc.CoordinatorKeys, fmt.Sprintf("g%d", i))
	}
	var resp *kmsg.FindCoordinatorResponse
	testutil.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		resp = roundTrip(t, b1, fc).(*kmsg.FindCoordinatorResponse)
		for _, c := range resp.Coordinators {
			if c.ErrorCode != 0 {
				return kerr.ErrorForCode(c.ErrorCode)
			}
		}
		return nil
	})
	brokers := map[int32]*Broker{0: b0, 1: b1}
	nodes := map[int32]bool{}
	for _, c := range resp.Coordinators {
		p := group.PartitionFor(c.Key, 4)
		var leader int32 = -1
		testutil.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
			tm := b0.meta.topic(offsetsTopic)
			if tm == nil {
				return errors.New("broker 0 does not know __consumer_offsets")
			}
			leader = tm.Partitions[p].Leader
			return nil
		})
		if c.NodeID != leader || fmt.Sprintf("%s:%d", c.Host, c.Port) != brokers[leader].Addr() {
			t.Fatalf("coordinator of %s (partition %d): node %d %s:%d, leader %d", c.Key, p, c.NodeID, c.Host, c.Port, leader)
		}
		nodes[c.NodeID] = true
		// The other broker does not coordinate it.
		other := brokers[1-leader]
		hb := kmsg.NewPtrHeartbeatRequest()
		hb.Version = 3
		hb.Group, hb.MemberID = c.Key, "m"
		if r := roundTrip(t, other, hb).(*kmsg.HeartbeatResponse); r.ErrorCode != kerr.NotCoordinator.Code {
			t.Fatalf("heartbeat of %s to broker %d: %v", c.Key, other.ID(), kerr.ErrorForCode(r.ErrorCode))
		}
	}
	if len(nodes) != 2 {
		t.Fatalf("every group on one broker: %v", nodes)
	}
	adm := newAdmin(t, b1)
	if _, err := adm.CreateTopic(ctx, 4, 1, nil, "g2"); err != nil {
		t.Fatal(err)
	}
	ta := newTally()
	for i := range 2 {
		startKgoMemberAt(t, b1.Addr(), "g7", "g2", ta, true)
		waitAssigned(t, adm, "g7", "g2", 4, i+1)
	}
	produceN(t, b0, "g2", 0, 80)
	waitConsumed(t, ta, 80)
	waitCommitted(t, adm, "g7", 80)
	checkNoDups(t, ta)
}

// fakeClock is an injectable clock for the group coordinator.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestGroupInjectedClock: the coordinator's timers run on the injected
// clock: a member with a 10-minute session is dropped as soon as the
// clock moves 10 minutes on, without waiting for them.
func TestGroupInjectedClock(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	m := map[string]string{}
	for k, v := range groupBrokerConfig {
		m[k] = v
	}
	b, err := startBrokerWith(t, t.TempDir(), m, Options{GroupClock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.Version = 2
	fc.CoordinatorKey = "clk"
	if r := roundTrip(t, b, fc).(*kmsg.FindCoordinatorResponse); r.ErrorCode != 0 {
		t.Fatalf("FindCoordinator: %d", r.ErrorCode)
	}
	join := kmsg.NewPtrJoinGroupRequest()
	join.Version = 3
	join.Group = "clk"
	join.SessionTimeoutMillis = 600_000
	join.RebalanceTimeoutMillis = 600_000
	join.ProtocolType = "consumer"
	join.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 0, 0, 0, 0, 0, 0, 0}}}
	var jr *kmsg.JoinGroupResponse
	testutil.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		jr = roundTrip(t, b, join).(*kmsg.JoinGroupResponse)
		if jr.ErrorCode != 0 {
			return kerr.ErrorForCode(jr.ErrorCode) // loading: retry
		}
		return nil
	})
	sync := kmsg.NewPtrSyncGroupRequest()
	sync.Version = 3
	sync.Group, sync.Generation, sync.MemberID = "clk", jr.Generation, jr.MemberID
	sync.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: jr.MemberID, MemberAssignment: []byte{0, 0, 0, 0, 0, 0, 0, 0}}}
	if r := roundTrip(t, b, sync).(*kmsg.SyncGroupResponse); r.ErrorCode != 0 {
		t.Fatalf("SyncGroup: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	describe := func() *kmsg.DescribeGroupsResponseGroup {
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Version = 5
		req.Groups = []string{"clk"}
		return &roundTrip(t, b, req).(*kmsg.DescribeGroupsResponse).Groups[0]
	}
	if g := describe(); g.State != "Stable" || len(g.Members) != 1 {
		t.Fatalf("after sync: %s with %d members", g.State, len(g.Members))
	}
	time.Sleep(1500 * time.Millisecond) // real time alone expires nothing
	if g := describe(); g.State != "Stable" {
		t.Fatalf("member dropped on the real clock: %s", g.State)
	}
	clk.advance(601 * time.Second)
	testutil.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		// Empty, and with no offsets removed: described as Dead.
		if g := describe(); g.State != "Dead" || len(g.Members) != 0 {
			return fmt.Errorf("%s with %d members", g.State, len(g.Members))
		}
		return nil
	})
}

// faultFS fails writes to __consumer_offsets files once armed.
type faultFS struct {
	engine.FS
	armed atomic.Bool
}

func (f *faultFS) OpenFile(name string, flag int, perm os.FileMode) (engine.File, error) {
	file, err := f.FS.OpenFile(name, flag, perm)
	if err != nil || !strings.Contains(name, offsetsTopic) {
		return file, err
	}
	return faultFile{file, f}, nil
}

type faultFile struct {
	engine.File
	fs *faultFS
}

func (f faultFile) WritevAt(bufs [][]byte, off int64) (int, error) {
	if f.fs.armed.Load() {
		return 0, syscall.EIO
	}
	return f.File.WritevAt(bufs, off)
}

func (f faultFile) WriteAt(p []byte, off int64) (int, error) {
	if f.fs.armed.Load() {
		return 0, syscall.EIO
	}
	return f.File.WriteAt(p, off)
}

// TestGroupFailedAppend: when __consumer_offsets cannot be written, the
// commit is answered with Kafka's mapping of the storage error
// (NOT_COORDINATOR) instead of success, and the failure is sticky: the
// partition's groups are unloaded and later requests keep failing rather
// than serving state the log does not hold.
func TestGroupFailedAppend(t *testing.T) {
	ffs := &faultFS{FS: engine.OSFS{}}
	m := map[string]string{}
	for k, v := range groupBrokerConfig {
		m[k] = v
	}
	b, err := startBrokerWith(t, t.TempDir(), m, Options{EngineFS: ffs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := newAdmin(t, b)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "fa"); err != nil {
		t.Fatal(err)
	}
	commit := func(at int64) error {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version = 8
		req.Group = "fa"
		req.Generation = -1
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = "fa"
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Offset = at
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		r := roundTrip(t, b, req).(*kmsg.OffsetCommitResponse)
		return kerr.ErrorForCode(r.Topics[0].Partitions[0].ErrorCode)
	}
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.Version = 2
	fc.CoordinatorKey = "fa"
	roundTrip(t, b, fc)
	testutil.CheckFor(t, 20*time.Second, 50*time.Millisecond, func() error { return commit(1) })
	ffs.armed.Store(true)
	if err := commit(2); !errors.Is(err, kerr.NotCoordinator) {
		t.Fatalf("commit with a failing log: %v, want NOT_COORDINATOR", err)
	}
	ffs.armed.Store(false)
	// Sticky: the partition stays failed even though writes would work.
	if err := commit(3); !errors.Is(err, kerr.NotCoordinator) {
		t.Fatalf("commit after the failure: %v, want NOT_COORDINATOR", err)
	}
}
