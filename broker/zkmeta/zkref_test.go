package zkmeta_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gregorlog/gregor/broker/config"
	"github.com/gregorlog/gregor/broker/zkmeta"
	"github.com/gregorlog/gregor/broker/zkmeta/zkmetatest"
	"github.com/gregorlog/gregor/internal/zkref"
)

// TestAgainstApacheZooKeeper runs the behaviour suite against Debian's
// Apache ZooKeeper 3.8 (one server; each subtest has its own base path).
// tickTime 500 ms lets the suite's 4 s sessions expire quickly.
func TestAgainstApacheZooKeeper(t *testing.T) {
	zkmetatest.Run(t, func(t *testing.T) string {
		return zkref.Start(t, zkref.Config{TickTime: 500, NoForceSync: true}).Addr
	})
}

func TestConnectTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = zkmeta.Connect(context.Background(), zkmeta.Options{
		Servers: []string{addr}, SessionTimeout: 2 * time.Second, ConnectionTimeout: 300 * time.Millisecond,
	})
	if !errors.Is(err, zkmeta.ErrConnect) {
		t.Fatalf("got %v, want ErrConnect", err)
	}
	t.Log(err)
}

func TestOptionsFromConfig(t *testing.T) {
	c, err := config.Parse("zookeeper.connect=127.0.0.1:2181,127.0.0.2:2182/edge\nzookeeper.session.timeout.ms=6000\nzookeeper.connection.timeout.ms=1500", nil)
	if err != nil {
		t.Fatal(err)
	}
	o := zkmeta.OptionsFromConfig(c)
	if len(o.Servers) != 2 || o.Servers[1] != "127.0.0.2:2182" || o.Chroot != "/edge" ||
		o.SessionTimeout != 6*time.Second || o.ConnectionTimeout != 1500*time.Millisecond {
		t.Errorf("options %+v", o)
	}
}
