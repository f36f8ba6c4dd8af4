package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gregorlog/gregor/benchmarks/suite/report"
)

// suite holds one run's state.
type suite struct {
	ctx   context.Context
	p     profile
	bins  binaries
	tmp   string
	out   string
	res   *report.Results
	logf  func(string, ...any)
	start time.Time
	seq   int // makes topic and stream names unique
}

func (s *suite) runAll(only map[string]bool) {
	want := func(name string) bool { return only == nil || only[name] }
	steps := []struct {
		name string
		fn   func()
	}{
		{"limits", s.limits},
		{"size", s.sizeSweep},
		{"flush", s.flushSweep},
		{"segments", s.segmentSweep},
		{"partitions", s.partitionSweep},
		{"latency", s.latencySweep},
		{"fetch", s.fetchSweep},
		{"groups", s.groupSweep},
		{"zk", s.zkSweep},
	}
	for _, st := range steps {
		if !want(st.name) {
			continue
		}
		if s.stopping() {
			s.logf("skipping %s: the run's time bound (%v) is spent", st.name, s.p.maxTotal)
			continue
		}
		s.logf("== %s", st.name)
		st.fn()
	}
}

// stopping reports whether no new case may start.
func (s *suite) stopping() bool {
	return s.ctx.Err() != nil || time.Since(s.start) > s.p.maxTotal
}

func (s *suite) name(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s-%d", prefix, s.seq)
}

// metrics of one run; a failed run contributes nothing.
type runMetrics map[string]float64

// repeat runs fn s.p.runs times and summarises each metric over the runs.
// A failed run is logged and left out; if all fail, the error of the last
// is returned.
func (s *suite) repeat(what string, fn func(run int) (runMetrics, error)) (map[string]report.Stat, error) {
	per := map[string][]float64{}
	var lastErr error
	ok := 0
	for i := range s.p.runs {
		if s.ctx.Err() != nil {
			lastErr = s.ctx.Err()
			break
		}
		m, err := fn(i)
		if err != nil {
			s.logf("%s run %d: %v", what, i+1, err)
			lastErr = err
			continue
		}
		ok++
		for k, v := range m {
			per[k] = append(per[k], v)
		}
	}
	stats := map[string]report.Stat{}
	for k, v := range per {
		stats[k] = report.NewStat(v)
	}
	if ok == 0 {
		if lastErr == nil {
			lastErr = fmt.Errorf("%w: no run", errSuite)
		}
		return stats, lastErr
	}
	return stats, nil
}

// add records a case. With err and no metrics it is "unavailable".
func (s *suite) add(c report.Case, err error) *report.Case {
	if err != nil && len(c.Metrics) == 0 {
		c.Unavailable = oneLine(err.Error())
	}
	if c.Ratios == nil {
		c.Ratios = map[string]float64{}
	}
	s.res.Cases = append(s.res.Cases, c)
	c2 := &s.res.Cases[len(s.res.Cases)-1]
	s.logf("%s: %s", c2.ID, summarize(c2))
	return c2
}

func summarize(c *report.Case) string {
	if c.Unavailable != "" {
		return "unavailable: " + c.Unavailable
	}
	out := ""
	for k, v := range c.Metrics {
		out += fmt.Sprintf("%s=%s ", k, report.FormatStat(v))
	}
	for k, v := range c.Ratios {
		out += fmt.Sprintf("x%s=%s ", k, report.FormatFloat(v))
	}
	return out
}

func oneLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			s = s[:i]
			break
		}
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// ratioTo sets c.Ratios[ref] = c's metric over the limit named ref.
func (s *suite) ratioToLimit(c *report.Case, metric, limit string) {
	if x := report.Ratio(c.Metrics[metric], s.res.Limits[limit]); x != 0 {
		c.Ratios[limit] = x
	}
}

// limits measures fio and iperf3, interleaved run by run.
func (s *suite) limits() {
	var buf, sync, tcp, tcpZ []float64
	for i := range s.p.runs {
		if s.ctx.Err() != nil {
			return
		}
		if v, err := fioWrite(s.ctx, s.tmp, s.p.fioBuffered, false, 60*time.Second); err == nil {
			buf = append(buf, v)
		} else {
			s.logf("fio buffered run %d: %v", i+1, err)
		}
		if v, err := fioWrite(s.ctx, s.tmp, s.p.fioSync, true, 60*time.Second); err == nil {
			sync = append(sync, v)
		} else {
			s.logf("fio fdatasync run %d: %v", i+1, err)
		}
		if v, err := iperf3(s.ctx, s.p.iperfDur, false); err == nil {
			tcp = append(tcp, v)
		} else {
			s.logf("iperf3 run %d: %v", i+1, err)
		}
		if v, err := iperf3(s.ctx, s.p.iperfDur, true); err == nil {
			tcpZ = append(tcpZ, v)
		} else {
			s.logf("iperf3 -Z run %d: %v", i+1, err)
		}
	}
	s.res.Limits[report.LimitDiskBuffered] = report.NewStat(buf)
	s.res.Limits[report.LimitDiskFdatasync] = report.NewStat(sync)
	s.res.Limits[report.LimitTCP] = report.NewStat(tcp)
	s.res.Limits[report.LimitTCPSendfile] = report.NewStat(tcpZ)
	for k, v := range s.res.Limits {
		s.logf("limit %s: %s MB/s", k, report.FormatStat(v))
	}
}

// produce runs `bench produce` against the broker for the profile's
// duration and returns its metrics (MB/s of 10^6 bytes, records/s).
func (s *suite) produce(b *brokerProc, topic string, size, producers int, acks string, partitions int) (runMetrics, error) {
	var r benchProduce
	// All producers together buffer at most 256 MiB (at least two records
	// each), so the drain after --duration stays short even when 64
	// producers write 1 MiB records to a syncing log.
	buf := max(2*size, (256<<20)/producers)
	err := runBench(s.ctx, s.bins.bench, s.p.dur+3*time.Minute, &r, "produce", "--bootstrap-server", b.addr, "--topic", topic,
		"--size", fmt.Sprint(size), "--duration", s.p.dur.String(), "--producers", fmt.Sprint(producers), "--acks", acks,
		"--partitions", fmt.Sprint(partitions), "--timeout", "60s", "--buffer-memory", fmt.Sprint(buf))
	if err != nil {
		return nil, err
	}
	if r.Errors > 0 {
		return nil, fmt.Errorf("%w: %d records failed: %s", errSuite, r.Errors, r.FirstError)
	}
	return runMetrics{report.MMBps: r.MBps(), report.MRecPerSec: r.RecordsPerSec}, nil
}

// consume reads a whole topic with `bench consume`.
func (s *suite) consume(b *brokerProc, topic string) (runMetrics, error) {
	var r benchConsume
	if err := runBench(s.ctx, s.bins.bench, 5*time.Minute, &r, "consume", "--bootstrap-server", b.addr, "--topic", topic, "--timeout", "30s"); err != nil {
		return nil, err
	}
	sec := max(r.ElapsedSec, 1e-9)
	return runMetrics{report.MMBps: float64(r.Bytes) / 1e6 / sec, report.MRecPerSec: float64(r.Records) / sec}, nil
}

// broker starts a broker and, with warm, runs one uncounted 1 s produce
// so the first measured run does not pay for the fresh process (first
// connections, metadata, page faults).
func (s *suite) broker(overrides []string, pprof, warm bool) (*brokerProc, error) {
	b, err := startBroker(s.ctx, s.bins.broker, s.tmp, overrides, pprof)
	if err != nil {
		s.logf("broker %v: %v", overrides, err)
		return b, err
	}
	if warm {
		var r benchProduce
		if err := runBench(s.ctx, s.bins.bench, 2*time.Minute, &r, "produce", "--bootstrap-server", b.addr, "--topic", "warmup",
			"--size", "1024", "--duration", "1s", "--acks", "1", "--timeout", "60s", "--buffer-memory", "16MiB"); err != nil {
			s.logf("broker warm-up: %v", err)
		}
	}
	return b, nil
}

// nats starts nats-server and warms it like broker does.
func (s *suite) nats() (*natsProc, error) {
	n, err := startNATS(s.ctx, s.tmp)
	if err != nil {
		s.logf("nats: %v", err)
		return n, err
	}
	if _, err := natsProduce(s.ctx, n.url, "WARMUP", 1024, 1, time.Second); err != nil {
		s.logf("nats warm-up: %v", err)
	}
	return n, nil
}

// sizeSweep: produce (acks=1, default flush, 1 producer) per record size on
// Gregor and NATS JetStream, run by run interleaved, then a page-cache
// consume of what Gregor just stored. Profiles the 1 KiB produce and the
// consume in extra runs that are not counted.
func (s *suite) sizeSweep() {
	b, berr := s.broker(nil, true, true)
	if b != nil {
		defer b.stop()
	}
	n, nerr := s.nats()
	if n != nil {
		defer n.stop()
	}
	for _, sz := range s.p.sizes {
		if s.stopping() {
			return
		}
		var topics []string
		g, gerr := s.repeat("gregor produce "+sz.name, func(int) (runMetrics, error) {
			if berr != nil {
				return nil, berr
			}
			t := s.name("size-" + sz.name)
			m, err := s.produce(b, t, sz.bytes, 1, "1", 1)
			if err == nil {
				topics = append(topics, t)
			}
			return m, err
		})
		ns, nsErr := s.repeat("nats produce "+sz.name, func(int) (runMetrics, error) {
			if nerr != nil {
				return nil, nerr
			}
			r, err := natsProduce(s.ctx, n.url, s.name("SIZE"), sz.bytes, 1, s.p.dur)
			if err != nil {
				return nil, err
			}
			return runMetrics{report.MMBps: r.MBps(), report.MRecPerSec: r.RecordsPerSec}, nil
		})
		params := map[string]string{"size": sz.name, "acks": "1", "flush": "default", "producers": "1"}
		nc := s.add(report.Case{ID: "size/" + sz.name + "/nats", Sweep: "size", Target: "nats", Params: withTarget(params, "NATS JetStream"), Metrics: ns}, nsErr)
		s.ratioToLimit(nc, report.MMBps, report.LimitTCP)
		s.ratioToLimit(nc, report.MMBps, report.LimitDiskBuffered)
		gc := s.add(report.Case{ID: "size/" + sz.name + "/gregor", Sweep: "size", Target: "gregor", Params: withTarget(params, "Gregor"), Metrics: g}, gerr)
		s.ratioToLimit(gc, report.MMBps, report.LimitTCP)
		s.ratioToLimit(gc, report.MMBps, report.LimitDiskBuffered)
		if x := report.Ratio(gc.Metrics[report.MMBps], nc.Metrics[report.MMBps]); x != 0 {
			gc.Ratios[report.RefNATS] = x
		}
		// Page-cache consume of the topics just written, one per run.
		i := 0
		cs, cerr := s.repeat("gregor consume "+sz.name, func(int) (runMetrics, error) {
			if i >= len(topics) {
				return nil, fmt.Errorf("%w: no produced topic to consume", errSuite)
			}
			i++
			return s.consume(b, topics[i-1])
		})
		cc := s.add(report.Case{ID: "consume/" + sz.name + "/gregor", Sweep: "consume", Target: "gregor", Params: map[string]string{"size": sz.name}, Metrics: cs}, cerr)
		s.ratioToLimit(cc, report.MMBps, report.LimitTCPSendfile)
		s.ratioToLimit(cc, report.MMBps, report.LimitTCP)
		if sz == s1KiB && berr == nil {
			s.profileHeadline(b)
		}
	}
}

func withTarget(p map[string]string, target string) map[string]string {
	out := map[string]string{"target": target}
	for k, v := range p {
		out[k] = v
	}
	return out
}

// profileHeadline takes CPU and allocation profiles of the broker during
// one extra 1 KiB acks=1 produce run and one consume of it (not counted).
func (s *suite) profileHeadline(b *brokerProc) {
	secs := max(1, int(s.p.dur.Seconds())-1)
	q := fmt.Sprintf("?seconds=%d", secs)
	take := func(kind string, load func() error) {
		done := make(chan error, 2)
		for _, pr := range []struct{ name, file string }{{"profile", "cpu-" + kind + ".pprof"}, {"allocs", "allocs-" + kind + ".pprof"}} {
			go func() {
				err := b.profile(s.ctx, pr.name, q, filepath.Join(s.out, pr.file))
				if err == nil {
					s.res.Profiles = appendUnique(s.res.Profiles, pr.file)
				}
				done <- err
			}()
		}
		if err := load(); err != nil {
			s.logf("profile %s load: %v", kind, err)
		}
		for range 2 {
			if err := <-done; err != nil {
				s.logf("profile %s: %v", kind, err)
			}
		}
	}
	topic := s.name("profile-1KiB")
	take("produce-1KiB-acks1", func() error { _, err := s.produce(b, topic, 1024, 1, "1", 1); return err })
	take("consume-1KiB", func() error {
		// Consume the topic repeatedly for the profile's window.
		end := time.Now().Add(time.Duration(secs) * time.Second)
		for i := 0; i < 50 && time.Now().Before(end); i++ {
			if _, err := s.consume(b, topic); err != nil {
				return err
			}
		}
		return nil
	})
}

func appendUnique(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// flushSetting is one of the flush configurations.
type flushSetting struct {
	name      string
	overrides []string
}

var flushSettings = []flushSetting{
	{"default", nil},
	{"log.flush.interval.messages=10000", []string{"log.flush.interval.messages=10000"}},
	{"log.flush.interval.ms=1000", []string{"log.flush.interval.ms=1000"}},
	// flush.messages is the topic key; log.flush.interval.messages is its
	// broker-wide synonym, so every topic of the run gets flush.messages=1.
	{"flush.messages=1", []string{"log.flush.interval.messages=1"}},
}

// flushSweep: each flush setting (one broker each) x acks x producers x
// size; plus NATS at the default durability with the same producers.
func (s *suite) flushSweep() {
	type point struct {
		size      sizeSpec
		acks      string
		producers int
	}
	var points []point
	for _, sz := range s.p.flushSizes {
		for _, a := range s.p.acks {
			for _, pr := range s.p.flushProducers {
				points = append(points, point{sz, a, pr})
			}
		}
	}
	goal := point{s1MiB, "1", 64} // the flush.messages=1 goal's case
	hasGoal := false
	for _, pt := range points {
		hasGoal = hasGoal || pt == goal
	}
	for _, fs := range flushSettings {
		if s.stopping() {
			return
		}
		pts := points
		if !hasGoal && (fs.name == "default" || fs.name == "flush.messages=1") {
			pts = append(pts, goal)
		}
		b, berr := s.broker(fs.overrides, false, true)
		for _, pt := range pts {
			if s.stopping() {
				break
			}
			m, err := s.repeat(fmt.Sprintf("flush %s %s acks=%s p%d", fs.name, pt.size.name, pt.acks, pt.producers), func(int) (runMetrics, error) {
				if berr != nil {
					return nil, berr
				}
				return s.produce(b, s.name("flush"), pt.size.bytes, pt.producers, pt.acks, 1)
			})
			id := fmt.Sprintf("flush/%s/%s/acks=%s/p%d", pt.size.name, fs.name, pt.acks, pt.producers)
			c := s.add(report.Case{ID: id, Sweep: "flush", Target: "gregor", Params: map[string]string{
				"size": pt.size.name, "flush": fs.name, "acks": pt.acks, "producers": fmt.Sprint(pt.producers), "target": "Gregor"}, Metrics: m}, err)
			s.ratioToLimit(c, report.MMBps, report.LimitDiskFdatasync)
			s.ratioToLimit(c, report.MMBps, report.LimitDiskBuffered)
		}
		if b != nil {
			b.stop()
		}
	}
	// NATS JetStream at its default durability (the counterpart of the
	// default flush), same sizes and producer counts.
	n, nerr := s.nats()
	if n != nil {
		defer n.stop()
	}
	seen := map[string]bool{}
	for _, pt := range append(points, goal) {
		key := fmt.Sprintf("%s/p%d", pt.size.name, pt.producers)
		if seen[key] || s.stopping() {
			continue
		}
		seen[key] = true
		m, err := s.repeat("nats flush "+key, func(int) (runMetrics, error) {
			if nerr != nil {
				return nil, nerr
			}
			r, err := natsProduce(s.ctx, n.url, s.name("FLUSH"), pt.size.bytes, pt.producers, s.p.dur)
			if err != nil {
				return nil, err
			}
			return runMetrics{report.MMBps: r.MBps(), report.MRecPerSec: r.RecordsPerSec}, nil
		})
		nc := s.add(report.Case{ID: "flush/" + pt.size.name + "/nats-default/p" + fmt.Sprint(pt.producers), Sweep: "flush", Target: "nats", Params: map[string]string{
			"size": pt.size.name, "flush": "JetStream default", "acks": "publish ack", "producers": fmt.Sprint(pt.producers), "target": "NATS JetStream"}, Metrics: m}, err)
		s.ratioToLimit(nc, report.MMBps, report.LimitDiskBuffered)
		// Gregor's default-flush cases with the same size and producers.
		for i := range s.res.Cases {
			c := &s.res.Cases[i]
			if c.Sweep == "flush" && c.Target == "gregor" && c.Params["flush"] == "default" && c.Params["size"] == pt.size.name &&
				c.Params["producers"] == fmt.Sprint(pt.producers) {
				if x := report.Ratio(c.Metrics[report.MMBps], nc.Metrics[report.MMBps]); x != 0 {
					c.Ratios[report.RefNATS] = x
				}
			}
		}
	}
}

// segmentSweep: produce 64 KiB records with 1 GiB and 16 MiB segments,
// while retention deletes, and onto a log of many segments.
func (s *suite) segmentSweep() {
	const size = 64 << 10
	configs := []struct {
		id, name  string
		overrides []string
	}{
		{"1GiB", "log.segment.bytes=1GiB", []string{"log.segment.bytes=1073741824"}},
		{"16MiB", "log.segment.bytes=16MiB", []string{"log.segment.bytes=16777216"}},
		{"retention", "16MiB segments, log.retention.bytes=64MiB, log.retention.check.interval.ms=1000 (retention deleting)",
			[]string{"log.segment.bytes=16777216", "log.retention.bytes=67108864", "log.retention.check.interval.ms=1000"}},
	}
	for _, cf := range configs {
		if s.stopping() {
			return
		}
		b, berr := s.broker(cf.overrides, false, true)
		m, err := s.repeat("segments "+cf.id, func(int) (runMetrics, error) {
			if berr != nil {
				return nil, berr
			}
			t := s.name("seg")
			m, err := s.produce(b, t, size, 1, "1", 1)
			if err == nil {
				// Give retention one check interval, then count segments.
				if cf.id == "retention" {
					time.Sleep(2 * time.Second)
				}
				m[report.MSegments] = float64(countTopicFiles(b, t, ".log"))
			}
			return m, err
		})
		c := s.add(report.Case{ID: "segments/" + cf.id, Sweep: "segments", Target: "gregor", Params: map[string]string{"config": cf.name + ", 64 KiB records"}, Metrics: m}, err)
		s.ratioToLimit(c, report.MMBps, report.LimitDiskBuffered)
		if b != nil {
			b.stop()
		}
	}
	if !s.stopping() {
		s.manySegments()
	}
}

// countTopicFiles counts the files with suffix in the topic's partition
// directories (topic-N).
func countTopicFiles(b *brokerProc, topic, suffix string) int {
	n := 0
	dirs, _ := filepath.Glob(filepath.Join(b.dir, "data", topic+"-*"))
	for _, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "*"+suffix))
		n += len(files)
	}
	return n
}
