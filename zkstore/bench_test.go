package zkstore

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/internal/zkref"
)

// BenchmarkZK measures create/get/set ops/s with 1 and 32 go-zookeeper
// clients against zkstore and, side by side, Apache ZooKeeper 3.8 (fsync
// on in both). Run: go test -run XXX -bench ZK -benchtime 2000x ./zkstore/
func BenchmarkZK(b *testing.B) {
	for _, target := range []string{"zkstore", "zookeeper"} {
		var addr string
		switch target {
		case "zkstore":
			set := testSettings(b)
			s := startTestServer(b, set)
			addr = s.Addr().String()
		case "zookeeper":
			if err := zkref.Available(); err != nil {
				b.Logf("skipping Apache ZooKeeper: %v", err)
				continue
			}
			addr = zkref.Start(b).Addr
		}
		for _, clients := range []int{1, 32} {
			conns := make([]*zk.Conn, clients)
			for i := range conns {
				c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(nopLogger{}))
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				conns[i] = c
			}
			prefix := fmt.Sprintf("/b%d", clients)
			conns[0].Create(prefix, nil, 0, openACL)
			var created atomic.Int64 // nodes prefix/n0..n(created-1) exist
			for _, op := range []string{"create", "get", "set"} {
				b.Run(fmt.Sprintf("%s/%s/clients=%d", target, op, clients), func(b *testing.B) {
					var next atomic.Int64
					var wg sync.WaitGroup
					data := make([]byte, 100)
					b.ResetTimer()
					for _, c := range conns {
						wg.Add(1)
						go func(c *zk.Conn) {
							defer wg.Done()
							for {
								i := next.Add(1) - 1
								if i >= int64(b.N) {
									return
								}
								var err error
								switch op {
								case "create":
									_, err = c.Create(fmt.Sprintf("%s/n%d", prefix, created.Add(1)-1), data, 0, openACL)
									if err != nil {
										b.Error(err)
										return
									}
									continue
								}
								p := fmt.Sprintf("%s/n%d", prefix, i%created.Load())
								switch op {
								case "get":
									_, _, err = c.Get(p)
								case "set":
									_, err = c.Set(p, data, -1)
								}
								if err != nil {
									b.Error(err)
									return
								}
							}
						}(c)
					}
					wg.Wait()
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
				})
			}
		}
	}
}
