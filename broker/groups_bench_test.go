package broker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkGroupCommit measures OffsetCommit through the real broker with
// kadm: 100 partitions per request, and one. Each commit is answered
// after its __consumer_offsets records are appended (default flush
// policy). Run with
//
//	go test -run '^$' -bench 'BenchmarkGroup' -count 3 ./broker/
func BenchmarkGroupCommit(b *testing.B) {
	for _, n := range []int32{100, 1} {
		b.Run(fmt.Sprintf("partitions=%d", n), func(b *testing.B) {
			br := groupBroker(b, nil)
			adm := newAdmin(b, br)
			ctx := context.Background()
			if _, err := adm.CreateTopic(ctx, 100, 1, nil, "bench"); err != nil {
				b.Fatal(err)
			}
			offs := kadm.Offsets{}
			commit := func(at int64) {
				for p := range n {
					offs.Add(kadm.Offset{Topic: "bench", Partition: p, At: at, LeaderEpoch: -1})
				}
				r, err := adm.CommitOffsets(ctx, "bench", offs)
				if err != nil {
					b.Fatal(err)
				}
				if err := r.Error(); err != nil {
					b.Fatal(err)
				}
			}
			commit(0) // finds the coordinator, loads the partition
			b.ResetTimer()
			for i := int64(1); b.Loop(); i++ {
				commit(i)
			}
			b.ReportMetric(float64(b.N)*float64(n)/b.Elapsed().Seconds(), "partition-commits/s")
		})
	}
}

// BenchmarkGroupRebalance is the time for a Stable group of 9 franz-go
// members over 100 partitions (eager range assignor) to take in a 10th
// member: from the new client's start until all 10 members hold their
// partitions (the broker, 10 clients and the benchmark share the
// machine). Between rounds the 10th member leaves, untimed.
func BenchmarkGroupRebalance(b *testing.B) {
	br := groupBroker(b, nil)
	adm := newAdmin(b, br)
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, 100, 1, nil, "bench"); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	owned := map[*kgo.Client]int{}
	total := func() (sum, members int) {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range owned {
			sum += n
			if n > 0 {
				members++
			}
		}
		return
	}
	var gen atomic.Int64
	start := func() *kgo.Client {
		var cl *kgo.Client
		cl, err := kgo.NewClient(
			kgo.SeedBrokers(br.Addr()),
			kgo.ConsumerGroup("rebalance"),
			kgo.ConsumeTopics("bench"),
			kgo.Balancers(kgo.RangeBalancer()),
			kgo.SessionTimeout(10*time.Second),
			kgo.HeartbeatInterval(100*time.Millisecond),
			kgo.DisableAutoCommit(),
			kgo.OnPartitionsAssigned(func(_ context.Context, c *kgo.Client, m map[string][]int32) {
				mu.Lock()
				owned[c] += len(m["bench"])
				mu.Unlock()
				gen.Add(1)
			}),
			kgo.OnPartitionsRevoked(func(_ context.Context, c *kgo.Client, m map[string][]int32) {
				mu.Lock()
				owned[c] -= len(m["bench"])
				mu.Unlock()
			}),
			kgo.OnPartitionsLost(func(_ context.Context, c *kgo.Client, m map[string][]int32) {
				mu.Lock()
				owned[c] -= len(m["bench"])
				mu.Unlock()
			}),
		)
		if err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		owned[cl] += 0
		mu.Unlock()
		// The group is joined by the client's poll loop.
		go func() {
			for {
				fs := cl.PollFetches(context.Background())
				if fs.IsClientClosed() {
					return
				}
			}
		}()
		return cl
	}
	waitFor := func(members int) {
		deadline := time.Now().Add(60 * time.Second)
		for {
			sum, m := total()
			if sum == 100 && m == members {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("rebalance to %d members: %d partitions over %d members", members, sum, m)
			}
			time.Sleep(time.Millisecond)
		}
	}
	var clients []*kgo.Client
	for range 9 {
		clients = append(clients, start())
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	waitFor(9)
	b.ResetTimer()
	for b.Loop() {
		c := start()
		waitFor(10)
		b.StopTimer()
		c.Close() // leaves the group
		mu.Lock()
		delete(owned, c)
		mu.Unlock()
		waitFor(9)
		b.StartTimer()
	}
}
