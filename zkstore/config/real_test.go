package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRealConfigs parses the zoo.cfg files operators and client test
// harnesses actually write: Debian's shipped /etc/zookeeper/conf/zoo.cfg,
// kazoo 2.8's cluster harness and go-zookeeper's (which appends on
// restart, so keys repeat).
func TestRealConfigs(t *testing.T) {
	c, warns, err := Load("testdata/debian-zoo.cfg")
	if err != nil || len(warns) != 0 {
		t.Fatalf("debian: %v %v", err, warns)
	}
	if c.TickTime != 2000 || c.InitLimit != 10 || c.SyncLimit != 5 || c.DataDir != "/tmp/zookeeper" || c.ClientPort != 2181 || !c.Standalone() {
		t.Fatalf("debian: %+v", c)
	}

	// kazoo's harness: myid in dataDir, authProvider and peerType lines.
	dir := t.TempDir()
	b, err := os.ReadFile("testdata/kazoo-harness.cfg")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(string(b), "/tmp/kazoo/data", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "myid"), []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, warns, err = Load(cfg)
	if err != nil {
		t.Fatalf("kazoo: %v", err)
	}
	if c.MyID != 2 || len(c.Servers) != 3 || c.Standalone() || c.ClientPort != 20000 || !c.FourLetterAll || !c.ReconfigEnabled ||
		c.AdminServerPort != 20003 || c.SuperDigest == "" || c.MaxClientCnxns != 0 || c.InitLimit != 4 || c.SyncLimit != 2 {
		t.Fatalf("kazoo: %+v", c)
	}
	if w := strings.Join(warns, "\n"); !strings.Contains(w, "authProvider.1") || !strings.Contains(w, "peerType") {
		t.Fatalf("kazoo warnings: %q", w)
	}

	// go-zookeeper's harness: old-style server lines, standaloneEnabled=false.
	c, _, err = Parse(mustOpen(t, "testdata/gozk-harness.cfg"))
	if err != nil {
		t.Fatalf("gozk: %v", err)
	}
	if c.TickTime != 500 || c.MinSessionTimeout != 1000 || c.MaxSessionTimeout != 10000 || c.StandaloneEnabled || c.Standalone() ||
		c.AdminEnableServer || c.Servers[3].QuorumPort != 3188 || c.Servers[3].ClientPort != 0 {
		t.Fatalf("gozk: %+v", c)
	}
	if err := c.SetMyID(1); err != nil || c.ClientAddr() != "0.0.0.0:3181" {
		t.Fatalf("gozk myid: %v %s", err, c.ClientAddr())
	}

	// Debian ships a placeholder myid that is not a number.
	b, err = os.ReadFile("testdata/debian-myid")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseMyID(b); !errors.Is(err, ErrMyID) {
		t.Fatalf("debian placeholder myid: %v", err)
	}
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
