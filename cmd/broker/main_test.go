package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/internal/testutil"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gregor-broker-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "broker")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building broker: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runBroker(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestInvalidValueNamesKey(t *testing.T) {
	_, stderr, code := runBroker(t, t.TempDir(), "--override", "num.partitions=zero")
	if code != 2 || !strings.Contains(stderr, "num.partitions") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	_, stderr, code = runBroker(t, t.TempDir(), "--override", "listeners=PLAINTEXT://127.0.0.1:0", "-bogus")
	if code != 2 || !strings.Contains(stderr, "-bogus") {
		t.Fatalf("unknown option: exit %d, stderr %q", code, stderr)
	}
}

// startForeground runs the broker in the foreground in dir and returns
// the process and the address it printed.
func startForeground(t *testing.T, dir string, args ...string) (*exec.Cmd, string, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	re := regexp.MustCompile(`started on (\S+) `)
	timeout := time.After(90 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("broker exited before starting; stderr:\n%s", stderr.String())
			}
			if m := re.FindStringSubmatch(l); m != nil {
				go func() {
					for range lines {
					}
				}()
				return cmd, m[1], &stderr
			}
		case <-timeout:
			t.Fatalf("broker did not start; stderr:\n%s", stderr.String())
		}
	}
}

func stopForeground(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("broker exit after SIGTERM: %v", err)
	}
}

func kcatRoundTrip(t *testing.T, addr, topic string) {
	t.Helper()
	kcat := testutil.RequireTool(t, "kcat")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := exec.CommandContext(ctx, kcat, "-P", "-b", addr, "-t", topic)
	p.Stdin = strings.NewReader("hello gregor\n")
	if out, err := p.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	out, err := exec.CommandContext(ctx, kcat, "-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-q").CombinedOutput()
	if err != nil || string(out) != "hello gregor\n" {
		t.Fatalf("kcat -C: %v %q", err, out)
	}
}

// groupRoundTrip consumes topic's record ("hello gregor", written by
// kcatRoundTrip) in a consumer group and commits it: consumer groups work
// out of the box (__consumer_offsets is created with the configuration's
// replication factor, 1 without any configuration).
func groupRoundTrip(t *testing.T, addr, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup("readme"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	n := 0
	for n == 0 && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("group fetch: %v", err) })
		n += fs.NumRecords()
	}
	if err := cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, "readme")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup(topic, 0); !ok || o.At != 1 {
		t.Fatalf("committed offset %+v (found %v), want 1", o, ok)
	}
}

// TestSampleConfig: the shipped config/server.properties starts a broker
// (with the coordination embedded and loopback port 0 for the test), with
// no warnings, and kcat can use it.
func TestSampleConfig(t *testing.T) {
	dir := t.TempDir()
	sample := filepath.Join(testutil.RepoRoot(t), "config", "server.properties")
	cmd, addr, stderr := startForeground(t, dir, sample, "--override", "listeners=PLAINTEXT://127.0.0.1:0", "--override", "zookeeper.connect=")
	kcatRoundTrip(t, addr, "sample")
	groupRoundTrip(t, addr, "sample")
	stopForeground(t, cmd)
	if strings.Contains(stderr.String(), "warning") {
		t.Errorf("warnings for the sample config:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "kafka-logs", ".kafka_cleanshutdown")); err != nil {
		t.Errorf("no clean-shutdown marker after SIGTERM: %v", err)
	}
}

// TestUnknownKeyWarned: an unknown key is a warning, not an error.
func TestUnknownKeyWarned(t *testing.T) {
	dir := t.TempDir()
	props := filepath.Join(dir, "server.properties")
	os.WriteFile(props, []byte("listeners=PLAINTEXT://127.0.0.1:0\nno.such.key=1\n"), 0o644)
	cmd, _, stderr := startForeground(t, dir, props)
	stopForeground(t, cmd)
	if !strings.Contains(stderr.String(), "no.such.key") {
		t.Errorf("unknown key not warned about:\n%s", stderr.String())
	}
}

// TestDaemonAndStop: -daemon detaches with a pid file and logs under the
// log dir's sibling logs/; stop ends it gracefully.
func TestDaemonAndStop(t *testing.T) {
	dir := t.TempDir()
	props := filepath.Join(dir, "server.properties")
	os.WriteFile(props, []byte("listeners=PLAINTEXT://127.0.0.1:0\nlog.dirs="+filepath.Join(dir, "d", "kafka-logs")+
		"\nembedded.zookeeper.data.dir="+filepath.Join(dir, "d", "zookeeper")+"\n"), 0o644)
	out, stderr, code := runBroker(t, dir, "-daemon", props)
	if code != 0 {
		t.Fatalf("-daemon: exit %d\n%s%s", code, out, stderr)
	}
	pidFile := filepath.Join(dir, "d", "logs", "broker.pid")
	t.Cleanup(func() {
		if pid, ok := runningPid(pidFile); ok {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	logData, _ := os.ReadFile(filepath.Join(dir, "d", "logs", "server.log"))
	m := regexp.MustCompile(`started on (\S+) `).FindSubmatch(logData)
	if m == nil {
		t.Fatalf("no start line in logs/server.log:\n%s", logData)
	}
	kcatRoundTrip(t, string(m[1]), "daemon")
	if _, _, code := runBroker(t, dir, "-daemon", props); code == 0 {
		t.Error("a second -daemon started while one runs")
	}
	out, stderr, code = runBroker(t, dir, "stop", props)
	if code != 0 {
		t.Fatalf("stop: exit %d\n%s%s", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "d", "kafka-logs", ".kafka_cleanshutdown")); err != nil {
		t.Errorf("no clean-shutdown marker after stop: %v", err)
	}
	if _, _, code := runBroker(t, dir, "stop", props); code == 0 {
		t.Error("stop with nothing running succeeded")
	}
}

// TestREADMEFirstCommand: with no arguments at all the broker listens on
// 127.0.0.1:9092 with embedded coordination and data under ./data, and
// kcat can use it at once. It needs port 9092: skipped locally when
// something else holds it, failed in CI.
func TestREADMEFirstCommand(t *testing.T) {
	if l, err := net.Listen("tcp", "127.0.0.1:9092"); err != nil {
		if testutil.InCI() {
			t.Fatalf("port 9092 busy: %v", err)
		}
		t.Skipf("port 9092 busy: %v", err)
	} else {
		l.Close()
	}
	dir := t.TempDir()
	cmd, addr, _ := startForeground(t, dir)
	if addr != "127.0.0.1:9092" {
		t.Fatalf("listening on %s", addr)
	}
	kcatRoundTrip(t, addr, "first")
	groupRoundTrip(t, addr, "first")
	stopForeground(t, cmd)
	for _, p := range []string{"data/kafka-logs/first-0", "data/zookeeper"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// TestPprofFlag: --pprof is parsed in both spellings, and the server it
// starts answers the profiles the benchmark suite takes.
func TestPprofFlag(t *testing.T) {
	for _, args := range [][]string{{"--pprof", "127.0.0.1:0"}, {"--pprof=127.0.0.1:0"}} {
		inv, err := parseArgs(args)
		if err != nil || inv.pprof != "127.0.0.1:0" {
			t.Fatalf("parseArgs(%q) = %+v, %v", args, inv, err)
		}
	}
	if _, err := parseArgs([]string{"--pprof"}); err == nil {
		t.Fatal("--pprof without an address accepted")
	}
	addr, stop, err := servePprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/allocs", "/debug/pprof/profile?seconds=1"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Fatalf("GET %s: %s, %d bytes", path, resp.Status, len(body))
		}
	}
}
