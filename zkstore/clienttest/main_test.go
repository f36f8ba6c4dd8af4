// Package clienttest drives ZooKeeper servers from outside with real
// clients: kazoo (python3-kazoo), zkCli.sh (Debian's zookeeper package),
// go-zookeeper, and a raw jute client built on zkstore/proto for the
// differential test that runs the same scenarios against Apache ZooKeeper
// 3.8 and zkstore and compares replies, watch events and errors.
//
// One Apache ZooKeeper JVM and one zkstore server serve the whole package
// (started lazily, stopped in TestMain), both configured alike: tickTime
// 500 (sessions 1-10 s, so expiry tests are quick), extended types (TTL)
// enabled, the super digest super:test, every four-letter word
// whitelisted, fsync on.
package clienttest

import (
	"fmt"
	"net"
	"os"
	"sync"
	"testing"

	"github.com/gregorlog/gregor/internal/testutil"
	"github.com/gregorlog/gregor/internal/zkref"
	"github.com/gregorlog/gregor/zkstore"
	"github.com/gregorlog/gregor/zkstore/config"
)

// superDigest is super:test (zookeeper.md §4.3).
const superDigest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="

// target is a server under test.
type target struct {
	name string // "zookeeper" or "zkstore"
	addr string // 127.0.0.1:port
}

var (
	refOnce sync.Once
	refSrv  *zkref.Server
	refErr  error

	zksOnce sync.Once
	zksSrv  *zkstore.Server
	zksErr  error
	zksDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if refSrv != nil {
		refSrv.Stop()
	}
	if zksSrv != nil {
		zksSrv.Close()
	}
	if zksDir != "" {
		os.RemoveAll(zksDir)
	}
	os.Exit(code)
}

// reference returns the package's Apache ZooKeeper 3.8, starting it on
// first use. Without Java or ZooKeeper it skips locally and fails in CI.
func reference(t testing.TB) target {
	t.Helper()
	refOnce.Do(func() {
		if refErr = zkref.Available(); refErr != nil {
			return
		}
		refSrv, refErr = zkref.Launch(zkref.Config{
			TickTime:            500,
			FourLetterWhitelist: "*",
			JVMProps: map[string]string{
				"zookeeper.extendedTypesEnabled":                     "true",
				"zookeeper.DigestAuthenticationProvider.superDigest": superDigest,
			},
		})
	})
	if refErr != nil {
		if testutil.InCI() {
			t.Fatal(refErr)
		}
		t.Skip(refErr)
	}
	return target{name: "zookeeper", addr: refSrv.Addr}
}

// zkstoreCfg is the zoo.cfg the package's zkstore runs with.
func zkstoreCfg(dataDir string) string {
	return fmt.Sprintf(`tickTime=500
dataDir=%s
clientPort=0
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
zookeeper.extendedTypesEnabled=true
zookeeper.DigestAuthenticationProvider.superDigest=%s
`, dataDir, superDigest)
}

// store returns the package's zkstore server, starting it on first use.
func store(t testing.TB) target {
	t.Helper()
	zksOnce.Do(func() {
		zksDir, zksErr = os.MkdirTemp("", "clienttest-zkstore-")
		if zksErr != nil {
			return
		}
		var cfg *config.Config
		cfg, _, zksErr = config.Parse(stringsReader(zkstoreCfg(zksDir)))
		if zksErr != nil {
			return
		}
		zksSrv, zksErr = zkstore.NewServer(cfg)
		if zksErr != nil {
			return
		}
		if zksErr = zksSrv.Start(); zksErr != nil {
			zksSrv = nil
		}
	})
	if zksErr != nil {
		t.Fatalf("zkstore: %v", zksErr)
	}
	return target{name: "zkstore", addr: zksSrv.Addr().(*net.TCPAddr).String()}
}

// targets returns both servers, for suites that run against each.
func targets(t *testing.T) []target {
	return []target{reference(t), store(t)}
}
