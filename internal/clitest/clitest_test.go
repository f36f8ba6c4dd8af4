package clitest

import (
	"context"
	"testing"
	"time"

	"github.com/gregorlog/gregor/internal/cli"
)

func TestZKServersServe(t *testing.T) {
	for _, impl := range ZKServers() {
		t.Run(impl.Name, func(t *testing.T) {
			addr := impl.Start(t)
			conn, err := cli.ZKConnect(context.Background(), addr, 10*time.Second, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if ok, _, err := conn.Exists("/zookeeper"); err != nil || !ok {
				t.Fatalf("/zookeeper: exists=%v err=%v", ok, err)
			}
		})
	}
}
