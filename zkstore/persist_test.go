package zkstore

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/internal/testutil"
	"github.com/gregorlog/gregor/zkstore/config"
)

func TestNewServerFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg, _, err := config.Parse(strings.NewReader(fmt.Sprintf("tickTime=500\ndataDir=%s\nclientPort=0\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n", dir)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(cfg, WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, _ := connect(t, s)
	if _, err := c.Create("/cfg", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if s.set.minSessionTimeout != 1000 || s.set.maxSessionTimeout != 10000 {
		t.Fatalf("timeouts %d/%d", s.set.minSessionTimeout, s.set.maxSessionTimeout)
	}
}

func TestRestartRecoversState(t *testing.T) {
	set := testSettings(t)
	set.snapCount = 7 // force several snapshots and log rolls
	s := startTestServer(t, set)
	c, _ := connect(t, s)
	acl := zk.WorldACL(zk.PermAll)
	for i := 0; i < 30; i++ {
		if _, err := c.Create(fmt.Sprintf("/n%02d", i), []byte{byte(i)}, 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Set("/n03", []byte("three"), -1); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("/n04", -1); err != nil {
		t.Fatal(err)
	}
	_, want, _ := c.Get("/n03")
	c.Close()
	s.Close()

	s2 := startTestServer(t, set)
	c2, _ := connect(t, s2)
	data, st, err := c2.Get("/n03")
	if err != nil || !bytes.Equal(data, []byte("three")) {
		t.Fatalf("after restart: %q %v", data, err)
	}
	if *st != *want {
		t.Fatalf("stat changed across restart:\n%+v\n%+v", st, want)
	}
	if ok, _, _ := c2.Exists("/n04"); ok {
		t.Fatal("deleted node came back")
	}
	kids, _, _ := c2.Children("/")
	if len(kids) != 30 { // 29 nodes + zookeeper
		t.Fatalf("children after restart: %d %v", len(kids), kids)
	}
	snaps, _ := filepath.Glob(filepath.Join(set.dataDir, "version-2", "snapshot.*"))
	logs, _ := filepath.Glob(filepath.Join(set.dataDir, "version-2", "log.*"))
	if len(snaps) < 3 || len(logs) < 2 {
		t.Fatalf("expected several snapshots and logs: %v %v", snaps, logs)
	}
}

func TestAutopurge(t *testing.T) {
	set := testSettings(t)
	set.snapCount = 5
	s := startTestServer(t, set)
	c, _ := connect(t, s)
	for i := 0; i < 60; i++ {
		if _, err := c.Create(fmt.Sprintf("/p%02d", i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	testutil.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if s.snapRunning.Load() {
			return errors.New("snapshot still running")
		}
		return nil
	})
	dir := filepath.Join(set.dataDir, "version-2")
	before, _ := filepath.Glob(filepath.Join(dir, "snapshot.*"))
	if len(before) <= 3 {
		t.Fatalf("want > 3 snapshots before purge, got %d", len(before))
	}
	if _, err := s.Purge(); err != nil {
		t.Fatal(err)
	}
	after, _ := filepath.Glob(filepath.Join(dir, "snapshot.*"))
	if len(after) != 3 {
		t.Fatalf("after purge %d snapshots: %v", len(after), after)
	}
	c.Close()
	s.Close()
	// Everything is still recoverable from what was kept.
	s2 := startTestServer(t, set)
	c2, _ := connect(t, s2)
	kids, _, err := c2.Children("/")
	if err != nil || len(kids) != 61 {
		t.Fatalf("after purge+restart: %d %v", len(kids), err)
	}
}

// TestConcurrentWritersSurviveRestart drives the pipelined group commit
// with many writers at once while small snapCount values roll the log
// between batches: every acknowledged write, and every zxid a reply
// carried, is there after a restart, and replies carry increasing zxids
// per session.
func TestConcurrentWritersSurviveRestart(t *testing.T) {
	set := testSettings(t)
	set.snapCount = 37
	s := startTestServer(t, set)
	acl := zk.WorldACL(zk.PermAll)
	const writers, each = 12, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	var maxZxid atomic.Int64
	for w := range writers {
		c, _ := connect(t, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := int64(0)
			for i := range each {
				p := fmt.Sprintf("/w%02d-%03d", w, i)
				if _, err := c.Create(p, []byte(p), 0, acl); err != nil {
					errs <- err
					return
				}
				st, err := c.Set(p, []byte("x"+p), 0)
				if err != nil {
					errs <- err
					return
				}
				if st.Mzxid <= last {
					errs <- fmt.Errorf("%s: mzxid 0x%x not after 0x%x", p, st.Mzxid, last)
					return
				}
				last = st.Mzxid
				for {
					m := maxZxid.Load()
					if last <= m || maxZxid.CompareAndSwap(m, last) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := s.CommitStats(); st.Writes < 2*writers*each || st.Batches == 0 {
		t.Fatalf("commit stats %+v", st)
	}
	s.Close()

	s2 := startTestServer(t, set)
	s2.mu.RLock()
	last := s2.tree.lastZxid
	s2.mu.RUnlock()
	if last < maxZxid.Load() {
		t.Fatalf("recovered to 0x%x, a reply carried 0x%x", last, maxZxid.Load())
	}
	c, _ := connect(t, s2)
	for w := range writers {
		for i := range each {
			p := fmt.Sprintf("/w%02d-%03d", w, i)
			data, st, err := c.Get(p)
			if err != nil || string(data) != "x"+p || st.Version != 1 {
				t.Fatalf("%s after restart: %q %+v %v", p, data, st, err)
			}
		}
	}
	snaps, _ := filepath.Glob(filepath.Join(set.dataDir, "version-2", "snapshot.*"))
	if len(snaps) < 3 {
		t.Fatalf("expected several snapshots: %v", snaps)
	}
}
