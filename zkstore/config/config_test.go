package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDefaults(t *testing.T) {
	c, warns, err := Parse(strings.NewReader("dataDir=/var/zk\nclientPort=2181\n"))
	if err != nil || len(warns) != 0 {
		t.Fatalf("%v %v", err, warns)
	}
	want := Default()
	want.DataDir, want.DataLogDir, want.ClientPort = "/var/zk", "/var/zk", 2181
	want.MinSessionTimeout, want.MaxSessionTimeout = 4000, 40000
	want.Props = map[string]string{"dataDir": "/var/zk", "clientPort": "2181"}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	if !c.Standalone() || c.ClientAddr() != "0.0.0.0:2181" || c.AdminAddr() != "0.0.0.0:8080" || c.PreAllocBytes() != 64<<20 {
		t.Fatalf("derived values: %v %s %s %d", c.Standalone(), c.ClientAddr(), c.AdminAddr(), c.PreAllocBytes())
	}
	if !c.FourLetterAllowed("srvr") || c.FourLetterAllowed("ruok") {
		t.Fatal("default whitelist must be srvr only")
	}
}

func TestParse(t *testing.T) {
	base := "dataDir=/d\nclientPort=2181\n"
	cases := []struct {
		name  string
		cfg   string
		check func(t *testing.T, c *Config)
		warn  string // substring of a warning
	}{
		{"tick derives session bounds", "tickTime=500\n", func(t *testing.T, c *Config) {
			if c.MinSessionTimeout != 1000 || c.MaxSessionTimeout != 10000 {
				t.Fatalf("%d %d", c.MinSessionTimeout, c.MaxSessionTimeout)
			}
		}, ""},
		{"explicit session bounds", "minSessionTimeout=3000\nmaxSessionTimeout=9000\n", func(t *testing.T, c *Config) {
			if c.MinSessionTimeout != 3000 || c.MaxSessionTimeout != 9000 {
				t.Fatalf("%d %d", c.MinSessionTimeout, c.MaxSessionTimeout)
			}
		}, ""},
		{"duplicate keys: last wins", "tickTime=100\ntickTime = 300\n", func(t *testing.T, c *Config) {
			if c.TickTime != 300 {
				t.Fatal(c.TickTime)
			}
		}, ""},
		{"properties syntax", "# comment\n! also\n   tickTime : 700  \nmaxClientCnxns 0\ndataLog\\\n  Dir=/l\\\\x\n", func(t *testing.T, c *Config) {
			if c.TickTime != 700 || c.MaxClientCnxns != 0 || c.DataLogDir != `/l\x` {
				t.Fatalf("%d %d %q", c.TickTime, c.MaxClientCnxns, c.DataLogDir)
			}
		}, ""},
		{"whitelist star", "4lw.commands.whitelist=*\n", func(t *testing.T, c *Config) {
			if !c.FourLetterAllowed("ruok") || !c.FourLetterAllowed("mntr") {
				t.Fatal("star")
			}
		}, ""},
		{"whitelist list", "4lw.commands.whitelist=stat, ruok,conf , bogus\n", func(t *testing.T, c *Config) {
			if !c.FourLetterAllowed("ruok") || !c.FourLetterAllowed("conf") || c.FourLetterAllowed("srvr") || c.FourLetterAllowed("bogus") {
				t.Fatalf("%v", c.FourLetterWords)
			}
		}, `unknown command "bogus"`},
		{"readonly adds isro", "readonlymode.enabled=true\n", func(t *testing.T, c *Config) {
			if !c.FourLetterAllowed("isro") || !c.FourLetterAllowed("srvr") {
				t.Fatal(c.FourLetterWords)
			}
		}, ""},
		{"forceSync and zookeeper. prefix", "forceSync=no\nzookeeper.snapCount=1000\npreAllocSize=1024\njute.maxbuffer=4194304\n", func(t *testing.T, c *Config) {
			if c.ForceSync || c.SnapCount != 1000 || c.PreAllocBytes() != 1<<20 || c.JuteMaxBuffer != 4<<20 {
				t.Fatalf("%v %d %d %d", c.ForceSync, c.SnapCount, c.PreAllocBytes(), c.JuteMaxBuffer)
			}
		}, ""},
		{"autopurge minimum", "autopurge.snapRetainCount=1\nautopurge.purgeInterval=24\n", func(t *testing.T, c *Config) {
			if c.SnapRetainCount != 3 || c.PurgeInterval != 24 {
				t.Fatal(c.SnapRetainCount, c.PurgeInterval)
			}
		}, "below the minimum 3"},
		{"admin", "admin.enableServer=false\nadmin.serverAddress=127.0.0.1\nadmin.serverPort=0\nadmin.commandURL=/cmds\n", func(t *testing.T, c *Config) {
			if c.AdminEnableServer || c.AdminAddr() != "127.0.0.1:0" || c.AdminCommandURL != "/cmds" {
				t.Fatalf("%v %s %s", c.AdminEnableServer, c.AdminAddr(), c.AdminCommandURL)
			}
		}, ""},
		{"super digest and extended types", "zookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\nzookeeper.extendedTypesEnabled=true\n", func(t *testing.T, c *Config) {
			if c.SuperDigest != "super:D/InIHSb7yEEbrWz8b9l71RjZJU=" || !c.ExtendedTypesEnabled {
				t.Fatal(c.SuperDigest)
			}
		}, ""},
		{"unknown key warned", "fooBar=1\n", func(t *testing.T, c *Config) {
			if c.Props["fooBar"] != "1" {
				t.Fatal(c.Props)
			}
		}, `unknown key "fooBar"`},
		{"harness keys tolerated", "authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\nreconfigEnabled=true\n", func(t *testing.T, c *Config) {
			if !c.ReconfigEnabled {
				t.Fatal("reconfigEnabled")
			}
		}, `"authProvider.1" is not supported`},
		{"single server line stays standalone", "server.1=127.0.0.1:2888:3888\n", func(t *testing.T, c *Config) {
			if !c.Standalone() || c.Servers[1].QuorumPort != 2888 {
				t.Fatal(c.Servers)
			}
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, warns, err := Parse(strings.NewReader(base + tc.cfg))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
			joined := strings.Join(warns, "\n")
			if (tc.warn == "") != (joined == "") || !strings.Contains(joined, tc.warn) {
				t.Fatalf("warnings %q, want %q", joined, tc.warn)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		cfg  string
		want error
		key  string // the error must name this
	}{
		{"clientPort=2181\n", ErrMissing, "dataDir"},
		{"dataDir=/d\n", ErrMissing, "clientPort"},
		{"dataDir=/d\nclientPort=2181\ntickTime=abc\n", ErrInvalid, "tickTime"},
		{"dataDir=/d\nclientPort=2181\ntickTime=0\n", ErrInvalid, "tickTime"},
		{"dataDir=/d\nclientPort=70000\n", ErrInvalid, "clientPort"},
		{"dataDir=/d\nclientPort=2181\nmaxClientCnxns=-3\n", ErrInvalid, "maxClientCnxns"},
		{"dataDir=/d\nclientPort=2181\nminSessionTimeout=9000\nmaxSessionTimeout=5000\n", ErrInvalid, "minSessionTimeout"},
		{"dataDir=/d\nclientPort=2181\nforceSync=maybe\n", ErrInvalid, "forceSync"},
		{"dataDir=/d\nclientPort=2181\nadmin.enableServer=yesplease\n", ErrInvalid, "admin.enableServer"},
		{"dataDir=/d\nclientPort=2181\nadmin.commandURL=commands\n", ErrInvalid, "admin.commandURL"},
		{"dataDir=/d\nclientPort=2181\njute.maxbuffer=-1\n", ErrInvalid, "jute.maxbuffer"},
		{"dataDir=/d\nclientPort=2181\nsnapCount=x\n", ErrInvalid, "snapCount"},
		{"dataDir=/d\nclientPort=2181\nzookeeper.DigestAuthenticationProvider.superDigest=nocolon\n", ErrInvalid, "superDigest"},
		{"dataDir=/d\nclientPort=2181\nserver.0=h:1:2\n", ErrInvalid, "server.0"},
		{"dataDir=/d\nclientPort=2181\nserver.256=h:1:2\n", ErrInvalid, "server.256"},
		{"dataDir=/d\nclientPort=2181\nserver.1=h:1\n", ErrInvalid, "server.1"},
		{"dataDir=/d\nclientPort=2181\nserver.1=h:2888:2888\n", ErrInvalid, "server.1"},
		{"dataDir=/d\nclientPort=2181\nserver.1=h:2888:3888:leader\n", ErrInvalid, "server.1"},
		{"dataDir=/d\nclientPort=2181\nserver.1=h:2888:3888;x\n", ErrInvalid, "server.1"},
		{"dataDir=/d\nclientPort=2181\nserver.1=:2888:3888\n", ErrInvalid, "server.1"},
		{"dataDir=/d\nclientPort=2181\nserver.1=a:2888:3888\nserver.2=b:2888:3888\n", ErrMissing, "initLimit"},
		{"dataDir=/d\nclientPort=2181\ninitLimit=5\nserver.1=a:2888:3888\nserver.2=b:2888:3888\n", ErrMissing, "syncLimit"},
		{"dataDir=/d\nclientPort=2181\ninitLimit=5\nsyncLimit=2\nserver.1=a:2888:3888:observer\nserver.2=b:2888:3888:observer\n", ErrInvalid, "server.N"},
		{"dataDir=/d\nclientPort=2181\nkey=\\u12\n", ErrSyntax, "line 3"},
	}
	for _, tc := range cases {
		_, _, err := Parse(strings.NewReader(tc.cfg))
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%q: got %v, want %v naming %s", tc.cfg, err, tc.want, tc.key)
		}
	}
}

func TestServerLines(t *testing.T) {
	cfg := `dataDir=/d
initLimit=10
syncLimit=5
server.1=127.0.0.1:2881:3881:participant;127.0.0.1:2191
server.2=[::1]:2882:3882;2192
server.3=zk3.example:2883:3883:observer
`
	c, _, err := Parse(strings.NewReader(cfg))
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]Server{
		1: {ID: 1, Host: "127.0.0.1", QuorumPort: 2881, ElectionPort: 3881, Role: RoleParticipant, ClientAddr: "127.0.0.1", ClientPort: 2191},
		2: {ID: 2, Host: "::1", QuorumPort: 2882, ElectionPort: 3882, Role: RoleParticipant, ClientPort: 2192},
		3: {ID: 3, Host: "zk3.example", QuorumPort: 2883, ElectionPort: 3883, Role: RoleObserver},
	}
	if !reflect.DeepEqual(c.Servers, want) {
		t.Fatalf("%+v", c.Servers)
	}
	if c.Standalone() {
		t.Fatal("three servers are an ensemble")
	}
	if got := c.Servers[1].String(); got != "127.0.0.1:2881:3881:participant;127.0.0.1:2191" {
		t.Fatal(got)
	}
	if got := c.Servers[2].String(); got != "[::1]:2882:3882:participant;0.0.0.0:2192" {
		t.Fatal(got)
	}
	// myid picks the client address from its server line.
	if err := c.SetMyID(1); err != nil || c.ClientAddr() != "127.0.0.1:2191" {
		t.Fatalf("%v %s", err, c.ClientAddr())
	}
	if err := c.SetMyID(9); !errors.Is(err, ErrMyID) {
		t.Fatal(err)
	}
	// server.3 has no client port and there is no clientPort line.
	c, _, _ = Parse(strings.NewReader(cfg))
	if err := c.SetMyID(3); !errors.Is(err, ErrMissing) {
		t.Fatal(err)
	}
}

func TestClientAddressConflict(t *testing.T) {
	c, _, err := Parse(strings.NewReader("dataDir=/d\nclientPortAddress=127.0.0.1\ninitLimit=1\nsyncLimit=1\nserver.1=127.0.0.1:2881:3881;2191\nserver.2=127.0.0.1:2882:3882;2192\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = c.SetMyID(1)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "is different from client address found in dynamic file: /0.0.0.0:2191") {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "zoo.cfg")
	write := func(name, s string) {
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(cfg, "dataDir="+dir+"\ninitLimit=10\nsyncLimit=5\nserver.1=127.0.0.1:2881:3881;2191\nserver.2=127.0.0.1:2882:3882;2192\n")
	if _, _, err := Load(cfg); !errors.Is(err, ErrMyID) {
		t.Fatalf("missing myid: %v", err)
	}
	for _, bad := range []string{"0", "256", "x", ""} {
		write(filepath.Join(dir, "myid"), bad+"\n")
		if _, _, err := Load(cfg); !errors.Is(err, ErrMyID) {
			t.Fatalf("myid %q: %v", bad, err)
		}
	}
	write(filepath.Join(dir, "myid"), "2\n")
	c, _, err := Load(cfg)
	if err != nil || c.MyID != 2 || c.ClientPort != 2192 || c.Path != cfg {
		t.Fatalf("%v %+v", err, c)
	}
	if _, _, err := Load(filepath.Join(dir, "nope.cfg")); err == nil {
		t.Fatal("missing file loaded")
	}
	// A bad value names the file, the line and the key.
	write(cfg, "dataDir="+dir+"\nclientPort=2181\n\ntickTime=fast\n")
	_, _, err = Load(cfg)
	if err == nil || !strings.Contains(err.Error(), cfg) || !strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "tickTime") {
		t.Fatal(err)
	}
}

func TestKnownKeys(t *testing.T) {
	k := strings.Join(KnownKeys(), " ")
	for _, want := range []string{"tickTime", "dataDir", "clientPort", "4lw.commands.whitelist", "autopurge.purgeInterval", "admin.commandURL"} {
		if !strings.Contains(k, want) {
			t.Errorf("KnownKeys lacks %s", want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("dataDir=/d\nclientPort=2181\n")
	f.Add("tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=/var/lib/zookeeper\nclientPort=2181\nserver.1=127.0.0.1:2881:3881:participant;127.0.0.1:2191\nserver.2=[::1]:2882:3882;2192\n")
	f.Add("# c\n! c\n  a\\\n  b = c\\u0041\n4lw.commands.whitelist=*\nforceSync=no\n")
	f.Add("dataDir=/d\nclientPort=1\nminSessionTimeout=-1\nmaxSessionTimeout=5\n")
	for _, name := range []string{"debian-zoo.cfg", "kazoo-harness.cfg", "gozk-harness.cfg"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, _, err := Parse(strings.NewReader(s))
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrMissing) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if c.DataDir == "" || c.TickTime <= 0 || c.MinSessionTimeout > c.MaxSessionTimeout || c.SnapRetainCount < 3 {
			t.Fatalf("accepted an invalid config: %+v", c)
		}
	})
}
