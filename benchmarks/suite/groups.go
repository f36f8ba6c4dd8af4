package main

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/benchmarks/suite/report"
)

// groupAPIs are the Kafka API keys consumer groups need.
var groupAPIs = map[int16]string{8: "OffsetCommit", 10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat", 14: "SyncGroup"}

// groupsSupported asks the broker's ApiVersions whether it serves consumer
// groups; the suite reports the group cases as unavailable when not.
func groupsSupported(ctx context.Context, addr string) error {
	_, cl, err := admin(addr)
	if err != nil {
		return err
	}
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(cctx, cl)
	if err != nil {
		return err
	}
	have := map[int16]bool{}
	for _, k := range resp.ApiKeys {
		have[k.ApiKey] = true
	}
	var missing []string
	for k, name := range groupAPIs {
		if !have[k] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: the broker does not advertise %s", errUnsupported, strings.Join(sortedStrings(missing), ", "))
	}
	return nil
}

func sortedStrings(xs []string) []string {
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			if xs[j] < xs[i] {
				xs[i], xs[j] = xs[j], xs[i]
			}
		}
	}
	return xs
}

// groupSweep: the commit rate of one closed-loop committer (OffsetCommit
// of 8 partitions, simple-consumer style, generation -1) and the time a
// two-member rebalance takes (a second member joins a group of one).
func (s *suite) groupSweep() {
	b, berr := s.broker(nil, false, false)
	if b != nil {
		defer b.stop()
	}
	supErr := berr
	if supErr == nil {
		supErr = groupsSupported(s.ctx, b.addr)
	}
	topic := "groups"
	if supErr == nil {
		supErr = createTopic(s.ctx, b.addr, topic, 8, nil)
	}
	m, err := s.repeat("group commits", func(run int) (runMetrics, error) {
		if supErr != nil {
			return nil, supErr
		}
		return s.commitRate(b.addr, topic, fmt.Sprintf("commit-%d", run))
	})
	s.add(report.Case{ID: "groups/commit", Sweep: "groups", Target: "gregor", Params: map[string]string{"what": "OffsetCommit, 8 partitions, 1 committer"}, Metrics: m}, err)
	m, err = s.repeat("group rebalance", func(run int) (runMetrics, error) {
		if supErr != nil {
			return nil, supErr
		}
		return s.rebalance(b.addr, topic, fmt.Sprintf("rebalance-%d", run))
	})
	s.add(report.Case{ID: "groups/rebalance", Sweep: "groups", Target: "gregor", Params: map[string]string{"what": "second member joins a group of one (8 partitions, eager range balancer, 100 ms heartbeats)"}, Metrics: m}, err)
}

func (s *suite) commitRate(addr, topic, group string) (runMetrics, error) {
	adm, cl, err := admin(addr)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var n int64
	start := time.Now()
	end := start.Add(s.p.dur)
	for time.Now().Before(end) && s.ctx.Err() == nil {
		offs := kadm.Offsets{}
		for p := range int32(8) {
			offs.Add(kadm.Offset{Topic: topic, Partition: p, At: n, LeaderEpoch: -1})
		}
		cctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		resp, err := adm.CommitOffsets(cctx, group, offs)
		cancel()
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return nil, fmt.Errorf("%w: commit: %w", errSuite, err)
		}
		n++
	}
	return runMetrics{report.MOpsPerSec: float64(n) / time.Since(start).Seconds()}, nil
}

func (s *suite) rebalance(addr, topic, group string) (runMetrics, error) {
	member := func(assigned *atomic.Int64) (*kgo.Client, error) {
		// An eager balancer: every member is revoked and reassigned, so both
		// see a new assignment and the rebalance has a clear end.
		return kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.HeartbeatInterval(100*time.Millisecond), kgo.Balancers(kgo.RangeBalancer()),
			kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
				if len(m[topic]) > 0 {
					assigned.Store(time.Now().UnixNano())
				}
			}))
	}
	wait := func(cl *kgo.Client, v *atomic.Int64, after int64) error {
		deadline := time.Now().Add(60 * time.Second)
		for v.Load() <= after {
			if time.Now().After(deadline) || s.ctx.Err() != nil {
				return fmt.Errorf("%w: no assignment within 60s", errSuite)
			}
			// Polling drives kgo's group management.
			pctx, cancel := context.WithTimeout(s.ctx, 50*time.Millisecond)
			cl.PollFetches(pctx)
			cancel()
		}
		return nil
	}
	var a1, a2 atomic.Int64
	c1, err := member(&a1)
	if err != nil {
		return nil, err
	}
	defer c1.Close()
	if err := wait(c1, &a1, 0); err != nil {
		return nil, err
	}
	start := time.Now()
	c2, err := member(&a2)
	if err != nil {
		return nil, err
	}
	defer c2.Close()
	done := make(chan error, 1)
	go func() { done <- wait(c1, &a1, start.UnixNano()) }()
	if err := wait(c2, &a2, 0); err != nil {
		return nil, err
	}
	if err := <-done; err != nil {
		return nil, err
	}
	last := max(a1.Load(), a2.Load())
	return runMetrics{report.MRebalanceMs: float64(last-start.UnixNano()) / 1e6}, nil
}
