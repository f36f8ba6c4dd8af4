package config

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Type is the value type of a configuration key.
type Type int

const (
	TypeInt        Type = iota // 32-bit signed integer (Kafka INT)
	TypeLong                   // 64-bit signed integer (Kafka LONG)
	TypeBool                   // "true" or "false", case-insensitive (Kafka BOOLEAN)
	TypeString                 // free text
	TypeList                   // comma-separated, items trimmed, empty items dropped (Kafka LIST)
	TypeDurationMs             // milliseconds as a 64-bit integer (Kafka LONG/INT holding ms)
	TypeSize                   // bytes as a 64-bit integer
	TypeDouble                 // floating point (Kafka DOUBLE)
)

func (t Type) String() string {
	switch t {
	case TypeInt:
		return "int"
	case TypeLong:
		return "long"
	case TypeBool:
		return "boolean"
	case TypeString:
		return "string"
	case TypeList:
		return "list"
	case TypeDurationMs:
		return "duration-ms"
	case TypeSize:
		return "size"
	case TypeDouble:
		return "double"
	}
	return "unknown"
}

// Key describes one configuration key. Broker keys and topic keys share the
// shape.
type Key struct {
	Name string
	Type Type
	// Default is Kafka's default as text; ignored when NoDefault.
	Default string
	// NoDefault marks keys whose Kafka default is null (the value is derived
	// from another key, or absent).
	NoDefault bool
	// Validate checks a parsed value; nil accepts every value of the type.
	Validate func(v any) error
	// Dynamic marks broker keys that AlterConfigs may change at runtime
	// (per broker or as the cluster default), as in Kafka's
	// DynamicBrokerConfig.
	Dynamic bool
	// Doc is the operator-facing description.
	Doc string
}

// Value is a parsed configuration value: int32, int64, bool, string,
// []string or float64 depending on Key.Type (TypeDurationMs and TypeSize are
// int64).
type Value = any

// Parse converts text to the key's type and validates it. Errors name the
// key and the value.
func (k *Key) Parse(text string) (Value, error) {
	v, err := parseTyped(k.Type, text)
	if err == nil && k.Validate != nil {
		err = k.Validate(v)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s=%q: %v", ErrInvalidValue, k.Name, text, err)
	}
	return v, nil
}

func parseTyped(t Type, text string) (Value, error) {
	s := strings.TrimSpace(text)
	switch t {
	case TypeInt:
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("not a 32-bit integer")
		}
		return int32(n), nil
	case TypeLong, TypeDurationMs, TypeSize:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("not a 64-bit integer")
		}
		return n, nil
	case TypeBool:
		switch strings.ToLower(s) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, fmt.Errorf("expected true or false")
	case TypeString:
		return s, nil
	case TypeList:
		items := []string{}
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		return items, nil
	case TypeDouble:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) {
			return nil, fmt.Errorf("not a number")
		}
		return f, nil
	}
	return nil, fmt.Errorf("unknown type %d", t)
}

// Kafka's DescribeConfigs config_type codes (v3+); on the wire, never
// change them.
const (
	KafkaTypeUnknown  int8 = 0
	KafkaTypeBoolean  int8 = 1
	KafkaTypeString   int8 = 2
	KafkaTypeInt      int8 = 3
	KafkaTypeShort    int8 = 4
	KafkaTypeLong     int8 = 5
	KafkaTypeDouble   int8 = 6
	KafkaTypeList     int8 = 7
	KafkaTypeClass    int8 = 8
	KafkaTypePassword int8 = 9
)

// KafkaType is the config_type DescribeConfigs reports for the key. Size
// and duration keys are INT in Kafka when their range is 32-bit (their
// validator caps them at 2^31-1), LONG otherwise.
func (k *Key) KafkaType() int8 {
	switch k.Type {
	case TypeInt:
		return KafkaTypeInt
	case TypeLong:
		return KafkaTypeLong
	case TypeBool:
		return KafkaTypeBoolean
	case TypeString:
		return KafkaTypeString
	case TypeList:
		return KafkaTypeList
	case TypeDouble:
		return KafkaTypeDouble
	case TypeSize, TypeDurationMs:
		if k.Validate != nil && k.Validate(int64(maxInt32)+1) != nil {
			return KafkaTypeInt
		}
		return KafkaTypeLong
	}
	return KafkaTypeUnknown
}

// FormatValue renders a value the way Kafka prints it in DescribeConfigs.
func FormatValue(v Value) string {
	switch x := v.(type) {
	case nil:
		return ""
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	case []string:
		return strings.Join(x, ",")
	case float64:
		return javaDouble(x)
	}
	return fmt.Sprint(v)
}

// javaDouble formats like Java's Double.toString, which is what Kafka shows
// for DOUBLE configs: "0.5", "1.0", "1.7976931348623157E308".
func javaDouble(d float64) string {
	switch {
	case math.IsInf(d, 1):
		return "Infinity"
	case math.IsInf(d, -1):
		return "-Infinity"
	case d == 0:
		return "0.0"
	}
	if a := math.Abs(d); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(d, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(d, 'E', -1, 64) // 1.7976931348623157E+308
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	sign := ""
	if exp[0] == '-' {
		sign = "-"
	}
	exp = strings.TrimLeft(exp[1:], "0")
	return mant + "E" + sign + exp
}

// Validators.

func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int32:
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

func atLeast(min int64) func(any) error {
	return func(v any) error {
		if n, ok := asInt64(v); ok && n < min {
			return fmt.Errorf("must be at least %d", min)
		}
		return nil
	}
}

func between(min, max int64) func(any) error {
	return func(v any) error {
		if n, ok := asInt64(v); ok && (n < min || n > max) {
			return fmt.Errorf("must be between %d and %d", min, max)
		}
		return nil
	}
}

func betweenFloat(min, max float64) func(any) error {
	return func(v any) error {
		if f, ok := v.(float64); ok && (f < min || f > max) {
			return fmt.Errorf("must be between %g and %g", min, max)
		}
		return nil
	}
}

func atLeastFloat(min float64) func(any) error {
	return func(v any) error {
		if f, ok := v.(float64); ok && f < min {
			return fmt.Errorf("must be at least %g", min)
		}
		return nil
	}
}

func oneOf(allowed ...string) func(any) error {
	return func(v any) error {
		if s, ok := v.(string); ok && !slices.Contains(allowed, s) {
			return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
		}
		return nil
	}
}

func listOf(allowed ...string) func(any) error {
	return func(v any) error {
		items, _ := v.([]string)
		if len(items) == 0 {
			return fmt.Errorf("must not be empty")
		}
		for _, it := range items {
			if !slices.Contains(allowed, it) {
				return fmt.Errorf("%q is not one of %s", it, strings.Join(allowed, ", "))
			}
		}
		return nil
	}
}

func nonEmptyList(v any) error {
	if items, _ := v.([]string); len(items) == 0 {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

func validListeners(v any) error {
	items, _ := v.([]string)
	_, err := parseListenerList(items)
	return err
}

func validProtocolMap(v any) error {
	items, _ := v.([]string)
	_, err := parseProtocolMap(items)
	return err
}

func validZkConnect(v any) error {
	s, _ := v.(string)
	_, err := ParseZkConnect(s)
	return err
}

const (
	maxInt32 = math.MaxInt32
	maxInt64 = math.MaxInt64
)

// brokerKeys is the one table of every broker key Gregor understands: the
// product's server.properties keys plus the few broker keys that topic
// configs take their defaults from. Defaults are Kafka 3.8's, except where
// noted (the no-config single-node start).
var brokerKeys = []Key{
	// Identity.
	{Name: "broker.id", Type: TypeInt, Default: "-1", Validate: atLeast(-1),
		Doc: "The broker's id. -1 with broker.id.generation.enable generates one from ZooKeeper's /brokers/seqid (reserved.broker.max.id + sequence). Must be unique in the cluster; a clash stops the broker."},
	{Name: "broker.id.generation.enable", Type: TypeBool, Default: "true",
		Doc: "Generate a broker id when broker.id is -1."},
	{Name: "reserved.broker.max.id", Type: TypeInt, Default: "1000", Validate: atLeast(0),
		Doc: "The largest broker id operators may configure; generated ids start above it."},
	{Name: "broker.rack", Type: TypeString, NoDefault: true,
		Doc: "The broker's rack, registered in ZooKeeper and used for rack-aware replica assignment."},

	// Network.
	{Name: "listeners", Type: TypeList, Default: "PLAINTEXT://127.0.0.1:9092", Validate: validListeners, Dynamic: true,
		Doc: "Comma-separated NAME://host:port listeners; an empty host binds every interface. Names map to security protocols through listener.security.protocol.map. (Kafka's default is PLAINTEXT://:9092; Gregor listens on loopback unless told otherwise.)"},
	{Name: "advertised.listeners", Type: TypeList, NoDefault: true, Validate: validListeners, Dynamic: true,
		Doc: "Listeners published to clients in ZooKeeper and Metadata; defaults to listeners, with an empty host replaced by this machine's host name. 0.0.0.0 is not allowed."},
	{Name: "listener.security.protocol.map", Type: TypeList, Default: "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL", Validate: validProtocolMap, Dynamic: true,
		Doc: "Listener name to security protocol, NAME:PROTOCOL pairs."},
	{Name: "num.network.threads", Type: TypeInt, Default: "3", Validate: atLeast(1), Dynamic: true,
		Doc: "Threads receiving requests from and sending responses to the network."},
	{Name: "num.io.threads", Type: TypeInt, Default: "8", Validate: atLeast(1), Dynamic: true,
		Doc: "Threads processing requests, which may include disk I/O."},
	{Name: "socket.send.buffer.bytes", Type: TypeSize, Default: "102400", Validate: between(-1, maxInt32),
		Doc: "SO_SNDBUF of accepted sockets; -1 uses the OS default."},
	{Name: "socket.receive.buffer.bytes", Type: TypeSize, Default: "102400", Validate: between(-1, maxInt32),
		Doc: "SO_RCVBUF of accepted sockets; -1 uses the OS default."},
	{Name: "socket.request.max.bytes", Type: TypeSize, Default: "104857600", Validate: between(1, maxInt32),
		Doc: "The largest request frame accepted; a larger size prefix closes the connection before any allocation."},
	{Name: "connections.max.idle.ms", Type: TypeDurationMs, Default: "600000",
		Doc: "Idle connections are closed after this many milliseconds."},
	{Name: "max.connections", Type: TypeInt, Default: "2147483647", Validate: atLeast(0), Dynamic: true,
		Doc: "The most connections the broker accepts at once."},
	{Name: "max.connections.per.ip", Type: TypeInt, Default: "2147483647", Validate: atLeast(0), Dynamic: true,
		Doc: "The most connections accepted from one IP address."},

	// Logs.
	{Name: "log.dirs", Type: TypeList, NoDefault: true, Validate: nonEmptyList,
		Doc: "Comma-separated directories holding partition logs; overrides log.dir."},
	{Name: "log.dir", Type: TypeString, Default: "./data/kafka-logs",
		Doc: "The log directory when log.dirs is unset. (Kafka's default is /tmp/kafka-logs; Gregor keeps data under ./data.)"},
	{Name: "embedded.zookeeper.data.dir", Type: TypeString, Default: "./data/zookeeper",
		Doc: "Gregor only: where the embedded coordination service keeps its data when zookeeper.connect is empty."},
	{Name: "num.partitions", Type: TypeInt, Default: "1", Validate: atLeast(1),
		Doc: "Partitions of auto-created topics and CreateTopics requests that ask for the default."},
	{Name: "default.replication.factor", Type: TypeInt, Default: "1", Validate: atLeast(1),
		Doc: "Replication factor of auto-created topics and of CreateTopics requests that ask for the default."},
	{Name: "auto.create.topics.enable", Type: TypeBool, Default: "true",
		Doc: "Create a topic when a client asks for metadata of, or produces to, a topic that does not exist."},
	{Name: "delete.topic.enable", Type: TypeBool, Default: "true",
		Doc: "Allow DeleteTopics; when false, deletion fails with TOPIC_DELETION_DISABLED."},
	{Name: "num.recovery.threads.per.data.dir", Type: TypeInt, Default: "1", Validate: atLeast(1), Dynamic: true,
		Doc: "Threads per log directory recovering logs at startup and flushing them at shutdown."},
	{Name: "log.flush.interval.messages", Type: TypeLong, Default: "9223372036854775807", Validate: atLeast(1), Dynamic: true,
		Doc: "fsync a partition after this many messages (Long.MAX: leave it to the OS and replication)."},
	{Name: "log.flush.interval.ms", Type: TypeDurationMs, NoDefault: true, Validate: atLeast(0), Dynamic: true,
		Doc: "fsync a partition whose oldest unflushed message is this old; defaults to log.flush.scheduler.interval.ms."},
	{Name: "log.flush.scheduler.interval.ms", Type: TypeDurationMs, Default: "9223372036854775807",
		Doc: "How often the flusher checks whether any log needs an fsync."},
	{Name: "log.flush.offset.checkpoint.interval.ms", Type: TypeDurationMs, Default: "60000", Validate: between(0, maxInt32),
		Doc: "How often the recovery-point checkpoint is written."},
	{Name: "log.retention.hours", Type: TypeInt, Default: "168",
		Doc: "Hours to keep a log segment; overridden by log.retention.minutes and log.retention.ms."},
	{Name: "log.retention.minutes", Type: TypeInt, NoDefault: true,
		Doc: "Minutes to keep a log segment; overrides log.retention.hours."},
	{Name: "log.retention.ms", Type: TypeDurationMs, NoDefault: true, Dynamic: true,
		Doc: "Milliseconds to keep a log segment; overrides the minutes and hours forms. -1 keeps forever."},
	{Name: "log.retention.bytes", Type: TypeSize, Default: "-1", Dynamic: true,
		Doc: "Delete old segments once a partition is larger than this; -1 means no size limit."},
	{Name: "log.segment.bytes", Type: TypeSize, Default: "1073741824", Validate: between(14, maxInt32), Dynamic: true,
		Doc: "The largest size of one segment file."},
	{Name: "log.roll.hours", Type: TypeInt, Default: "168", Validate: atLeast(1),
		Doc: "Roll a new segment after this many hours even if not full; overridden by log.roll.ms."},
	{Name: "log.roll.ms", Type: TypeDurationMs, NoDefault: true, Dynamic: true,
		Doc: "Roll a new segment after this many milliseconds; overrides log.roll.hours."},
	{Name: "log.roll.jitter.hours", Type: TypeInt, Default: "0", Validate: atLeast(0),
		Doc: "Maximum random jitter subtracted from the roll time, in hours; overridden by log.roll.jitter.ms."},
	{Name: "log.roll.jitter.ms", Type: TypeDurationMs, NoDefault: true, Dynamic: true,
		Doc: "Maximum random jitter subtracted from the roll time, in milliseconds."},
	{Name: "log.index.size.max.bytes", Type: TypeSize, Default: "10485760", Validate: between(4, maxInt32), Dynamic: true,
		Doc: "The size an offset index is preallocated to."},
	{Name: "log.index.interval.bytes", Type: TypeSize, Default: "4096", Validate: between(0, maxInt32), Dynamic: true,
		Doc: "Bytes of log between two offset index entries."},
	{Name: "log.retention.check.interval.ms", Type: TypeDurationMs, Default: "300000", Validate: atLeast(1),
		Doc: "How often retention is enforced."},
	{Name: "log.cleanup.policy", Type: TypeList, Default: "delete", Validate: listOf("delete", "compact"), Dynamic: true,
		Doc: "delete, compact or both, for segments beyond retention."},
	{Name: "log.cleaner.enable", Type: TypeBool, Default: "true",
		Doc: "Run the log cleaner (compaction) for compacted topics."},
	{Name: "log.cleaner.threads", Type: TypeInt, Default: "1", Validate: atLeast(0), Dynamic: true,
		Doc: "Threads compacting logs."},
	{Name: "log.cleaner.dedupe.buffer.size", Type: TypeSize, Default: "134217728", Dynamic: true,
		Doc: "Total memory for the cleaners' key maps."},
	{Name: "log.cleaner.io.max.bytes.per.second", Type: TypeDouble, Default: "1.7976931348623157E308", Dynamic: true,
		Doc: "Throttle for the cleaners' combined read and write I/O."},
	{Name: "log.cleaner.min.cleanable.ratio", Type: TypeDouble, Default: "0.5", Validate: betweenFloat(0, 1), Dynamic: true,
		Doc: "Dirty/total ratio a log needs before it is compacted."},
	{Name: "log.cleaner.min.compaction.lag.ms", Type: TypeDurationMs, Default: "0", Validate: atLeast(0), Dynamic: true,
		Doc: "The youngest a message may be and still be compacted."},
	{Name: "log.cleaner.max.compaction.lag.ms", Type: TypeDurationMs, Default: "9223372036854775807", Validate: atLeast(1), Dynamic: true,
		Doc: "The oldest a message may get before it is eligible for compaction regardless of the dirty ratio."},
	{Name: "log.cleaner.delete.retention.ms", Type: TypeDurationMs, Default: "86400000", Validate: atLeast(0), Dynamic: true,
		Doc: "How long delete tombstones are kept on compacted topics."},
	{Name: "log.cleaner.backoff.ms", Type: TypeDurationMs, Default: "15000", Validate: atLeast(0), Dynamic: true,
		Doc: "How long an idle log cleaner thread sleeps before looking for work again."},
	{Name: "log.segment.delete.delay.ms", Type: TypeDurationMs, Default: "60000", Validate: atLeast(0), Dynamic: true,
		Doc: "Delay before a deleted segment file is removed from disk (topic override: file.delete.delay.ms)."},
	{Name: "file.delete.delay.ms", Type: TypeDurationMs, NoDefault: true, Validate: atLeast(0), Dynamic: true,
		Doc: "Gregor accepts the topic-level name in server.properties too, as a synonym of log.segment.delete.delay.ms (which wins when both are set)."},
	{Name: "message.max.bytes", Type: TypeSize, Default: "1048588", Validate: between(0, maxInt32), Dynamic: true,
		Doc: "The largest record batch the broker accepts (topic override: max.message.bytes)."},
	{Name: "compression.type", Type: TypeString, Default: "producer", Validate: oneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"), Dynamic: true,
		Doc: "Compression of stored batches; producer keeps the producer's codec."},
	{Name: "log.message.timestamp.type", Type: TypeString, Default: "CreateTime", Validate: oneOf("CreateTime", "LogAppendTime"), Dynamic: true,
		Doc: "Whether record timestamps are the producer's (CreateTime) or the broker's append time."},
	{Name: "log.message.timestamp.difference.max.ms", Type: TypeDurationMs, Default: "9223372036854775807", Validate: atLeast(0), Dynamic: true,
		Doc: "The largest difference allowed between a CreateTime timestamp and the broker's clock."},

	// Replication.
	{Name: "replica.fetch.max.bytes", Type: TypeSize, Default: "1048576", Validate: between(0, maxInt32),
		Doc: "Bytes a follower fetches per partition; must leave room for message.max.bytes."},
	{Name: "fetch.max.bytes", Type: TypeSize, Default: "57671680", Validate: between(1024, maxInt32),
		Doc: "The most bytes the broker returns in one Fetch response."},
	{Name: "min.insync.replicas", Type: TypeInt, Default: "1", Validate: atLeast(1), Dynamic: true,
		Doc: "With acks=all, the fewest in-sync replicas that must acknowledge a write."},
	{Name: "unclean.leader.election.enable", Type: TypeBool, Default: "false", Dynamic: true,
		Doc: "Allow an out-of-sync replica to become leader (may lose data)."},

	// Internal topics.
	{Name: "offsets.topic.replication.factor", Type: TypeInt, Default: "3", Validate: atLeast(1),
		Doc: "Replication factor of __consumer_offsets; creating it fails until this many brokers are alive."},
	{Name: "offsets.topic.num.partitions", Type: TypeInt, Default: "50", Validate: atLeast(1),
		Doc: "Partitions of __consumer_offsets (do not change after deployment)."},
	{Name: "offsets.retention.minutes", Type: TypeInt, Default: "10080", Validate: atLeast(1),
		Doc: "How long committed offsets of an empty group are kept."},
	{Name: "offsets.commit.timeout.ms", Type: TypeDurationMs, Default: "5000", Validate: between(1, maxInt32),
		Doc: "How long an offset commit waits for its write to be replicated."},
	{Name: "offsets.load.buffer.size", Type: TypeSize, Default: "5242880", Validate: between(1, maxInt32),
		Doc: "Read size when loading offsets into the coordinator's cache."},
	{Name: "offsets.topic.segment.bytes", Type: TypeSize, Default: "104857600", Validate: between(1, maxInt32),
		Doc: "segment.bytes of __consumer_offsets (small, so compaction and loading stay fast)."},
	{Name: "offsets.retention.check.interval.ms", Type: TypeDurationMs, Default: "600000", Validate: atLeast(1),
		Doc: "How often the coordinator looks for expired committed offsets."},
	{Name: "offset.metadata.max.bytes", Type: TypeInt, Default: "4096", Validate: atLeast(0),
		Doc: "The longest metadata string an offset commit may carry."},
	{Name: "transaction.state.log.replication.factor", Type: TypeInt, Default: "3", Validate: atLeast(1),
		Doc: "Replication factor of __transaction_state."},
	{Name: "transaction.state.log.min.isr", Type: TypeInt, Default: "2", Validate: atLeast(1),
		Doc: "min.insync.replicas of __transaction_state."},

	// Groups.
	{Name: "group.initial.rebalance.delay.ms", Type: TypeDurationMs, Default: "3000", Validate: between(0, maxInt32),
		Doc: "How long the coordinator waits for more members before the first rebalance of a new group."},
	{Name: "group.min.session.timeout.ms", Type: TypeDurationMs, Default: "6000", Validate: between(0, maxInt32),
		Doc: "The smallest session timeout a member may ask for."},
	{Name: "group.max.session.timeout.ms", Type: TypeDurationMs, Default: "1800000", Validate: between(0, maxInt32),
		Doc: "The largest session timeout a member may ask for."},
	{Name: "group.max.size", Type: TypeInt, Default: "2147483647", Validate: atLeast(1),
		Doc: "The most members one consumer group may have."},

	// Coordination.
	{Name: "zookeeper.connect", Type: TypeString, Default: "", Validate: validZkConnect,
		Doc: "host:port[,host:port...][/chroot] of the ZooKeeper ensemble; the chroot is created if missing. Empty runs the embedded coordination service."},
	{Name: "zookeeper.connection.timeout.ms", Type: TypeDurationMs, NoDefault: true, Validate: between(1, maxInt32),
		Doc: "How long to wait for the first ZooKeeper connection; defaults to zookeeper.session.timeout.ms."},
	{Name: "zookeeper.session.timeout.ms", Type: TypeDurationMs, Default: "18000", Validate: between(1, maxInt32),
		Doc: "ZooKeeper session timeout; the broker's registration disappears this long after it dies."},
}

var brokerKeyIndex = func() map[string]*Key {
	m := make(map[string]*Key, len(brokerKeys))
	for i := range brokerKeys {
		k := &brokerKeys[i]
		if _, dup := m[k.Name]; dup {
			panic("config: duplicate broker key " + k.Name)
		}
		if !k.NoDefault {
			if _, err := k.Parse(k.Default); err != nil {
				panic("config: bad default: " + err.Error())
			}
		}
		m[k.Name] = k
	}
	return m
}()

// BrokerKeys returns the table of broker keys, in documentation order.
func BrokerKeys() []Key { return slices.Clone(brokerKeys) }

// LookupBrokerKey returns the broker key called name.
func LookupBrokerKey(name string) (*Key, bool) {
	k, ok := brokerKeyIndex[name]
	return k, ok
}
