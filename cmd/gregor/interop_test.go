package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gregorlog/gregor/internal/kafkatest"
	"github.com/gregorlog/gregor/internal/testutil"
	"github.com/gregorlog/gregor/internal/zkref"
)

// TestKcatInterop checks records cross between gregor's console tools and
// kcat (librdkafka), keys included, in both directions.
func TestKcatInterop(t *testing.T) {
	kcat := testutil.RequireTool(t, "kcat", "/usr/bin/kcat")
	bs := kafkatest.Start(t)
	b := []string{"--bootstrap-server", bs}
	mustRun(t, "", append([]string{"topics", "--create", "--topic", "g2k"}, b...)...)
	mustRun(t, "", append([]string{"topics", "--create", "--topic", "k2g"}, b...)...)

	mustRun(t, "a:1\nb:2\n", append([]string{"console-producer", "--topic", "g2k", "--property", "parse.key=true", "--property", "key.separator=:"}, b...)...)
	out, err := exec.Command(kcat, "-C", "-b", bs, "-t", "g2k", "-o", "beginning", "-e", "-q", "-f", "%k=%s@%o\n").CombinedOutput()
	if err != nil || string(out) != "a=1@0\nb=2@1\n" {
		t.Fatalf("kcat read %q, %v", out, err)
	}

	cmd := exec.Command(kcat, "-P", "-b", bs, "-t", "k2g", "-K", ":")
	cmd.Stdin = strings.NewReader("x:10\ny:20\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat produce: %v %s", err, out)
	}
	r := mustRun(t, "", append([]string{"console-consumer", "--topic", "k2g", "--from-beginning", "--max-messages", "2",
		"--property", "print.key=true", "--property", "key.separator=:"}, b...)...)
	if r.stdout != "x:10\ny:20\n" {
		t.Errorf("gregor read %q", r.stdout)
	}
	r = mustRun(t, "", append([]string{"get-offsets", "--topic", "k2g|g2k"}, b...)...)
	if r.stdout != "g2k:0:2\nk2g:0:2\n" {
		t.Errorf("get-offsets: %q", r.stdout)
	}
}

// TestZkCliInterop checks a node written by gregor zk reads back through
// Apache's zkCli.sh, and one written by zkCli.sh through gregor zk.
func TestZkCliInterop(t *testing.T) {
	zkcli := testutil.ZkCli(t)
	srv := zkref.Start(t)
	mustRun(t, "", "zk", "-server", srv.Addr, "create", "/from-gregor", "hello-zkcli")
	zkc := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(zkcli, append([]string{"-server", srv.Addr}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("zkCli.sh %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := zkc("get", "/from-gregor"); !strings.Contains(out, "hello-zkcli") {
		t.Errorf("zkCli.sh get: %s", out)
	}
	zkc("create", "/from-zkcli", "hello-gregor")
	testutil.CheckFor(t, 10*time.Second, 100*time.Millisecond, func() error {
		r := gregor(t, "", "zk", "-server", srv.Addr, "get", "/from-zkcli")
		if r.stdout != "hello-gregor\n" {
			return fmt.Errorf("gregor zk get printed %q", r.stdout)
		}
		return nil
	})
}
