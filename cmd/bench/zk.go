package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/spf13/cobra"

	"github.com/gregorlog/gregor/internal/cli"
)

// zkOps are the operations a --mix can weigh.
var zkOps = []string{"create", "get", "set", "exists", "delete"}

type zkOpts struct {
	server         string
	clients        int
	ops            int64
	duration       time.Duration
	mix            string
	size           cli.SizeFlag
	root           string
	keep           bool
	sessionTimeout time.Duration
}

func newZKCmd(c *common) *cobra.Command {
	o := &zkOpts{size: 100}
	cmd := &cobra.Command{
		Use:   "zk",
		Short: "Measure a ZooKeeper-compatible server with create/get/set mixes",
		Long: `Run --clients ZooKeeper sessions, each issuing operations back to back
(closed loop) under its own subtree of --root, with the weights of --mix,
for --ops operations in total or for --duration. Reports ops/s and latency
percentiles overall and per operation. Works against zkstore or any
ZooKeeper server. The nodes it creates are deleted at the end (and --root
too if that leaves it empty) unless --keep.

--mix weighs create, get, set, exists and delete, e.g. create=10,get=70,set=20.
get, set, exists and delete act on a random node the client created
(a create is done instead while it has none).`,
		Example: `  bench zk --server 127.0.0.1:2181 --clients 8 --duration 30s
  bench zk --server 127.0.0.1:2181 --clients 4 --ops 100000 --mix create=50,get=50 --size 1KB --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runZKBench(cmd, c, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.server, "server", "", "REQUIRED: ZooKeeper server(s), host:port[,host:port]")
	f.IntVar(&o.clients, "clients", 4, "number of client sessions")
	f.Int64Var(&o.ops, "ops", 0, "total operations (this or --duration)")
	f.DurationVar(&o.duration, "duration", 0, "how long to run (this or --ops)")
	f.StringVar(&o.mix, "mix", "create=10,get=70,set=20", "operation weights")
	f.Var(&o.size, "size", "data size of created and set nodes: 100, 1KB (at most 1MB)")
	f.StringVar(&o.root, "root", "/gregor-bench", "the subtree the benchmark works under")
	f.BoolVar(&o.keep, "keep", false, "leave the nodes this run created in place")
	f.DurationVar(&o.sessionTimeout, "session-timeout", 30*time.Second, "session timeout the clients ask for")
	return cmd
}

// parseMix parses "create=10,get=70,set=20" into cumulative weights over zkOps.
func parseMix(s string) ([]int, error) {
	weights := make([]int, len(zkOps))
	kvs, err := cli.SplitConfigList(s)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, kv := range kvs {
		i := -1
		for j, op := range zkOps {
			if op == kv[0] {
				i = j
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("unknown operation %q (want %s)", kv[0], strings.Join(zkOps, ", "))
		}
		w, err := strconv.Atoi(kv[1])
		if err != nil || w < 0 {
			return nil, fmt.Errorf("weight of %s must be a non-negative integer, not %q", kv[0], kv[1])
		}
		weights[i] = w
		total += w
	}
	if total == 0 {
		return nil, errors.New("the weights add up to zero")
	}
	cum := make([]int, len(weights))
	acc := 0
	for i, w := range weights {
		acc += w
		cum[i] = acc
	}
	return cum, nil
}

// zkResult is the --json shape of `bench zk`.
type zkResult struct {
	Mode       string             `json:"mode"`
	Clients    int                `json:"clients"`
	Mix        string             `json:"mix"`
	DataSize   int64              `json:"data_size"`
	Ops        int64              `json:"ops"`
	Errors     int64              `json:"errors"`
	ElapsedSec float64            `json:"elapsed_sec"`
	OpsPerSec  float64            `json:"ops_per_sec"`
	Latency    latencyMs          `json:"latency_ms"`
	PerOp      map[string]zkPerOp `json:"per_op"`
	FirstError string             `json:"first_error,omitempty"`
}

type zkPerOp struct {
	Ops       int64     `json:"ops"`
	OpsPerSec float64   `json:"ops_per_sec"`
	Latency   latencyMs `json:"latency_ms"`
}

func runZKBench(cmd *cobra.Command, c *common, o *zkOpts) error {
	if o.server == "" {
		return cli.Usagef("missing required option --server")
	}
	if err := checkRunLength(o.ops, o.duration); err != nil {
		return cli.Usagef("give --ops N or --duration D, not both or neither")
	}
	if o.clients < 1 {
		return cli.Usagef("--clients must be at least 1")
	}
	if o.size < 0 || o.size > 1<<20 {
		return cli.Usagef("--size must be between 0 and 1MB (ZooKeeper's jute.maxbuffer)")
	}
	if !strings.HasPrefix(o.root, "/") || o.root == "/" || strings.HasSuffix(o.root, "/") || strings.HasPrefix(o.root, "/zookeeper") {
		return cli.Usagef("--root must be an absolute path below / and outside /zookeeper, like /gregor-bench")
	}
	cum, err := parseMix(o.mix)
	if err != nil {
		return cli.Usagef("--mix: %v", err)
	}
	timeout := time.Duration(c.timeout)
	ctx := cmd.Context()

	conns := make([]*zk.Conn, o.clients)
	defer func() {
		for _, cn := range conns {
			if cn != nil {
				cn.Close()
			}
		}
	}()
	for i := range conns {
		cn, err := cli.ZKConnect(ctx, o.server, o.sessionTimeout, timeout)
		if err != nil {
			return err
		}
		conns[i] = cn
	}
	acl := zk.WorldACL(zk.PermAll)
	for _, p := range []string{o.root} {
		if _, err := conns[0].Create(p, nil, 0, acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("creating %s: %w", p, err)
		}
	}
	bases := make([]string, o.clients)
	runTag := strconv.FormatUint(rand.Uint64()&0xffffff, 36)
	for i := range bases {
		bases[i] = fmt.Sprintf("%s/%s-c%d", o.root, runTag, i)
		if _, err := conns[0].Create(bases[i], nil, 0, acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("creating %s: %w", bases[i], err)
		}
	}

	all := newRecorder()
	per := map[string]*recorder{}
	for _, op := range zkOps {
		per[op] = newRecorder()
	}
	data := payloads(max(int64(o.size), 1), 64, limitsFor(1), 7)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	var deadline time.Time
	if o.duration > 0 {
		deadline = start.Add(o.duration)
	}
	errw := cmd.ErrOrStderr()
	prog := startProgress(errw, cli.IsTerminal(errw), time.Duration(c.reportInterval), all, o.ops, start, deadline, all.windowOpsLine)
	var wg sync.WaitGroup
	for i, cn := range conns {
		share := int64(0)
		if o.ops > 0 {
			share = o.ops / int64(o.clients)
			if int64(i) < o.ops%int64(o.clients) {
				share++
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			var nodes []string
			for j := int64(0); share == 0 || j < share; j++ {
				if runCtx.Err() != nil || (!deadline.IsZero() && !time.Now().Before(deadline)) {
					return
				}
				x := rng.IntN(cum[len(cum)-1])
				op := sort.SearchInts(cum, x+1)
				name := zkOps[op]
				if name != "create" && len(nodes) == 0 {
					name = "create"
				}
				d := data[rng.IntN(len(data))][:o.size]
				var err error
				t0 := time.Now()
				switch name {
				case "create":
					var p string
					if p, err = cn.Create(bases[i]+"/n-", d, zk.FlagSequence, acl); err == nil {
						nodes = append(nodes, p)
					}
				case "get":
					_, _, err = cn.Get(nodes[rng.IntN(len(nodes))])
				case "set":
					_, err = cn.Set(nodes[rng.IntN(len(nodes))], d, -1)
				case "exists":
					_, _, err = cn.Exists(nodes[rng.IntN(len(nodes))])
				case "delete":
					k := rng.IntN(len(nodes))
					if err = cn.Delete(nodes[k], -1); err == nil {
						nodes[k] = nodes[len(nodes)-1]
						nodes = nodes[:len(nodes)-1]
					}
				}
				now := time.Now()
				if err != nil {
					all.fail(fmt.Errorf("%s: %w", name, err))
					per[name].fail(err)
					stop()
					return
				}
				all.record(now.Sub(t0), 0, now)
				per[name].record(now.Sub(t0), 0, now)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	prog.close()

	// Remove only what this run created; --root itself goes only if that
	// leaves it empty, so a shared root keeps other data.
	var cleanupErr error
	if !o.keep {
		for _, b := range bases {
			if err := deleteTree(conns[0], b); err != nil && cleanupErr == nil {
				cleanupErr = err
			}
		}
		if err := conns[0].Delete(o.root, -1); err != nil && !errors.Is(err, zk.ErrNotEmpty) && !errors.Is(err, zk.ErrNoNode) && cleanupErr == nil {
			cleanupErr = err
		}
	}
	s := all.summarize(elapsed)
	res := zkResult{Mode: "zk", Clients: o.clients, Mix: o.mix, DataSize: int64(o.size), Ops: s.Records, Errors: s.Errors,
		ElapsedSec: s.ElapsedSec, OpsPerSec: s.RecordsPerSec, Latency: s.Latency, PerOp: map[string]zkPerOp{}, FirstError: s.FirstError}
	for _, op := range zkOps {
		ps := per[op].summarize(elapsed)
		if ps.Records > 0 {
			res.PerOp[op] = zkPerOp{Ops: ps.Records, OpsPerSec: ps.RecordsPerSec, Latency: ps.Latency}
		}
	}
	out := cmd.OutOrStdout()
	if c.jsonOut() {
		if err := cli.WriteJSON(out, res); err != nil {
			return err
		}
	} else {
		line := func(name string, n int64, rate float64, l latencyMs) {
			fmt.Fprintf(out, "%s%d ops, %.1f ops/sec, %.3f ms avg latency, %.3f ms max latency, %.3f ms 50th, %.3f ms 95th, %.3f ms 99th, %.3f ms 99.9th.\n",
				name, n, rate, l.Avg, l.Max, l.P50, l.P95, l.P99, l.P999)
		}
		line("", res.Ops, res.OpsPerSec, res.Latency)
		for _, op := range zkOps {
			if p, ok := res.PerOp[op]; ok {
				line("  "+op+": ", p.Ops, p.OpsPerSec, p.Latency)
			}
		}
	}
	if s.Errors > 0 {
		return fmt.Errorf("%d operations failed; first error: %s", s.Errors, s.FirstError)
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	if cleanupErr != nil {
		return fmt.Errorf("removing %s: %w", o.root, cleanupErr)
	}
	return nil
}

// deleteTree removes root and everything under it, children first.
func deleteTree(cn *zk.Conn, root string) error {
	children, _, err := cn.Children(root)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, ch := range children {
		if err := deleteTree(cn, path.Join(root, ch)); err != nil {
			return err
		}
	}
	if err := cn.Delete(root, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
		return err
	}
	return nil
}
