package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/gregorlog/gregor/internal/clitest"
)

func TestZK(t *testing.T) {
	for _, impl := range clitest.ZKServers() {
		t.Run(impl.Name, func(t *testing.T) {
			addr := impl.Start(t)
			zk := func(stdin string, args ...string) result {
				return gregor(t, stdin, append([]string{"zk", "-server", addr}, args...)...)
			}
			ok := func(args ...string) string {
				t.Helper()
				r := zk("", args...)
				if r.code != 0 {
					t.Fatalf("zk %v: exit %d: %s", args, r.code, r.stderr)
				}
				return r.stdout
			}

			if got := ok("create", "/app", "hello"); got != "Created /app\n" {
				t.Errorf("create: %q", got)
			}
			ok("create", "/app/b")
			ok("create", "/app/a", "")
			if got := ok("ls", "/app"); got != "[a, b]\n" {
				t.Errorf("ls: %q", got)
			}
			if got := ok("get", "/app"); got != "hello\n" {
				t.Errorf("get: %q", got)
			}
			// A node created without data holds null; with "" it is empty.
			if got := ok("get", "/app/b"); got != "null\n" {
				t.Errorf("get of a node without data: %q", got)
			}
			if got := ok("get", "/app/a"); got != "\n" {
				t.Errorf("get of a node with empty data: %q", got)
			}
			ok("set", "/app", "world")
			st := ok("stat", "/app")
			statRe := regexp.MustCompile(`^cZxid = 0x[0-9a-f]+\nctime = \w{3} \w{3} \d\d \d\d:\d\d:\d\d \S+ \d{4}\nmZxid = 0x[0-9a-f]+\nmtime = .+\npZxid = 0x[0-9a-f]+\n` +
				`cversion = 2\ndataVersion = 1\naclVersion = 0\nephemeralOwner = 0x0\ndataLength = 5\nnumChildren = 2\n$`)
			if !statRe.MatchString(st) {
				t.Errorf("stat:\n%s", st)
			}
			if got := ok("get", "-s", "/app"); !strings.HasPrefix(got, "world\ncZxid = 0x") {
				t.Errorf("get -s: %q", got)
			}
			// Versioned set: the right version succeeds, a stale one fails.
			ok("set", "-v", "1", "/app", "v2")
			wantExit(t, zk("", "set", "-v", "1", "/app", "v3"), 1, "Error: version No is not valid : /app")

			seq := ok("create", "-s", "/app/job-", "x")
			if !regexp.MustCompile(`^Created /app/job-\d{10}\n$`).MatchString(seq) {
				t.Errorf("sequential create: %q", seq)
			}
			// An ephemeral node goes away with the session, i.e. right after
			// the command; its creation is what we can check.
			if got := ok("create", "-e", "/app/eph", "x"); got != "Created /app/eph\n" {
				t.Errorf("ephemeral create: %q", got)
			}
			ok("create", "-c", "/box")
			ok("create", "-t", "60000", "/ttl", "x")

			r := zk("", "--format", "json", "get", "-s", "/app")
			var gj struct {
				Path string
				Data *string
				Stat statJSON
			}
			if err := json.Unmarshal([]byte(r.stdout), &gj); err != nil || *gj.Data != "v2" || gj.Stat.DataVersion != 2 {
				t.Errorf("get json: %v %q", err, r.stdout)
			}
			if got := ok("ls", "-R", "/app"); !strings.HasPrefix(got, "/app\n/app/a\n/app/b\n/app/job-") {
				t.Errorf("ls -R: %q", got)
			}

			wantExit(t, zk("", "get", "/nope"), 1, "Error: Node does not exist: /nope")
			wantExit(t, zk("", "stat", "/nope"), 1, "Error: Node does not exist: /nope")
			wantExit(t, zk("", "create", "/app"), 1, "Error: Node already exists: /app")
			wantExit(t, zk("", "delete", "/app"), 1, "Error: Node not empty: /app")
			wantExit(t, zk("", "create", "/nope/child"), 1, "Error: Node does not exist: /nope/child")
			wantExit(t, zk("", "set", "/app"), 2, "set: wrong number of arguments")

			// Commands from stdin, as zkCli.sh reads them without a command.
			r = zk("create /shell 'two words'\nget /shell\n# a comment\n\nget /missing\nset /shell \"x y\"\nget /shell\nquit\nget /shell\n")
			if r.code != 1 || r.stdout != "Created /shell\ntwo words\nx y\n" || r.stderr != "Error: Node does not exist: /missing\n" {
				t.Errorf("stdin commands: %+v", r)
			}
			ok("delete", "/shell")

			ok("delete", "/app/a")
			ok("deleteall", "/app")
			wantExit(t, zk("", "ls", "/app"), 1, "Node does not exist: /app")
			if got := ok("ls", "/"); !strings.Contains(got, "zookeeper") || strings.Contains(got, "app") {
				t.Errorf("ls / after deleteall: %q", got)
			}
		})
	}
}
