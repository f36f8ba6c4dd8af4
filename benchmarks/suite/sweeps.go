package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/benchmarks/suite/report"
)

// admin returns a Kafka admin client for the broker.
func admin(addr string, opts ...kgo.Opt) (*kadm.Client, *kgo.Client, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RequestTimeoutOverhead(30 * time.Second)}, opts...)...)
	if err != nil {
		return nil, nil, err
	}
	return kadm.NewClient(cl), cl, nil
}

// createTopic creates a topic and waits until every partition has a leader.
func createTopic(ctx context.Context, addr, topic string, partitions int32, configs map[string]*string) error {
	adm, cl, err := admin(addr)
	if err != nil {
		return err
	}
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	resp, err := adm.CreateTopic(cctx, partitions, 1, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("%w: creating %s: %w", errSuite, topic, err)
	}
	for cctx.Err() == nil {
		md, err := adm.Metadata(cctx, topic)
		if err == nil {
			if td, ok := md.Topics[topic]; ok && td.Err == nil && len(td.Partitions) == int(partitions) {
				ready := true
				for _, p := range td.Partitions {
					ready = ready && p.Err == nil && p.Leader >= 0
				}
				if ready {
					return nil
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%w: %s: partitions without a leader after 5 minutes", errSuite, topic)
}

// manySegments fills one partition with a log of many segments (1 KiB
// records, topic segment.bytes=16384), raises its segment.bytes back to
// 1 GiB, then measures produce onto it and a consume of the whole log.
func (s *suite) manySegments() {
	b, berr := s.broker(nil, false, true)
	if b != nil {
		defer b.stop()
	}
	topic := "many-segments"
	var segs int
	fill := func() error {
		if berr != nil {
			return berr
		}
		v := "16384"
		if err := createTopic(s.ctx, b.addr, topic, 1, map[string]*string{"segment.bytes": &v}); err != nil {
			return err
		}
		end := time.Now().Add(s.p.fillMax)
		for segs < s.p.segmentsTarget && time.Now().Before(end) && s.ctx.Err() == nil {
			var r benchProduce
			// 1 KiB records at a paced rate keep batches near one segment.
			if err := runBench(s.ctx, s.bins.bench, 5*time.Minute, &r, "produce", "--bootstrap-server", b.addr, "--topic", topic,
				"--size", "1024", "--count", "20000", "--rate", "20000", "--acks", "1", "--linger", "0s", "--timeout", "60s"); err != nil {
				return err
			}
			segs = countTopicFiles(b, topic, ".log")
		}
		s.logf("many segments: %d segments after filling", segs)
		adm, cl, err := admin(b.addr)
		if err != nil {
			return err
		}
		defer cl.Close()
		big := "1073741824"
		_, err = adm.AlterTopicConfigs(s.ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "segment.bytes", Value: &big}}, topic)
		return err
	}
	ferr := fill()
	if ferr != nil {
		s.logf("many segments: %v", ferr)
	}
	name := fmt.Sprintf("a log of %d segments (16 KiB each, 1 KiB records)", segs)
	m, err := s.repeat("many segments produce", func(int) (runMetrics, error) {
		if ferr != nil {
			return nil, ferr
		}
		m, err := s.produce(b, topic, 1024, 1, "1", 1)
		if err == nil {
			m[report.MSegments] = float64(countTopicFiles(b, topic, ".log"))
		}
		return m, err
	})
	c := s.add(report.Case{ID: "segments/many", Sweep: "segments", Target: "gregor", Params: map[string]string{"config": name + ", produce 1 KiB"}, Metrics: m}, err)
	s.ratioToLimit(c, report.MMBps, report.LimitDiskBuffered)
	cm, cerr := s.repeat("many segments consume", func(int) (runMetrics, error) {
		if ferr != nil {
			return nil, ferr
		}
		return s.consume(b, topic)
	})
	cc := s.add(report.Case{ID: "consume/many-segments", Sweep: "consume", Target: "gregor", Params: map[string]string{"size": "1KiB, " + name}, Metrics: cm}, cerr)
	s.ratioToLimit(cc, report.MMBps, report.LimitTCPSendfile)
	s.ratioToLimit(cc, report.MMBps, report.LimitTCP)
}

// partitionSweep: produce 1 KiB, acks=1, 8 producers over 1, 8, 64 and
// 1,000 partitions with the broker's RSS after each run; and the RSS of a
// fresh broker holding 1,000 idle partitions.
func (s *suite) partitionSweep() {
	b, berr := s.broker(nil, false, true)
	for _, np := range s.p.partitions {
		if s.stopping() {
			break
		}
		topic := s.name(fmt.Sprintf("parts%d", np))
		created := false
		m, err := s.repeat(fmt.Sprintf("partitions %d", np), func(int) (runMetrics, error) {
			if berr != nil {
				return nil, berr
			}
			if !created {
				if err := createTopic(s.ctx, b.addr, topic, int32(np), nil); err != nil {
					return nil, err
				}
				created = true
			}
			m, err := s.produce(b, topic, 1024, 8, "1", np)
			if err != nil {
				return nil, err
			}
			rss, err := b.rssMiB()
			if err != nil {
				return nil, err
			}
			m[report.MRSSMB] = rss
			return m, nil
		})
		c := s.add(report.Case{ID: fmt.Sprintf("partitions/%d", np), Sweep: "partitions", Target: "gregor", Params: map[string]string{
			"partitions": fmt.Sprint(np), "producers": "8"}, Metrics: m}, err)
		s.ratioToLimit(c, report.MMBps, report.LimitTCP)
	}
	if b != nil {
		b.stop()
	}
	if s.stopping() {
		return
	}
	// Broker memory with 1,000 idle partitions: a fresh broker per run.
	m, err := s.repeat("rss 1000 idle", func(int) (runMetrics, error) {
		b, err := s.broker(nil, false, false)
		if err != nil {
			return nil, err
		}
		defer b.stop()
		if err := createTopic(s.ctx, b.addr, "idle", 1000, nil); err != nil {
			return nil, err
		}
		time.Sleep(2 * time.Second) // let creation's garbage be collected
		rss, err := b.rssMiB()
		return runMetrics{report.MRSSMB: rss}, err
	})
	s.add(report.Case{ID: report.IDIdle1000, Sweep: "partitions", Target: "gregor", Params: map[string]string{
		"partitions": "1000 idle", "producers": "0"}, Metrics: m}, err)
}

// latencySweep: end-to-end latency (1 KiB, acks=1, producer and consumer
// in one bench e2e process) at fractions of the maximum end-to-end
// throughput measured in this run: bench e2e offered twice the 1 KiB
// produce maximum (or 10^6 records/s), counting what the consumer received
// per second. The producer-only maximum is higher than what one e2e
// producer plus its consumer sustain on the same cores, so fractions of it
// would measure a backlog, not latency.
func (s *suite) latencySweep() {
	b, berr := s.broker(nil, false, true)
	if b != nil {
		defer b.stop()
	}
	e2e := func(rate float64) (runMetrics, error) {
		if berr != nil {
			return nil, berr
		}
		var r benchE2E
		if err := runBench(s.ctx, s.bins.bench, s.p.dur+3*time.Minute, &r, "e2e", "--bootstrap-server", b.addr, "--topic", s.name("lat"),
			"--size", "1024", "--rate", fmt.Sprintf("%.0f", rate), "--duration", s.p.dur.String(), "--acks", "1", "--timeout", "60s"); err != nil {
			return nil, err
		}
		return runMetrics{report.MP50: r.EndToEnd.P50, report.MP99: r.EndToEnd.P99, report.MP999: r.EndToEnd.P999, report.MRecPerSec: r.RecordsPerSec}, nil
	}
	offered := 1e6
	if c := s.res.Case(report.IDProduce1KiB); c != nil && c.Metrics[report.MRecPerSec].Valid() {
		offered = 2 * c.Metrics[report.MRecPerSec].Median
	}
	m, err := s.repeat("latency max", func(int) (runMetrics, error) { return e2e(offered) })
	maxRate := m[report.MRecPerSec].Median
	s.add(report.Case{ID: "latency/max", Sweep: "latency", Target: "gregor", Params: map[string]string{
		"load": "max (saturated)", "rate": fmt.Sprintf("%.0f", offered), "target": "Gregor"}, Metrics: m}, err)
	for _, frac := range s.p.latencyLoads {
		if s.stopping() {
			return
		}
		rate := frac * maxRate
		m, err := s.repeat(fmt.Sprintf("latency %.0f%%", frac*100), func(int) (runMetrics, error) {
			if rate <= 0 {
				return nil, fmt.Errorf("%w: no maximum throughput measured", errSuite)
			}
			return e2e(rate)
		})
		pct := fmt.Sprintf("%.0f%%", frac*100)
		s.add(report.Case{ID: "latency/" + pct, Sweep: "latency", Target: "gregor", Params: map[string]string{
			"load": pct + " of max", "rate": fmt.Sprintf("%.0f", rate), "target": "Gregor"}, Metrics: m}, err)
	}
}

// goBench runs `go test -run ^$ -bench pattern` in pkg and returns the
// output lines that report results.
func (s *suite) goBench(pkg, pattern, benchtime string, limit time.Duration) ([]string, error) {
	ctx, cancel := context.WithTimeout(s.ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", pattern, "-benchtime", benchtime,
		"-count", fmt.Sprint(s.p.runs), "-timeout", limit.String(), pkg)
	out, err := cmd.CombinedOutput()
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Benchmark") && strings.Contains(sc.Text(), "/op") {
			lines = append(lines, sc.Text())
		}
	}
	if err != nil && len(lines) == 0 {
		return nil, fmt.Errorf("%w: go test %s: %v: %s", errSuite, pkg, err, tail(string(out)))
	}
	return lines, nil
}

// benchLine is one parsed `go test -bench` result line.
type benchLine struct {
	name    string // without the -GOMAXPROCS suffix
	metrics map[string]float64
}

var procSuffix = regexp.MustCompile(`-\d+$`)

func parseBenchLine(l string) (benchLine, bool) {
	f := strings.Fields(l)
	if len(f) < 4 {
		return benchLine{}, false
	}
	bl := benchLine{name: procSuffix.ReplaceAllString(f[0], ""), metrics: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return benchLine{}, false
		}
		bl.metrics[f[i+1]] = v
	}
	return bl, true
}

// fetchSweep runs broker's BenchmarkFetchPath: broker CPU-seconds per GB
// fetched, sendfile vs the copy path. Each run of it interleaves the two
// paths (ABBA rounds) and reports both as sendfile-cpu-s/GB and
// copy-cpu-s/GB, so each pair of figures comes from the same minutes.
func (s *suite) fetchSweep() {
	lines, err := s.goBench("./broker", "^BenchmarkFetchPath$", s.p.fetchBenchtime, 20*time.Minute)
	per := map[string]map[string][]float64{}
	for _, l := range lines {
		bl, ok := parseBenchLine(l)
		if !ok || bl.name != "BenchmarkFetchPath" {
			continue
		}
		for _, mode := range []string{"sendfile", "copy"} {
			v, ok := bl.metrics[mode+"-cpu-s/GB"]
			if !ok {
				continue
			}
			if per[mode] == nil {
				per[mode] = map[string][]float64{}
			}
			per[mode][report.MCPUPerGB] = append(per[mode][report.MCPUPerGB], v)
		}
	}
	cases := map[string]*report.Case{}
	for _, mode := range []string{"sendfile", "copy"} {
		m := map[string]report.Stat{}
		for k, v := range per[mode] {
			m[k] = report.NewStat(v)
		}
		cerr := err
		if cerr == nil && len(m) == 0 {
			cerr = fmt.Errorf("%w: no %s result", errSuite, mode)
		}
		cases[mode] = s.add(report.Case{ID: "fetch/" + mode, Sweep: "fetch", Target: "gregor", Params: map[string]string{"path": mode}, Metrics: m}, cerr)
	}
	if x := report.Ratio(cases["sendfile"].Metrics[report.MCPUPerGB], cases["copy"].Metrics[report.MCPUPerGB]); x != 0 {
		cases["sendfile"].Ratios[report.RefCopy] = x
	}
}

// zkSweep runs benchmarks/zk's BenchmarkZK with 32 clients: zkstore and
// Apache ZooKeeper 3.8 back to back for create, get and set.
func (s *suite) zkSweep() {
	lines, err := s.goBench("./benchmarks/zk", "^BenchmarkZK$/^(create|get|set)$/^clients=32$", s.p.zkBenchtime, 20*time.Minute)
	per := map[string]map[string][]float64{}
	for _, l := range lines {
		bl, ok := parseBenchLine(l)
		if !ok {
			continue
		}
		key := strings.TrimPrefix(bl.name, "BenchmarkZK/") // create/clients=32/zkstore
		if per[key] == nil {
			per[key] = map[string][]float64{}
		}
		per[key][report.MOpsPerSec] = append(per[key][report.MOpsPerSec], bl.metrics["ops/s"])
		per[key][report.MP50] = append(per[key][report.MP50], bl.metrics["p50-µs"]/1000)
		per[key][report.MP99] = append(per[key][report.MP99], bl.metrics["p99-µs"]/1000)
	}
	for _, op := range []string{"create", "get", "set"} {
		var zkc *report.Case
		for _, srv := range []string{"zookeeper", "zkstore"} {
			m := map[string]report.Stat{}
			for k, v := range per[op+"/clients=32/"+srv] {
				m[k] = report.NewStat(v)
			}
			cerr := err
			if cerr == nil && len(m) == 0 {
				cerr = fmt.Errorf("%w: no result", errSuite)
			}
			name := map[string]string{"zookeeper": "Apache ZooKeeper", "zkstore": "zkstore"}[srv]
			c := s.add(report.Case{ID: fmt.Sprintf("zk/%s/32/%s", op, srv), Sweep: "zk", Target: srv, Params: map[string]string{
				"op": op, "clients": "32", "target": name}, Metrics: m}, cerr)
			if srv == "zookeeper" {
				zkc = c
			} else if x := report.Ratio(c.Metrics[report.MOpsPerSec], zkc.Metrics[report.MOpsPerSec]); x != 0 {
				c.Ratios[report.RefZooKeeper] = x
			}
		}
	}
}

var errUnsupported = errors.New("consumer groups unavailable")
