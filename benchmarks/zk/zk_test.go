// Package zkbench measures create, get and set throughput and latency of
// zkstore against Apache ZooKeeper 3.8 (Debian's package, via
// internal/zkref) on the same machine, with the same durability: both
// fsync their transaction log before acknowledging a write (forceSync=yes,
// the default of both).
//
// Each sub-benchmark runs b.N operations spread over 1 or 32 go-zookeeper
// sessions issuing requests back to back (closed loop), and reports ops/s
// and per-operation latency percentiles (p50, p99, in µs) besides ns/op.
//
//	go test ./benchmarks/zk -run '^$' -bench . -benchtime 2000x -count 5
//
// Both servers run for the whole process; data directories are temporary.
package zkbench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/internal/testutil"
	"github.com/gregorlog/gregor/internal/zkref"
	"github.com/gregorlog/gregor/zkstore"
	"github.com/gregorlog/gregor/zkstore/config"
)

var (
	refOnce sync.Once
	refSrv  *zkref.Server
	refErr  error

	zksOnce sync.Once
	zksSrv  *zkstore.Server
	zksErr  error
	zksDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if refSrv != nil {
		refSrv.Stop()
	}
	if zksSrv != nil {
		zksSrv.Close()
	}
	if zksDir != "" {
		os.RemoveAll(zksDir)
	}
	os.Exit(code)
}

func reference(b testing.TB) string {
	refOnce.Do(func() {
		if refErr = zkref.Available(); refErr == nil {
			refSrv, refErr = zkref.Launch(zkref.Config{})
		}
	})
	if refErr != nil {
		if testutil.InCI() {
			b.Fatal(refErr)
		}
		b.Skip(refErr)
	}
	return refSrv.Addr
}

func store(b testing.TB) string {
	zksOnce.Do(func() {
		if zksDir, zksErr = os.MkdirTemp("", "zkbench-"); zksErr != nil {
			return
		}
		var cfg *config.Config
		cfg, _, zksErr = config.Parse(strings.NewReader(fmt.Sprintf(
			"tickTime=2000\ndataDir=%s\nclientPort=0\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\nforceSync=yes\n", zksDir)))
		if zksErr != nil {
			return
		}
		if zksSrv, zksErr = zkstore.NewServer(cfg); zksErr != nil {
			return
		}
		if zksErr = zksSrv.Start(); zksErr != nil {
			zksSrv = nil
		}
	})
	if zksErr != nil {
		b.Fatal(zksErr)
	}
	return zksSrv.Addr().String()
}

// payload is the znode data size, small as coordination data is.
const payload = 100

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func connect(b *testing.B, addr string) *zk.Conn {
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopLogger{}))
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-deadline:
			b.Fatalf("no session with %s", addr)
		}
	}
}

func BenchmarkZK(b *testing.B) {
	servers := []struct {
		name string
		addr func(testing.TB) string
	}{{"zookeeper", reference}, {"zkstore", store}}
	// Server innermost, so each pair is measured back to back under the
	// same machine load.
	for _, op := range []string{"create", "get", "set"} {
		for _, clients := range []int{1, 32} {
			for _, srv := range servers {
				b.Run(fmt.Sprintf("%s/clients=%d/%s", op, clients, srv.name), func(b *testing.B) {
					run(b, srv.addr(b), op, clients)
				})
			}
		}
	}
}

// run issues b.N operations of kind op over clients sessions.
func run(b *testing.B, addr, op string, clients int) {
	acl := zk.WorldACL(zk.PermAll)
	data := make([]byte, payload)
	root := fmt.Sprintf("/zkbench-%d", rand.Uint64())
	conns := make([]*zk.Conn, clients)
	for i := range conns {
		conns[i] = connect(b, addr)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if _, err := conns[0].Create(root, nil, 0, acl); err != nil {
		b.Fatal(err)
	}
	for i := range conns {
		if _, err := conns[0].Create(fmt.Sprintf("%s/c%d", root, i), data, 0, acl); err != nil {
			b.Fatal(err)
		}
	}
	per := make([]int, clients)
	for i := 0; i < b.N; i++ {
		per[i%clients]++
	}
	lat := make([][]time.Duration, clients)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for ci := range conns {
		wg.Add(1)
		go func(ci int) {
			defer wg.Done()
			c := conns[ci]
			node := fmt.Sprintf("%s/c%d", root, ci)
			ls := make([]time.Duration, 0, per[ci])
			for j := 0; j < per[ci]; j++ {
				t0 := time.Now()
				var err error
				switch op {
				case "create":
					_, err = c.Create(fmt.Sprintf("%s/n%d", node, j), data, 0, acl)
				case "get":
					_, _, err = c.Get(node)
				case "set":
					_, err = c.Set(node, data, -1)
				}
				if err != nil {
					errs <- fmt.Errorf("%s %s: %w", op, node, err)
					return
				}
				ls = append(ls, time.Since(t0))
			}
			lat[ci] = ls
		}(ci)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}
