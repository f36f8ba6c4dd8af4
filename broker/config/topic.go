package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Synonym is a broker key a topic config takes its default from. Scale
// converts the broker key's unit to the topic key's (hours to ms:
// 3600000).
type Synonym struct {
	Broker string
	Scale  int64
}

// TopicKey is a topic-level config and its broker synonyms, most specific
// first (Kafka's ServerTopicConfigSynonyms).
type TopicKey struct {
	Key
	Synonyms []Synonym
}

func syn(names ...string) []Synonym {
	out := make([]Synonym, len(names))
	for i, n := range names {
		out[i] = Synonym{Broker: n, Scale: 1}
	}
	return out
}

const (
	msPerMinute = 60 * 1000
	msPerHour   = 60 * msPerMinute
)

// topicKeys is the one table of topic configs (/config/topics/<t>,
// CreateTopics configs, AlterConfigs on a topic). Defaults come from the
// broker through Synonyms.
var topicKeys = []TopicKey{
	{Key{Name: "cleanup.policy", Type: TypeList, Validate: listOf("delete", "compact"),
		Doc: "delete, compact, or both (comma-separated)."}, syn("log.cleanup.policy")},
	{Key{Name: "compression.type", Type: TypeString, Validate: oneOf("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
		Doc: "Codec batches are stored with; producer keeps the producer's."}, syn("compression.type")},
	{Key{Name: "delete.retention.ms", Type: TypeLong, Validate: atLeast(0),
		Doc: "How long tombstones stay readable on a compacted topic."}, syn("log.cleaner.delete.retention.ms")},
	{Key{Name: "file.delete.delay.ms", Type: TypeLong, Validate: atLeast(0),
		Doc: "Delay before a deleted segment's files are removed."}, syn("log.segment.delete.delay.ms", "file.delete.delay.ms")},
	{Key{Name: "flush.messages", Type: TypeLong, Validate: atLeast(1),
		Doc: "fsync after this many messages."}, syn("log.flush.interval.messages")},
	{Key{Name: "flush.ms", Type: TypeLong, Validate: atLeast(0),
		Doc: "fsync when the oldest unflushed message is this old."}, syn("log.flush.interval.ms", "log.flush.scheduler.interval.ms")},
	{Key{Name: "index.interval.bytes", Type: TypeInt, Validate: atLeast(0),
		Doc: "Bytes of log between offset index entries."}, syn("log.index.interval.bytes")},
	{Key{Name: "max.compaction.lag.ms", Type: TypeLong, Validate: atLeast(1),
		Doc: "A message becomes eligible for compaction at the latest this long after it was written."}, syn("log.cleaner.max.compaction.lag.ms")},
	{Key{Name: "max.message.bytes", Type: TypeInt, Validate: atLeast(0),
		Doc: "The largest record batch accepted for this topic."}, syn("message.max.bytes")},
	{Key{Name: "message.timestamp.difference.max.ms", Type: TypeLong, Validate: atLeast(0),
		Doc: "The largest difference allowed between a CreateTime timestamp and the broker's clock."}, syn("log.message.timestamp.difference.max.ms")},
	{Key{Name: "message.timestamp.type", Type: TypeString, Validate: oneOf("CreateTime", "LogAppendTime"),
		Doc: "CreateTime (the producer's) or LogAppendTime (the broker's)."}, syn("log.message.timestamp.type")},
	{Key{Name: "min.cleanable.dirty.ratio", Type: TypeDouble, Validate: betweenFloat(0, 1),
		Doc: "Dirty/total ratio needed before compaction."}, syn("log.cleaner.min.cleanable.ratio")},
	{Key{Name: "min.compaction.lag.ms", Type: TypeLong, Validate: atLeast(0),
		Doc: "The youngest a message may be and still be compacted."}, syn("log.cleaner.min.compaction.lag.ms")},
	{Key{Name: "min.insync.replicas", Type: TypeInt, Validate: atLeast(1),
		Doc: "With acks=all, the fewest in-sync replicas that must acknowledge a write."}, syn("min.insync.replicas")},
	{Key{Name: "retention.bytes", Type: TypeLong,
		Doc: "Delete old segments once a partition is larger than this; -1 is unlimited."}, syn("log.retention.bytes")},
	{Key{Name: "retention.ms", Type: TypeLong, Validate: atLeast(-1),
		Doc: "Delete segments older than this; -1 keeps forever."},
		[]Synonym{{"log.retention.ms", 1}, {"log.retention.minutes", msPerMinute}, {"log.retention.hours", msPerHour}}},
	{Key{Name: "segment.bytes", Type: TypeInt, Validate: atLeast(14),
		Doc: "The largest size of one segment file."}, syn("log.segment.bytes")},
	{Key{Name: "segment.index.bytes", Type: TypeInt, Validate: atLeast(4),
		Doc: "The size the offset index is preallocated to."}, syn("log.index.size.max.bytes")},
	{Key{Name: "segment.jitter.ms", Type: TypeLong, Validate: atLeast(0),
		Doc: "Maximum random jitter subtracted from segment.ms."},
		[]Synonym{{"log.roll.jitter.ms", 1}, {"log.roll.jitter.hours", msPerHour}}},
	{Key{Name: "segment.ms", Type: TypeLong, Validate: atLeast(1),
		Doc: "Roll a new segment after this long even if not full."},
		[]Synonym{{"log.roll.ms", 1}, {"log.roll.hours", msPerHour}}},
	{Key{Name: "unclean.leader.election.enable", Type: TypeBool,
		Doc: "Allow an out-of-sync replica to become leader (may lose data)."}, syn("unclean.leader.election.enable")},
}

var topicKeyIndex = func() map[string]*TopicKey {
	m := make(map[string]*TopicKey, len(topicKeys))
	for i := range topicKeys {
		t := &topicKeys[i]
		for _, s := range t.Synonyms {
			if _, ok := brokerKeyIndex[s.Broker]; !ok {
				panic("config: topic key " + t.Name + " has unknown synonym " + s.Broker)
			}
		}
		m[t.Name] = t
	}
	return m
}()

// TopicKeys returns the topic config table.
func TopicKeys() []TopicKey { return slices.Clone(topicKeys) }

// LookupTopicKey returns the topic config called name.
func LookupTopicKey(name string) (*TopicKey, bool) {
	k, ok := topicKeyIndex[name]
	return k, ok
}

// ValidateTopicConfigs checks topic overrides (CreateTopics, AlterConfigs,
// /config/topics/<t>): every key must be a topic config and every value
// valid. Errors name the key (and the value).
func ValidateTopicConfigs(m map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(m)) {
		k, ok := topicKeyIndex[name]
		if !ok {
			return fmt.Errorf("%w: unknown topic config name: %s", ErrUnknownKey, name)
		}
		if _, err := k.Parse(m[name]); err != nil {
			return err
		}
	}
	return nil
}

// coerce converts a broker value (after scaling) to the topic key's type.
func coerce(v Value, t Type, scale int64) Value {
	n, isInt := asInt64(v)
	if !isInt {
		return v
	}
	if scale > 1 && n > 0 {
		if n > (1<<63-1)/scale {
			n = 1<<63 - 1
		} else {
			n *= scale
		}
	}
	if t == TypeInt {
		return int32(min(max(n, -1<<31), 1<<31-1))
	}
	return n
}

// resolveSynonyms walks the synonyms in order, each through the dynamic and
// static layers; if none is set anywhere, it falls back to the first
// synonym with a non-null default. It returns the scaled value, its source
// and the synonym that supplied it.
func (c *Config) resolveSynonyms(syns []Synonym) (Value, Source, Synonym) {
	for _, s := range syns {
		if v, src := c.lookup(s.Broker); src != SourceDefaultConfig {
			return coerce(v, TypeLong, s.Scale), src, s
		}
	}
	for _, s := range syns {
		if v, _ := c.lookup(s.Broker); v != nil {
			return coerce(v, TypeLong, s.Scale), SourceDefaultConfig, s
		}
	}
	return nil, SourceDefaultConfig, Synonym{}
}

// TopicConfig is a topic's effective configuration.
type TopicConfig struct {
	values  map[string]Value
	sources map[string]Source
}

// Topic resolves a topic's effective configuration from its overrides
// (/config/topics/<t>) and the broker configuration. Overrides are
// validated; an invalid one is an error naming the key.
func (c *Config) Topic(overrides map[string]string) (*TopicConfig, error) {
	if err := ValidateTopicConfigs(overrides); err != nil {
		return nil, err
	}
	tc := &TopicConfig{values: map[string]Value{}, sources: map[string]Source{}}
	for i := range topicKeys {
		k := &topicKeys[i]
		if text, ok := overrides[k.Name]; ok {
			v, _ := k.Parse(text)
			tc.values[k.Name], tc.sources[k.Name] = v, SourceDynamicTopicConfig
			continue
		}
		v, src, _ := c.resolveSynonyms(k.Synonyms)
		tc.values[k.Name], tc.sources[k.Name] = coerce(v, k.Type, 1), src
	}
	return tc, nil
}

// Get returns a topic config's value and source.
func (t *TopicConfig) Get(name string) (Value, Source) {
	v, ok := t.values[name]
	if !ok {
		panic("config: unknown topic key " + name)
	}
	return v, t.sources[name]
}

// Long returns an int or long topic config.
func (t *TopicConfig) Long(name string) int64 { v, _ := t.Get(name); n, _ := asInt64(v); return n }

// Bool returns a boolean topic config.
func (t *TopicConfig) Bool(name string) bool { v, _ := t.Get(name); b, _ := v.(bool); return b }

// String returns a string topic config.
func (t *TopicConfig) String(name string) string { v, _ := t.Get(name); s, _ := v.(string); return s }

// Double returns a double topic config.
func (t *TopicConfig) Double(name string) float64 { v, _ := t.Get(name); f, _ := v.(float64); return f }

// List returns a list topic config.
func (t *TopicConfig) List(name string) []string {
	v, _ := t.Get(name)
	l, _ := v.([]string)
	return slices.Clone(l)
}

// RetentionMs is retention.ms, -1 for forever.
func (t *TopicConfig) RetentionMs() int64 { return max(t.Long("retention.ms"), -1) }

// Compact and Delete report the cleanup policies in force.
func (t *TopicConfig) Compact() bool { return slices.Contains(t.List("cleanup.policy"), "compact") }
func (t *TopicConfig) Delete() bool  { return slices.Contains(t.List("cleanup.policy"), "delete") }

// SynonymEntry is one entry of a DescribeConfigs synonyms list.
type SynonymEntry struct {
	Name   string
	Value  string
	Null   bool
	Source Source
}

// Entry is one DescribeConfigs result.
type Entry struct {
	Name      string
	Value     string
	Null      bool // the value is null (an unset key with no default)
	Source    Source
	ReadOnly  bool
	Sensitive bool
	Type      Type
	// KafkaType is the DescribeConfigs config_type code (KafkaType*).
	KafkaType int8
	Doc       string
	// Synonyms lists, most specific first, every place the value could come
	// from that holds a value, ending with DEFAULT_CONFIG (KIP-226).
	Synonyms []SynonymEntry
}

// chainEntries lists, in Kafka's DescribeConfigs order, every layer of
// every broker synonym that holds a value: source by source (dynamic
// per-broker, dynamic cluster default, static, default), synonyms in
// priority order within each source (Kafka's configSynonyms).
func (c *Config) chainEntries(chain []Synonym) []SynonymEntry {
	var out []SynonymEntry
	for _, l := range []struct {
		m   map[string]Value
		src Source
	}{{c.perBroker, SourceDynamicBrokerConfig}, {c.clusterDef, SourceDynamicDefaultBrokerConfig}, {c.static, SourceStaticBrokerConfig}} {
		for _, s := range chain {
			if v, ok := l.m[s.Broker]; ok {
				out = append(out, SynonymEntry{Name: s.Broker, Value: FormatValue(v), Source: l.src})
			}
		}
	}
	for _, s := range chain {
		if k := brokerKeyIndex[s.Broker]; !k.NoDefault {
			out = append(out, SynonymEntry{Name: s.Broker, Value: FormatValue(mustParseDefault(k)), Source: SourceDefaultConfig})
		}
	}
	return out
}

func mustParseDefault(k *Key) Value {
	v, err := k.Parse(k.Default)
	if err != nil {
		panic("config: bad default checked at init: " + err.Error())
	}
	return v
}

// DescribeTopic resolves every topic config for DescribeConfigs: value,
// source and synonyms (topic override, then each broker synonym's dynamic
// and static layers, then the default).
func (c *Config) DescribeTopic(overrides map[string]string) ([]Entry, error) {
	tc, err := c.Topic(overrides)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(topicKeys))
	for i := range topicKeys {
		k := &topicKeys[i]
		v, src := tc.Get(k.Name)
		e := Entry{Name: k.Name, Value: FormatValue(v), Source: src, Type: k.Type, KafkaType: k.KafkaType(), Doc: k.Doc}
		if text, ok := overrides[k.Name]; ok {
			e.Synonyms = append(e.Synonyms, SynonymEntry{Name: k.Name, Value: strings.TrimSpace(text), Source: SourceDynamicTopicConfig})
		}
		e.Synonyms = append(e.Synonyms, c.chainEntries(k.Synonyms)...)
		out = append(out, e)
	}
	return out, nil
}

// DescribeBroker resolves every broker key for DescribeConfigs on a broker
// resource. Keys that head a derived chain (log.retention.ms, log.roll.ms,
// ...) list the whole chain as synonyms and report the derived value.
func (c *Config) DescribeBroker() []Entry {
	chains := map[string][]Synonym{}
	for i := range topicKeys {
		if s := topicKeys[i].Synonyms; len(s) > 1 {
			chains[s[0].Broker] = s
		}
	}
	out := make([]Entry, 0, len(brokerKeys))
	for i := range brokerKeys {
		k := &brokerKeys[i]
		v, src := c.lookup(k.Name)
		e := Entry{Name: k.Name, Source: src, ReadOnly: !k.Dynamic, Type: k.Type, KafkaType: k.KafkaType(), Doc: k.Doc}
		if chain, ok := chains[k.Name]; ok {
			var dv Value
			dv, src, _ = c.resolveSynonyms(chain)
			e.Source = src
			if src == SourceDefaultConfig {
				v = coerce(dv, k.Type, 1)
			} else {
				v = dv
			}
			e.Synonyms = c.chainEntries(chain)
		} else {
			e.Synonyms = c.chainEntries([]Synonym{{Broker: k.Name, Scale: 1}})
		}
		if v == nil {
			e.Null = true
		} else {
			e.Value = FormatValue(v)
		}
		out = append(out, e)
	}
	return out
}

// Markdown renders the documentation of every broker and topic key from the
// tables.
func Markdown() string {
	var b strings.Builder
	b.WriteString("## Broker configuration (server.properties)\n\n| key | type | default | dynamic | description |\n| --- | --- | --- | --- | --- |\n")
	for _, k := range brokerKeys {
		def := "`" + k.Default + "`"
		if k.NoDefault {
			def = "null"
		}
		dyn := ""
		if k.Dynamic {
			dyn = "yes"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", k.Name, k.Type, def, dyn, k.Doc)
	}
	b.WriteString("\n## Topic configuration\n\n| key | type | default from | description |\n| --- | --- | --- | --- |\n")
	for _, k := range topicKeys {
		names := make([]string, len(k.Synonyms))
		for i, s := range k.Synonyms {
			names[i] = "`" + s.Broker + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", k.Name, k.Type, strings.Join(names, " > "), k.Doc)
	}
	return b.String()
}
