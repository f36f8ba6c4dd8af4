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
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
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
			refSrv, refErr = zkref.Launch(zkref.Config{FourLetterWhitelist: "srvr,mntr"})
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
					run(b, srv.addr(b), srv.name, op, clients)
				})
			}
		}
	}
}

// run issues b.N operations of kind op over clients sessions.
func run(b *testing.B, addr, name, op string, clients int) {
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
	before := commitCounters(addr, name)
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
	reportCommits(b, before, commitCounters(addr, name))
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

// commits are a server's group-commit counters: fdatasyncs, the writes
// they covered and the time in them.
type commits struct {
	fsyncs, writes int64
	fsyncMs        float64
	lingerMs       float64 // zkstore only
	applyMs        float64 // zkstore only
	ok             bool
}

// commitCounters reads the counters: zkstore's CommitStats, or
// ZooKeeper's mntr (fsynctime summary; its writes are the zxid's counter).
func commitCounters(addr, name string) commits {
	if name == "zkstore" {
		st := zksSrv.CommitStats()
		return commits{st.Batches, st.Writes, float64(st.FsyncNanos) / 1e6,
			float64(st.WaitNanos) / 1e6, float64(st.ApplyNanos) / 1e6, true}
	}
	var c commits
	for _, line := range strings.Split(fourLetter(addr, "mntr"), "\n") {
		k, v, ok := strings.Cut(line, "\t")
		if !ok {
			continue
		}
		f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
		switch k {
		case "zk_cnt_fsynctime":
			c.fsyncs, c.ok = int64(f), true
		case "zk_sum_fsynctime":
			c.fsyncMs = f
		}
	}
	// ZooKeeper has no txn counter in mntr; the zxid's counter advances
	// once per txn.
	srvr := fourLetter(addr, "srvr")
	for _, line := range strings.Split(srvr, "\n") {
		if z, ok := strings.CutPrefix(line, "Zxid: 0x"); ok {
			v, _ := strconv.ParseInt(strings.TrimSpace(z), 16, 64)
			c.writes = v & 0xffffffff
		}
	}
	return c
}

func fourLetter(addr, w string) string {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return ""
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write([]byte(w))
	out, _ := io.ReadAll(nc)
	return string(out)
}

// reportCommits reports writes per fdatasync and the mean fdatasync time
// over the timed part of one sub-benchmark.
func reportCommits(b *testing.B, before, after commits) {
	if !before.ok || !after.ok {
		return
	}
	n := after.fsyncs - before.fsyncs
	if n <= 0 {
		return
	}
	b.ReportMetric(float64(after.writes-before.writes)/float64(n), "writes/fsync")
	b.ReportMetric((after.fsyncMs-before.fsyncMs)*1000/float64(n), "fsync-µs")
	if after.lingerMs > 0 {
		b.ReportMetric((after.lingerMs-before.lingerMs)*1000/float64(n), "linger-µs/fsync")
		b.ReportMetric((after.applyMs-before.applyMs)*1000/float64(n), "apply-µs/fsync")
	}
}
