package broker

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/broker/config"
)

// startBroker starts a broker on 127.0.0.1:0 with embedded coordination
// and a temp data dir; extra overrides server.properties keys.
func startBroker(t testing.TB, extra map[string]string) *Broker {
	t.Helper()
	b, err := startBrokerIn(t, t.TempDir(), extra)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startBrokerIn starts a broker whose data lives under dir; the caller
// checks the error.
func startBrokerIn(t testing.TB, dir string, extra map[string]string) (*Broker, error) {
	t.Helper()
	return startBrokerWith(t, dir, extra, Options{})
}

func startBrokerWith(t testing.TB, dir string, extra map[string]string, opts Options) (*Broker, error) {
	t.Helper()
	m := map[string]string{
		"broker.id":                        "0",
		"listeners":                        "PLAINTEXT://127.0.0.1:0",
		"log.dirs":                         filepath.Join(dir, "kafka-logs"),
		"embedded.zookeeper.data.dir":      filepath.Join(dir, "zookeeper"),
		"offsets.topic.replication.factor": "1",
	}
	for k, v := range extra {
		m[k] = v
	}
	cfg, err := config.FromMap(m)
	if err != nil {
		t.Fatal(err)
	}
	level := slog.LevelWarn
	if os.Getenv("GREGOR_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	b, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return b, nil
}

func newClient(t testing.TB, b *Broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func newAdmin(t testing.TB, b *Broker) *kadm.Client {
	return kadm.NewClient(newClient(t, b))
}

type kadmListed = kadm.ListedOffset

func errorsIs(err, target error) bool { return errors.Is(err, target) }
