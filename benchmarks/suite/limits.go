package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// tools are the Debian packages the suite runs, by the command (or, with a
// slash, the file) it needs. Apache ZooKeeper is the zk sweep's peer
// (internal/zkref runs its jar with the JRE the package depends on).
var tools = []struct{ cmd, pkg string }{
	{"fio", "fio"},
	{"iperf3", "iperf3"},
	{"nats-server", "nats-server"},
	{"/usr/share/java/zookeeper.jar", "zookeeper"},
}

func haveTool(cmd string) bool {
	if strings.Contains(cmd, "/") {
		_, err := os.Stat(cmd)
		return err == nil
	}
	_, err := exec.LookPath(cmd)
	return err == nil
}

// ensureTools finds fio, iperf3 and nats-server, installing the missing
// ones from Debian (apt-get update once, then apt-get install), which needs
// root. It returns each tool's version line.
func ensureTools(ctx context.Context, logf func(string, ...any)) (map[string]string, error) {
	var missing []string
	for _, t := range tools {
		if !haveTool(t.cmd) {
			missing = append(missing, t.pkg)
		}
	}
	if len(missing) > 0 {
		if os.Geteuid() != 0 {
			return nil, fmt.Errorf("%w: missing %s; the suite installs them with apt-get, which needs root: run it as root or `sudo apt-get install -y %s` first",
				errSuite, strings.Join(missing, ", "), strings.Join(missing, " "))
		}
		logf("installing %s from Debian", strings.Join(missing, " "))
		for _, args := range [][]string{
			{"update", "-q"},
			append([]string{"install", "-y", "-q", "-o", "DPkg::Lock::Timeout=600"}, missing...),
		} {
			cctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
			cmd := exec.CommandContext(cctx, "apt-get", args...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				return nil, fmt.Errorf("%w: apt-get %s: %v\n%s", errSuite, args[0], err, tail(string(out)))
			}
		}
	}
	versions := map[string]string{}
	for _, t := range tools {
		if strings.Contains(t.cmd, "/") {
			out, _ := exec.CommandContext(ctx, "dpkg-query", "-W", "-f", "${Version}", t.pkg).Output()
			versions[t.pkg] = strings.TrimSpace(string(out))
			continue
		}
		out, _ := exec.CommandContext(ctx, t.cmd, "--version").CombinedOutput()
		versions[t.cmd] = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return versions, nil
}

// fioWrite measures sequential write bandwidth in MB/s (10^6 bytes) with
// 1 MiB blocks: buffered (page cache, like the broker's default flush), or
// with fdatasync=1 (one fdatasync per 1 MiB write). The file is size bytes,
// the run at most maxTime.
func fioWrite(ctx context.Context, dir string, size int64, fdatasync bool, maxTime time.Duration) (float64, error) {
	file := filepath.Join(dir, "fio.dat")
	defer os.Remove(file)
	args := []string{"--name=seqwrite", "--filename=" + file, "--rw=write", "--bs=1M", "--ioengine=psync",
		fmt.Sprintf("--size=%d", size), fmt.Sprintf("--runtime=%d", int(maxTime.Seconds())), "--output-format=json"}
	if fdatasync {
		args = append(args, "--fdatasync=1")
	}
	cctx, cancel := context.WithTimeout(ctx, maxTime+2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(cctx, "fio", args...).Output()
	if err != nil {
		return 0, fmt.Errorf("%w: fio: %v", errSuite, err)
	}
	return parseFio(out)
}

// parseFio reads the write bandwidth (MB/s, 10^6 bytes) of fio's
// --output-format=json, which may follow notes printed before it.
func parseFio(out []byte) (float64, error) {
	var res struct {
		Jobs []struct {
			Write struct {
				BwBytes float64 `json:"bw_bytes"`
			} `json:"write"`
		} `json:"jobs"`
	}
	if i := strings.IndexByte(string(out), '{'); i > 0 {
		out = out[i:]
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, fmt.Errorf("%w: fio output: %w", errSuite, err)
	}
	if len(res.Jobs) == 0 || res.Jobs[0].Write.BwBytes <= 0 {
		return 0, fmt.Errorf("%w: fio output has no write bandwidth", errSuite)
	}
	return res.Jobs[0].Write.BwBytes / 1e6, nil
}

// iperf3 measures loopback TCP bandwidth (one stream, 127.0.0.1) in MB/s
// (10^6 bytes) received, with -Z (the sender uses sendfile) or without.
func iperf3(ctx context.Context, dur time.Duration, zeroCopy bool) (float64, error) {
	port, err := freePort()
	if err != nil {
		return 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, dur+time.Minute)
	defer cancel()
	srv := exec.CommandContext(cctx, "iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", fmt.Sprint(port))
	if err := srv.Start(); err != nil {
		return 0, fmt.Errorf("%w: iperf3 server: %v", errSuite, err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	args := []string{"-c", "127.0.0.1", "-p", fmt.Sprint(port), "-t", fmt.Sprint(int(dur.Seconds())), "-J"}
	if zeroCopy {
		args = append(args, "-Z")
	}
	var out []byte
	for range 50 { // the server needs a moment to listen
		out, err = exec.CommandContext(cctx, "iperf3", args...).Output()
		if err == nil || cctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: iperf3 client: %v: %s", errSuite, err, tail(string(out)))
	}
	return parseIperf3(out)
}

// parseIperf3 reads the received bandwidth (MB/s, 10^6 bytes) of iperf3 -J.
func parseIperf3(out []byte) (float64, error) {
	var res struct {
		End struct {
			SumReceived struct {
				Bps float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, fmt.Errorf("%w: iperf3 output: %w", errSuite, err)
	}
	if res.Error != "" || res.End.SumReceived.Bps <= 0 {
		return 0, fmt.Errorf("%w: iperf3: no bandwidth %s", errSuite, res.Error)
	}
	return res.End.SumReceived.Bps / 8 / 1e6, nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
