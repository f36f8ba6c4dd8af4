package zkmeta_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/broker/zkmeta"
	"github.com/gregorlog/gregor/zkstore"
	zkcfg "github.com/gregorlog/gregor/zkstore/config"
)

func benchServer(b *testing.B) string {
	cfg, _, err := zkcfg.Parse(strings.NewReader("tickTime=2000\ndataDir=" + b.TempDir() +
		"\nclientPort=0\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\nforceSync=no\n"))
	if err != nil {
		b.Fatal(err)
	}
	srv, err := zkstore.NewServer(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	return srv.Addr().(*net.TCPAddr).String()
}

// BenchmarkFencedStateUpdate measures a controller's partition state write
// (a multi: CheckVersion on /controller_epoch + conditional SetData), and
// BenchmarkPlainSetData the bare SetData of the same znode on the same
// server, so the ratio is the cost of fencing. Run both in one go:
//
//	go test -run '^$' -bench 'FencedStateUpdate|PlainSetData' -benchtime 2000x ./broker/zkmeta/
func BenchmarkFencedStateUpdate(b *testing.B) {
	ctx := context.Background()
	c, err := zkmeta.Connect(ctx, zkmeta.Options{Servers: []string{benchServer(b)}, SessionTimeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	l, err := c.TryElect(ctx, 1)
	if err != nil || !l.Self {
		b.Fatal(l, err)
	}
	if _, err := c.CreateTopic(ctx, l.Fence, zkmeta.TopicSpec{Name: "t", Assignment: map[int32][]int32{0: {1}}}); err != nil {
		b.Fatal(err)
	}
	s, err := c.PartitionState(ctx, "t", 0)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s.LeaderEpoch++
		v, err := c.UpdatePartitionState(ctx, l.Fence, "t", 0, s)
		if err != nil {
			b.Fatal(err)
		}
		s.ZkVersion = v
	}
}

func BenchmarkPlainSetData(b *testing.B) {
	conn, _, err := zk.Connect([]string{benchServer(b)}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Create("/state", []byte(`{}`), 0, zk.WorldACL(zk.PermAll)); err != nil {
		b.Fatal(err)
	}
	data := []byte(`{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":1,"isr":[1]}`)
	version := int32(0)
	for b.Loop() {
		st, err := conn.Set("/state", data, version)
		if err != nil {
			b.Fatal(err)
		}
		version = st.Version
	}
}
