// Package zkref runs Apache ZooKeeper 3.8 (Debian's `zookeeper` package) on a
// loopback port, as the reference server for differential tests, the
// broker-on-ZooKeeper tests and the zk benchmarks.
//
// The server runs standalone (ZooKeeperServerMain) in its own JVM with a
// temporary dataDir, bound to 127.0.0.1 only, AdminServer off unless asked.
// In CI (CI=true) a missing Java or ZooKeeper fails the test instead of
// skipping it; scripts/deps.sh installs both.
package zkref

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/internal/testutil"
)

// Jar is Debian's ZooKeeper server jar; its manifest carries the classpath
// of every dependency.
const Jar = "/usr/share/java/zookeeper.jar"

// slf4jSimple is Debian's simple SLF4J binding (libslf4j-java, a
// dependency of the zookeeper package); it sends ZooKeeper's log to stderr.
const slf4jSimple = "/usr/share/java/slf4j-simple.jar"

// Config selects the reference server's settings. Zero values give
// ZooKeeper's defaults, except that the client port is a free loopback port.
type Config struct {
	// TickTime in milliseconds (default 2000).
	TickTime int
	// FourLetterWhitelist is 4lw.commands.whitelist (ZooKeeper's default,
	// "srvr", when empty).
	FourLetterWhitelist string
	// ForceSync false writes forceSync=no (default yes).
	NoForceSync bool
	// AdminServer enables the Jetty AdminServer on a free loopback port.
	AdminServer bool
	// Extra holds further zoo.cfg lines, key to value.
	Extra map[string]string
	// JVMProps holds extra -D system properties, key to value
	// (e.g. zookeeper.extendedTypesEnabled=true).
	JVMProps map[string]string
	// DataDir reuses a data directory (for restart tests); a fresh
	// temporary directory when empty.
	DataDir string
}

// Server is a running Apache ZooKeeper.
type Server struct {
	Addr      string // "127.0.0.1:port"
	Port      int
	AdminPort int // 0 unless Config.AdminServer
	DataDir   string
	LogFile   string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	stopped bool
}

// Available reports whether Java and Debian's ZooKeeper are installed.
func Available() error {
	if _, err := exec.LookPath("java"); err != nil {
		return fmt.Errorf("zkref: java not found: %w", err)
	}
	if _, err := os.Stat(Jar); err != nil {
		return fmt.Errorf("zkref: %s not found (apt-get install zookeeper): %w", Jar, err)
	}
	return nil
}

// Start launches a reference ZooKeeper for one test and stops it at cleanup.
// It skips locally and fails in CI when ZooKeeper is not installed.
func Start(t testing.TB, cfgs ...Config) *Server {
	t.Helper()
	if err := Available(); err != nil {
		if testutil.InCI() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	var cfg Config
	if len(cfgs) > 0 {
		cfg = cfgs[0]
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	s, err := Launch(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Launch starts a reference ZooKeeper outside of a test (benchmarks, TestMain).
// The caller must call Stop. DataDir must be set or a temporary one is made
// (and removed by Stop).
//
// A free port found by binding port 0 can be taken by another process
// before the JVM binds it, and a loaded machine can make the JVM slow to
// start, so Launch tries up to three times, each on fresh ports.
func Launch(cfg Config) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	var errs []error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := launchOnce(cfg, 40*time.Second)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func launchOnce(cfg Config, readyWithin time.Duration) (*Server, error) {
	ownDir := false
	if cfg.DataDir == "" {
		d, err := os.MkdirTemp("", "zkref-")
		if err != nil {
			return nil, err
		}
		cfg.DataDir, ownDir = d, true
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Port: port, Addr: fmt.Sprintf("127.0.0.1:%d", port), DataDir: cfg.DataDir, done: make(chan struct{})}
	tick := cfg.TickTime
	if tick == 0 {
		tick = 2000
	}
	lines := map[string]string{
		"tickTime":           strconv.Itoa(tick),
		"dataDir":            filepath.Join(cfg.DataDir, "data"),
		"clientPort":         strconv.Itoa(port),
		"clientPortAddress":  "127.0.0.1",
		"maxClientCnxns":     "0",
		"admin.enableServer": "false",
	}
	if cfg.FourLetterWhitelist != "" {
		lines["4lw.commands.whitelist"] = cfg.FourLetterWhitelist
	}
	if cfg.NoForceSync {
		lines["forceSync"] = "no"
	}
	if cfg.AdminServer {
		ap, err := freePort()
		if err != nil {
			return nil, err
		}
		s.AdminPort = ap
		lines["admin.enableServer"] = "true"
		lines["admin.serverAddress"] = "127.0.0.1"
		lines["admin.serverPort"] = strconv.Itoa(ap)
	}
	for k, v := range cfg.Extra {
		lines[k] = v
	}
	if err := os.MkdirAll(lines["dataDir"], 0o755); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(lines))
	for k := range lines {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, lines[k])
	}
	cfgPath := filepath.Join(cfg.DataDir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, b.Bytes(), 0o644); err != nil {
		return nil, err
	}
	s.LogFile = filepath.Join(cfg.DataDir, "zookeeper.out")
	logf, err := os.OpenFile(s.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	args := []string{
		"-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dzookeeper.log.dir=" + cfg.DataDir,
		"-Dzookeeper.root.logger=WARN,CONSOLE",
		"-Dzookeeper.jmx.log4j.disable=true",
	}
	for k, v := range cfg.JVMProps {
		args = append(args, "-D"+k+"="+v)
	}
	cp := "/etc/zookeeper/conf:" + Jar
	if _, err := os.Stat(slf4jSimple); err == nil {
		// Without a binding SLF4J discards ZooKeeper's log, and with it
		// the reason a start failed.
		cp += ":" + slf4jSimple
		args = append(args, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
	}
	args = append(args, "-cp", cp, "org.apache.zookeeper.server.ZooKeeperServerMain", cfgPath)
	cmd := exec.Command("java", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("zkref: start java: %w", err)
	}
	s.cmd = cmd
	go func() {
		cmd.Wait()
		logf.Close()
		if ownDir {
			os.RemoveAll(cfg.DataDir)
		}
		close(s.done)
	}()
	if err := s.waitReady(readyWithin); err != nil {
		s.Stop()
		out, _ := os.ReadFile(s.LogFile)
		return nil, fmt.Errorf("zkref: ZooKeeper did not become ready: %w\n%s", err, tail(out, 4000))
	}
	return s, nil
}

// waitReady polls with a real client until the server answers a read.
func (s *Server) waitReady(total time.Duration) error {
	deadline := time.Now().Add(total)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return errors.New("process exited")
		default:
		}
		c, _, err := zk.Connect([]string{s.Addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopLogger{}))
		if err == nil {
			_, _, err = c.Exists("/")
			c.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("timeout after %v: %v", total, last)
}

// Stop kills the server and waits for it to exit. It is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.stopped = true
	s.mu.Unlock()
	if s.cmd != nil && s.cmd.Process != nil {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	}
}

// FourLetter sends a four-letter word and returns the whole answer.
func (s *Server) FourLetter(cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(cmd)); err != nil {
		return "", err
	}
	var b bytes.Buffer
	_, err = b.ReadFrom(c)
	return b.String(), err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
