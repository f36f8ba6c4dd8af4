// Package zkstore is Gregor's ZooKeeper-compatible coordination server
// (standalone): it speaks ZooKeeper's client protocol (codec in package
// proto), so zkCli.sh, kazoo and go-zookeeper work against it unchanged.
//
// # Architecture
//
// The DataTree (tree.go) is a deterministic state machine: Apply takes
// ordered txns (TxnHeader with zxid, time, session, cxid, plus a body) and
// returns results and the watch events they trigger, with no I/O and no
// clock reads, so a raft log can feed it later. Request preparation
// (prep.go, ZooKeeper's PrepRequestProcessor) turns a write into a txn or
// an error txn; both consume a zxid. The SessionTracker (session.go) decides
// expiry with tick buckets and takes the time as an argument; session
// creation and close are txns.
//
// Per connection (conn.go) a reader decodes requests into a FIFO; writes go
// to the single committer (server.go commitLoop), which for a whole batch of
// writes from all connections prepares and applies each under the tree lock
// (matching watches at that moment) and encodes their log records; the
// syncer (syncLoop) writes and fdatasyncs each batch once (group commit)
// while the committer already applies the next one (pipelining); only after
// a batch's fsync does the syncer queue its watch events on the watching
// connections, advance the durable zxid and complete the requests, batch
// after batch in zxid order. Reads run while the fsync is
// in progress, but a read's reply (and the zxid it carries) is held until
// the durable zxid covers what the read saw, so no client ever sees a change
// or a zxid that is not on disk, and the events of those changes are queued
// before it. If a log write or fsync fails the server stops serving entirely
// (the in-memory tree may be ahead of the log) and never retries. A writer
// goroutine per connection completes the FIFO in order: a read runs only once
// every earlier request of the connection is done, and queued watch events
// are written before the next reply, so an event always precedes the reply
// that reveals its change.
//
// Lock order: Server.mu (tree), Server.wmu (watches), Server.smu (session
// tracker and owners), Server.cmu (connection table), conn.evMu/statMu.
//
// Choices where ZooKeeper leaves room, and ZooKeeper details copied on
// purpose (each checked against Apache ZooKeeper 3.8 by
// TestDifferentialEdgeCases or the clienttest differential suite):
//   - TTL nodes exist only with zookeeper.extendedTypesEnabled=true
//     (createTTL answers Unimplemented otherwise), as in ZooKeeper.
//   - Stat.cversion is kept internally as ZooKeeper's DataNode keeps it
//     (child creates only; it is the sequential suffix) and shown to
//     clients as creates*2 - children; containers and TTL nodes show
//     ephemeralOwner 0.
//   - Watches live in two tables (data, child) with one mode per path and
//     connection in each, like ZooKeeper's two WatchManagers.
//   - getChildren lists names, and whoAmI identities, in the iteration
//     order of ZooKeeper's Java HashSets (String/Id hashCode, bucket,
//     insertion order; treeified buckets are not emulated).
//   - A check (13) sent outside a multi answers its error when it fails
//     and, when it passes, drops the connection without a reply.
//
// Session passwords are HMAC-SHA256(secret, sessionId)[:16] with a
// per-database secret in dataDir/version-2/session.secret, so restarts
// (and later every replica, given the same secret) derive the same
// password without storing one per session.
//
// Snapshots are consistent, not fuzzy: the committer copies the node
// structs at a zxid (data and ACL slices are shared, the tree never
// mutates them in place), which pauses writes but not reads for about a
// microsecond per node, and a background goroutine orders and writes them
// while writes continue.
//
// # Files
//
// Layout, as ZooKeeper's: dataLogDir/version-2/log.<hex zxid of first
// txn>, dataDir/version-2/snapshot.<hex last zxid>. The byte formats are
// Gregor's own; all integers are big-endian. The constants marked as
// on-disk format must never change; a new layout bumps the version.
//
// Txn log file (preallocated in preAllocSize chunks; zero fill marks the
// end of data):
//
//	0       4         8                16               24
//	+-------+---------+----------------+----------------+
//	| "GZKL"| version | first zxid     | reserved (0)   |   file header
//	+-------+---------+----------------+----------------+
//	| len uint32 | xxhash64(len bytes ++ payload) | payload (len bytes) |  × n
//	+------------+--------------------------------+---------------------+
//	| 0 0 0 0 ... (preallocated zeros)                                  |
//
// A payload is one txn in ZooKeeper's jute encoding: TxnHeader{long
// clientId, int cxid, long zxid, long time, int type} followed by the txn
// record of that type (CreateTxn, DeleteTxn, SetDataTxn, SetACLTxn,
// CheckVersionTxn, ErrorTxn, MultiTxn, CreateSessionTxn, CloseSessionTxn,
// CreateContainerTxn, CreateTTLTxn). A zero length ends the log; a record
// whose length overruns the file or whose checksum fails is a torn tail:
// recovery truncates the last log file there (those txns were never
// acknowledged, since replies follow the covering fdatasync). Damage in a
// log that is not the last, or a zxid gap between txns or files, stops
// recovery with an error instead of replaying garbage.
//
// Snapshot file (written to snapshot.<zxid>.tmp, fsynced, renamed, then the
// directory fsynced):
//
//	0       4         8                16               24
//	+-------+---------+----------------+----------------+
//	| "GZKS"| version | zxid           | reserved (0)   |   file header
//	+-------+---------+----------------+----------------+
//	| len uint32 | xxhash64(len bytes ++ payload) | payload |  × n
//
// with payloads (first byte is the kind):
//
//	1 session: | 1 | long id | int timeout |
//	2 node:    | 2 | ustring path | buffer data | int nACL, nACL × {int perms,
//	           ustring scheme, ustring id} | Stat (68 bytes, jute order) |
//	3 end:     | 3 | long sessionCount | long nodeCount |
//
// A snapshot without its end record, with a bad checksum, or whose counts
// or parent links do not add up is rejected; recovery then falls back to
// the previous snapshot and a longer log replay.
//
// Restart = newest valid snapshot + replay of the logs after its zxid; a
// snapshot of the recovered state is then written so older files can be
// purged. A snapshot is taken every snapCount txns and the log rolls to a
// new file at the same point. Autopurge keeps autopurge.snapRetainCount
// snapshots (at least 3) and the logs needed to replay from the oldest.
package zkstore
