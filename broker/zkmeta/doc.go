// Package zkmeta keeps the broker's metadata in ZooKeeper in Apache Kafka's
// exact znode layout (ZK mode, Kafka 2.8-3.x, core/.../zk/ZkData.scala), so
// Kafka's own tools and anything that reads a Kafka ZooKeeper tree see a
// familiar cluster. It uses github.com/go-zookeeper/zk and works against
// Apache ZooKeeper and against Gregor's zkstore.
//
// Layout (every path below the optional chroot of zookeeper.connect):
//
//	/brokers/ids/<id>                       EPHEMERAL  broker registration, v5 JSON
//	/brokers/topics/<t>                     persistent assignment, v3 JSON with topic_id
//	/brokers/topics/<t>/partitions/<p>/state persistent leader, ISR, epochs
//	/brokers/seqid                          persistent zkVersion generates broker ids
//	/controller                             EPHEMERAL  {"version":2,"brokerid":N,...}
//	/controller_epoch                       persistent decimal text
//	/config/topics/<t>                      persistent {"version":1,"config":{...}}
//	/config/brokers/<id>|<default>          persistent same shape, dynamic broker configs
//	/config/changes/config_change_<10 digits> persistent sequential {"version":2,"entity_path":"topics/t"}
//	/admin/delete_topics/<t>                persistent empty marker, removed by the controller
//	/cluster/id                             persistent {"version":"1","id":"<22-char uuid>"}
//	/latest_producer_id_block               persistent {"version":1,"broker":0,"block_start":"0","block_end":"999"}
//
// JSON examples (key order is not significant, as in Kafka):
//
//	/brokers/ids/1      {"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},
//	                     "endpoints":["PLAINTEXT://host:9092"],"jmx_port":-1,"port":9092,
//	                     "host":"host","version":5,"timestamp":"1700000000000","rack":"r1"}
//	/brokers/topics/t   {"version":3,"partitions":{"0":[1,2]},"adding_replicas":{},
//	                     "removing_replicas":{},"topic_id":"pWkzqAhxQoGK6h1l2b9_WQ"}
//	.../0/state         {"controller_epoch":3,"leader":1,"version":1,"leader_epoch":7,"isr":[1,2]}
//
// Controller election is one multi of Create(/controller, EPHEMERAL) and
// SetData(/controller_epoch, epoch+1, expected zkVersion). The winner's
// Fence (epoch and the epoch znode's zkVersion) guards every controller
// write: topic creation, partition state, configs and deletion markers are
// each one multi that starts with CheckVersion(/controller_epoch), so a
// deposed controller's write fails as a whole with ErrFenced.
//
// Sessions: go-zookeeper re-opens a session after expiry; the Client then
// re-creates the broker registration, Campaign re-elects and Watch re-arms
// its watches and re-sends the current state.
package zkmeta
