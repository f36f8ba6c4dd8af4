package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/internal/testutil"
)

// buildBinary compiles zkserver once per test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "zkserver")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func zkserver(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out.String(), code
}

func writeCfg(t *testing.T, dir, extra string) (cfg string, port int) {
	t.Helper()
	port = testutil.FreePort(t)
	cfg = filepath.Join(dir, "zoo.cfg")
	body := fmt.Sprintf("tickTime=2000\ndataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n%s",
		filepath.Join(dir, "data"), port, extra)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, port
}

// TestStartStatusStop builds the binary and drives it like zkServer.sh:
// start detaches and writes the pid file, status reports the mode, a
// go-zookeeper client writes and reads, restart keeps the data, stop
// shuts down gracefully and removes the pid file.
func TestStartStatusStop(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cfg, port := writeCfg(t, dir, "")
	pidPath := filepath.Join(dir, "data", pidFileName)
	t.Cleanup(func() {
		// Never leave a daemon behind, even when the test fails.
		if b, err := os.ReadFile(pidPath); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				if p, err := os.FindProcess(pid); err == nil {
					p.Kill()
				}
			}
		}
	})

	out, code := zkserver(t, bin, "status", cfg)
	if code != 1 || !strings.Contains(out, "Error contacting service. It is probably not running.") {
		t.Fatalf("status before start: %d\n%s", code, out)
	}
	out, code = zkserver(t, bin, "stop", cfg)
	if code != 1 || !strings.Contains(out, "no zookeeper to stop") {
		t.Fatalf("stop before start: %d\n%s", code, out)
	}

	out, code = zkserver(t, bin, "start", cfg)
	if code != 0 || !strings.Contains(out, "Starting zookeeper ... STARTED") {
		t.Fatalf("start: %d\n%s", code, out)
	}
	pidBytes, err := os.ReadFile(pidPath)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pidBytes)))
	if !processAlive(pid) {
		t.Fatalf("pid %d from the pid file is not running", pid)
	}
	out, code = zkserver(t, bin, "start", cfg)
	if code != 1 || !strings.Contains(out, fmt.Sprintf("already running as process %d", pid)) {
		t.Fatalf("second start: %d\n%s", code, out)
	}

	out, code = zkserver(t, bin, "status", cfg)
	want := fmt.Sprintf("Client port found: %d. Client address: 127.0.0.1. Client SSL: false.\nMode: standalone\n", port)
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("status: %d\n%s", code, out)
	}

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create("/zkserver-test", []byte("kept"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	c.Close()

	out, code = zkserver(t, bin, "restart", cfg)
	if code != 0 || !strings.Contains(out, "STOPPED") || !strings.Contains(out, "STARTED") {
		t.Fatalf("restart: %d\n%s", code, out)
	}
	if processAlive(pid) {
		t.Fatalf("old process %d survived restart", pid)
	}
	c, _, err = zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	data, _, err := c.Get("/zkserver-test")
	c.Close()
	if err != nil || string(data) != "kept" {
		t.Fatalf("after restart: %q %v", data, err)
	}

	out, code = zkserver(t, bin, "stop", cfg)
	if code != 0 || !strings.Contains(out, "Stopping zookeeper ... STOPPED") {
		t.Fatalf("stop: %d\n%s", code, out)
	}
	if _, err := os.Stat(pidPath); !os.IsNotExist(err) {
		t.Fatalf("pid file left behind: %v", err)
	}
	out, code = zkserver(t, bin, "status", cfg)
	if code != 1 {
		t.Fatalf("status after stop: %d\n%s", code, out)
	}
}

// TestConfigErrors checks that a bad value stops zkserver with a message
// naming the key, and that unknown keys are only warnings.
func TestConfigErrors(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cfg, _ := writeCfg(t, dir, "tickTime=fast\n")
	for _, cmd := range []string{"start", "start-foreground", "status"} {
		out, code := zkserver(t, bin, cmd, cfg)
		if code == 0 || !strings.Contains(out, "tickTime") || !strings.Contains(out, "invalid") {
			t.Fatalf("%s with a bad tickTime: %d\n%s", cmd, code, out)
		}
	}
	out, code := zkserver(t, bin, "status", filepath.Join(dir, "missing.cfg"))
	if code == 0 || !strings.Contains(out, "missing.cfg") {
		t.Fatalf("missing cfg: %d\n%s", code, out)
	}
	cfg, _ = writeCfg(t, dir, "someUnknownKey=1\n")
	out, code = zkserver(t, bin, "status", cfg)
	if code != 1 || !strings.Contains(out, `unknown key "someUnknownKey"`) {
		t.Fatalf("unknown key: %d\n%s", code, out)
	}
}

// TestForegroundSIGTERM runs start-foreground and checks that SIGTERM
// shuts it down cleanly (exit 0).
func TestForegroundSIGTERM(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cfg, port := writeCfg(t, dir, "")
	cmd := exec.Command(bin, "start-foreground", cfg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	testutil.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		return handshake(fmt.Sprintf("127.0.0.1:%d", port))
	})
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v\n%s", err, out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30s after SIGINT\n%s", out.String())
	}
}

func TestHelpAndResolve(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "start-foreground") || !strings.Contains(out.String(), "ZOOCFGDIR") {
		t.Fatalf("help: %d %s", code, out.String())
	}
	if code := run(nil, &out, &errb); code != 2 {
		t.Fatalf("no command: %d", code)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "zoo.cfg"), []byte("x=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := resolveConfig("", dir)
	if err != nil || got != filepath.Join(dir, "zoo.cfg") {
		t.Fatalf("--config dir: %q %v", got, err)
	}
	t.Setenv("ZOOCFGDIR", dir)
	got, err = resolveConfig("", "")
	if err != nil || got != filepath.Join(dir, "zoo.cfg") {
		t.Fatalf("ZOOCFGDIR: %q %v", got, err)
	}
}
