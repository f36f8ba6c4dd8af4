// Package testutil holds helpers shared by Gregor's tests: polling with
// deadlines instead of sleeping, and locating external tools (kcat, zkCli.sh,
// Debian's python3 with kazoo and confluent-kafka, Apache ZooKeeper) in a way
// that never silently skips in CI.
package testutil

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// InCI reports whether missing tools must fail tests instead of skipping
// them. CI sets CI=true; GREGOR_REQUIRE_TOOLS=1 asks for the same locally.
func InCI() bool {
	return os.Getenv("CI") == "true" || os.Getenv("GREGOR_REQUIRE_TOOLS") == "1"
}

// CheckFor polls f every interval until it returns nil or total elapses, and
// fails the test with f's last error then. It never sleeps longer than needed.
func CheckFor(t testing.TB, total, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for {
		if err = f(); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", total, err)
		}
		time.Sleep(interval)
	}
}

// RequireTool returns the absolute path of an external program. When the
// program is missing it skips the test locally and fails it in CI.
func RequireTool(t testing.TB, name string, candidates ...string) string {
	t.Helper()
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			return c
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if InCI() {
		t.Fatalf("required tool %q not found (the test command installs it: scripts/deps.sh)", name)
	}
	t.Skipf("tool %q not installed; run scripts/deps.sh (CI never skips)", name)
	return ""
}

// DebianPython returns /usr/bin/python3, the interpreter Debian's python3-*
// packages (kazoo, confluent-kafka) belong to, after checking that it can
// import every module named. It skips locally and fails in CI otherwise.
func DebianPython(t testing.TB, modules ...string) string {
	t.Helper()
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if InCI() {
			t.Fatalf("%s not found", py)
		}
		t.Skipf("%s not found", py)
	}
	for _, m := range modules {
		if out, err := exec.Command(py, "-c", "import "+m).CombinedOutput(); err != nil {
			if InCI() {
				t.Fatalf("%s cannot import %s: %v\n%s", py, m, err, out)
			}
			t.Skipf("%s cannot import %s (run scripts/deps.sh)", py, m)
		}
	}
	return py
}

// ZkCli returns the path of Debian's zkCli.sh.
func ZkCli(t testing.TB) string {
	t.Helper()
	return RequireTool(t, "zkCli.sh", "/usr/share/zookeeper/bin/zkCli.sh")
}

// FreePort returns a loopback TCP port that was free a moment ago. Prefer
// listening on 127.0.0.1:0 directly; use this only for servers that must be
// told a port on their command line.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// RepoRoot returns the module root (the directory holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}
