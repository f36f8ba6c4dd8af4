package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/internal/cli"
	"github.com/gregorlog/gregor/internal/clitest"
	"github.com/gregorlog/gregor/internal/kafkatest"
	"github.com/gregorlog/gregor/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

type result struct {
	stdout, stderr string
	code           int
}

func bench(t *testing.T, args ...string) result {
	t.Helper()
	var out, errw bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errw)
	t.Logf("bench %s -> %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errw.String())
	return result{out.String(), errw.String(), code}
}

func mustBench(t *testing.T, args ...string) result {
	t.Helper()
	r := bench(t, args...)
	if r.code != 0 {
		t.Fatalf("bench %v: exit %d: %s", args, r.code, r.stderr)
	}
	return r
}

func wantExit(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q does not contain %q", r.stderr, want)
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s\n--- got:\n%s\n--- want:\n%s", p, got, want)
	}
}

// kafkaSummary matches Kafka's producer-perf-test summary line exactly.
var kafkaSummary = regexp.MustCompile(`^(\d+) records sent, \d+\.\d records/sec \(\d+\.\d\d MB/sec\), \d+\.\d\d ms avg latency, ` +
	`\d+\.\d\d ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99\.9th\.\n$`)

// endOffset sums the end offsets of topic's partitions: the records in it.
func endOffset(t *testing.T, bs, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bs))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil || ends.Error() != nil {
		t.Fatalf("end offsets of %s: %v %v", topic, err, ends.Error())
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// TestSummaryFormat pins Kafka's exact line formats with fixed numbers.
func TestSummaryFormat(t *testing.T) {
	r := newRecorder()
	now := time.Now()
	for i := range 1000 {
		r.record(time.Duration(i+1)*time.Millisecond/10, 1024, now)
	}
	s := r.summarize(2 * time.Second)
	w := r.windowLine(2 * time.Second)
	golden(t, "summary_lines.golden", s.kafkaLine()+"\n"+w+"\n")
	if !kafkaSummary.MatchString(s.kafkaLine() + "\n") {
		t.Errorf("summary line does not match Kafka's format: %q", s.kafkaLine())
	}
}

func TestKafkaTime(t *testing.T) {
	ts := time.Date(2026, 11, 22, 3, 4, 5, 67_000_000, time.UTC)
	if got := kafkaTime(ts); got != "2026-11-22 03:04:05:067" {
		t.Errorf("kafkaTime = %q, want ConsumerPerformance's yyyy-MM-dd HH:mm:ss:SSS", got)
	}
}

func TestProduce(t *testing.T) {
	bs := kafkatest.Start(t)
	r := mustBench(t, "produce", "--bootstrap-server", bs, "--topic", "p", "--size", "1KiB", "--count", "300", "--report-interval", "0")
	if m := kafkaSummary.FindStringSubmatch(r.stdout); m == nil || m[1] != "300" {
		t.Fatalf("summary line: %q", r.stdout)
	}
	if n := endOffset(t, bs, "p"); n != 300 {
		t.Fatalf("topic holds %d records, want 300", n)
	}

	// Several producers, compression, acks=1, more partitions, JSON.
	r = mustBench(t, "produce", "--bootstrap-server", bs, "--topic", "p4", "--size", "100", "--count", "1000",
		"--producers", "3", "--compression", "zstd", "--acks", "1", "--partitions", "4", "--json")
	var res produceResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("json: %v\n%s", err, r.stdout)
	}
	if res.Mode != "produce" || res.Records != 1000 || res.Bytes != 100_000 || res.Config.Partitions != 4 || !res.Config.TopicCreated ||
		res.Latency.P50 <= 0 || res.Latency.Max < res.Latency.P999 {
		t.Fatalf("json result: %+v", res)
	}
	if n := endOffset(t, bs, "p4"); n != 1000 {
		t.Fatalf("topic holds %d records, want 1000", n)
	}

	// Open loop for a duration: the schedule sets the count (rate ×
	// duration), whatever the broker's speed; progress lines on stderr.
	r = mustBench(t, "produce", "--bootstrap-server", bs, "--topic", "p", "--size", "64", "--duration", "1s", "--rate", "200",
		"--report-interval", "300ms")
	m := kafkaSummary.FindStringSubmatch(r.stdout)
	if m == nil || m[1] != "200" {
		t.Fatalf("open loop 200/s for 1s: %q", r.stdout)
	}
	window := regexp.MustCompile(`(?m)^\d+ records sent, \d+\.\d records/sec \(\d+\.\d\d MB/sec\), \d+\.\d ms avg latency, \d+\.\d ms max latency\.$`)
	if !window.MatchString(r.stderr) {
		t.Errorf("no progress line on stderr: %q", r.stderr)
	}
}

// TestProduce15MB is the acceptance case: 15 MB records against a
// broker with default limits (message.max.bytes 1048588) just work.
func TestProduce15MB(t *testing.T) {
	bs := kafkatest.Start(t)
	r := mustBench(t, "produce", "--bootstrap-server", bs, "--topic", "big", "--size", "15MB", "--count", "3", "--json")
	var res produceResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Records != 3 || res.Bytes != 3*15_000_000 {
		t.Fatalf("15MB produce: %v %+v", err, res)
	}
	r = mustBench(t, "consume", "--bootstrap-server", bs, "--topic", "big", "--json")
	var cres consumeResult
	if err := json.Unmarshal([]byte(r.stdout), &cres); err != nil || cres.Records != 3 || cres.Bytes != 3*15_000_000 {
		t.Fatalf("15MB consume: %v %+v", err, cres)
	}
	// An existing topic too small for the records is a clear error: up
	// front when the topic sets the limit explicitly...
	cl, err := kgo.NewClient(kgo.SeedBrokers(bs))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	limit := "1000000"
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 1, -1, map[string]*string{"max.message.bytes": &limit}, "small"); err != nil {
		t.Fatal(err)
	}
	wantExit(t, bench(t, "produce", "--bootstrap-server", bs, "--topic", "small", "--size", "2MiB", "--count", "1"), 1,
		`Error: topic "small" has max.message.bytes=1000000, too small for 2097152-byte records; raise it (gregor configs --alter --topic small --add-config max.message.bytes=`)
	// ...and from the broker's answer when only a default is reported.
	mustBench(t, "produce", "--bootstrap-server", bs, "--topic", "dflt", "--size", "10", "--count", "1")
	r = bench(t, "produce", "--bootstrap-server", bs, "--topic", "dflt", "--size", "2MiB", "--count", "1")
	wantExit(t, r, 1, "Error: 1 records failed; first error: MESSAGE_TOO_LARGE")
	wantExit(t, r, 1, "the topic's max.message.bytes is too small: raise it")
}

// sampleBrokerConfig reads the limits of the repository's sample
// config/server.properties that a client-side bench run depends on.
func sampleBrokerConfig(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "config", "server.properties"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && (k == "message.max.bytes" || k == "num.partitions") {
			out[k] = v
		}
	}
	if out["message.max.bytes"] == "" {
		t.Fatal("config/server.properties sets no message.max.bytes")
	}
	return out
}

// TestProduce15MBSampleConfig runs the acceptance case against a broker
// with the sample configuration's limits, on a topic bench creates and on
// one that already exists with the broker's default max.message.bytes.
func TestProduce15MBSampleConfig(t *testing.T) {
	cfg := sampleBrokerConfig(t)
	bs := kafkatest.StartWith(t, kafkatest.Options{BrokerConfigs: cfg, SeedTopics: []string{"existing"}})
	for _, topic := range []string{"fresh", "existing"} {
		r := mustBench(t, "produce", "--bootstrap-server", bs, "--topic", topic, "--size", "15MB", "--count", "2")
		if m := kafkaSummary.FindStringSubmatch(r.stdout); m == nil || m[1] != "2" {
			t.Fatalf("%s: %q", topic, r.stdout)
		}
		if n := endOffset(t, bs, topic); n != 2 {
			t.Fatalf("%s holds %d records, want 2", topic, n)
		}
	}
}

func TestConsume(t *testing.T) {
	bs := kafkatest.Start(t)
	mustBench(t, "produce", "--bootstrap-server", bs, "--topic", "c", "--size", "1KiB", "--count", "500", "--partitions", "3")
	r := mustBench(t, "consume", "--bootstrap-server", bs, "--topic", "c")
	csv := regexp.MustCompile(`^start\.time, end\.time, data\.consumed\.in\.MB, MB\.sec, data\.consumed\.in\.nMsg, nMsg\.sec, rebalance\.time\.ms, fetch\.time\.ms, fetch\.MB\.sec, fetch\.nMsg\.sec\n` +
		`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}, 0\.4883, \d+\.\d{4}, 500, \d+\.\d{4}, \d+, \d+, \d+\.\d{4}, \d+\.\d{4}\n$`)
	if !csv.MatchString(r.stdout) {
		t.Errorf("consume output: %q", r.stdout)
	}
	r = mustBench(t, "consume", "--bootstrap-server", bs, "--topic", "c", "--group", "bg", "--count", "200", "--json")
	var res consumeResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Records != 200 || res.Group != "bg" || res.Bytes != 200*1024 {
		t.Fatalf("group consume: %v %+v", err, res)
	}
	wantExit(t, bench(t, "consume", "--bootstrap-server", bs, "--topic", "missing"), 1, `Error: topic "missing" does not exist`)
	mustBench(t, "produce", "--bootstrap-server", bs, "--topic", "c", "--size", "1KiB", "--count", "1")
	wantExit(t, bench(t, "consume", "--bootstrap-server", bs, "--topic", "c", "--count", "900", "--timeout", "1s"), 1,
		"Error: no record arrived for 1s; read 501 of 900 records")
}

func TestE2E(t *testing.T) {
	bs := kafkatest.Start(t)
	r := mustBench(t, "e2e", "--bootstrap-server", bs, "--topic", "lat", "--rate", "200", "--count", "100", "--size", "200")
	lines := regexp.MustCompile(`^Avg latency: \d+\.\d{4} ms\nPercentiles: 50th = \d+, 99th = \d+, 99\.9th = \d+\n100 records received of 100 sent, .+\n$`)
	if !lines.MatchString(r.stdout) {
		t.Errorf("e2e output: %q", r.stdout)
	}
	r = mustBench(t, "e2e", "--bootstrap-server", bs, "--topic", "lat", "--rate", "100", "--duration", "1s", "--acks", "1", "--json")
	var res e2eResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Sent != 100 || res.Received != 100 ||
		res.EndToEnd.P50 <= 0 || res.ProduceAck.P50 <= 0 {
		t.Fatalf("e2e json: %v %+v", err, res)
	}
}

func TestUsageAndUnreachable(t *testing.T) {
	for _, sub := range []string{"produce", "consume", "e2e", "zk"} {
		r := mustBench(t, sub, "--help")
		if !strings.Contains(r.stdout, "bench "+sub) || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("%s --help lacks usage or examples:\n%s", sub, r.stdout)
		}
	}
	b := []string{"--bootstrap-server", "127.0.0.1:1", "--topic", "t"}
	wantExit(t, bench(t, append([]string{"produce", "--size", "10XB", "--count", "1"}, b...)...), 2, `invalid size "10XB"`)
	wantExit(t, bench(t, append([]string{"produce", "--count", "1", "--duration", "1s"}, b...)...), 2, "give --count or --duration, not both")
	wantExit(t, bench(t, append([]string{"produce"}, b...)...), 2, "give --count N or --duration D")
	wantExit(t, bench(t, append([]string{"produce", "--count", "1", "--acks", "2"}, b...)...), 2, `invalid --acks "2"`)
	wantExit(t, bench(t, append([]string{"produce", "--count", "1", "--compression", "brotli"}, b...)...), 2, `unknown compression "brotli"`)
	wantExit(t, bench(t, "produce", "--count", "1", "--topic", "t"), 2, "missing required option --bootstrap-server")
	wantExit(t, bench(t, append([]string{"e2e", "--count", "1", "--rate", "0"}, b...)...), 2, "--rate must be positive")
	wantExit(t, bench(t, append([]string{"e2e", "--count", "1", "--size", "8"}, b...)...), 2, "--size must be at least 24 bytes")
	wantExit(t, bench(t, "zk", "--server", "127.0.0.1:1", "--ops", "1", "--mix", "create=1,frob=2"), 2, `unknown operation "frob"`)
	wantExit(t, bench(t, "zk", "--server", "127.0.0.1:1", "--ops", "1", "--root", "/zookeeper/x"), 2, "--root must be")
	wantExit(t, bench(t, "frobnicate"), 2, `unknown command "frobnicate"`)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	for _, sub := range []string{"produce", "consume", "e2e"} {
		r := bench(t, sub, "--bootstrap-server", dead, "--topic", "t", "--count", "1", "--timeout", "1s")
		wantExit(t, r, 1, "Error: cannot reach Kafka broker at "+dead+" within 1s")
	}
	wantExit(t, bench(t, "zk", "--server", dead, "--ops", "1", "--timeout", "1s"), 1, "Error: cannot connect to ZooKeeper at "+dead+" within 1s")
}

func TestBenchZK(t *testing.T) {
	for _, impl := range clitest.ZKServers() {
		t.Run(impl.Name, func(t *testing.T) {
			addr := impl.Start(t)
			r := mustBench(t, "zk", "--server", addr, "--clients", "3", "--ops", "300", "--mix", "create=30,get=40,set=20,exists=5,delete=5", "--json")
			var res zkResult
			if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
				t.Fatalf("json: %v\n%s", err, r.stdout)
			}
			if res.Ops != 300 || res.Errors != 0 || res.PerOp["create"].Ops == 0 || res.PerOp["get"].Ops == 0 || res.PerOp["set"].Ops == 0 ||
				res.Latency.P50 <= 0 || res.OpsPerSec <= 0 {
				t.Fatalf("zk result: %+v", res)
			}
			r = mustBench(t, "zk", "--server", addr, "--clients", "2", "--duration", "500ms", "--size", "1KB")
			line := regexp.MustCompile(`^\d+ ops, \d+\.\d ops/sec, \d+\.\d{3} ms avg latency, \d+\.\d{3} ms max latency, \d+\.\d{3} ms 50th, \d+\.\d{3} ms 95th, \d+\.\d{3} ms 99th, \d+\.\d{3} ms 99\.9th\.\n` +
				`  create: \d+ ops.*\n  get: \d+ ops.*\n  set: \d+ ops.*\n$`)
			if !line.MatchString(r.stdout) {
				t.Errorf("zk text output: %q", r.stdout)
			}
			// The run cleaned up after itself: the default root is gone.
			cn, err := cli.ZKConnect(context.Background(), addr, 10*time.Second, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer cn.Close()
			if ok, _, err := cn.Exists("/gregor-bench"); err != nil || ok {
				t.Errorf("/gregor-bench left behind (exists=%v, err=%v)", ok, err)
			}
		})
	}
}

func TestBufferBytes(t *testing.T) {
	tests := []struct{ flag, size, want int64 }{
		{0, 1024, 64 << 20},               // default: 64 MiB
		{0, 32 << 20, 128 << 20},          // default: four records
		{4 << 20, 1024, 4 << 20},          // --buffer-memory
		{1 << 20, 15_000_000, 15_000_000}, // never below one record
	}
	for _, tc := range tests {
		if got := bufferBytes(tc.flag, tc.size); int64(got) != tc.want {
			t.Errorf("bufferBytes(%d, %d) = %d, want %d", tc.flag, tc.size, got, tc.want)
		}
	}
}
