// Package group is Gregor's classic consumer-group coordinator: the group
// state machine (Empty, PreparingRebalance, CompletingRebalance, Stable,
// Dead), committed offsets, and their records in the compacted internal
// topic __consumer_offsets, in Kafka's own schemas.
//
// # Determinism
//
// A Coordinator does no I/O, reads no clock and starts no goroutine or
// timer. Every call takes the current time; timers (KIP-394 pending
// members, session timeouts, group.initial.rebalance.delay.ms, the
// rebalance and sync timeouts, offset retention) fire only inside Tick.
// JoinGroup and SyncGroup park: their responses come back as Deliveries
// addressed to the Caller.Waiter the driver passed in, either from the
// same call or from a later call (another member's request, or Tick).
// Calls are not safe for concurrent use: the driver serialises them.
//
// # How the broker uses this package
//
//	coord := group.New(group.Config{NumPartitions: 50, InitialRebalanceDelay: ..., ...})
//	// on start, for every __consumer_offsets partition this broker leads:
//	coord.BeginLoad(p)
//	for each record (key, value) of partition p, in offset order:
//	        coord.LoadRecord(p, key, value) // value nil for tombstones
//	coord.FinishLoad(now, p)
//	// (a fresh single broker with an empty topic may call coord.OwnAll())
//
//	// per request, under one mutex:
//	out := coord.JoinGroup(now, group.Caller{ClientID, ClientHost, Waiter: w}, req)
//	resp, out := coord.OffsetCommit(now, req)
//	resp := coord.Heartbeat(now, req) // and OffsetFetch, DescribeGroups, ListGroups
//	resp := coord.FindCoordinator(req, nodeID, host, port)
//	// then, for every out:
//	//   1. append out.Records to __consumer_offsets (Record.Partition,
//	//      Key, Value; nil Value = tombstone), waiting for the append;
//	//   2. write each out.Deliveries[i].Resp to the connection/correlation
//	//      id that out.Deliveries[i].To identifies.
//	// a goroutine calls coord.Tick(now) every ~100 ms (or at
//	// coord.NextDeadline()) and handles its Out the same way.
//
// The broker, not this package, checks topic existence and ACLs for
// OffsetCommit, and answers requests whose version it does not advertise.
// Consumer lag for the CLI and metrics: coord.GroupLag(group, logEnd).
//
// # __consumer_offsets record formats (Kafka 3.8; must never change)
//
// All integers big-endian; string = int16 length + bytes; nullable string
// length -1 = null; bytes = int32 length + bytes. The partition of a group
// is Utils.abs(javaStringHashCode(groupId)) % offsets.topic.num.partitions.
//
// Offset commit (key version 1; version 0 has the same layout):
//
//	key:   | int16 version=1 | string group | string topic | int32 partition |
//	value: | int16 version=3 | int64 offset | int32 leader epoch |
//	       | string metadata | int64 commit timestamp ms |
//	value v1 (only with an explicit expire time: OffsetCommit v2-v4 retention_time_ms):
//	       | int16 version=1 | int64 offset | string metadata |
//	       | int64 commit timestamp ms | int64 expire timestamp ms |
//
// Group metadata (key version 2), written after each rebalance (leader's
// SyncGroup, group becoming Empty, static member replaced):
//
//	key:   | int16 version=2 | string group |
//	value: | int16 version=3 | string protocol type | int32 generation |
//	       | nullable string protocol | nullable string leader |
//	       | int64 current state timestamp ms |
//	       | int32 member count | member... |
//	member:| string member id | nullable string group instance id |
//	       | string client id | string client host |
//	       | int32 rebalance timeout ms | int32 session timeout ms |
//	       | bytes subscription | bytes assignment |
//
// A null value (tombstone) deletes an offset or a group. Loading applies
// records in log order, latest wins, so a compacted log loads the same.
//
// # What the coordinator does not do (yet)
//
// Transactional offset commits (TxnOffsetCommit) and KIP-848 consumer
// groups are not implemented; require_stable therefore never finds a
// pending commit. A failed append of Out.Records is not rolled back: the
// driver should treat it as fatal for the partition (sticky) and unload it.
package group
