// Package kafkatest starts a Kafka-protocol broker on loopback for tests of
// Kafka *clients* (cmd/gregor, cmd/bench and anything else built on kgo).
//
// Test bodies call Start and use the returned bootstrap address; they never
// name the implementation, so the same tests run against any broker:
//
//	bootstrap := kafkatest.Start(t)
//
// Implementations are registered by name in a table: "gregor", Gregor's
// own broker in process (gregor.go, the Default), and "kfake", franz-go's
// protocol-conformant in-process fake. GREGOR_TEST_BROKER=<name> selects
// one for a run (GREGOR_TEST_BROKER=kfake runs the client suites against
// the fake, to tell a client bug from a broker bug). The cmd/gregor and
// cmd/bench suites, consumer groups included, pass against both. Tests
// whose expected output really differs between brokers key their golden
// files by Name().
package kafkatest

import (
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Default names the implementation Start uses unless GREGOR_TEST_BROKER
// overrides it.
const Default = "gregor"

// Options tune a started broker. The zero value is a single broker with the
// broker's own defaults (message.max.bytes 1048588, no auto topic creation),
// i.e. the sample configuration's limits.
type Options struct {
	// BrokerConfigs are server.properties-style overrides
	// (e.g. "message.max.bytes": "20000000").
	BrokerConfigs map[string]string
	// SeedTopics are created, with SeedPartitions partitions, before Start
	// returns.
	SeedTopics     []string
	SeedPartitions int32
}

// Impl starts a broker for t and returns its bootstrap address
// ("127.0.0.1:port"). It must register its own cleanup with t.Cleanup.
type Impl func(t testing.TB, o Options) (bootstrap string)

var (
	implsMu sync.Mutex
	impls   = map[string]Impl{"kfake": startKfake}
)

// Register adds an implementation under name. It panics on a duplicate name,
// since two registrations would make test runs ambiguous.
func Register(name string, impl Impl) {
	implsMu.Lock()
	defer implsMu.Unlock()
	if _, ok := impls[name]; ok {
		panic(fmt.Sprintf("kafkatest: implementation %q registered twice", name))
	}
	impls[name] = impl
}

// Name is the implementation Start uses: GREGOR_TEST_BROKER, or Default.
// Tests whose expected output legitimately differs between brokers (a
// fake's config synonyms, say) key their golden files by it.
func Name() string {
	if name := os.Getenv("GREGOR_TEST_BROKER"); name != "" {
		return name
	}
	return Default
}

// Start starts the selected broker implementation and returns its bootstrap
// address. The broker is stopped when the test ends.
func Start(t testing.TB) string {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) string {
	t.Helper()
	name := Name()
	implsMu.Lock()
	impl, ok := impls[name]
	var names []string
	for n := range impls {
		names = append(names, n)
	}
	implsMu.Unlock()
	if !ok {
		sort.Strings(names)
		t.Fatalf("kafkatest: unknown broker implementation %q (have %v)", name, names)
	}
	return impl(t, o)
}

func startKfake(t testing.TB, o Options) string {
	t.Helper()
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		// kfake listens on 127.0.0.1 when given port 0.
		kfake.Ports(0),
		// Like the sample server.properties (num.partitions=1).
		kfake.DefaultNumPartitions(1),
	}
	if len(o.BrokerConfigs) > 0 {
		opts = append(opts, kfake.BrokerConfigs(o.BrokerConfigs))
	}
	if len(o.SeedTopics) > 0 {
		p := o.SeedPartitions
		if p <= 0 {
			p = 1
		}
		opts = append(opts, kfake.SeedTopics(p, o.SeedTopics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kafkatest: starting kfake: %v", err)
	}
	t.Cleanup(c.Close)
	addrs := c.ListenAddrs()
	if len(addrs) == 0 {
		t.Fatal("kafkatest: kfake has no listen address")
	}
	return addrs[0]
}
