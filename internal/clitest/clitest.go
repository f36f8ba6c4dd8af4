// Package clitest holds test helpers shared by the tests of Gregor's
// command-line tools (cmd/gregor, cmd/bench).
//
// ZKServers lists the ZooKeeper implementations every ZooKeeper-facing
// command is tested against, so one test body checks Apache ZooKeeper 3.8
// (the reference) and Gregor's zkstore alike:
//
//	for _, impl := range clitest.ZKServers() {
//		t.Run(impl.Name, func(t *testing.T) { addr := impl.Start(t); ... })
//	}
//
// Kafka brokers come from internal/kafkatest.
package clitest

import (
	"testing"

	"github.com/gregorlog/gregor/internal/zkref"
	"github.com/gregorlog/gregor/zkstore"
	"github.com/gregorlog/gregor/zkstore/config"
)

// ZKServer names a ZooKeeper implementation and starts it for one test,
// returning its "127.0.0.1:port" address; it stops when the test ends.
type ZKServer struct {
	Name  string
	Start func(t *testing.T) string
}

// ZKServers returns the reference ZooKeeper and zkstore, both with TTL and
// container nodes enabled (zookeeper.extendedTypesEnabled).
func ZKServers() []ZKServer {
	return []ZKServer{
		{"zkref", func(t *testing.T) string {
			return zkref.Start(t, zkref.Config{JVMProps: map[string]string{"zookeeper.extendedTypesEnabled": "true"}}).Addr
		}},
		{"zkstore", StartZkstore},
	}
}

// StartZkstore runs Gregor's ZooKeeper-compatible server on a free
// loopback port with a temporary data directory.
func StartZkstore(t *testing.T) string {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.DataLogDir = cfg.DataDir
	cfg.ClientPort = 0
	cfg.ClientPortAddress = "127.0.0.1"
	cfg.AdminEnableServer = false
	cfg.ExtendedTypesEnabled = true
	srv, err := zkstore.NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr().String()
}
