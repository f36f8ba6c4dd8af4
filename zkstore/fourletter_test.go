package zkstore

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/internal/testutil"
	"github.com/gregorlog/gregor/zkstore/proto"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func fourLetterCmd(t *testing.T, addr, cmd string) string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write([]byte(cmd)); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(nc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

var normalizers = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`/127\.0\.0\.1:\d+`), "/127.0.0.1:PORT"},
	{regexp.MustCompile(`0x[0-9a-f]{12,}`), "SESSIONID"},
	{regexp.MustCompile(`(est|lresp|llat|minlat|avglat|maxlat)=\d+`), "$1=N"},
	{regexp.MustCompile(`Latency min/avg/max: .*`), "Latency min/avg/max: L"},
	{regexp.MustCompile(`\w{3} \w{3} \d\d \d\d:\d\d:\d\d UTC \d{4}`), "DATE"},
	{regexp.MustCompile(`(?m)^(dataDir|dataLogDir)=.*$`), "$1=DIR"},
	{regexp.MustCompile(`(?m)^(dataDirSize|dataLogSize|clientPort)=\d+$`), "$1=N"},
	{regexp.MustCompile(`(?m)^(datadir_size|logdir_size): \d+$`), "$1: N"},
	{regexp.MustCompile(`(?m)^([a-z.]+)=.*$`), "$1=V"},
}

func normalize4lw(cmd, s string) string {
	for i, n := range normalizers {
		if i == len(normalizers)-1 && cmd != "envi" {
			continue
		}
		s = n.re.ReplaceAllString(s, n.repl)
	}
	if cmd == "mntr" {
		var keys []string
		for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
			k, _, _ := strings.Cut(l, "\t")
			keys = append(keys, k)
		}
		s = strings.Join(keys, "\n") + "\n"
	}
	return s
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "fourletter", name+".golden")
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func TestFourLetterWords(t *testing.T) {
	s := startTestServer(t, testSettings(t))
	addr := s.Addr().String()
	// A deterministic state: one raw session (no pings) with an ephemeral
	// and two data watches.
	rc, _ := dialRaw(t, s, 0, nil, false)
	rc.call(proto.OpCreate, &proto.CreateRequest{Path: "/w", ACL: proto.WorldAnyone()}, nil)
	rc.call(proto.OpCreate, &proto.CreateRequest{Path: "/w/eph", ACL: proto.WorldAnyone(), Flags: proto.ModeEphemeral}, nil)
	rc.call(proto.OpExists, &proto.PathWatchRequest{Path: "/w/none", Watch: true}, nil)
	rc.call(proto.OpGetData, &proto.PathWatchRequest{Path: "/w", Watch: true}, nil)
	for _, cmd := range []string{"ruok", "isro", "srvr", "stat", "cons", "wchs", "wchc", "wchp", "dump", "conf", "dirs", "envi", "mntr", "crst", "srst"} {
		// Wait until the previous command's connection is gone, so every
		// listing shows exactly the session and the querying connection.
		testutil.CheckFor(t, 10*time.Second, time.Millisecond, func() error {
			if n := len(s.connList()); n != 1 {
				return fmt.Errorf("%d connections", n)
			}
			return nil
		})
		out := fourLetterCmd(t, addr, cmd)
		checkGolden(t, cmd, normalize4lw(cmd, out))
	}
	if out := fourLetterCmd(t, addr, "ruok"); out != "imok" {
		t.Fatalf("ruok %q", out)
	}
	// go-zookeeper's own 4lw parsers accept the output.
	srvr, ok := zk.FLWSrvr([]string{addr}, 5*time.Second)
	if !ok || srvr[0].Error != nil || srvr[0].Mode != zk.ModeStandalone || srvr[0].NodeCount != 7 {
		t.Fatalf("FLWSrvr: %+v", srvr[0])
	}
	if !zk.FLWRuok([]string{addr}, 5*time.Second)[0] {
		t.Fatal("FLWRuok")
	}
	// FLWCons reports !ok on the querying connection's own short line
	// (as it does against Apache ZooKeeper), but parses the session lines.
	cons, _ := zk.FLWCons([]string{addr}, 5*time.Second)
	if len(cons[0].Clients) != 1 || cons[0].Clients[0].SessionID != rc.session || cons[0].Clients[0].Timeout != 10000 {
		t.Fatalf("FLWCons: %+v", cons[0])
	}
	// kazoo's server_version() reads zookeeper.version from envi.
	if !regexp.MustCompile(`(?m)^zookeeper\.version=3\.8\.0`).MatchString(fourLetterCmd(t, addr, "envi")) {
		t.Fatal("envi lacks zookeeper.version=3.8.0...")
	}
}

func TestFourLetterWhitelist(t *testing.T) {
	set := testSettings(t)
	set.fourLetterAll = false
	set.fourLetter = map[string]bool{"srvr": true}
	s := startTestServer(t, set)
	for _, cmd := range []string{"ruok", "stat", "mntr", "isro"} {
		if got, want := fourLetterCmd(t, s.Addr().String(), cmd), cmd+" is not executed because it is not in the whitelist.\n"; got != want {
			t.Fatalf("%s: %q", cmd, got)
		}
	}
	if out := fourLetterCmd(t, s.Addr().String(), "srvr"); !strings.HasPrefix(out, "Zookeeper version: 3.8.0-gregor, built on 01/01/2026 00:00 GMT\n") {
		t.Fatalf("srvr %q", out)
	}
}

func TestAdminServer(t *testing.T) {
	set := testSettings(t)
	set.adminEnable = true
	set.adminAddr = "127.0.0.1:0"
	s := startTestServer(t, set)
	connect(t, s)
	base := "http://" + s.AdminAddr().String() + "/commands"
	get := func(name string) map[string]any {
		resp, err := http.Get(base + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !strings.Contains(string(b), `"command" : `) {
			t.Fatalf("%s: not Jackson-style: %s", name, b)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, b)
		}
		return m
	}
	if m := get("ruok"); m["command"] != "ruok" || m["error"] != nil {
		t.Fatalf("ruok %v", m)
	}
	m := get("stat")
	if m["command"] != "stats" || m["server_stats"].(map[string]any)["server_state"] != "standalone" {
		t.Fatalf("stat %v", m)
	}
	if m := get("monitor"); m["znode_count"].(float64) != 5 || m["server_state"] != "standalone" {
		t.Fatalf("monitor %v", m)
	}
	if m := get("conf"); m["command"] != "configuration" || m["tick_time"].(float64) != 2000 {
		t.Fatalf("conf %v", m)
	}
	if m := get("connections"); len(m["connections"].([]any)) != 1 {
		t.Fatalf("connections %v", m)
	}
	if m := get("nonexist"); m["error"] != "Unknown command: nonexist" {
		t.Fatalf("unknown %v", m)
	}
	resp, err := http.Get(base)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "server_stats") {
		t.Fatalf("index: %s", b)
	}
}
