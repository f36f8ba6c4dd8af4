package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gregorlog/gregor/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

// productKeys is the list of keys issue 5 requires server.properties to
// support.
var productKeys = strings.Fields(`broker.id listeners advertised.listeners listener.security.protocol.map
num.network.threads num.io.threads socket.send.buffer.bytes socket.receive.buffer.bytes socket.request.max.bytes
connections.max.idle.ms max.connections max.connections.per.ip log.dirs log.dir num.partitions default.replication.factor
auto.create.topics.enable delete.topic.enable num.recovery.threads.per.data.dir offsets.topic.replication.factor
offsets.topic.num.partitions offsets.retention.minutes offsets.commit.timeout.ms offsets.load.buffer.size
transaction.state.log.replication.factor transaction.state.log.min.isr log.flush.interval.messages log.flush.interval.ms
log.flush.scheduler.interval.ms log.flush.offset.checkpoint.interval.ms log.retention.hours log.retention.minutes
log.retention.ms log.retention.bytes log.segment.bytes log.roll.hours log.roll.ms log.roll.jitter.hours log.roll.jitter.ms
log.index.size.max.bytes log.index.interval.bytes log.retention.check.interval.ms log.cleanup.policy log.cleaner.enable
log.cleaner.threads log.cleaner.dedupe.buffer.size log.cleaner.io.max.bytes.per.second log.cleaner.min.cleanable.ratio
log.cleaner.min.compaction.lag.ms log.cleaner.max.compaction.lag.ms log.cleaner.delete.retention.ms file.delete.delay.ms
zookeeper.connect zookeeper.connection.timeout.ms zookeeper.session.timeout.ms group.initial.rebalance.delay.ms
group.min.session.timeout.ms group.max.session.timeout.ms group.max.size message.max.bytes replica.fetch.max.bytes
fetch.max.bytes min.insync.replicas unclean.leader.election.enable broker.rack reserved.broker.max.id
broker.id.generation.enable`)

func mustParse(t *testing.T, text string, overrides ...string) *Config {
	t.Helper()
	c, err := Parse(text, overrides)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEveryProductKeyIsInTheTable(t *testing.T) {
	for _, k := range productKeys {
		key, ok := LookupBrokerKey(k)
		if !ok {
			t.Errorf("%s missing from the table", k)
			continue
		}
		if key.Doc == "" {
			t.Errorf("%s has no doc", k)
		}
	}
	md := Markdown()
	for _, k := range BrokerKeys() {
		if !strings.Contains(md, "`"+k.Name+"`") {
			t.Errorf("Markdown misses %s", k.Name)
		}
	}
	for _, k := range TopicKeys() {
		if !strings.Contains(md, "`"+k.Name+"`") {
			t.Errorf("Markdown misses topic key %s", k.Name)
		}
	}
}

func TestNoConfigDefaults(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", c.Warnings)
	}
	ls := c.Listeners()
	if len(ls) != 1 || ls[0] != (Listener{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092, SecurityProtocol: "PLAINTEXT"}) {
		t.Errorf("listeners = %+v", ls)
	}
	if a := c.AdvertisedListeners(); len(a) != 1 || a[0].String() != "PLAINTEXT://127.0.0.1:9092" {
		t.Errorf("advertised = %+v", a)
	}
	if got := c.LogDirs(); !reflect.DeepEqual(got, []string{"./data/kafka-logs"}) {
		t.Errorf("log dirs = %v", got)
	}
	if c.EmbeddedZooKeeperDir() != "./data/zookeeper" || !c.ZooKeeper().Embedded() {
		t.Errorf("embedded coordination: %q %+v", c.EmbeddedZooKeeperDir(), c.ZooKeeper())
	}
	checks := []struct {
		got, want int64
		name      string
	}{
		{int64(c.BrokerID()), 0, "broker.id"},
		{int64(c.Int("offsets.topic.replication.factor")), 1, "offsets.topic.replication.factor"},
		{int64(c.Int("num.partitions")), 1, "num.partitions"},
		{c.Long("message.max.bytes"), 1048588, "message.max.bytes"},
		{c.Long("socket.request.max.bytes"), 104857600, "socket.request.max.bytes"},
		{c.Long("fetch.max.bytes"), 57671680, "fetch.max.bytes"},
		{c.Long("log.segment.bytes"), 1 << 30, "log.segment.bytes"},
		{c.LogRetentionMs(), 168 * 3600 * 1000, "retention"},
		{c.LogRollMs(), 168 * 3600 * 1000, "roll"},
		{c.LogRollJitterMs(), 0, "jitter"},
		{c.LogFlushIntervalMs(), 1<<63 - 1, "flush.ms"},
		{c.Long("log.flush.interval.messages"), 1<<63 - 1, "flush.messages"},
		{int64(c.Int("num.network.threads")), 3, "network threads"},
		{int64(c.Int("num.io.threads")), 8, "io threads"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %d, want %d", ck.name, ck.got, ck.want)
		}
	}
	if c.ZkSessionTimeout() != 18*time.Second || c.ZkConnectionTimeout() != 18*time.Second {
		t.Errorf("zk timeouts %v %v", c.ZkSessionTimeout(), c.ZkConnectionTimeout())
	}
	if !c.Bool("auto.create.topics.enable") || c.Bool("unclean.leader.election.enable") {
		t.Error("bool defaults wrong")
	}
	if c.Double("log.cleaner.min.cleanable.ratio") != 0.5 {
		t.Error("ratio default")
	}
	// A file that sets nothing gets Kafka's own defaults, not the profile.
	k := mustParse(t, "")
	if k.BrokerID() != -1 || k.Int("offsets.topic.replication.factor") != 3 {
		t.Errorf("Kafka defaults: broker.id=%d rf=%d", k.BrokerID(), k.Int("offsets.topic.replication.factor"))
	}
}

// TestSampleGolden parses the shipped config/server.properties and compares
// the effective explicit settings with testdata/server.properties.golden.
func TestSampleGolden(t *testing.T) {
	path := filepath.Join(testutil.RepoRoot(t), "config", "server.properties")
	c, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("sample has warnings: %v", c.Warnings)
	}
	var b strings.Builder
	for _, kv := range c.Explicit() {
		b.WriteString(kv[0] + "=" + kv[1] + "\n")
	}
	golden := filepath.Join("testdata", "server.properties.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("effective sample config differs from %s (run with -update after checking):\n%s", golden, b.String())
	}
	if c.Long("message.max.bytes") != 15728640 || c.Long("replica.fetch.max.bytes") < c.Long("message.max.bytes") ||
		c.Long("socket.request.max.bytes") < c.Long("message.max.bytes")+1024 {
		t.Errorf("sample message size headroom wrong")
	}
	// Every key of the table is documented in the sample (set or
	// commented out).
	raw, _ := os.ReadFile(path)
	for _, k := range BrokerKeys() {
		if !strings.Contains(string(raw), "\n"+k.Name+"=") && !strings.Contains(string(raw), "\n#"+k.Name+"=") {
			t.Errorf("sample server.properties does not document %s", k.Name)
		}
	}
}

func TestInvalidValuesNameKeyAndValue(t *testing.T) {
	tests := []struct{ in, key, value string }{
		{"num.io.threads=0", "num.io.threads", "0"},
		{"num.io.threads=eight", "num.io.threads", "eight"},
		{"broker.id=-2", "broker.id", "-2"},
		{"broker.id=99999999999", "broker.id", "99999999999"},
		{"broker.id=1001", "broker.id", "1001"},
		{"auto.create.topics.enable=yes", "auto.create.topics.enable", "yes"},
		{"log.cleanup.policy=delete,purge", "log.cleanup.policy", "delete,purge"},
		{"log.cleanup.policy=", "log.cleanup.policy", ""},
		{"log.segment.bytes=10", "log.segment.bytes", "10"},
		{"log.cleaner.min.cleanable.ratio=1.5", "log.cleaner.min.cleanable.ratio", "1.5"},
		{"listeners=127.0.0.1:9092", "listeners", "127.0.0.1:9092"},
		{"listeners=PLAINTEXT://:99999", "listeners", "PLAINTEXT://:99999"},
		{"listeners=PLAINTEXT://:9092,PLAINTEXT://:9093", "listeners", "PLAINTEXT://:9092,PLAINTEXT://:9093"},
		{"listeners=INTERNAL://:9093", "listeners", "INTERNAL://:9093"},
		{"listeners=A://:9092,B://:9092\nlistener.security.protocol.map=A:PLAINTEXT,B:PLAINTEXT", "listeners", "A://:9092,B://:9092"},
		{"advertised.listeners=PLAINTEXT://0.0.0.0:9092", "advertised.listeners", "PLAINTEXT://0.0.0.0:9092"},
		{"listeners=PLAINTEXT://0.0.0.0:9092", "listeners", "PLAINTEXT://0.0.0.0:9092"}, // Kafka: effective advertised listeners
		{"log.retention.ms=0", "log.retention.ms", "0"},
		{"log.retention.minutes=0", "log.retention.minutes", "0"},
		{"log.roll.ms=0", "log.roll.ms", "0"},
		{"log.roll.jitter.ms=-1", "log.roll.jitter.ms", "-1"},
		{"max.connections.per.ip=0", "max.connections.per.ip", "0"},
		{"log.cleaner.dedupe.buffer.size=2097152\nlog.cleaner.threads=2", "log.cleaner.dedupe.buffer.size", "2097152"},
		{"advertised.listeners=OTHER://h:1\nlistener.security.protocol.map=OTHER:SSL,PLAINTEXT:PLAINTEXT", "advertised.listeners", "OTHER://h:1"},
		{"listener.security.protocol.map=PLAINTEXT:TLS", "listener.security.protocol.map", "PLAINTEXT:TLS"},
		{"zookeeper.connect=host:2181/edge/", "zookeeper.connect", "host:2181/edge/"},
		{"zookeeper.connect=host:abc", "zookeeper.connect", "host:abc"},
		{"zookeeper.connect=h1,,h2", "zookeeper.connect", "h1,,h2"},
		{"zookeeper.session.timeout.ms=0", "zookeeper.session.timeout.ms", "0"},
		{"fetch.max.bytes=100", "fetch.max.bytes", "100"},
		{"log.cleaner.dedupe.buffer.size=1000\nlog.cleaner.threads=1", "log.cleaner.dedupe.buffer.size", "1000"},
		{"broker.id=-1\nbroker.id.generation.enable=false", "broker.id", "-1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in, nil)
			if !errors.Is(err, ErrInvalidValue) {
				t.Fatalf("got %v, want ErrInvalidValue", err)
			}
			if !strings.Contains(err.Error(), tt.key) || !strings.Contains(err.Error(), tt.value) {
				t.Fatalf("error %q does not name %s and %q", err, tt.key, tt.value)
			}
		})
	}
}

func TestUnknownKeysWarn(t *testing.T) {
	c := mustParse(t, "broker.id=1\nno.such.key=1\n\nlog.dirz=/x", "also.unknown=2")
	want := []string{
		"The configuration 'no.such.key' (line 2) was supplied but isn't a known config.",
		"The configuration 'log.dirz' (line 4) was supplied but isn't a known config.",
		"The configuration 'also.unknown' was supplied but isn't a known config.",
	}
	if !reflect.DeepEqual(c.Warnings, want) {
		t.Fatalf("warnings %q", c.Warnings)
	}
}

func TestOverridesAndPrecedence(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		overrides []string
		check     func(c *Config) (got, want any)
	}{
		{"last duplicate wins", "num.partitions=2\nnum.partitions=3", nil,
			func(c *Config) (any, any) { return c.Int("num.partitions"), int32(3) }},
		{"override beats file", "num.partitions=2", []string{"num.partitions=7"},
			func(c *Config) (any, any) { return c.Int("num.partitions"), int32(7) }},
		{"override value may contain =", "", []string{"broker.rack=a=b"},
			func(c *Config) (any, any) { return c.String("broker.rack"), "a=b" }},
		{"retention hours", "log.retention.hours=1", nil,
			func(c *Config) (any, any) { return c.LogRetentionMs(), int64(3600000) }},
		{"retention minutes beat hours", "log.retention.hours=1\nlog.retention.minutes=2", nil,
			func(c *Config) (any, any) { return c.LogRetentionMs(), int64(120000) }},
		{"retention ms beats minutes", "log.retention.hours=1\nlog.retention.minutes=2\nlog.retention.ms=5", nil,
			func(c *Config) (any, any) { return c.LogRetentionMs(), int64(5) }},
		{"negative retention is forever", "log.retention.ms=-5", nil,
			func(c *Config) (any, any) { return c.LogRetentionMs(), int64(-1) }},
		{"roll ms beats hours", "log.roll.hours=2\nlog.roll.ms=10", nil,
			func(c *Config) (any, any) { return c.LogRollMs(), int64(10) }},
		{"roll hours", "log.roll.hours=2", nil,
			func(c *Config) (any, any) { return c.LogRollMs(), int64(7200000) }},
		{"jitter hours", "log.roll.jitter.hours=1", nil,
			func(c *Config) (any, any) { return c.LogRollJitterMs(), int64(3600000) }},
		{"file.delete.delay.ms accepted at broker level", "file.delete.delay.ms=5", nil,
			func(c *Config) (any, any) { tc, _ := c.Topic(nil); return tc.Long("file.delete.delay.ms"), int64(5) }},
		{"log.segment.delete.delay.ms wins over file.delete.delay.ms", "file.delete.delay.ms=5\nlog.segment.delete.delay.ms=7", nil,
			func(c *Config) (any, any) { tc, _ := c.Topic(nil); return tc.Long("file.delete.delay.ms"), int64(7) }},
		{"flush interval falls back to scheduler", "log.flush.scheduler.interval.ms=3000", nil,
			func(c *Config) (any, any) { return c.LogFlushIntervalMs(), int64(3000) }},
		{"log.dirs beats log.dir", "log.dir=/a\nlog.dirs=/b, /c", nil,
			func(c *Config) (any, any) { return c.LogDirs(), []string{"/b", "/c"} }},
		{"log.dir alone", "log.dir=/a", nil,
			func(c *Config) (any, any) { return c.LogDirs(), []string{"/a"} }},
		{"connection timeout", "zookeeper.session.timeout.ms=6000\nzookeeper.connection.timeout.ms=1000", nil,
			func(c *Config) (any, any) { return c.ZkConnectionTimeout(), time.Second }},
		{"connection timeout defaults to session", "zookeeper.session.timeout.ms=6000", nil,
			func(c *Config) (any, any) { return c.ZkConnectionTimeout(), 6 * time.Second }},
		{"bool case-insensitive", "delete.topic.enable=FALSE", nil,
			func(c *Config) (any, any) { return c.Bool("delete.topic.enable"), false }},
		{"values are trimmed", "num.io.threads = 4  ", nil,
			func(c *Config) (any, any) { return c.Int("num.io.threads"), int32(4) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := tt.check(mustParse(t, tt.text, tt.overrides...))
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
	if _, err := Parse("", []string{"novalue"}); !errors.Is(err, ErrSyntax) {
		t.Errorf("bad override: %v", err)
	}
	if _, err := Parse("", []string{"num.io.threads=x"}); !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "num.io.threads") {
		t.Errorf("invalid override: %v", err)
	}
}

func TestListeners(t *testing.T) {
	host, _ := os.Hostname()
	tests := []struct {
		text       string
		listeners  []string
		advertised []string
		protocols  []string
	}{
		{"listeners=PLAINTEXT://:9092", []string{"PLAINTEXT://:9092"}, []string{"PLAINTEXT://" + host + ":9092"}, []string{"PLAINTEXT"}},
		{"listeners=PLAINTEXT://0.0.0.0:9092\nadvertised.listeners=PLAINTEXT://b1.example:9092", []string{"PLAINTEXT://0.0.0.0:9092"}, []string{"PLAINTEXT://b1.example:9092"}, []string{"PLAINTEXT"}},
		{"listeners=plaintext://[::1]:9092", []string{"PLAINTEXT://[::1]:9092"}, []string{"PLAINTEXT://[::1]:9092"}, []string{"PLAINTEXT"}},
		{"listeners=INTERNAL://127.0.0.1:9093,EXTERNAL://127.0.0.1:9094\n" +
			"listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL\n" +
			"advertised.listeners=EXTERNAL://broker.example:19094",
			[]string{"INTERNAL://127.0.0.1:9093", "EXTERNAL://127.0.0.1:9094"},
			[]string{"EXTERNAL://broker.example:19094"}, []string{"PLAINTEXT", "SASL_SSL"}},
		{"listeners=PLAINTEXT://127.0.0.1:0", []string{"PLAINTEXT://127.0.0.1:0"}, []string{"PLAINTEXT://127.0.0.1:0"}, []string{"PLAINTEXT"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			c := mustParse(t, tt.text)
			var ls, as, ps []string
			for _, l := range c.Listeners() {
				ls = append(ls, l.String())
				ps = append(ps, l.SecurityProtocol)
			}
			for _, a := range c.AdvertisedListeners() {
				as = append(as, a.String())
			}
			if !reflect.DeepEqual(ls, tt.listeners) || !reflect.DeepEqual(as, tt.advertised) || !reflect.DeepEqual(ps, tt.protocols) {
				t.Fatalf("listeners %v advertised %v protocols %v", ls, as, ps)
			}
		})
	}
}

func TestZkConnect(t *testing.T) {
	tests := []struct {
		in      string
		servers []string
		chroot  string
		bad     bool
	}{
		{"", nil, "", false},
		{"localhost:2181", []string{"localhost:2181"}, "", false},
		{"zk1", []string{"zk1:2181"}, "", false},
		{"h1:2181,h2:2182/edge", []string{"h1:2181", "h2:2182"}, "/edge", false},
		{"h1:2181/edge/kafka", []string{"h1:2181"}, "/edge/kafka", false},
		{"h1:2181/", []string{"h1:2181"}, "", false},
		{"[::1]:2181/x", []string{"[::1]:2181"}, "/x", false},
		{"[::1]/x", []string{"[::1]:2181"}, "/x", false},
		{"h1:2181/edge/", nil, "", true},
		{"h1:2181//x", nil, "", true},
		{"h1:2181/a/../b", nil, "", true},
		{"h1:0", nil, "", true},
		{":2181", nil, "", true},
		{"h1:2181,", nil, "", true},
		{"[::1", nil, "", true},
	}
	for _, tt := range tests {
		z, err := ParseZkConnect(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("%q: want error, got %+v", tt.in, z)
			}
			continue
		}
		if err != nil || !slices.Equal(z.Servers, tt.servers) || z.Chroot != tt.chroot {
			t.Errorf("%q: got %+v, %v", tt.in, z, err)
		}
	}
	c := mustParse(t, "zookeeper.connect=127.0.0.1:2181/edge")
	if z := c.ZooKeeper(); z.Embedded() || z.Chroot != "/edge" || z.String() != "127.0.0.1:2181/edge" {
		t.Errorf("config zk = %+v", z)
	}
}

func TestTopicConfigResolution(t *testing.T) {
	c := mustParse(t, "log.retention.hours=24\nlog.segment.bytes=1000000\nlog.cleanup.policy=compact\nmessage.max.bytes=2000000")
	tc, err := c.Topic(map[string]string{"retention.bytes": "5000", "segment.ms": "60000"})
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		v   any
		src Source
	}
	checks := map[string]want{
		"retention.ms":              {int64(24 * 3600000), SourceStaticBrokerConfig},
		"retention.bytes":           {int64(5000), SourceDynamicTopicConfig},
		"segment.bytes":             {int32(1000000), SourceStaticBrokerConfig},
		"segment.ms":                {int64(60000), SourceDynamicTopicConfig},
		"segment.index.bytes":       {int32(10485760), SourceDefaultConfig},
		"segment.jitter.ms":         {int64(0), SourceDefaultConfig},
		"max.message.bytes":         {int32(2000000), SourceStaticBrokerConfig},
		"cleanup.policy":            {[]string{"compact"}, SourceStaticBrokerConfig},
		"flush.ms":                  {int64(1<<63 - 1), SourceDefaultConfig},
		"min.cleanable.dirty.ratio": {0.5, SourceDefaultConfig},
		"compression.type":          {"producer", SourceDefaultConfig},
		"message.timestamp.type":    {"CreateTime", SourceDefaultConfig},
		"min.insync.replicas":       {int32(1), SourceDefaultConfig},
	}
	for name, w := range checks {
		v, src := tc.Get(name)
		if !reflect.DeepEqual(v, w.v) || src != w.src {
			t.Errorf("%s = %v (%v), want %v (%v)", name, v, src, w.v, w.src)
		}
	}
	if !tc.Compact() || tc.Delete() || tc.RetentionMs() != 24*3600000 {
		t.Error("helpers")
	}
	for _, bad := range []map[string]string{{"retention.mss": "1"}, {"segment.bytes": "1"}, {"cleanup.policy": "zap"}, {"min.cleanable.dirty.ratio": "x"}} {
		if _, err := c.Topic(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if err := ValidateTopicConfigs(map[string]string{"log.retention.ms": "1"}); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("broker key as topic config: %v", err)
	}
}

func TestDescribeTopicSourcesAndSynonyms(t *testing.T) {
	static := mustParse(t, "log.retention.hours=24\nlog.retention.minutes=90")
	dyn, errs := static.WithDynamic(map[string]string{"log.retention.ms": "1000"}, map[string]string{"log.retention.ms": "2000", "message.max.bytes": "3000"})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	entries, err := dyn.DescribeTopic(map[string]string{"retention.ms": "500"})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Entry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	r := byName["retention.ms"]
	if r.Value != "500" || r.Source != SourceDynamicTopicConfig {
		t.Fatalf("retention.ms = %+v", r)
	}
	wantSyn := []SynonymEntry{
		{Name: "retention.ms", Value: "500", Source: SourceDynamicTopicConfig},
		{Name: "log.retention.ms", Value: "1000", Source: SourceDynamicBrokerConfig},
		{Name: "log.retention.ms", Value: "2000", Source: SourceDynamicDefaultBrokerConfig},
		{Name: "log.retention.minutes", Value: "90", Source: SourceStaticBrokerConfig},
		{Name: "log.retention.hours", Value: "24", Source: SourceStaticBrokerConfig},
		{Name: "log.retention.hours", Value: "168", Source: SourceDefaultConfig},
	}
	if !reflect.DeepEqual(r.Synonyms, wantSyn) {
		t.Fatalf("synonyms\n%+v\nwant\n%+v", r.Synonyms, wantSyn)
	}
	m := byName["max.message.bytes"]
	if m.Value != "3000" || m.Source != SourceDynamicDefaultBrokerConfig {
		t.Errorf("max.message.bytes = %+v", m)
	}
	// Without overrides the dynamic per-broker value wins.
	entries, _ = dyn.DescribeTopic(nil)
	for _, e := range entries {
		if e.Name == "retention.ms" && (e.Value != "1000" || e.Source != SourceDynamicBrokerConfig) {
			t.Errorf("retention.ms without override = %+v", e)
		}
	}
	// Broker view: derived head key reports the derived value.
	for _, e := range static.DescribeBroker() {
		switch e.Name {
		case "log.retention.ms":
			if e.Value != "5400000" || e.Source != SourceStaticBrokerConfig || e.ReadOnly {
				t.Errorf("broker log.retention.ms = %+v", e)
			}
		case "log.retention.minutes":
			if e.Value != "90" || e.Source != SourceStaticBrokerConfig {
				t.Errorf("broker log.retention.minutes = %+v", e)
			}
		case "broker.rack":
			if !e.Null || e.Source != SourceDefaultConfig {
				t.Errorf("broker.rack = %+v", e)
			}
		case "log.dir":
			if e.Value != "./data/kafka-logs" || !e.ReadOnly {
				t.Errorf("log.dir = %+v", e)
			}
		}
	}
}

func TestDynamicBrokerConfigs(t *testing.T) {
	c := mustParse(t, "num.io.threads=4")
	if err := ValidateDynamicBroker(map[string]string{"num.io.threads": "16", "log.retention.ms": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := ValidateDynamicBroker(map[string]string{"broker.id": "3"}); !errors.Is(err, ErrNotDynamic) {
		t.Errorf("broker.id dynamic: %v", err)
	}
	if err := ValidateDynamicBroker(map[string]string{"nope": "3"}); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown dynamic: %v", err)
	}
	if err := ValidateDynamicBroker(map[string]string{"num.io.threads": "0"}); !errors.Is(err, ErrInvalidValue) {
		t.Errorf("invalid dynamic: %v", err)
	}
	d, errs := c.WithDynamic(map[string]string{"num.io.threads": "16", "broker.id": "9"}, map[string]string{"num.io.threads": "12", "log.retention.hours": "1"})
	// broker.id and log.retention.hours are static-only (Kafka: only the
	// head synonym log.retention.ms is dynamic).
	if len(errs) != 2 || !errors.Is(errs[0], ErrNotDynamic) || !errors.Is(errs[1], ErrNotDynamic) {
		t.Errorf("errs = %v", errs)
	}
	if v, src := d.Get("num.io.threads"); v != int32(16) || src != SourceDynamicBrokerConfig {
		t.Errorf("num.io.threads = %v %v", v, src)
	}
	if d.BrokerID() != -1 {
		t.Error("non-dynamic key applied")
	}
	if c.Int("num.io.threads") != 4 {
		t.Error("WithDynamic changed the original")
	}
	// Listener updates that break cross-key rules are dropped, others kept.
	d, errs = c.WithDynamic(map[string]string{"advertised.listeners": "OTHER://h:1", "num.io.threads": "5"}, nil)
	if len(errs) == 0 || d.Int("num.io.threads") != 5 || d.AdvertisedListeners()[0].Name != "PLAINTEXT" {
		t.Errorf("bad listener update: %v %d %v", errs, d.Int("num.io.threads"), d.AdvertisedListeners())
	}
}

// escapeProp writes s so ParseProperties reads it back unchanged.
func escapeProp(s string, key bool) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\\' || r == '=' || r == ':' || r == '#' || r == '!':
			b.WriteString(`\` + string(r))
		case r == ' ' && (key || i == 0):
			b.WriteString(`\ `)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\f':
			b.WriteString(`\f`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func FuzzParse(f *testing.F) {
	f.Add("broker.id=1\nlisteners=PLAINTEXT://:9092\nlog.dirs=/a,/b", "k", "v")
	f.Add("a\\\n  b=c\\u00e9\r\n!x\n# y", " key with spaces", "val\\ue")
	f.Add("zookeeper.connect=h:1,h2/chroot\nlog.retention.ms=-1", "\t", "=:#!")
	f.Add(`\u12`, "", "")
	f.Fuzz(func(t *testing.T, text, key, value string) {
		// Never panics; errors are typed.
		if c, err := Parse(text, nil); err == nil {
			_ = c.DescribeBroker()
			_, _ = c.DescribeTopic(nil)
			_ = c.LogRetentionMs() + c.LogRollMs()
		} else if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrInvalidValue) {
			t.Fatalf("untyped error %v", err)
		}
		// Escaping round-trips any key and value (valid UTF-8).
		if key == "" || !utf8Valid(key) || !utf8Valid(value) {
			return
		}
		line := escapeProp(key, true) + "=" + escapeProp(value, false)
		props, err := ParseProperties("# c\n" + line + "\n")
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if len(props) != 1 || props[0].Key != key || props[0].Value != value {
			t.Fatalf("%q round-tripped to %#v", line, props)
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestGeneratedDocs keeps broker/config/CONFIGURATION.md equal to what the
// tables generate (go test ./broker/config -run TestGeneratedDocs -update).
func TestGeneratedDocs(t *testing.T) {
	want := "# Gregor configuration reference\n\nGenerated from the key tables in broker/config (keys.go, topic.go); do not edit by hand.\n" +
		"Regenerate with `go test ./broker/config -run TestGeneratedDocs -update`.\n\n" + Markdown()
	if *update {
		if err := os.WriteFile("CONFIGURATION.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("CONFIGURATION.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Error("CONFIGURATION.md is stale; regenerate it with -update")
	}
}

func TestKafkaTypes(t *testing.T) {
	want := map[string]int8{
		"broker.id": KafkaTypeInt, "socket.request.max.bytes": KafkaTypeInt, "message.max.bytes": KafkaTypeInt,
		"log.segment.bytes": KafkaTypeInt, "zookeeper.session.timeout.ms": KafkaTypeInt, "group.initial.rebalance.delay.ms": KafkaTypeInt,
		"log.flush.offset.checkpoint.interval.ms": KafkaTypeInt,
		"log.retention.ms":                        KafkaTypeLong, "log.retention.bytes": KafkaTypeLong, "connections.max.idle.ms": KafkaTypeLong,
		"log.cleaner.dedupe.buffer.size": KafkaTypeLong, "log.flush.interval.messages": KafkaTypeLong,
		"listeners": KafkaTypeList, "log.cleanup.policy": KafkaTypeList, "zookeeper.connect": KafkaTypeString,
		"auto.create.topics.enable": KafkaTypeBoolean, "log.cleaner.min.cleanable.ratio": KafkaTypeDouble,
	}
	for name, kt := range want {
		k, _ := LookupBrokerKey(name)
		if got := k.KafkaType(); got != kt {
			t.Errorf("%s: Kafka type %d, want %d", name, got, kt)
		}
	}
	for _, tk := range TopicKeys() {
		if tk.KafkaType() == KafkaTypeUnknown {
			t.Errorf("topic key %s has no Kafka type", tk.Name)
		}
	}
}

// BenchmarkLoadSample measures reading and validating the shipped sample.
func BenchmarkLoadSample(b *testing.B) {
	text, err := os.ReadFile(filepath.Join(testutil.RepoRoot(b), "config", "server.properties"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := Parse(string(text), nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestIntGetterAcceptsSizesAndDurations(t *testing.T) {
	c := mustParse(t, "socket.send.buffer.bytes=65536")
	if c.Int("socket.send.buffer.bytes") != 65536 || c.Int("socket.request.max.bytes") != 104857600 ||
		c.Int("zookeeper.session.timeout.ms") != 18000 || c.Int("log.flush.interval.messages") != 1<<31-1 {
		t.Errorf("Int on size/duration/long keys: %d %d %d %d", c.Int("socket.send.buffer.bytes"), c.Int("socket.request.max.bytes"),
			c.Int("zookeeper.session.timeout.ms"), c.Int("log.flush.interval.messages"))
	}
}
