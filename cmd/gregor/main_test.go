package main

import (
	"bytes"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// result is what one run of the program produced.
type result struct {
	stdout, stderr string
	code           int
}

// gregor runs the program in-process with args and stdin.
func gregor(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errw bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errw)
	t.Logf("gregor %s -> %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out.String(), errw.String())
	return result{out.String(), errw.String(), code}
}

// mustRun runs the program and fails the test unless it exits 0.
func mustRun(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	r := gregor(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("gregor %v: exit %d, stderr: %s", args, r.code, r.stderr)
	}
	return r
}

// wantExit checks the exit status and that stderr contains want.
func wantExit(t *testing.T, r result, code int, want string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q does not contain %q", r.stderr, want)
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s\n--- got:\n%s\n--- want:\n%s", p, got, want)
	}
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

var (
	topicIDRe = regexp.MustCompile(`TopicId: [A-Za-z0-9_-]{22}`)
	portRe    = regexp.MustCompile(`127\.0\.0\.1:\d+`)
)

// normalize masks the values that differ per run (topic IDs, ports).
func normalize(s string) string {
	s = topicIDRe.ReplaceAllString(s, "TopicId: <id>")
	return portRe.ReplaceAllString(s, "127.0.0.1:<port>")
}

func TestHelpAndUsage(t *testing.T) {
	for _, sub := range []string{"topics", "console-producer", "console-consumer", "consumer-groups", "get-offsets", "configs", "zk"} {
		r := mustRun(t, "", sub, "--help")
		if !strings.Contains(r.stdout, "gregor "+sub) || !strings.Contains(strings.ToLower(r.stdout), "example") {
			t.Errorf("%s --help lacks usage or examples:\n%s", sub, r.stdout)
		}
	}
	r := mustRun(t, "", "--help")
	if !strings.Contains(r.stdout, "console-consumer") {
		t.Errorf("root help lacks subcommands:\n%s", r.stdout)
	}
	wantExit(t, gregor(t, "", "no-such-command"), 2, `unknown command "no-such-command"`)
	wantExit(t, gregor(t, "", "topics", "--bootstrap-server", "127.0.0.1:1", "--list", "--no-such-flag"), 2, "unknown flag: --no-such-flag")
	wantExit(t, gregor(t, "", "topics", "--bootstrap-server", "127.0.0.1:1"), 2,
		"Command must include exactly one action: --list, --describe, --create, --alter or --delete")
	wantExit(t, gregor(t, "", "topics", "--list"), 2, "missing required option --bootstrap-server")
	wantExit(t, gregor(t, "", "topics", "--bootstrap-server", "127.0.0.1:1", "--list", "--format", "yaml"), 2, `unknown format "yaml"`)
	wantExit(t, gregor(t, "", "topics", "--bootstrap-server", "127.0.0.1:1", "--create"), 2, "missing required option --topic")
	wantExit(t, gregor(t, "", "console-consumer", "--bootstrap-server", "127.0.0.1:1", "--topic", "t", "--offset", "3"), 2,
		"The partition is required when offset is specified.")
	wantExit(t, gregor(t, "", "get-offsets", "--bootstrap-server", "127.0.0.1:1", "--time", "yesterday"), 2, "Malformed time argument yesterday.")
	wantExit(t, gregor(t, "", "consumer-groups", "--bootstrap-server", "127.0.0.1:1", "--describe"), 2, "Option --group (or --all-groups) is required")
	wantExit(t, gregor(t, "", "consumer-groups", "--bootstrap-server", "127.0.0.1:1", "--reset-offsets", "--group", "g", "--topic", "t"), 2,
		"needs exactly one of: --to-earliest")
	wantExit(t, gregor(t, "", "configs", "--bootstrap-server", "127.0.0.1:1", "--describe", "--entity-type", "users", "--entity-name", "u"), 2,
		`--entity-type "users" is not supported`)
	wantExit(t, gregor(t, "", "configs", "--bootstrap-server", "127.0.0.1:1", "--alter", "--topic", "t", "--add-config", "a=[1,2"), 2,
		"unbalanced '['")
	wantExit(t, gregor(t, "", "console-producer", "--bootstrap-server", "127.0.0.1:1", "--topic", "t", "--compression-codec", "brotli"), 2,
		`unknown compression codec "brotli"`)
	wantExit(t, gregor(t, "", "console-producer", "--bootstrap-server", "127.0.0.1:1", "--topic", "t", "--producer-property", "frobnicate=1"), 2,
		`unsupported producer property "frobnicate"`)
	wantExit(t, gregor(t, "", "zk", "ls", "/"), 2, "missing -server host:port")
	wantExit(t, gregor(t, "", "zk", "-server", "127.0.0.1:1", "frob", "/"), 2, `unknown command "frob"`)
	if w, err := splitZKLine(`set /a "b c" 'd'`); err != nil || strings.Join(w, "|") != "set|/a|b c|d" {
		t.Errorf("splitZKLine: %q %v", w, err)
	}
	if _, err := splitZKLine(`set /a "b`); err == nil {
		t.Error("splitZKLine: want an error for an open quote")
	}
	wantExit(t, gregor(t, "", "zk", "-server", "127.0.0.1:1", "get", "nope"), 2, "Path must start with / character")
}

// TestUnreachable checks every Kafka subcommand reports a dead broker
// clearly, with exit status 1, within its --timeout instead of hanging.
func TestUnreachable(t *testing.T) {
	dead := deadAddr(t)
	cases := [][]string{
		{"topics", "--list"},
		{"topics", "--describe", "--topic", "t"},
		{"topics", "--create", "--topic", "t"},
		{"console-producer", "--topic", "t"},
		{"console-consumer", "--topic", "t"},
		{"consumer-groups", "--list"},
		{"consumer-groups", "--describe", "--group", "g"},
		{"get-offsets", "--topic", "t"},
		{"configs", "--describe", "--topic", "t"},
	}
	// The cases only wait, so they run side by side.
	for _, c := range cases {
		t.Run(strings.Join(c[:2], " "), func(t *testing.T) {
			t.Parallel()
			args := append(append([]string{}, c...), "--bootstrap-server", dead, "--timeout", "1500ms")
			r := gregor(t, "x\n", args...)
			wantExit(t, r, 1, "Error: cannot reach Kafka broker at "+dead+" within 1.5s")
		})
	}
	t.Run("zk", func(t *testing.T) {
		t.Parallel()
		r := gregor(t, "", "zk", "-server", dead, "--timeout", "1500", "ls", "/")
		wantExit(t, r, 1, "Error: cannot connect to ZooKeeper at "+dead+" within 1.5s")
		// The global flag before the subcommand works the same way.
		r = gregor(t, "", "--timeout", "1s", "zk", "-server", dead, "-timeout", "5000", "ls", "/")
		wantExit(t, r, 1, "Error: cannot connect to ZooKeeper at "+dead+" within 1s")
	})
}

// itoa keeps test tables short.
func itoa(n int) string { return strconv.Itoa(n) }
