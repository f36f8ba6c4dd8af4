// Package broker assembles Gregor's Kafka broker: the storage engine
// (engine), the network layer (netio) and the ZooKeeper metadata layer
// (broker/zkmeta), with an embedded zkstore when zookeeper.connect is
// empty.
//
// # Start-up (Kafka's order)
//
//	embedded zkstore (only without zookeeper.connect)
//	zkmeta.Connect -> EnsurePaths -> ClusterID
//	engine.Open(log.dirs)                      recovery; meta.properties gets the cluster id
//	zkmeta.Watch + load every topic            create the logs of partitions led here
//	group coordinator                          load the __consumer_offsets partitions led here
//	netio.Listen(listeners)                    port 0 is resolved before registration
//	RegisterBroker(/brokers/ids/<id>)          a live clash stops the broker (ErrBrokerIDClash)
//	Campaign(/controller)                      a single broker is its own controller
//
// Close reverses it: stop accepting, answer parked JoinGroup/SyncGroup
// requests (NOT_COORDINATOR), finish in-flight requests, deregister,
// close the engine (flush, checkpoints, clean-shutdown marker), then the
// ZooKeeper session and the embedded zkstore.
//
// # Requests
//
// One file per API key (00_produce.go, 01_fetch.go, ...). Each registers
// its advertised version range with register; Handle checks the key and
// version against that table before kmsg parses the body: an unknown key,
// an unadvertised version or an unparsable body closes the connection
// without a response, as Kafka does; an ApiVersions version above ours gets
// the KIP-511 v0 answer. Every response is encoded with kmsg except Fetch,
// whose encoder is hand-written (01_fetch.go) so record bytes leave the
// segment files through sendfile. Errors become Kafka codes in one place,
// errors.go.
//
// # Metadata
//
// ZooKeeper is the source of truth (Kafka's ZK-mode layout, see zkmeta).
// The broker keeps a cache of topics (assignment, topic id, partition
// state, config overrides) refreshed from zkmeta's watch events; a
// partition's log exists on this broker while the partition's leader is
// this broker. The controller (whoever holds /controller) creates topics,
// completes deletions and writes partition state, every write fenced by
// its controller epoch.
//
// # Consumer groups
//
// The group state machine is broker/group (deterministic, clock-injected);
// groups.go drives it: one mutex around the Coordinator, its records
// appended to __consumer_offsets before any answer goes out, a tick loop
// for its timers, and loading of every __consumer_offsets partition this
// broker leads. __consumer_offsets is created (compacted, internal) on the
// first FindCoordinator; a group's coordinator is the leader of its
// partition of that topic.
package broker
