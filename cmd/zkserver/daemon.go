package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gregorlog/gregor/zkstore"
	"github.com/gregorlog/gregor/zkstore/config"
	"github.com/gregorlog/gregor/zkstore/proto"
)

const (
	pidFileName = "zookeeper_server.pid"
	outFileName = "zookeeper.out"
	// exitNotRunning is stop's code when there is nothing to stop.
	exitNotRunning = 1
	startTimeout   = 60 * time.Second
	stopTimeout    = 60 * time.Second
)

// loadConfig reads cfgPath, printing warnings, and reports errors naming
// the key.
func loadConfig(cfgPath string, stderr io.Writer) (*config.Config, bool) {
	cfg, warns, err := config.Load(cfgPath)
	for _, w := range warns {
		fmt.Fprintf(stderr, "zkserver: warning: %s: %s\n", cfgPath, w)
	}
	if err != nil {
		fmt.Fprintf(stderr, "zkserver: invalid configuration: %v\n", err)
		return nil, false
	}
	return cfg, true
}

func pidFile(cfg *config.Config) string { return filepath.Join(cfg.DataDir, pidFileName) }

// startForeground serves until SIGTERM/SIGINT, then closes gracefully.
func startForeground(cfgPath string, stdout, stderr io.Writer) int {
	cfg, ok := loadConfig(cfgPath, stderr)
	if !ok {
		return 2
	}
	for _, d := range []string{cfg.DataDir, cfg.DataLogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			fmt.Fprintf(stderr, "zkserver: %v\n", err)
			return 1
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv, err := zkstore.NewServer(cfg, zkstore.WithLogger(log))
	if err != nil {
		fmt.Fprintf(stderr, "zkserver: %v\n", err)
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	if err := srv.Start(); err != nil {
		fmt.Fprintf(stderr, "zkserver: %v\n", err)
		srv.Close()
		return 1
	}
	fmt.Fprintf(stdout, "Using config: %s\nzkstore serving clients on %s (Mode: standalone)\n", cfgPath, srv.Addr())
	if a := srv.AdminAddr(); a != nil {
		fmt.Fprintf(stdout, "AdminServer on http://%s%s\n", a, cfg.AdminCommandURL)
	}
	s := <-sig
	fmt.Fprintf(stdout, "zkserver: %v: shutting down\n", s)
	if err := srv.Close(); err != nil {
		fmt.Fprintf(stderr, "zkserver: close: %v\n", err)
		return 1
	}
	return 0
}

// start re-executes zkserver start-foreground detached, writes the pid
// file, and waits until the server answers a handshake.
func start(cfgPath string, stdout, stderr io.Writer) int {
	cfg, ok := loadConfig(cfgPath, stderr)
	if !ok {
		return 2
	}
	fmt.Fprintf(stdout, "Using config: %s\n", cfgPath)
	if pid, alive := runningPid(cfg); alive {
		fmt.Fprintf(stdout, "zookeeper already running as process %d.\n", pid)
		return 1
	}
	if cfg.ClientPort == 0 {
		fmt.Fprintln(stderr, "zkserver: start needs a fixed clientPort (0 picks a random port nobody could find); use start-foreground")
		return 2
	}
	for _, d := range []string{cfg.DataDir, cfg.DataLogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			fmt.Fprintf(stderr, "zkserver: %v\n", err)
			return 1
		}
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "zkserver: %v\n", err)
		return 1
	}
	outPath := filepath.Join(cfg.DataLogDir, outFileName)
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintf(stderr, "zkserver: %v\n", err)
		return 1
	}
	defer out.Close()
	fmt.Fprint(stdout, "Starting zookeeper ... ")
	cmd := exec.Command(exe, "start-foreground", cfgPath)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stdout, "FAILED TO START\n")
		fmt.Fprintf(stderr, "zkserver: %v\n", err)
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := os.WriteFile(pidFile(cfg), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		cmd.Process.Kill()
		fmt.Fprintf(stdout, "FAILED TO WRITE PID\n")
		fmt.Fprintf(stderr, "zkserver: %v\n", err)
		return 1
	}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-exited:
			os.Remove(pidFile(cfg))
			fmt.Fprintf(stdout, "FAILED TO START\n")
			logTail, _ := os.ReadFile(outPath)
			fmt.Fprintf(stderr, "zkserver: server exited (%v); %s:\n%s\n", err, outPath, tail(logTail, 2000))
			return 1
		default:
		}
		if err := handshake(dialAddr(cfg)); err == nil {
			fmt.Fprintln(stdout, "STARTED")
			return 0
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(stdout, "FAILED TO START\n")
			fmt.Fprintf(stderr, "zkserver: no answer on %s after %v; see %s\n", dialAddr(cfg), startTimeout, outPath)
			return 1
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM to the pid in the pid file and waits for it to exit.
func stop(cfgPath string, stdout, stderr io.Writer) int {
	cfg, ok := loadConfig(cfgPath, stderr)
	if !ok {
		return 2
	}
	fmt.Fprintf(stdout, "Using config: %s\n", cfgPath)
	pf := pidFile(cfg)
	pid, alive := runningPid(cfg)
	if pid == 0 {
		fmt.Fprintf(stdout, "no zookeeper to stop (could not find file %s)\n", pf)
		return exitNotRunning
	}
	fmt.Fprint(stdout, "Stopping zookeeper ... ")
	if !alive {
		os.Remove(pf)
		fmt.Fprintf(stdout, "no process %d (stale pid file removed)\n", pid)
		return exitNotRunning
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		fmt.Fprintf(stdout, "FAILED\n")
		fmt.Fprintf(stderr, "zkserver: kill %d: %v\n", pid, err)
		return 1
	}
	deadline := time.Now().Add(stopTimeout)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			fmt.Fprintf(stdout, "FAILED\n")
			fmt.Fprintf(stderr, "zkserver: process %d still running %v after SIGTERM\n", pid, stopTimeout)
			return 1
		}
		time.Sleep(20 * time.Millisecond)
	}
	os.Remove(pf)
	fmt.Fprintln(stdout, "STOPPED")
	return 0
}

var modeRe = regexp.MustCompile(`(?m)^Mode: (\S+)`)

// status prints what zkServer.sh status prints, from the srvr answer.
func status(cfgPath string, stdout, stderr io.Writer) int {
	cfg, ok := loadConfig(cfgPath, stderr)
	if !ok {
		return 2
	}
	fmt.Fprintf(stdout, "Using config: %s\n", cfgPath)
	host := cfg.ClientPortAddress
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	fmt.Fprintf(stdout, "Client port found: %d. Client address: %s. Client SSL: false.\n", cfg.ClientPort, host)
	ans, err := fourLetter(dialAddr(cfg), "srvr")
	m := modeRe.FindStringSubmatch(ans)
	if err != nil || m == nil {
		if strings.Contains(ans, "not in the whitelist") {
			fmt.Fprintf(stderr, "%s", ans)
		}
		fmt.Fprintln(stderr, "Error contacting service. It is probably not running.")
		return 1
	}
	fmt.Fprintf(stdout, "Mode: %s\n", m[1])
	return 0
}

// runningPid reads the pid file: (0, false) without one.
func runningPid(cfg *config.Config) (int, bool) {
	b, err := os.ReadFile(pidFile(cfg))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, processAlive(pid)
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// Field 3, after "(comm)", is the state; Z is a zombie.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	return true
}

// dialAddr is the address to reach the server on from this host.
func dialAddr(cfg *config.Config) string {
	host := cfg.ClientPortAddress
	if host == "" || host == "0.0.0.0" {
		host = "127.0.0.1"
	} else if host == "::" {
		host = "::1"
	}
	return net.JoinHostPort(host, strconv.Itoa(cfg.ClientPort))
}

// handshake opens a session with a ZooKeeper ConnectRequest and closes it.
func handshake(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	req := proto.ConnectRequest{TimeOut: 4000, Passwd: make([]byte, proto.PasswordLen)}
	if _, err := c.Write(proto.AppendFramed(nil, &req)); err != nil {
		return err
	}
	body, err := proto.ReadFrame(c, nil, proto.DefaultMaxBuffer)
	if err != nil {
		return err
	}
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(body, &resp); err != nil {
		return err
	}
	if resp.SessionID == 0 {
		return errors.New("server refused the session")
	}
	_, err = c.Write(proto.AppendRequest(nil, proto.RequestHeader{Xid: 1, Type: proto.OpCloseSession}, nil))
	if err == nil {
		_, err = proto.ReadFrame(c, nil, proto.DefaultMaxBuffer)
	}
	return err
}

// fourLetter sends a four-letter word and returns the whole answer.
func fourLetter(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
