package kafkatest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/broker"
	"github.com/gregorlog/gregor/broker/config"
)

// "gregor" is Gregor's own broker, in process: one node on 127.0.0.1:0
// with embedded coordination (zkstore) and a temp data dir. Like the kfake
// entry it disables auto topic creation unless BrokerConfigs enables it.
func init() { Register("gregor", startGregor) }

func startGregor(t testing.TB, o Options) string {
	t.Helper()
	dir := t.TempDir()
	m := map[string]string{
		"broker.id":                        "0",
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"log.dirs":                         filepath.Join(dir, "kafka-logs"),
		"embedded.zookeeper.data.dir":      filepath.Join(dir, "zookeeper"),
		"offsets.topic.replication.factor": "1",
		"num.partitions":                   "1",
		"auto.create.topics.enable":        "false",
	}
	for k, v := range o.BrokerConfigs {
		m[k] = v
	}
	cfg, err := config.FromMap(m)
	if err != nil {
		t.Fatalf("kafkatest: gregor config: %v", err)
	}
	b, err := broker.New(cfg, broker.Options{Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatalf("kafkatest: gregor: %v", err)
	}
	if err := b.Start(); err != nil {
		t.Fatalf("kafkatest: starting gregor: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	if len(o.SeedTopics) > 0 {
		p := o.SeedPartitions
		if p <= 0 {
			p = 1
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
		if err != nil {
			t.Fatalf("kafkatest: %v", err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := kadm.NewClient(cl).CreateTopics(ctx, p, 1, nil, o.SeedTopics...)
		if err == nil {
			err = res.Error()
		}
		if err != nil {
			t.Fatalf("kafkatest: seeding topics %v: %v", o.SeedTopics, err)
		}
	}
	return b.Addr()
}
