// Command broker runs a Gregor Kafka broker.
//
//	broker [-daemon] [--pprof 127.0.0.1:PORT] [server.properties] [--override key=value]...
//	broker stop [server.properties] [--override key=value]...
//
// With no arguments it runs a single node on 127.0.0.1:9092 with embedded
// coordination (zkstore inside the process) and its data under ./data. It
// runs in the foreground until SIGTERM or SIGINT, then shuts down
// gracefully: in-flight requests finish, logs are flushed, checkpoints and
// the clean-shutdown marker are written. -daemon detaches, with its output
// in logs/server.log next to the first log dir (./data/logs by default)
// and its pid in logs/broker.pid there; `broker stop` with the same
// configuration sends SIGTERM to that pid and waits for the exit.
//
// --pprof ADDR (opt-in, for profiling; off by default) serves Go's
// net/http/pprof handlers under /debug/pprof/ on ADDR, which should be a
// loopback address: the benchmark suite takes CPU and allocation profiles
// of the broker through it. The bound address is printed at start.
//
// Unknown keys are warned about; an invalid value stops the broker with a
// message naming the key (exit status 2).
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gregorlog/gregor/broker"
	"github.com/gregorlog/gregor/broker/config"
)

const usage = `Usage: broker [-daemon] [--pprof 127.0.0.1:PORT] [server.properties] [--override key=value]...
       broker stop [server.properties] [--override key=value]...

With no arguments: one broker on 127.0.0.1:9092, embedded coordination,
data under ./data.
`

const (
	pidFileName  = "broker.pid"
	logFileName  = "server.log"
	startTimeout = 90 * time.Second
	stopTimeout  = 90 * time.Second
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type invocation struct {
	stop, daemon bool
	path         string
	overrides    []string
	pprof        string // listen address of the opt-in pprof server
}

func parseArgs(args []string) (invocation, error) {
	var inv invocation
	if len(args) > 0 && args[0] == "stop" {
		inv.stop = true
		args = args[1:]
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-daemon" || a == "--daemon":
			inv.daemon = true
		case a == "--override" || a == "-override":
			if i+1 >= len(args) {
				return inv, fmt.Errorf("%s needs key=value", a)
			}
			i++
			inv.overrides = append(inv.overrides, args[i])
		case strings.HasPrefix(a, "--override="):
			inv.overrides = append(inv.overrides, strings.TrimPrefix(a, "--override="))
		case a == "--pprof" || a == "-pprof":
			if i+1 >= len(args) {
				return inv, fmt.Errorf("%s needs host:port", a)
			}
			i++
			inv.pprof = args[i]
		case strings.HasPrefix(a, "--pprof="):
			inv.pprof = strings.TrimPrefix(a, "--pprof=")
		case a == "-h" || a == "--help" || a == "-help":
			return inv, errHelp
		case strings.HasPrefix(a, "-"):
			return inv, fmt.Errorf("unknown option %s", a)
		case inv.path == "":
			inv.path = a
		default:
			return inv, fmt.Errorf("unexpected argument %q (one server.properties only)", a)
		}
	}
	return inv, nil
}

var errHelp = errors.New("help")

func run(args []string, stdout, stderr io.Writer) int {
	inv, err := parseArgs(args)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "broker: %v\n%s", err, usage)
		return 2
	}
	cfg, err := config.Load(inv.path, inv.overrides)
	if err != nil {
		fmt.Fprintf(stderr, "broker: invalid configuration: %v\n", err)
		return 2
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "broker: warning: %s\n", w)
	}
	switch {
	case inv.stop:
		return stop(cfg, stdout, stderr)
	case inv.daemon:
		return daemon(cfg, args, stdout, stderr)
	}
	return foreground(cfg, inv, stdout, stderr)
}

// logsDir is the sibling "logs" of the first log dir.
func logsDir(cfg *config.Config) string {
	d, err := filepath.Abs(cfg.LogDirs()[0])
	if err != nil {
		d = cfg.LogDirs()[0]
	}
	return filepath.Join(filepath.Dir(d), "logs")
}

func pidPath(cfg *config.Config) string { return filepath.Join(logsDir(cfg), pidFileName) }

func foreground(cfg *config.Config, inv invocation, stdout, stderr io.Writer) int {
	log := slog.New(slog.NewTextHandler(stderr, nil))
	b, err := broker.New(cfg, broker.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "broker: %v\n", err)
		return 2
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	if err := b.Start(); err != nil {
		fmt.Fprintf(stderr, "broker: %v\n", err)
		return 1
	}
	pf := pidPath(cfg)
	if err := os.MkdirAll(filepath.Dir(pf), 0o755); err == nil {
		if err := os.WriteFile(pf, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			fmt.Fprintf(stderr, "broker: warning: pid file: %v\n", err)
		}
	}
	defer os.Remove(pf)
	fmt.Fprintf(stdout, "Gregor broker %d started on %s (cluster %s", b.ID(), b.Addr(), b.ClusterID())
	if z := b.ZkAddr(); z != "" {
		fmt.Fprintf(stdout, ", embedded coordination on %s", z)
	}
	fmt.Fprintln(stdout, ")")
	if inv.pprof != "" {
		addr, closePprof, err := servePprof(inv.pprof)
		if err != nil {
			fmt.Fprintf(stderr, "broker: --pprof: %v\n", err)
		} else {
			defer closePprof()
			fmt.Fprintf(stdout, "broker: pprof on http://%s/debug/pprof/\n", addr)
		}
	}
	code := 0
	select {
	case s := <-sig:
		fmt.Fprintf(stdout, "broker: %v: shutting down\n", s)
	case err := <-b.Fatal():
		fmt.Fprintf(stderr, "broker: %v\n", err)
		code = 1
	}
	if err := b.Close(); err != nil {
		fmt.Fprintf(stderr, "broker: shutdown: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "broker: stopped")
	return code
}

// daemon re-executes the broker in the foreground, detached, and waits
// for it to write its pid file (after it started) or to exit.
func daemon(cfg *config.Config, args []string, stdout, stderr io.Writer) int {
	pf := pidPath(cfg)
	if pid, alive := runningPid(pf); alive {
		fmt.Fprintf(stderr, "broker: already running as process %d (%s)\n", pid, pf)
		return 1
	}
	os.Remove(pf)
	if err := os.MkdirAll(logsDir(cfg), 0o755); err != nil {
		fmt.Fprintf(stderr, "broker: %v\n", err)
		return 1
	}
	var fwd []string
	for _, a := range args {
		if a != "-daemon" && a != "--daemon" {
			fwd = append(fwd, a)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "broker: %v\n", err)
		return 1
	}
	outPath := filepath.Join(logsDir(cfg), logFileName)
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintf(stderr, "broker: %v\n", err)
		return 1
	}
	defer out.Close()
	cmd := exec.Command(exe, fwd...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "broker: %v\n", err)
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-exited:
			fmt.Fprintf(stderr, "broker: failed to start (%v); see %s\n", err, outPath)
			return 1
		default:
		}
		if pid, alive := runningPid(pf); alive && pid == cmd.Process.Pid {
			fmt.Fprintf(stdout, "broker started as process %d; logs in %s\n", pid, outPath)
			return 0
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(stderr, "broker: not started after %v; see %s\n", startTimeout, outPath)
			return 1
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func stop(cfg *config.Config, stdout, stderr io.Writer) int {
	pf := pidPath(cfg)
	pid, alive := runningPid(pf)
	if !alive {
		fmt.Fprintf(stderr, "broker: no broker to stop (no live pid in %s)\n", pf)
		return 1
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		fmt.Fprintf(stderr, "broker: kill %d: %v\n", pid, err)
		return 1
	}
	deadline := time.Now().Add(stopTimeout)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			fmt.Fprintf(stderr, "broker: process %d still running %v after SIGTERM\n", pid, stopTimeout)
			return 1
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Fprintf(stdout, "broker: process %d stopped\n", pid)
	return 0
}

func runningPid(pf string) (int, bool) {
	b, err := os.ReadFile(pf)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, syscall.Kill(pid, 0) == nil
}

// servePprof serves net/http/pprof on addr (opt-in via --pprof) and returns
// the bound address and a function that stops the server.
func servePprof(addr string) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // heap, allocs, goroutine, ... by name
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	return ln.Addr().String(), func() { srv.Close() }, nil
}
