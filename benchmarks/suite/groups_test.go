package main

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestGroupMeasurements runs the groups sweep's two measurements against
// kfake (franz-go's in-memory cluster, which serves consumer groups), so the
// code is known to work before Gregor's broker serves groups, and checks
// that groupsSupported sees the group APIs there.
func TestGroupMeasurements(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(8, "groups"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := groupsSupported(ctx, addr); err != nil {
		t.Fatalf("groupsSupported on kfake: %v", err)
	}
	s := &suite{ctx: ctx, p: profile{dur: 300 * time.Millisecond}, logf: t.Logf}
	m, err := s.commitRate(addr, "groups", "g-commit")
	if err != nil || m["ops_per_sec"] <= 0 {
		t.Fatalf("commitRate = %v, %v", m, err)
	}
	m, err = s.rebalance(addr, "groups", "g-rebalance")
	if err != nil || m["rebalance_ms"] <= 0 {
		t.Fatalf("rebalance = %v, %v", m, err)
	}
}
