package clienttest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// TestGoZookeeper runs one go-zookeeper session script (the client the
// broker uses; 44-byte handshake, auth with ordinary xids) against both
// servers and compares the two transcripts line by line.
func TestGoZookeeper(t *testing.T) {
	tgs := targets(t)
	var transcripts []string
	for _, tg := range tgs {
		transcripts = append(transcripts, goZKScript(t, tg))
	}
	if transcripts[0] != transcripts[1] {
		t.Fatalf("go-zookeeper sees zkstore differently from Apache ZooKeeper (- zookeeper, + zkstore):\n%s",
			diffLines(transcripts[0], transcripts[1]))
	}
	t.Logf("transcript (both servers):\n%s", transcripts[0])
	if !strings.Contains(transcripts[0], "event EventNodeDataChanged /w") {
		t.Fatalf("transcript lacks the data watch event:\n%s", transcripts[0])
	}
}

func goZKConnect(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, events, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.State == zk.StateHasSession {
				return c
			}
		case <-deadline:
			t.Fatalf("go-zookeeper: no session with %s", addr)
		}
	}
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func goZKScript(t *testing.T, tg target) string {
	root := fmt.Sprintf("/gozk-%d", rand.Uint32())
	a := goZKConnect(t, tg.addr)
	b := goZKConnect(t, tg.addr)
	acl := zk.WorldACL(zk.PermAll)
	var out strings.Builder
	rel := func(p string) string { return strings.TrimPrefix(p, root) }
	errName := func(err error) string {
		if err == nil {
			return "ok"
		}
		return err.Error()
	}
	stat := func(s *zk.Stat) string {
		if s == nil {
			return "nil"
		}
		return fmt.Sprintf("v=%d cv=%d av=%d len=%d kids=%d eph=%v", s.Version, s.Cversion, s.Aversion, s.DataLength, s.NumChildren, s.EphemeralOwner != 0)
	}
	logf := func(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }

	p, err := a.Create(root, []byte("root"), 0, acl)
	logf("create root -> %q %s", rel(p), errName(err))
	p, err = a.Create(root+"/n", []byte("v0"), 0, acl)
	logf("create /n -> %q %s", rel(p), errName(err))
	_, err = a.Create(root+"/n", nil, 0, acl)
	logf("create /n again -> %s", errName(err))
	p, err = a.Create(root+"/s-", nil, zk.FlagSequence, acl)
	logf("create seq -> %q %s", rel(p), errName(err))
	p, err = a.Create(root+"/e-", nil, zk.FlagEphemeral|zk.FlagSequence, acl)
	logf("create ephemeral seq -> %q %s", rel(p), errName(err))
	p, err = a.CreateProtectedEphemeralSequential(root+"/lock-", nil, acl)
	logf("protected ephemeral seq -> prefix ok=%v %s", strings.HasPrefix(rel(p), "/_c_") && strings.Contains(p, "-lock-"), errName(err))
	p, err = a.CreateContainer(root+"/c", nil, zk.FlagContainer, acl)
	logf("container -> %q %s", rel(p), errName(err))
	p, err = a.CreateTTL(root+"/t", nil, zk.FlagTTL, acl, time.Minute)
	logf("ttl -> %q %s", rel(p), errName(err))
	data, s, err := a.Get(root + "/n")
	logf("get /n -> %q %s %s", data, stat(s), errName(err))
	s, err = a.Set(root+"/n", []byte("v1"), 0)
	logf("set /n v0 -> %s %s", stat(s), errName(err))
	_, err = a.Set(root+"/n", []byte("v2"), 0)
	logf("set /n stale -> %s", errName(err))
	kids, s, err := a.Children(root)
	sort.Strings(kids)
	for i, k := range kids {
		if strings.HasPrefix(k, "_c_") {
			kids[i] = "_c_<uuid>" + k[strings.Index(k, "-lock-"):]
		}
	}
	logf("children root -> %v %s %s", kids, stat(s), errName(err))
	ok, s, err := a.Exists(root + "/missing")
	logf("exists missing -> %v %s %s", ok, stat(s), errName(err))
	err = a.Delete(root, -1)
	logf("delete root -> %s", errName(err))

	// Watches fired by the other session.
	_, err = a.Create(root+"/w", nil, 0, acl)
	logf("create /w -> %s", errName(err))
	_, _, dataW, err := a.GetW(root + "/w")
	logf("getw /w -> %s", errName(err))
	_, _, childW, err := a.ChildrenW(root + "/w")
	logf("childrenw /w -> %s", errName(err))
	_, _, existW, err := a.ExistsW(root + "/w/later")
	logf("existsw /w/later -> %s", errName(err))
	_, err = b.Set(root+"/w", []byte("x"), -1)
	logf("b set /w -> %s", errName(err))
	_, err = b.Create(root+"/w/later", nil, 0, acl)
	logf("b create /w/later -> %s", errName(err))
	for _, ch := range []<-chan zk.Event{dataW, existW, childW} {
		select {
		case ev := <-ch:
			logf("event %s %s", ev.Type, rel(ev.Path))
		case <-time.After(10 * time.Second):
			logf("event timeout")
		}
	}

	// multi, successful and failing
	res, err := a.Multi(
		&zk.CreateRequest{Path: root + "/m", Data: []byte("m"), Acl: acl},
		&zk.SetDataRequest{Path: root + "/m", Data: []byte("m2"), Version: 0},
		&zk.CheckVersionRequest{Path: root + "/m", Version: 1},
		&zk.DeleteRequest{Path: root + "/m", Version: 1},
	)
	var rs []string
	for _, r := range res {
		rs = append(rs, fmt.Sprintf("%q/%s", rel(r.String), errName(r.Error)))
	}
	logf("multi ok -> %v %s", rs, errName(err))
	res, err = a.Multi(
		&zk.CreateRequest{Path: root + "/m", Data: []byte("m"), Acl: acl},
		&zk.CheckVersionRequest{Path: root + "/n", Version: 42},
	)
	rs = nil
	for _, r := range res {
		rs = append(rs, errName(r.Error))
	}
	logf("multi fail -> %v %s exists=%v", rs, errName(err), errors.Is(err, zk.ErrBadVersion))

	// ACLs with digest auth (go-zookeeper sends auth with an ordinary xid)
	err = a.AddAuth("digest", []byte("gz:pw"))
	logf("addauth -> %s", errName(err))
	_, err = a.Create(root+"/secure", []byte("s"), 0, zk.DigestACL(zk.PermAll, "gz", "pw"))
	logf("create secure -> %s", errName(err))
	_, _, err = b.Get(root + "/secure")
	logf("b get secure -> %s", errName(err))
	acls, s, err := a.GetACL(root + "/secure")
	logf("getacl secure -> %v %s %s", acls, stat(s), errName(err))
	_, err = a.SetACL(root+"/secure", zk.WorldACL(zk.PermRead), 0)
	logf("setacl secure -> %s", errName(err))
	data, _, err = b.Get(root + "/secure")
	logf("b get secure -> %q %s", data, errName(err))
	_, err = a.Sync(root)
	logf("sync -> %s", errName(err))

	// Closing a session removes its ephemerals.
	a.Close()
	kids, _, err = b.Children(root)
	eph := 0
	for _, k := range kids {
		if strings.HasPrefix(k, "e-") || strings.HasPrefix(k, "_c_") {
			eph++
		}
	}
	logf("ephemerals after close -> %d %s", eph, errName(err))
	return out.String()
}
