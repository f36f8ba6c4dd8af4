package proto

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/internal/testutil"
	"github.com/gregorlog/gregor/internal/zkref"
)

var capture = flag.Bool("capture", false, "re-record testdata/*.frames, zk38.txns and fuzz seeds from real clients against Apache ZooKeeper 3.8")

// recorder is a TCP proxy in front of a server that records every frame
// of every connection.
type recorder struct {
	ln       net.Listener
	upstream string

	mu    sync.Mutex
	conns [][]goldenFrame
	live  []net.Conn
	wg    sync.WaitGroup
}

func newRecorder(t *testing.T, upstream string) *recorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln, upstream: upstream}
	go r.accept()
	return r
}

func (r *recorder) addr() string { return r.ln.Addr().String() }

func (r *recorder) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", r.upstream)
		if err != nil {
			c.Close()
			continue
		}
		r.mu.Lock()
		idx := len(r.conns)
		r.conns = append(r.conns, nil)
		r.live = append(r.live, c, u)
		r.mu.Unlock()
		r.wg.Add(2)
		go r.pipe(idx, c, u, true)
		go r.pipe(idx, u, c, false)
	}
}

// pipe copies frames from src to dst, recording each.
func (r *recorder) pipe(idx int, src, dst net.Conn, fromClient bool) {
	defer r.wg.Done()
	defer dst.Close()
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(src, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n > 4<<20 {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(src, body); err != nil {
			return
		}
		r.mu.Lock()
		r.conns[idx] = append(r.conns[idx], goldenFrame{fromClient: fromClient, body: body})
		r.mu.Unlock()
		if _, err := dst.Write(append(hdr[:], body...)); err != nil {
			return
		}
	}
}

func (r *recorder) sawPing() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		for _, f := range c {
			if f.fromClient && len(f.body) >= 8 && int32(binary.BigEndian.Uint32(f.body)) == XidPing {
				return nil
			}
		}
	}
	return errors.New("no ping yet")
}

// dropAll closes every live connection (to make clients reconnect and
// send SetWatches).
func (r *recorder) dropAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.live {
		c.Close()
	}
	r.live = nil
}

func (r *recorder) close() {
	r.ln.Close()
	r.dropAll()
	r.wg.Wait()
}

func (r *recorder) write(t *testing.T, file, comment string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n# Recorded against Apache ZooKeeper 3.8 (Debian) by capture_test.go; one frame body per line.\n", comment)
	for _, c := range r.conns {
		if len(c) == 0 {
			continue
		}
		b.WriteString("conn\n")
		for _, f := range c {
			d := "S"
			if f.fromClient {
				d = "C"
			}
			fmt.Fprintf(&b, "%s %s\n", d, hex.EncodeToString(f.body))
		}
	}
	if err := os.WriteFile(filepath.Join("testdata", file), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCapture re-records the golden traffic. It does nothing unless run
// with -capture (it needs Java, Debian's zookeeper, kazoo and zkCli.sh).
func TestCapture(t *testing.T) {
	if !*capture {
		t.Log("golden traffic is committed under testdata/; pass -capture to re-record it")
		return
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	srv := zkref.Start(t, zkref.Config{
		DataDir:  dataDir,
		JVMProps: map[string]string{"zookeeper.extendedTypesEnabled": "true"},
	})

	captureGoZK(t, srv.Addr)
	captureKazoo(t, srv.Addr)
	captureZkCli(t, srv.Addr)

	srv.Stop()
	captureTxnLog(t, dataDir)
	writeFuzzSeeds(t)
}

func captureGoZK(t *testing.T, upstream string) {
	rec := newRecorder(t, upstream)
	c, events, err := zk.Connect([]string{rec.addr()}, 4*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	waitConnected(t, events)
	// An idle client pings every recvTimeout/2 (about 1.3 s here).
	testutil.CheckFor(t, 10*time.Second, 50*time.Millisecond, rec.sawPing)
	acl := zk.WorldACL(zk.PermAll)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = c.Create("/gz", []byte("root"), 0, acl)
	must(err)
	_, err = c.Create("/gz/e", nil, zk.FlagEphemeral|zk.FlagSequence, acl)
	must(err)
	_, err = c.CreateContainer("/gz/c", []byte("c"), zk.FlagContainer, acl)
	must(err)
	_, err = c.CreateTTL("/gz/t", []byte("t"), zk.FlagTTL, acl, time.Minute)
	must(err)
	_, _, err = c.Get("/gz")
	must(err)
	_, _, dataW, err := c.GetW("/gz")
	must(err)
	_, _, childW, err := c.ChildrenW("/gz")
	must(err)
	_, _, existW, err := c.ExistsW("/gz/none")
	must(err)
	_, err = c.Set("/gz", []byte("v2"), -1)
	must(err)
	<-dataW
	_, err = c.Set("/gz", []byte("v3"), 0)
	if !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("stale set: %v", err)
	}
	_, err = c.Create("/gz/none", nil, 0, acl)
	must(err)
	<-existW
	<-childW
	_, _, err = c.Get("/missing")
	if !errors.Is(err, zk.ErrNoNode) {
		t.Fatalf("get missing: %v", err)
	}
	_, err = c.Multi(&zk.CreateRequest{Path: "/gz/m", Data: []byte("m"), Acl: acl},
		&zk.SetDataRequest{Path: "/gz/m", Data: []byte("m2"), Version: -1},
		&zk.CheckVersionRequest{Path: "/gz/m", Version: 1},
		&zk.DeleteRequest{Path: "/gz/m", Version: -1})
	must(err)
	_, err = c.Multi(&zk.CreateRequest{Path: "/gz/m", Acl: acl}, &zk.CheckVersionRequest{Path: "/gz", Version: 99})
	if err == nil {
		t.Fatal("failing multi succeeded")
	}
	must(c.AddAuth("digest", []byte("u:p")))
	_, err = c.SetACL("/gz/none", zk.DigestACL(zk.PermAll, "u", "p"), -1)
	must(err)
	_, _, err = c.GetACL("/gz/none")
	must(err)
	_, err = c.Sync("/gz")
	must(err)
	_, _, err = c.Exists("/gz")
	must(err)
	// Watches survive a reconnect through SetWatches.
	_, _, dataW2, err := c.GetW("/gz")
	must(err)
	rec.dropAll()
	waitConnected(t, events)
	_, err = c.Set("/gz", []byte("v4"), -1)
	must(err)
	<-dataW2
	must(c.Delete("/gz/none", -1))
	c.Close()
	rec.close()
	rec.write(t, "gozk.frames", "go-zookeeper v1.0.4 (44-byte ConnectRequest, auth and setWatches with normal xids)")
}

func waitConnected(t *testing.T, events <-chan zk.Event) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return
			}
		case <-deadline:
			t.Fatal("go-zookeeper did not connect")
		}
	}
}

const kazooScript = `
import sys
from kazoo.client import KazooClient
from kazoo.security import make_digest_acl, OPEN_ACL_UNSAFE
from kazoo.exceptions import NoNodeError, BadVersionError
zk = KazooClient(hosts=sys.argv[1], timeout=10)
zk.start()
zk.add_auth("digest", "k:p")
zk.ensure_path("/kz/a")
zk.create("/kz/d", b"d", include_data=True)
zk.create("/kz/e", b"", ephemeral=True, sequence=True)
zk.get("/kz/d")
zk.set("/kz/d", b"d2")
zk.get_children("/kz")
zk.get_children("/kz", include_data=True)
zk.exists("/kz/none", watch=lambda ev: None)
zk.create("/kz/none")
t = zk.transaction()
t.create("/kz/t1", b"1")
t.check("/kz/d", 1)
t.set_data("/kz/t1", b"2")
t.delete("/kz/t1")
t.commit()
t = zk.transaction()
t.create("/kz/t2", b"1")
t.check("/kz/d", 42)
print(t.commit())
zk.set_acls("/kz/a", [make_digest_acl("k", "p", all=True)])
zk.get_acls("/kz/a")
try:
    zk.get("/kz/missing")
except NoNodeError:
    pass
zk.sync("/kz")
zk.delete("/kz", recursive=True)
zk.stop()
zk.close()
print("done")
`

func captureKazoo(t *testing.T, upstream string) {
	py := testutil.DebianPython(t, "kazoo")
	rec := newRecorder(t, upstream)
	out, err := exec.Command(py, "-c", kazooScript, rec.addr()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "done") {
		t.Fatalf("kazoo: %v\n%s", err, out)
	}
	rec.close()
	rec.write(t, "kazoo.frames", "kazoo 2.8 (45-byte ConnectRequest, auth xid -4, create2, transactions)")
}

const zkCliScript = `create /zc zcdata
create -e /zc/eph
create -s /zc/seq-
create -c /zc/cont
addWatch -m PERSISTENT_RECURSIVE /zc
set /zc again
removewatches /zc
ls /zc
ls -s /zc
stat /zc
get /zc
whoami
getEphemerals
getAllChildrenNumber /zc
addauth digest zu:zp
setAcl /zc/seq-0000000001 auth:zu:zp:cdrwa
getAcl /zc/seq-0000000001
sync /zc
config
deleteall /zc
quit
`

func captureZkCli(t *testing.T, upstream string) {
	cli := testutil.ZkCli(t)
	rec := newRecorder(t, upstream)
	cmd := exec.Command(cli, "-server", rec.addr())
	cmd.Stdin = strings.NewReader(zkCliScript)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("zkCli: %v\n%s", err, out)
	}
	rec.close()
	rec.write(t, "zkcli.frames", "zkCli.sh 3.8.0 interactive session (45-byte ConnectRequest, addWatch, whoami, getEphemerals, deleteall multi)")
}

// captureTxnLog extracts the txn records of the reference server's log
// files: FileHeader (16 bytes), then {long checksum; int len; len bytes;
// byte 'B'} until a zero length.
func captureTxnLog(t *testing.T, dataDir string) {
	logs, _ := filepath.Glob(filepath.Join(dataDir, "data", "version-2", "log.*"))
	sort.Strings(logs)
	if len(logs) == 0 {
		t.Fatal("no txn log written")
	}
	var b bytes.Buffer
	b.WriteString("# Txn records (TxnHeader + txn + TxnDigest) from Apache ZooKeeper 3.8's own log during the capture sessions.\n")
	for _, l := range logs {
		raw, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		off := 16
		for off+12 <= len(raw) {
			n := int(binary.BigEndian.Uint32(raw[off+8:]))
			if n == 0 || off+12+n+1 > len(raw) {
				break
			}
			fmt.Fprintf(&b, "T %s\n", hex.EncodeToString(raw[off+12:off+12+n]))
			off += 12 + n + 1
		}
	}
	if err := os.WriteFile("testdata/zk38.txns", b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeFuzzSeeds writes the captured requests as fuzz corpus files.
func writeFuzzSeeds(t *testing.T) {
	write := func(target, name, content string) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for _, r := range loadGoldenRequests(t) {
		key := fmt.Sprintf("%s-%x", r.op, r.body)
		if seen[key] {
			continue
		}
		seen[key] = true
		write("FuzzDecodeRequest", fmt.Sprintf("captured-%s-%03d", r.op, len(seen)), fmt.Sprintf("int32(%d)\n[]byte(%q)\n", int32(r.op), r.body))
	}
	for i, b := range loadGoldenConnects(t) {
		write("FuzzConnectRequest", fmt.Sprintf("captured-%d-%d", i, len(b)), fmt.Sprintf("[]byte(%q)\n", b))
	}
	for i, te := range loadGoldenTxns(t) {
		write("FuzzDecodeTxn", fmt.Sprintf("captured-%s-%03d", te.Hdr.Type, i), fmt.Sprintf("int32(%d)\n[]byte(%q)\n", int32(te.Hdr.Type), Marshal(te.Rec)))
	}
}
