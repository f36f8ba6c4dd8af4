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

// BenchmarkZK measures create/get/set ops/s (and a 90% get / 10% set mix)
// with 1 and 32 go-zookeeper clients, zkstore and Apache ZooKeeper 3.8
// side by side (each case runs on both back to back, so the ratio sees the
// same machine load; fsync on in both). Run:
// go test -run XXX -bench ZK -benchtime 10000x ./zkstore/
func BenchmarkZK(b *testing.B) {
	addrs := map[string]string{"zkstore": startTestServer(b, testSettings(b)).Addr().String()}
	targets := []string{"zkstore"}
	if err := zkref.Available(); err == nil {
		addrs["zookeeper"] = zkref.Start(b).Addr
		targets = append(targets, "zookeeper")
	} else {
		b.Logf("Apache ZooKeeper not available: %v", err)
	}
	for _, clients := range []int{1, 32} {
		conns := map[string][]*zk.Conn{}
		created := map[string]*atomic.Int64{}
		prefix := fmt.Sprintf("/b%d", clients)
		for _, target := range targets {
			for i := 0; i < clients; i++ {
				c, _, err := zk.Connect([]string{addrs[target]}, 10*time.Second, zk.WithLogger(nopLogger{}))
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				conns[target] = append(conns[target], c)
			}
			conns[target][0].Create(prefix, nil, 0, openACL)
			created[target] = new(atomic.Int64) // prefix/n0..n(created-1) exist
			// Seed nodes so get/set can run alone (-bench filters).
			for i := 0; i < 200; i++ {
				if _, err := conns[target][0].Create(fmt.Sprintf("%s/n%d", prefix, created[target].Add(1)-1), nil, 0, openACL); err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, op := range []string{"create", "get", "set", "mixed"} {
			for _, target := range targets {
				b.Run(fmt.Sprintf("%s/clients=%d/%s", op, clients, target), func(b *testing.B) {
					runZKOps(b, conns[target], op, prefix, created[target])
				})
			}
		}
	}
}

func runZKOps(b *testing.B, conns []*zk.Conn, op, prefix string, created *atomic.Int64) {
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
				if op == "create" {
					_, err = c.Create(fmt.Sprintf("%s/n%d", prefix, created.Add(1)-1), data, 0, openACL)
				} else {
					p := fmt.Sprintf("%s/n%d", prefix, i%created.Load())
					switch {
					case op == "get", op == "mixed" && i%10 != 0:
						_, _, err = c.Get(p)
					default:
						_, err = c.Set(p, data, -1)
					}
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
}
