package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestAdminKadm(t *testing.T) {
	b := startBroker(t, nil)
	adm := newAdmin(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// CreateTopics: configs, validate_only, errors.
	res, err := adm.CreateTopic(ctx, 2, 1, map[string]*string{"retention.ms": ptr("1000"), "cleanup.policy": ptr("compact")}, "a")
	if err != nil || res.Err != nil {
		t.Fatalf("create: %v %v", err, res.Err)
	}
	if res.ID == [16]byte{} {
		t.Error("CreateTopics v7 returned no topic id")
	}
	vres, err := adm.ValidateCreateTopics(ctx, 3, 1, nil, "v")
	if err != nil || vres.Error() != nil {
		t.Fatalf("validate only: %v %v", err, vres.Error())
	}
	md, err := adm.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := md.Topics["v"]; ok {
		t.Error("validate_only created the topic")
	}
	if md.Topics["a"].ID != res.ID {
		t.Errorf("Metadata topic id %v, CreateTopics said %v", md.Topics["a"].ID, res.ID)
	}
	for name, want := range map[string]error{"bad/name": kerr.InvalidTopicException, "a": kerr.TopicAlreadyExists} {
		r, _ := adm.CreateTopic(ctx, 1, 1, nil, name)
		if !errorsIs(r.Err, want) {
			t.Errorf("create %q: %v, want %v", name, r.Err, want)
		}
	}
	if r, _ := adm.CreateTopic(ctx, 1, 3, nil, "rf3"); !errorsIs(r.Err, kerr.InvalidReplicationFactor) {
		t.Errorf("rf 3 on one broker: %v", r.Err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": ptr("soon")}, "badcfg"); !errorsIs(r.Err, kerr.InvalidConfig) {
		t.Errorf("bad config: %v", r.Err)
	}

	// DescribeConfigs: override source and the default's synonym.
	rcs, err := adm.DescribeTopicConfigs(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On("a", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*kadm.Config{}
	for i := range rc.Configs {
		got[rc.Configs[i].Key] = &rc.Configs[i]
	}
	if c := got["retention.ms"]; c.MaybeValue() != "1000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Errorf("retention.ms = %q from %v", c.MaybeValue(), c.Source)
	}
	if c := got["segment.bytes"]; c.MaybeValue() != "1073741824" || c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Errorf("segment.bytes = %q from %v", c.MaybeValue(), c.Source)
	}

	// IncrementalAlterConfigs: set, delete, append.
	ar, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "max.message.bytes", Value: ptr("4000")},
		{Op: kadm.DeleteConfig, Name: "retention.ms"},
		{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: ptr("delete")},
	}, "a")
	if err != nil || ar[0].Err != nil {
		t.Fatalf("incremental alter: %v %v", err, ar)
	}
	rcs, _ = adm.DescribeTopicConfigs(ctx, "a")
	rc, _ = rcs.On("a", nil)
	got = map[string]*kadm.Config{}
	for i := range rc.Configs {
		got[rc.Configs[i].Key] = &rc.Configs[i]
	}
	if got["max.message.bytes"].MaybeValue() != "4000" || got["retention.ms"].Source != kmsg.ConfigSourceDefaultConfig || got["cleanup.policy"].MaybeValue() != "compact,delete" {
		t.Errorf("after incremental alter: %q %v %q", got["max.message.bytes"].MaybeValue(), got["retention.ms"].Source, got["cleanup.policy"].MaybeValue())
	}
	// The new max.message.bytes is enforced at once.
	cl := newClient(t, b)
	if r := produceRaw(t, cl, 9, 1, "a", buildBatch(t, string(make([]byte, 5000)))); r.ErrorCode != kerr.MessageTooLarge.Code {
		t.Errorf("5000-byte batch after max.message.bytes=4000: error %d", r.ErrorCode)
	}
	// AlterConfigs (non-incremental) replaces the whole set.
	if ar, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "segment.ms", Value: ptr("100000")}}, "a"); err != nil || ar[0].Err != nil {
		t.Fatalf("alter: %v %v", err, ar)
	}
	rcs, _ = adm.DescribeTopicConfigs(ctx, "a")
	rc, _ = rcs.On("a", nil)
	for _, c := range rc.Configs {
		if c.Source == kmsg.ConfigSourceDynamicTopicConfig && c.Key != "segment.ms" {
			t.Errorf("%s still overridden after AlterConfigs", c.Key)
		}
	}
	// Broker configs: dynamic per-broker value with its source.
	if ar, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "log.retention.ms", Value: ptr("3600000")}}, 0); err != nil || ar[0].Err != nil {
		t.Fatalf("alter broker: %v %v", err, ar)
	}
	brc, err := adm.DescribeBrokerConfigs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i := range brc[0].Configs {
		c := &brc[0].Configs[i]
		if c.Key == "log.retention.ms" {
			found = c.MaybeValue() == "3600000" && c.Source == kmsg.ConfigSourceDynamicBrokerConfig
		}
	}
	if !found {
		t.Error("dynamic log.retention.ms not reported")
	}
	if ar, _ := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "broker.id", Value: ptr("5")}}, 0); ar[0].Err == nil {
		t.Error("static broker.id altered dynamically")
	}

	// CreatePartitions.
	cp, err := adm.CreatePartitions(ctx, 2, "a")
	if err != nil || cp["a"].Err != nil {
		t.Fatalf("create partitions: %v %v", err, cp)
	}
	md, _ = adm.Metadata(ctx, "a")
	if n := len(md.Topics["a"].Partitions); n != 4 {
		t.Errorf("a has %d partitions after +2, want 4", n)
	}
	if _, err := b.Engine().Log("a", 3); err != nil {
		t.Errorf("log of new partition: %v", err)
	}
	if cp, _ := adm.UpdatePartitions(ctx, 2, "a"); !errorsIs(cp["a"].Err, kerr.InvalidPartitions) {
		t.Errorf("shrink: %v", cp["a"].Err)
	}

	// DeleteRecords.
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "d"); err != nil {
		t.Fatal(err)
	}
	p := newClient(t, b, kgo.DefaultProduceTopic("d"))
	for range 10 {
		if err := p.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	os := kadm.Offsets{}
	os.Add(kadm.Offset{Topic: "d", Partition: 0, At: 4})
	dr, err := adm.DeleteRecords(ctx, os)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := dr.Lookup("d", 0); r.Err != nil || r.LowWatermark != 4 {
		t.Errorf("delete records: %+v", r)
	}
	starts, _ := adm.ListStartOffsets(ctx, "d")
	if o, _ := starts.Lookup("d", 0); o.Offset != 4 {
		t.Errorf("start offset %d after DeleteRecords(4)", o.Offset)
	}

	// DescribeCluster and DescribeLogDirs.
	dc := kmsg.NewPtrDescribeClusterRequest()
	dc.EndpointType = 1
	dcr, err := dc.RequestWith(ctx, cl)
	if err != nil || dcr.ErrorCode != 0 || dcr.ClusterID != b.ClusterID() || len(dcr.Brokers) != 1 || dcr.ControllerID != 0 {
		t.Errorf("describe cluster: %v %+v", err, dcr)
	}
	dirs, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	dirs.Each(func(d kadm.DescribedLogDir) {
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) { n++ })
	})
	if n != 5 { // a: 4 partitions, d: 1
		t.Errorf("DescribeLogDirs lists %d partitions, want 5", n)
	}

	// DeleteTopics by name; unknown names answer UNKNOWN_TOPIC_OR_PARTITION.
	dr2, err := adm.DeleteTopics(ctx, "a", "nope")
	if err != nil {
		t.Fatal(err)
	}
	if dr2["a"].Err != nil || !errorsIs(dr2["nope"].Err, kerr.UnknownTopicOrPartition) {
		t.Errorf("delete topics: %v / %v", dr2["a"].Err, dr2["nope"].Err)
	}
	if _, err := b.Engine().Log("a", 0); err == nil {
		t.Error("log of a deleted topic still open")
	}
}
