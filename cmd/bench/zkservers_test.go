package main

import (
	"testing"

	"github.com/gregorlog/gregor/internal/zkref"
	"github.com/gregorlog/gregor/zkstore"
	"github.com/gregorlog/gregor/zkstore/config"
)

// zkServers are the ZooKeeper implementations `bench zk` is tested against:
// Apache ZooKeeper 3.8 (the reference) and Gregor's zkstore.
var zkServers = []struct {
	name  string
	start func(t *testing.T) string
}{
	{"zkref", func(t *testing.T) string { return zkref.Start(t).Addr }},
	{"zkstore", func(t *testing.T) string {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.DataLogDir = cfg.DataDir
		cfg.ClientPort = 0
		cfg.ClientPortAddress = "127.0.0.1"
		cfg.AdminEnableServer = false
		srv, err := zkstore.NewServer(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return srv.Addr().String()
	}},
}
