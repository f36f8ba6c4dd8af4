package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// binaries are Gregor's programs built for this run.
type binaries struct {
	broker, bench string
}

// buildBinaries builds cmd/broker and cmd/bench into dir.
func buildBinaries(ctx context.Context, root, dir string) (binaries, error) {
	b := binaries{broker: filepath.Join(dir, "broker"), bench: filepath.Join(dir, "bench")}
	for _, t := range []struct{ out, pkg string }{{b.broker, "./cmd/broker"}, {b.bench, "./cmd/bench"}} {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		cmd := exec.CommandContext(cctx, "go", "build", "-o", t.out, t.pkg)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			return b, fmt.Errorf("%w: go build %s: %v\n%s", errSuite, t.pkg, err, out)
		}
	}
	return b, nil
}

// brokerProc is one Gregor broker process with its own temporary data.
type brokerProc struct {
	cmd   *exec.Cmd
	dir   string
	addr  string // Kafka listener, 127.0.0.1:port
	pprof string // pprof address, "" when not asked for
	out   *lockedWriter
	done  chan struct{}
}

var (
	startedRe = regexp.MustCompile(`started on (\S+) `)
	pprofRe   = regexp.MustCompile(`pprof on http://(\S+)/debug/pprof/`)
)

// startBroker runs the broker binary in a fresh temporary directory, on a
// loopback port the kernel picks, with the overrides (key=value) and,
// with pprof, its pprof server on another loopback port.
func startBroker(ctx context.Context, bin, tmp string, overrides []string, pprof bool) (*brokerProc, error) {
	dir, err := os.MkdirTemp(tmp, "broker-")
	if err != nil {
		return nil, err
	}
	args := []string{
		"--override", "listeners=PLAINTEXT://127.0.0.1:0",
		"--override", "log.dirs=" + filepath.Join(dir, "data"),
		"--override", "embedded.zookeeper.data.dir=" + filepath.Join(dir, "zk"),
		"--override", "message.max.bytes=15728640",
		"--override", "group.initial.rebalance.delay.ms=0",
	}
	for _, o := range overrides {
		args = append(args, "--override", o)
	}
	if pprof {
		args = append([]string{"--pprof", "127.0.0.1:0"}, args...)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &brokerProc{cmd: cmd, dir: dir, out: &lockedWriter{w: &bytes.Buffer{}}, done: make(chan struct{})}
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: starting broker: %w", errSuite, err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, stdout)
		close(lines)
	}()
	go func() { cmd.Wait(); close(p.done) }()
	deadline := time.After(90 * time.Second)
	for p.addr == "" || (pprof && p.pprof == "") {
		select {
		case l, ok := <-lines:
			if !ok {
				return nil, fmt.Errorf("%w: broker exited before starting: %s", errSuite, tail(p.out.String()))
			}
			if m := startedRe.FindStringSubmatch(l); m != nil {
				p.addr = m[1]
			}
			if m := pprofRe.FindStringSubmatch(l); m != nil {
				p.pprof = m[1]
			}
		case <-deadline:
			p.stop()
			return nil, fmt.Errorf("%w: broker did not start in 90s: %s", errSuite, tail(p.out.String()))
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		}
	}
	return p, nil
}

// stop ends the broker with SIGTERM (SIGKILL after 60 s) and removes its data.
func (p *brokerProc) stop() { stopProcess(p.cmd, p.done, syscall.SIGTERM, 60*time.Second, p.dir) }

// stopProcess sends sig to cmd's process, kills it if done is not closed
// within grace, waits for it, and removes dir.
func stopProcess(cmd *exec.Cmd, done <-chan struct{}, sig os.Signal, grace time.Duration, dir string) {
	if cmd.Process != nil {
		cmd.Process.Signal(sig)
		select {
		case <-done:
		case <-time.After(grace):
			cmd.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(dir)
}

// rssMiB reads the broker's resident set (VmRSS) from /proc.
func (p *brokerProc) rssMiB() (float64, error) {
	return procRSSMiB(p.cmd.Process.Pid)
}

func procRSSMiB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("%w: no VmRSS in /proc/%d/status", errSuite, pid)
}

// countFiles counts files ending in suffix under the broker's log dir.
func (p *brokerProc) countFiles(suffix string) int {
	n := 0
	filepath.WalkDir(filepath.Join(p.dir, "data"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, suffix) {
			n++
		}
		return nil
	})
	return n
}

// profile saves /debug/pprof/<name> (with query) to path.
func (p *brokerProc) profile(ctx context.Context, name, query, path string) error {
	if p.pprof == "" {
		return fmt.Errorf("%w: broker runs without pprof", errSuite)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.pprof+"/debug/pprof/"+name+query, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: pprof %s: %s", errSuite, name, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// runBench runs the bench binary with args plus --json and decodes its
// result into out. The run is bounded by limit.
func runBench(ctx context.Context, bin string, limit time.Duration, out any, args ...string) error {
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	args = append(args, "--json", "--report-interval", "0")
	cmd := exec.CommandContext(cctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if jerr := json.Unmarshal(stdout.Bytes(), out); jerr != nil {
		if err == nil {
			err = jerr
		}
		return fmt.Errorf("%w: bench %s: %v: %s", errSuite, strings.Join(args, " "), err, tail(stderr.String()))
	}
	if err != nil {
		return fmt.Errorf("%w: bench %s: %v: %s", errSuite, strings.Join(args, " "), err, tail(stderr.String()))
	}
	return nil
}

// benchProduce is the part of `bench produce --json` the suite reads.
type benchProduce struct {
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	Errors        int64   `json:"errors"`
	ElapsedSec    float64 `json:"elapsed_sec"`
	RecordsPerSec float64 `json:"records_per_sec"`
	FirstError    string  `json:"first_error"`
}

// MBps is the throughput in MB/s of 10^6 bytes (the limits' unit).
func (r benchProduce) MBps() float64 { return float64(r.Bytes) / 1e6 / max(r.ElapsedSec, 1e-9) }

type benchConsume struct {
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	ElapsedSec    float64 `json:"elapsed_sec"`
	RecordsPerSec float64 `json:"records_per_sec"`
	FetchMs       int64   `json:"fetch_ms"`
	RebalanceMs   int64   `json:"rebalance_ms"`
}

type benchLatency struct {
	P50  float64 `json:"p50"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
}

type benchE2E struct {
	Sent          int64        `json:"sent"`
	Received      int64        `json:"received"`
	RecordsPerSec float64      `json:"records_per_sec"`
	EndToEnd      benchLatency `json:"end_to_end_latency_ms"`
}

// lockedWriter keeps the first MiB of a child's stderr (enough to explain
// a failure) and lets it be read while the child writes.
type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.w.Len() > 1<<20 {
		return len(b), nil
	}
	return l.w.Write(b)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 600 {
		s = "..." + s[len(s)-600:]
	}
	return s
}

var errSuite = errors.New("suite")
