package kafkatest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestStartWithSeedsAndConfigs(t *testing.T) {
	bs := StartWith(t, Options{
		BrokerConfigs:  map[string]string{"message.max.bytes": "15728640"},
		SeedTopics:     []string{"a", "b"},
		SeedPartitions: 3,
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(bs))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	md, err := adm.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		if n := len(md.Topics[name].Partitions); n != 3 {
			t.Errorf("topic %s has %d partitions, want 3", name, n)
		}
	}
	rcs, err := adm.DescribeBrokerConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rc := range rcs {
		for _, c := range rc.Configs {
			if c.Key == "message.max.bytes" && c.Value != nil && *c.Value == "15728640" {
				found = true
			}
		}
	}
	if !found {
		t.Error("broker does not report message.max.bytes=15728640")
	}
	// A topic created without a partition count gets the sample config's
	// num.partitions=1.
	if _, err := adm.CreateTopic(ctx, -1, -1, nil, "c"); err != nil {
		t.Fatal(err)
	}
	md, err = adm.Metadata(ctx, "c")
	if err != nil || len(md.Topics["c"].Partitions) != 1 {
		t.Errorf("default partitions: %v %d", err, len(md.Topics["c"].Partitions))
	}
}

func TestRegister(t *testing.T) {
	called := false
	Register("test-impl", func(t testing.TB, o Options) string { called = true; return "127.0.0.1:1" })
	t.Setenv("GREGOR_TEST_BROKER", "test-impl")
	if got := Start(t); got != "127.0.0.1:1" || !called {
		t.Fatalf("Start with GREGOR_TEST_BROKER=test-impl returned %q (called=%v)", got, called)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a name twice should panic")
		}
	}()
	Register("test-impl", nil)
}
