// Package config reads, validates and documents the broker's
// server.properties and the topic-level configs derived from it.
//
// One table (brokerKeys in keys.go) defines every broker key: name, type,
// Kafka's default, validator, doc string and whether AlterConfigs may change
// it at runtime. A second table (topicKeys in topic.go) defines the topic
// configs and the broker keys ("synonyms") their defaults come from. Parsing,
// validation, defaults, the generated documentation (Markdown) and the
// DescribeConfigs resolver all read those tables.
//
// Values have four layers, most specific first, as in Kafka's ZK mode:
//
//	DYNAMIC_BROKER_CONFIG          /config/brokers/<id>
//	DYNAMIC_DEFAULT_BROKER_CONFIG  /config/brokers/<default>
//	STATIC_BROKER_CONFIG           server.properties and --override
//	DEFAULT_CONFIG                 the table
//
// Derived keys resolve synonym by synonym, each through all layers:
// log.retention.ms, then log.retention.minutes, then log.retention.hours
// (so a static log.retention.ms beats a dynamic log.retention.hours, as in
// Kafka); log.roll.ms over log.roll.hours; log.roll.jitter.ms over
// log.roll.jitter.hours; log.flush.interval.ms over
// log.flush.scheduler.interval.ms; log.dirs over log.dir;
// zookeeper.connection.timeout.ms over zookeeper.session.timeout.ms.
package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gregorlog/gregor/internal/invariants"
)

// Errors. Every error this package returns wraps one of them.
var (
	// ErrSyntax: the properties text could not be read.
	ErrSyntax = errors.New("config: syntax error")
	// ErrInvalidValue: a value does not parse or fails validation; the
	// message names the key and the value.
	ErrInvalidValue = errors.New("config: invalid value")
	// ErrUnknownKey: a topic config or dynamic update names a key that does
	// not exist (unknown keys in server.properties are only warnings).
	ErrUnknownKey = errors.New("config: unknown key")
	// ErrNotDynamic: an update names a broker key that cannot change at
	// runtime.
	ErrNotDynamic = errors.New("config: not dynamically updatable")
)

// Source says where a value came from, numbered as Kafka's DescribeConfigs
// ConfigSource (the numbers are on the wire; never change them).
type Source int8

const (
	SourceUnknown                    Source = 0
	SourceDynamicTopicConfig         Source = 1
	SourceDynamicBrokerConfig        Source = 2
	SourceDynamicDefaultBrokerConfig Source = 3
	SourceStaticBrokerConfig         Source = 4
	SourceDefaultConfig              Source = 5
)

func (s Source) String() string {
	switch s {
	case SourceDynamicTopicConfig:
		return "DYNAMIC_TOPIC_CONFIG"
	case SourceDynamicBrokerConfig:
		return "DYNAMIC_BROKER_CONFIG"
	case SourceDynamicDefaultBrokerConfig:
		return "DYNAMIC_DEFAULT_BROKER_CONFIG"
	case SourceStaticBrokerConfig:
		return "STATIC_BROKER_CONFIG"
	case SourceDefaultConfig:
		return "DEFAULT_CONFIG"
	}
	return "UNKNOWN"
}

// SingleNodeProfile is applied, as if read from a file, when the broker
// starts with no configuration at all: one broker whose internal topics fit
// a one-node cluster (the same values Kafka's sample server.properties sets).
var SingleNodeProfile = map[string]string{
	"broker.id":                                "0",
	"offsets.topic.replication.factor":         "1",
	"transaction.state.log.replication.factor": "1",
	"transaction.state.log.min.isr":            "1",
	"group.initial.rebalance.delay.ms":         "0",
}

// Config is a validated broker configuration. It is immutable; WithDynamic
// returns a new one.
type Config struct {
	// Warnings are non-fatal findings: unknown keys (which Kafka also only
	// warns about) and suspicious combinations.
	Warnings []string

	static     map[string]Value // server.properties + overrides
	perBroker  map[string]Value // /config/brokers/<id>
	clusterDef map[string]Value // /config/brokers/<default>

	// Derived from the layers above by build.
	listeners  []Listener
	advertised []Listener
	zk         ZkConnect
}

// Load reads a server.properties file and applies --override key=value
// arguments on top. An empty path means "no configuration": Kafka's
// defaults plus SingleNodeProfile.
func Load(path string, overrides []string) (*Config, error) {
	if path == "" {
		props := make([]Property, 0, len(SingleNodeProfile))
		for _, k := range slices.Sorted(maps.Keys(SingleNodeProfile)) {
			props = append(props, Property{Key: k, Value: SingleNodeProfile[k]})
		}
		return fromProperties(props, overrides)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(string(b), overrides)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse reads server.properties text and applies overrides ("key=value").
func Parse(text string, overrides []string) (*Config, error) {
	props, err := ParseProperties(text)
	if err != nil {
		return nil, err
	}
	return fromProperties(props, overrides)
}

// FromMap builds a configuration from key/value pairs (tests, embedding).
func FromMap(m map[string]string) (*Config, error) {
	props := make([]Property, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		props = append(props, Property{Key: k, Value: m[k]})
	}
	return fromProperties(props, nil)
}

func fromProperties(props []Property, overrides []string) (*Config, error) {
	for _, o := range overrides {
		k, v, ok := strings.Cut(o, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%w: --override %q is not key=value", ErrSyntax, o)
		}
		props = append(props, Property{Key: strings.TrimSpace(k), Value: v})
	}
	c := &Config{static: map[string]Value{}}
	for _, p := range props {
		k, ok := brokerKeyIndex[p.Key]
		if !ok {
			where := ""
			if p.Line > 0 {
				where = fmt.Sprintf(" (line %d)", p.Line)
			}
			c.Warnings = append(c.Warnings, fmt.Sprintf("The configuration '%s'%s was supplied but isn't a known config.", p.Key, where))
			continue
		}
		v, err := k.Parse(p.Value)
		if err != nil {
			return nil, err
		}
		c.static[p.Key] = v // the last occurrence wins, as in java.util.Properties
	}
	if err := c.build(); err != nil {
		return nil, err
	}
	return c, nil
}

// WithDynamic returns the configuration with dynamic broker configs
// (/config/brokers/<id> and /config/brokers/<default>) layered on top.
// Invalid or non-dynamic entries are skipped and reported, as Kafka logs and
// ignores them when it reads ZooKeeper.
func (c *Config) WithDynamic(perBroker, clusterDefault map[string]string) (*Config, []error) {
	n := &Config{static: c.static, perBroker: map[string]Value{}, clusterDef: map[string]Value{}}
	var errs []error
	for _, layer := range []struct {
		in  map[string]string
		out map[string]Value
	}{{perBroker, n.perBroker}, {clusterDefault, n.clusterDef}} {
		for _, name := range slices.Sorted(maps.Keys(layer.in)) {
			v, err := parseDynamic(name, layer.in[name])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			layer.out[name] = v
		}
	}
	if err := n.build(); err != nil {
		// A dynamic listener update that breaks cross-key rules: keep the
		// previous listeners rather than fail the running broker.
		errs = append(errs, err)
		delete(n.perBroker, "listeners")
		delete(n.perBroker, "advertised.listeners")
		delete(n.clusterDef, "listeners")
		delete(n.clusterDef, "advertised.listeners")
		if err := n.build(); err != nil {
			return c, append(errs, err)
		}
	}
	n.Warnings = c.Warnings
	return n, errs
}

func parseDynamic(name, text string) (Value, error) {
	k, ok := brokerKeyIndex[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownKey, name)
	}
	if !k.Dynamic {
		return nil, fmt.Errorf("%w: %s", ErrNotDynamic, name)
	}
	return k.Parse(text)
}

// ValidateDynamicBroker checks an AlterConfigs request for a broker (or the
// cluster default): every key must exist and be dynamic, every value valid.
func ValidateDynamicBroker(m map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if _, err := parseDynamic(name, m[name]); err != nil {
			return err
		}
	}
	return nil
}

// build derives and cross-checks what depends on several keys.
func (c *Config) build() error {
	var err error
	proto, _ := parseProtocolMap(c.List("listener.security.protocol.map"))
	if c.listeners, err = c.listenerList("listeners", proto); err != nil {
		return err
	}
	seen := map[string]string{}
	for _, l := range c.listeners {
		if l.Port == 0 {
			continue
		}
		a := l.Addr()
		if other, dup := seen[a]; dup {
			return fmt.Errorf("%w: listeners=%q: %s and %s both use %s", ErrInvalidValue, FormatValue(c.List("listeners")), other, l.Name, a)
		}
		seen[a] = l.Name
	}
	advertisedKey := "advertised.listeners"
	if _, src := c.lookup("advertised.listeners"); src == SourceDefaultConfig {
		advertisedKey = "listeners" // Kafka's effective advertised listeners
		c.advertised = make([]Listener, len(c.listeners))
		copy(c.advertised, c.listeners)
		for i := range c.advertised {
			if c.advertised[i].Host == "" {
				// Kafka registers a listener without a host under the
				// machine's canonical host name.
				h, herr := os.Hostname()
				if herr != nil || h == "" {
					h = "localhost"
				}
				c.advertised[i].Host = h
			}
		}
	} else {
		if c.advertised, err = c.listenerList("advertised.listeners", proto); err != nil {
			return err
		}
		text := FormatValue(c.List("advertised.listeners"))
		for _, a := range c.advertised {
			if !slices.ContainsFunc(c.listeners, func(l Listener) bool { return l.Name == a.Name }) {
				return fmt.Errorf("%w: advertised.listeners=%q: listener %s is not in listeners (advertised listener names must be equal to or a subset of the ones in listeners)", ErrInvalidValue, text, a.Name)
			}
		}
	}
	for _, a := range c.advertised {
		if a.Host == "0.0.0.0" || a.Host == "::" {
			return fmt.Errorf("%w: %s=%q: advertised.listeners cannot use the nonroutable meta-address %s; set advertised.listeners to a routable address (or leave the host empty to advertise this machine's name)",
				ErrInvalidValue, advertisedKey, FormatValue(c.List(advertisedKey)), a.Host)
		}
	}
	c.zk, _ = ParseZkConnect(c.String("zookeeper.connect"))
	id, maxID := c.Int("broker.id"), c.Int("reserved.broker.max.id")
	if id > maxID {
		return fmt.Errorf("%w: broker.id=%d: must not be greater than reserved.broker.max.id (%d)", ErrInvalidValue, id, maxID)
	}
	if id < 0 && !c.Bool("broker.id.generation.enable") {
		return fmt.Errorf("%w: broker.id=%d: set a broker id or enable broker.id.generation.enable", ErrInvalidValue, id)
	}
	if t := c.Int("log.cleaner.threads"); t > 0 && c.Long("log.cleaner.dedupe.buffer.size")/int64(t) <= 1<<20 {
		return fmt.Errorf("%w: log.cleaner.dedupe.buffer.size=%d: must be at least 1MB per cleaner thread", ErrInvalidValue, c.Long("log.cleaner.dedupe.buffer.size"))
	}
	if c.Int("max.connections.per.ip") == 0 {
		return fmt.Errorf("%w: max.connections.per.ip=0: can be zero only with per-IP overrides, which Gregor does not support", ErrInvalidValue)
	}
	if ms, src := c.effectiveSynonym("retention.ms"); ms == 0 {
		return fmt.Errorf("%w: %s: log retention must be unlimited (-1) or at least 1 ms", ErrInvalidValue, src)
	}
	if ms, src := c.effectiveSynonym("segment.ms"); ms < 1 {
		return fmt.Errorf("%w: %s: log.roll.ms must be at least 1", ErrInvalidValue, src)
	}
	if ms, src := c.effectiveSynonym("segment.jitter.ms"); ms < 0 {
		return fmt.Errorf("%w: %s: log.roll.jitter.ms must be at least 0", ErrInvalidValue, src)
	}
	if c.Int("group.min.session.timeout.ms") > c.Int("group.max.session.timeout.ms") {
		c.Warnings = append(c.Warnings, "group.min.session.timeout.ms is larger than group.max.session.timeout.ms: every JoinGroup will fail with INVALID_SESSION_TIMEOUT")
	}
	msg := c.Long("message.max.bytes")
	if sr := c.Long("socket.request.max.bytes"); sr < msg+1024 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("socket.request.max.bytes (%d) leaves no headroom over message.max.bytes (%d): produce requests near the batch limit will be refused", sr, msg))
	}
	return nil
}

// effectiveSynonym resolves a topic key's broker synonym chain and names
// the key=value that supplied it (for error messages).
func (c *Config) effectiveSynonym(topicKey string) (int64, string) {
	v, _, syn := c.resolveSynonyms(topicKeyIndex[topicKey].Synonyms)
	n, _ := asInt64(v)
	raw, _ := c.lookup(syn.Broker)
	return n, syn.Broker + "=" + FormatValue(raw)
}

func (c *Config) listenerList(key string, proto map[string]string) ([]Listener, error) {
	ls, err := parseListenerList(c.List(key))
	if err != nil {
		return nil, fmt.Errorf("%w: %s=%q: %v", ErrInvalidValue, key, FormatValue(c.List(key)), err)
	}
	for i := range ls {
		p, ok := proto[ls[i].Name]
		if !ok {
			return nil, fmt.Errorf("%w: %s=%q: listener name %s is not in listener.security.protocol.map", ErrInvalidValue, key, FormatValue(c.List(key)), ls[i].Name)
		}
		ls[i].SecurityProtocol = p
	}
	return ls, nil
}

// lookup returns a key's effective value and its source. A null default
// returns (nil, SourceDefaultConfig). It panics on a key missing from the
// table: that is a programming error, not bad input.
func (c *Config) lookup(name string) (Value, Source) {
	k, ok := brokerKeyIndex[name]
	if !ok {
		panic("config: unknown broker key " + name)
	}
	if v, ok := c.perBroker[name]; ok {
		return v, SourceDynamicBrokerConfig
	}
	if v, ok := c.clusterDef[name]; ok {
		return v, SourceDynamicDefaultBrokerConfig
	}
	if v, ok := c.static[name]; ok {
		return v, SourceStaticBrokerConfig
	}
	if k.NoDefault {
		return nil, SourceDefaultConfig
	}
	v, _ := k.Parse(k.Default) // checked at init
	return v, SourceDefaultConfig
}

// Get returns a key's effective value (nil for an unset key with a null
// default) and where it came from.
func (c *Config) Get(name string) (Value, Source) { return c.lookup(name) }

// IsSet reports whether a key was given in any layer (not defaulted).
func (c *Config) IsSet(name string) bool {
	_, src := c.lookup(name)
	return src != SourceDefaultConfig
}

// Int returns an integer key as int32 (0 when null). It accepts every
// integer type, so Int("socket.request.max.bytes") (a size) works; values
// outside int32 are clamped.
func (c *Config) Int(name string) int32 {
	v := c.typed(name, "integer")
	n, _ := asInt64(v)
	return int32(min(max(n, -1<<31), 1<<31-1))
}

// typed looks a key up for a typed getter; under -tags invariants (and
// -race) asking for the wrong type panics, so misuse shows in tests
// instead of reading as a silent zero.
func (c *Config) typed(name, want string) Value {
	v, _ := c.lookup(name)
	if invariants.Enabled && v != nil {
		ok := false
		switch want {
		case "integer":
			_, ok = asInt64(v)
		case "bool":
			_, ok = v.(bool)
		case "string":
			_, ok = v.(string)
		case "list":
			_, ok = v.([]string)
		case "double":
			_, ok = v.(float64)
		}
		if !ok {
			panic(fmt.Sprintf("config: %s is a %T, not a %s", name, v, want))
		}
	}
	return v
}

// Long returns a long, duration-ms or size key (0 when null).
func (c *Config) Long(name string) int64 {
	n, _ := asInt64(c.typed(name, "integer"))
	return n
}

// Duration returns a duration-ms key as a time.Duration.
func (c *Config) Duration(name string) time.Duration { return msDuration(c.Long(name)) }

// Bool returns a boolean key.
func (c *Config) Bool(name string) bool { b, _ := c.typed(name, "bool").(bool); return b }

// String returns a string key ("" when null).
func (c *Config) String(name string) string { s, _ := c.typed(name, "string").(string); return s }

// List returns a list key (nil when null).
func (c *Config) List(name string) []string {
	l, _ := c.typed(name, "list").([]string)
	return slices.Clone(l)
}

// Double returns a double key.
func (c *Config) Double(name string) float64 { f, _ := c.typed(name, "double").(float64); return f }

func msDuration(ms int64) time.Duration {
	if ms > int64(1<<63-1)/int64(time.Millisecond) {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(ms) * time.Millisecond
}

// BrokerID is broker.id (-1: to be generated).
func (c *Config) BrokerID() int32 { return c.Int("broker.id") }

// Listeners are the parsed listeners with their security protocols.
func (c *Config) Listeners() []Listener { return slices.Clone(c.listeners) }

// AdvertisedListeners are advertised.listeners, or listeners with wildcard
// hosts replaced by the host name.
func (c *Config) AdvertisedListeners() []Listener { return slices.Clone(c.advertised) }

// ZooKeeper is the parsed zookeeper.connect (Embedded() when empty).
func (c *Config) ZooKeeper() ZkConnect {
	z := c.zk
	z.Servers = slices.Clone(z.Servers)
	return z
}

// ZkSessionTimeout is zookeeper.session.timeout.ms.
func (c *Config) ZkSessionTimeout() time.Duration { return c.Duration("zookeeper.session.timeout.ms") }

// ZkConnectionTimeout is zookeeper.connection.timeout.ms, defaulting to the
// session timeout as in Kafka.
func (c *Config) ZkConnectionTimeout() time.Duration {
	if c.IsSet("zookeeper.connection.timeout.ms") {
		return c.Duration("zookeeper.connection.timeout.ms")
	}
	return c.ZkSessionTimeout()
}

// LogDirs is log.dirs, or log.dir when log.dirs is unset.
func (c *Config) LogDirs() []string {
	if c.IsSet("log.dirs") {
		return c.List("log.dirs")
	}
	return []string{c.String("log.dir")}
}

// EmbeddedZooKeeperDir is where the embedded coordination service keeps its
// data.
func (c *Config) EmbeddedZooKeeperDir() string { return c.String("embedded.zookeeper.data.dir") }

// LogRetentionMs is the effective retention (log.retention.ms > minutes >
// hours); any negative value means "forever" and is returned as -1.
func (c *Config) LogRetentionMs() int64 {
	v, _, _ := c.resolveSynonyms(topicKeyIndex["retention.ms"].Synonyms)
	n, _ := asInt64(v)
	if n < 0 {
		return -1
	}
	return n
}

// LogRollMs is log.roll.ms, else log.roll.hours in ms.
func (c *Config) LogRollMs() int64 {
	v, _, _ := c.resolveSynonyms(topicKeyIndex["segment.ms"].Synonyms)
	n, _ := asInt64(v)
	return n
}

// LogRollJitterMs is log.roll.jitter.ms, else log.roll.jitter.hours in ms.
func (c *Config) LogRollJitterMs() int64 {
	v, _, _ := c.resolveSynonyms(topicKeyIndex["segment.jitter.ms"].Synonyms)
	n, _ := asInt64(v)
	return n
}

// LogFlushIntervalMs is log.flush.interval.ms, else
// log.flush.scheduler.interval.ms.
func (c *Config) LogFlushIntervalMs() int64 {
	v, _, _ := c.resolveSynonyms(topicKeyIndex["flush.ms"].Synonyms)
	n, _ := asInt64(v)
	return n
}

// Explicit returns the statically configured keys and their values as text,
// sorted by key (for logging the effective file at startup).
func (c *Config) Explicit() [][2]string {
	keys := slices.Collect(maps.Keys(c.static))
	sort.Strings(keys)
	out := make([][2]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, [2]string{k, FormatValue(c.static[k])})
	}
	return out
}
