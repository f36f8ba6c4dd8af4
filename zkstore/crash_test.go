package zkstore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/internal/testutil"
)

const childDirEnv = "ZKSTORE_CRASH_CHILD_DIR"

// TestCrashChildServer is the child process of TestKill9: it serves the
// data directory named by the environment until it is killed.
func TestCrashChildServer(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("helper process for TestKill9")
	}
	set := defaultSettings()
	set.dataDir, set.dataLogDir = dir, dir
	set.clientAddr = "127.0.0.1:0"
	set.preAllocSize = 1 << 20
	set.snapCount = 500
	s, err := newServer(set, WithLogger(quietLogger()))
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	if err := s.Start(); err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Println("ADDR", s.Addr().String())
	select {} // until SIGKILL
}

func startChild(t *testing.T, dir string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChildServer$", "-test.v")
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "ADDR "); ok {
				addrCh <- a
			}
		}
		close(addrCh)
	}()
	select {
	case a, ok := <-addrCh:
		if !ok {
			t.Fatal("child exited before serving")
		}
		return cmd, a
	case <-time.After(30 * time.Second):
		t.Fatal("child did not start")
	}
	return nil, ""
}

// TestKill9 runs the server in a child process, writes from several
// clients, SIGKILLs the child mid-writes, restarts it on the same data and
// checks that every acknowledged write is there.
func TestKill9(t *testing.T) {
	dir := t.TempDir()
	for round := 0; round < 2; round++ {
		cmd, addr := startChild(t, dir)
		var acked sync.Map // path -> data
		var count atomic.Int64
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogger(nopLogger{}))
				if err != nil {
					return
				}
				defer c.Close()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					p := fmt.Sprintf("/r%d-w%d-%d", round, w, i)
					data := []byte(p)
					if _, err := c.Create(p, data, 0, zk.WorldACL(zk.PermAll)); err != nil {
						return
					}
					acked.Store(p, data)
					count.Add(1)
				}
			}(w)
		}
		testutil.CheckFor(t, 60*time.Second, 5*time.Millisecond, func() error {
			if n := count.Load(); n < 300 {
				return fmt.Errorf("%d writes acknowledged", n)
			}
			return nil
		})
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		close(stop)
		wg.Wait()

		_, addr2 := startChild(t, dir)
		c, _, err := zk.Connect([]string{addr2}, 10*time.Second, zk.WithLogger(nopLogger{}))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		acked.Range(func(k, v any) bool {
			n++
			data, _, err := c.Get(k.(string))
			if err != nil || !bytes.Equal(data, v.([]byte)) {
				t.Errorf("acknowledged %s lost after kill -9: %v", k, err)
				return false
			}
			return true
		})
		c.Close()
		t.Logf("round %d: %d acknowledged writes survived", round, n)
	}
}

// writeSome runs a server on set, performs n creates and closes it.
func writeSome(t *testing.T, set settings, prefix string, n int) {
	s := startTestServer(t, set)
	rc, _ := dialRaw(t, s, 0, nil, false)
	for i := 0; i < n; i++ {
		if h := rc.call(1, createReq(fmt.Sprintf("/%s%03d", prefix, i)), nil); h.Err != 0 {
			t.Fatal(h.Err)
		}
	}
	rc.nc.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func lastLog(t *testing.T, dir string) logFile {
	files, err := listFiles(filepath.Join(dir, "version-2"), "log")
	if err != nil || len(files) == 0 {
		t.Fatalf("no logs: %v", err)
	}
	return files[len(files)-1]
}

// validEnd returns the end of the valid records of a log file.
func validEnd(t *testing.T, path string) (int64, int) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	end, torn, err := LoadTxnLog(b, func(*Txn) error { n++; return nil })
	if err != nil || torn {
		t.Fatalf("log %s: torn=%v err=%v", path, torn, err)
	}
	return end, n
}

func TestTornTailRecovery(t *testing.T) {
	for _, damage := range []string{"partial-record", "bad-checksum", "garbage-length"} {
		t.Run(damage, func(t *testing.T) {
			set := testSettings(t)
			writeSome(t, set, "t", 20)
			lf := lastLog(t, set.dataDir)
			end, n := validEnd(t, lf.path)
			if n != 21 { // createSession + 20 creates
				t.Fatalf("%d txns in last log", n)
			}
			f, err := os.OpenFile(lf.path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			switch damage {
			case "partial-record":
				// A record header promising more bytes than were written.
				f.WriteAt([]byte{0, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9}, end)
			case "bad-checksum":
				// Flip one byte in the last record's payload.
				b := make([]byte, 1)
				f.ReadAt(b, end-3)
				b[0] ^= 0xff
				f.WriteAt(b, end-3)
			case "garbage-length":
				f.WriteAt([]byte{0xff, 0xff, 0xff, 0xff}, end)
			}
			f.Close()
			s := startTestServer(t, set)
			rc, _ := dialRaw(t, s, 0, nil, false)
			want := 20
			if damage == "bad-checksum" {
				want = 19 // the damaged last txn is dropped, never replayed as garbage
			}
			for i := 0; i < 20; i++ {
				h := rc.call(3, existsReq(fmt.Sprintf("/t%03d", i)), nil)
				if (i < want) != (h.Err == 0) {
					t.Fatalf("/t%03d: err %v (want %d nodes)", i, h.Err, want)
				}
			}
			// The damaged file was truncated and new writes go on.
			if h := rc.call(1, createReq("/after"), nil); h.Err != 0 {
				t.Fatal(h.Err)
			}
			fi, _ := os.Stat(lf.path)
			if damage != "bad-checksum" && fi.Size() != end {
				t.Fatalf("log not truncated to %d: %d", end, fi.Size())
			}
		})
	}
}

func TestCorruptMiddleLogRefused(t *testing.T) {
	set := testSettings(t)
	writeSome(t, set, "a", 10)
	first := lastLog(t, set.dataDir)
	writeSome(t, set, "b", 10) // restart rolls to a new log file
	if lastLog(t, set.dataDir).path == first.path {
		t.Fatal("expected a second log file")
	}
	// Remove the snapshots so recovery must replay the first log.
	snaps, _ := filepath.Glob(filepath.Join(set.dataDir, "version-2", "snapshot.*"))
	for _, p := range snaps {
		os.Remove(p)
	}
	f, _ := os.OpenFile(first.path, os.O_RDWR, 0)
	f.WriteAt([]byte{0xde, 0xad}, logHeaderSize+20)
	f.Close()
	_, err := newServer(set, WithLogger(quietLogger()))
	if !errors.Is(err, ErrCorruptLog) {
		t.Fatalf("corrupt middle log: %v", err)
	}
}

func TestDamagedSnapshotFallsBack(t *testing.T) {
	set := testSettings(t)
	set.snapCount = 5
	writeSome(t, set, "s", 23)
	snaps, _ := listFiles(filepath.Join(set.dataDir, "version-2"), "snapshot")
	newest := snaps[len(snaps)-1].path
	b, _ := os.ReadFile(newest)
	os.WriteFile(newest, b[:len(b)-5], 0o644) // torn snapshot
	s := startTestServer(t, set)
	rc, _ := dialRaw(t, s, 0, nil, false)
	for i := 0; i < 23; i++ {
		if h := rc.call(3, existsReq(fmt.Sprintf("/s%03d", i)), nil); h.Err != 0 {
			t.Fatalf("/s%03d missing after snapshot fallback: %v", i, h.Err)
		}
	}
}

func TestFsyncFailureIsFatal(t *testing.T) {
	s := startTestServer(t, testSettings(t))
	rc, _ := dialRaw(t, s, 0, nil, false)
	rc.call(1, createReq("/before"), nil)
	// Simulate a failed write: close the log file under the committer.
	s.mu.Lock()
	s.txnlog.f.Close()
	s.mu.Unlock()
	rc.send(1, createReq("/after"))
	rc.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := bufio.NewReader(rc.nc).ReadByte(); err == nil {
		t.Fatal("write acknowledged after a failed log write")
	}
	if !errors.Is(s.Err(), ErrFsyncFailed) {
		t.Fatalf("server error %v", s.Err())
	}
	// New connections are refused; the log error is sticky.
	if err := s.txnlog.Commit(); !errors.Is(err, ErrFsyncFailed) {
		t.Fatalf("log error not sticky: %v", err)
	}
}

// TestReadsWaitForDurability applies a txn the way the committer does
// before its fsync and checks that a read revealing it is held back until
// the txn is durable.
func TestReadsWaitForDurability(t *testing.T) {
	s := startTestServer(t, testSettings(t))
	rc, _ := dialRaw(t, s, 0, nil, false)
	s.mu.Lock()
	z := s.tree.lastZxid + 1
	s.tree.Apply(&Txn{TxnHeader: TxnHeader{Zxid: z, Type: OpCreate}, Body: &CreateTxn{Path: "/undurable", ACL: OpenACL, ParentCVersion: -1}})
	s.mu.Unlock()
	xid := rc.send(3, existsReq("/undurable"))
	rc.nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := rc.br.Peek(1); err == nil {
		t.Fatal("a read revealed a txn that is not durable")
	}
	rc.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	s.setDurable(z)
	h, _ := rc.recv(xid)
	if h.Err != 0 || h.Zxid != z {
		t.Fatalf("after durable: %+v", h)
	}
}

// TestEmptyLogAfterCrash covers a crash right after a new log file was
// created: header only, or not even the header on disk. Recovery removes
// the file so the next log can take its name, and writes go on.
func TestEmptyLogAfterCrash(t *testing.T) {
	for _, kind := range []string{"header-only", "zeros"} {
		t.Run(kind, func(t *testing.T) {
			set := testSettings(t)
			writeSome(t, set, "e", 5)
			// createSession + 5 creates = zxid 6; the next log is log.7.
			p := filepath.Join(set.dataDir, "version-2", "log.7")
			b := make([]byte, 4096)
			if kind == "header-only" {
				copy(b, encodeFileHeader(logMagic, logVersion, 7))
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			s := startTestServer(t, set)
			rc, _ := dialRaw(t, s, 0, nil, false)
			if h := rc.call(1, createReq("/after"), nil); h.Err != 0 || h.Zxid != 8 { // the session took 7
				t.Fatalf("write after empty log: %+v", h)
			}
			for i := 0; i < 5; i++ {
				if h := rc.call(3, existsReq(fmt.Sprintf("/e%03d", i)), nil); h.Err != 0 {
					t.Fatalf("/e%03d: %v", i, h.Err)
				}
			}
		})
	}
}
