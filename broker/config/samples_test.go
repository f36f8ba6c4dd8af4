package config

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	zkcfg "github.com/gregorlog/gregor/zkstore/config"

	"github.com/gregorlog/gregor/internal/testutil"
	"github.com/gregorlog/gregor/internal/zkref"
)

// TestZooCfgSample checks that the shipped config/zoo.cfg is read by
// zkstore's zoo.cfg parser without warnings and says what it documents.
func TestZooCfgSample(t *testing.T) {
	path := filepath.Join(testutil.RepoRoot(t), "config", "zoo.cfg")
	c, warns, err := zkcfg.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	if c.TickTime != 2000 || c.InitLimit != 10 || c.SyncLimit != 5 || c.ClientPort != 2181 || c.DataDir != "./data/zkserver" {
		t.Errorf("sample values: tick %d init %d sync %d port %d dataDir %q", c.TickTime, c.InitLimit, c.SyncLimit, c.ClientPort, c.DataDir)
	}
	raw, _ := os.ReadFile(path)
	for _, k := range []string{"tickTime", "initLimit", "syncLimit", "dataDir", "dataLogDir", "clientPort", "maxClientCnxns",
		"autopurge.snapRetainCount", "autopurge.purgeInterval", "server.1", "admin.enableServer", "admin.serverPort", "4lw.commands.whitelist", "myid"} {
		if !strings.Contains(string(raw), k) {
			t.Errorf("zoo.cfg sample does not document %s", k)
		}
	}
	// The broker sample points at this server.
	b, err := Load(filepath.Join(testutil.RepoRoot(t), "config", "server.properties"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if z := b.ZooKeeper(); len(z.Servers) != 1 || z.Servers[0] != "localhost:2181" {
		t.Errorf("server.properties sample connects to %v", z.Servers)
	}
}

// TestSystemdUnits checks the deploy/ units run the right binaries with the
// shipped configs; where systemd-analyze exists it also verifies them.
func TestSystemdUnits(t *testing.T) {
	root := testutil.RepoRoot(t)
	units := map[string]string{
		"gregor-broker.service":   "ExecStart=/usr/local/bin/broker /etc/gregor/server.properties",
		"gregor-zkserver.service": "ExecStart=/usr/local/bin/zkserver /etc/gregor/zoo.cfg",
	}
	dir := t.TempDir()
	var paths []string
	for name, exec := range units {
		b, err := os.ReadFile(filepath.Join(root, "deploy", name))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, want := range []string{exec, "[Unit]", "[Service]", "[Install]", "User=gregor", "Restart=on-failure", "KillSignal=SIGTERM", "LimitNOFILE=", "WantedBy=multi-user.target"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
		// systemd-analyze insists the binary exists; check a copy that
		// runs /bin/true instead.
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(strings.NewReplacer("/usr/local/bin/broker", "/bin/true", "/usr/local/bin/zkserver", "/bin/true").Replace(text)), 0o644)
		paths = append(paths, p)
	}
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		out, err := exec.Command(sa, append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) != 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	}
}

// TestZooCfgSampleOnApacheZooKeeper starts Apache ZooKeeper 3.8 with every
// setting of the sample (dataDir and the client port replaced by the test's
// own) and checks the server runs with them.
func TestZooCfgSampleOnApacheZooKeeper(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "config", "zoo.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	props, err := ParseProperties(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	extra := map[string]string{}
	for _, p := range props {
		switch p.Key {
		case "dataDir", "clientPort", "clientPortAddress":
		default:
			extra[p.Key] = p.Value
		}
	}
	srv := zkref.Start(t, zkref.Config{Extra: extra})
	conf, err := srv.FourLetter("conf")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(conf, "tickTime=2000") {
		t.Errorf("conf output lacks tickTime=2000:\n%s", conf)
	}
	// The sample's four-letter-word whitelist is in force.
	if out, err := srv.FourLetter("ruok"); err != nil || out != "imok" {
		t.Errorf("ruok = %q, %v", out, err)
	}
	if out, _ := srv.FourLetter("dump"); !strings.Contains(out, "not in the whitelist") {
		t.Errorf("dump (not whitelisted) = %q", out)
	}
}
