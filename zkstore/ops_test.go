package zkstore

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/zkstore/proto"
)

var openACL = zk.WorldACL(zk.PermAll)

func waitEvent(t *testing.T, ch <-chan zk.Event) zk.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event")
	}
	return zk.Event{}
}

func TestWatchesOneShot(t *testing.T) {
	s := startTestServer(t, testSettings(t))
	c, _ := connect(t, s)
	c2, _ := connect(t, s)

	// exists on a missing node registers a watch; create fires NodeCreated.
	ok, _, ch, err := c.ExistsW("/w")
	if err != nil || ok {
		t.Fatal(ok, err)
	}
	if _, err := c2.Create("/w", nil, 0, openACL); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, ch); ev.Type != zk.EventNodeCreated || ev.Path != "/w" {
		t.Fatalf("%+v", ev)
	}
	// getData watch -> NodeDataChanged, then it is gone (one-shot).
	_, _, dch, _ := c.GetW("/w")
	_, _, cch, _ := c.ChildrenW("/w")
	c2.Set("/w", []byte("1"), -1)
	if ev := waitEvent(t, dch); ev.Type != zk.EventNodeDataChanged {
		t.Fatalf("%+v", ev)
	}
	c2.Create("/w/k", nil, 0, openACL)
	if ev := waitEvent(t, cch); ev.Type != zk.EventNodeChildrenChanged || ev.Path != "/w" {
		t.Fatalf("%+v", ev)
	}
	// delete fires NodeDeleted on data watches.
	_, _, dch, _ = c.GetW("/w/k")
	c2.Delete("/w/k", -1)
	if ev := waitEvent(t, dch); ev.Type != zk.EventNodeDeleted {
		t.Fatalf("%+v", ev)
	}
	s.wmu.Lock()
	n := s.watches.Count()
	s.wmu.Unlock()
	if n != 0 {
		t.Fatalf("one-shot watches left: %d", n)
	}
}

// TestEventBeforeReply checks on the wire that a client's own setData
// reply comes after the event of the watch it held on that node.
func TestEventBeforeReply(t *testing.T) {
	s := startTestServer(t, testSettings(t))
	rc, _ := dialRaw(t, s, 0, nil, true)
	if h := rc.call(proto.OpCreate, &proto.CreateRequest{Path: "/e", ACL: proto.WorldAnyone()}, nil); h.Err != 0 {
		t.Fatal(h.Err)
	}
	var gd proto.GetDataResponse
	rc.call(proto.OpGetData, &proto.PathWatchRequest{Path: "/e", Watch: true}, &gd)
	var sr proto.StatResponse
	h := rc.call(proto.OpSetData, &proto.SetDataRequest{Path: "/e", Data: []byte("v"), Version: -1}, &sr)
	if h.Err != 0 || len(rc.events) != 1 || rc.events[0].Type != proto.EventNodeDataChanged || rc.events[0].Path != "/e" {
		t.Fatalf("hdr %+v events %+v", h, rc.events)
	}
	if h.Zxid != sr.Stat.Mzxid {
		t.Fatalf("reply zxid 0x%x, mzxid 0x%x", h.Zxid, sr.Stat.Mzxid)
	}
	// Another connection reading after the change sees the event first.
	rc2, _ := dialRaw(t, s, 0, nil, false)
	rc2.call(proto.OpExists, &proto.PathWatchRequest{Path: "/e", Watch: true}, &sr)
	rc.call(proto.OpSetData, &proto.SetDataRequest{Path: "/e", Data: []byte("w"), Version: -1}, &sr)
	rc2.call(proto.OpGetData, &proto.PathWatchRequest{Path: "/e"}, &gd)
	if string(gd.Data) != "w" || len(rc2.events) != 1 {
		t.Fatalf("data %q events %+v", gd.Data, rc2.events)
	}
}

func TestZxidAccounting(t *testing.T) {
	s := startTestServer(t, testSettings(t))
	rc, _ := dialRaw(t, s, 0, nil, true)
	h1 := rc.call(proto.OpCreate, &proto.CreateRequest{Path: "/z", ACL: proto.WorldAnyone()}, nil)
	// A failed write consumes a zxid; reads return the last zxid.
	h2 := rc.call(proto.OpSetData, &proto.SetDataRequest{Path: "/z", Version: 7}, nil)
	if h2.Err != proto.ErrBadVersion || h2.Zxid != h1.Zxid+1 {
		t.Fatalf("failed write: %+v after %+v", h2, h1)
	}
	h3 := rc.call(proto.OpExists, &proto.PathWatchRequest{Path: "/nope"}, nil)
	if h3.Err != proto.ErrNoNode || h3.Zxid != h2.Zxid {
		t.Fatalf("read: %+v", h3)
	}
	// Auth replies carry zxid 0.
	h4 := rc.call(proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("u:p")}, nil)
	if h4.Err != 0 || h4.Zxid != 0 {
		t.Fatalf("auth: %+v", h4)
	}
	// Unknown opcode: Unimplemented, then the server closes.
	h5 := rc.call(proto.OpCode(55), nil, nil)
	if h5.Err != proto.ErrUnimplemented {
		t.Fatalf("unknown op: %+v", h5)
	}
	rc.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := proto.ReadFrame(rc.br, nil, 1<<20); err == nil {
		t.Fatal("connection still open after unknown opcode")
	}
}

func TestEphemeralsOnCloseAndExpiry(t *testing.T) {
	clk := newFakeClock()
	set := testSettings(t)
	s := startTestServer(t, set, WithClock(clk))
	watcher, _ := connect(t, s)
	c1, _ := connect(t, s)
	if _, err := watcher.Create("/app", nil, 0, openACL); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.Create("/app/e1", []byte("x"), zk.FlagEphemeral, openACL); err != nil {
		t.Fatal(err)
	}
	_, st, _ := c1.Get("/app/e1")
	if st.EphemeralOwner != c1.SessionID() {
		t.Fatalf("owner 0x%x, session 0x%x", st.EphemeralOwner, c1.SessionID())
	}
	if _, err := c1.Create("/app/e1/child", nil, 0, openACL); !errors.Is(err, zk.ErrNoChildrenForEphemerals) {
		t.Fatalf("child of ephemeral: %v", err)
	}
	_, _, ch, _ := watcher.GetW("/app/e1")
	c1.Close()
	if ev := waitEvent(t, ch); ev.Type != zk.EventNodeDeleted {
		t.Fatalf("%+v", ev)
	}

	// Expiry: a raw client (which never pings) creates an ephemeral;
	// advancing the injected clock past its timeout expires it.
	rc, resp := dialRaw(t, s, 0, nil, false)
	if resp.TimeOut != 10000 {
		t.Fatalf("negotiated %d", resp.TimeOut)
	}
	if h := rc.call(proto.OpCreate, &proto.CreateRequest{Path: "/app/e2", ACL: proto.WorldAnyone(), Flags: proto.ModeEphemeral}, nil); h.Err != 0 {
		t.Fatal(h.Err)
	}
	_, _, ch, _ = watcher.GetW("/app/e2")
	clk.Advance(5 * time.Second)
	s.expireSessions()
	if ok, _, _ := watcher.Exists("/app/e2"); !ok {
		t.Fatal("expired too early")
	}
	clk.Advance(8 * time.Second)
	s.expireSessions()
	if ev := waitEvent(t, ch); ev.Type != zk.EventNodeDeleted || ev.Path != "/app/e2" {
		t.Fatalf("%+v", ev)
	}
	// Reattaching to the expired session is refused as expired.
	_, resp2 := dialRaw(t, s, rc.session, rc.passwd, false)
	if resp2 == nil || resp2.SessionID != 0 || resp2.TimeOut != 0 || len(resp2.Passwd) != 16 {
		t.Fatalf("reattach to expired session: %+v", resp2)
	}
}

func TestSessionReattachAndPassword(t *testing.T) {
	s := startTestServer(t, testSettings(t))
	rc, resp := dialRaw(t, s, 0, nil, true)
	if !resp.HasReadOnly {
		t.Fatal("readOnly byte not echoed")
	}
	rc.call(proto.OpCreate, &proto.CreateRequest{Path: "/r", ACL: proto.WorldAnyone(), Flags: proto.ModeEphemeral}, nil)
	// go-zookeeper style: no readOnly byte, none echoed.
	bad := append([]byte(nil), rc.passwd...)
	bad[0] ^= 1
	_, r2 := dialRaw(t, s, rc.session, bad, false)
	if r2.SessionID != 0 || r2.HasReadOnly {
		t.Fatalf("wrong password accepted: %+v", r2)
	}
	// Like ZooKeeper, even a failed reattach closes the session's current
	// connection; the session and its ephemeral survive.
	rc.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := proto.ReadFrame(rc.br, nil, 1<<20); err == nil {
		t.Fatal("old connection still open")
	}
	rc3, r3 := dialRaw(t, s, rc.session, rc.passwd, false)
	if r3.SessionID != rc.session {
		t.Fatalf("reattach: %+v", r3)
	}
	var eph proto.GetEphemeralsResponse
	rc3.call(proto.OpGetEphemerals, &proto.PathRequest{Path: "/"}, &eph)
	if len(eph.Ephemerals) != 1 || eph.Ephemerals[0] != "/r" {
		t.Fatalf("ephemerals %v", eph.Ephemerals)
	}
	// closeSession consumes a zxid and then the server closes.
	h := rc3.call(proto.OpCloseSession, nil, nil)
	if h.Err != 0 {
		t.Fatal(h.Err)
	}
	rc4, _ := dialRaw(t, s, 0, nil, false)
	h2 := rc4.call(proto.OpExists, &proto.PathWatchRequest{Path: "/r"}, nil)
	if h2.Err != proto.ErrNoNode || h2.Zxid <= h.Zxid {
		t.Fatalf("after close: %+v (close zxid 0x%x)", h2, h.Zxid)
	}
}

func TestSessionTimeoutClamp(t *testing.T) {
	set := testSettings(t)
	set.tickTime = 500
	set.minSessionTimeout, set.maxSessionTimeout = 1000, 10000
	s := startTestServer(t, set)
	for _, tc := range []struct{ ask, want int32 }{{100, 1000}, {5000, 5000}, {60000, 10000}} {
		_, resp := dialRawWith(t, s, proto.ConnectRequest{TimeOut: tc.ask, Passwd: make([]byte, 16)})
		if resp.TimeOut != tc.want {
			t.Fatalf("asked %d got %d want %d", tc.ask, resp.TimeOut, tc.want)
		}
	}
}

func TestMulti(t *testing.T) {
	s := startTestServer(t, testSettings(t))
	c, _ := connect(t, s)
	res, err := c.Multi(
		&zk.CreateRequest{Path: "/m", Data: []byte("a"), Acl: openACL},
		&zk.CreateRequest{Path: "/m/c", Acl: openACL},
		&zk.SetDataRequest{Path: "/m", Data: []byte("b"), Version: 0},
		&zk.CheckVersionRequest{Path: "/m", Version: 1},
	)
	if err != nil || len(res) != 4 || res[0].String != "/m" || res[2].Stat.Version != 1 {
		t.Fatalf("multi: %+v %v", res, err)
	}
	// Failure: all or nothing, per-op errors 0 / code / -2.
	before, _, _ := c.Get("/m")
	res, err = c.Multi(
		&zk.CreateRequest{Path: "/m/d", Acl: openACL},
		&zk.CheckVersionRequest{Path: "/m", Version: 9},
		&zk.DeleteRequest{Path: "/m/c", Version: -1},
	)
	if !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("failed multi: %v", err)
	}
	if ok, _, _ := c.Exists("/m/d"); ok {
		t.Fatal("failed multi left /m/d")
	}
	after, _, _ := c.Get("/m")
	if string(before) != string(after) {
		t.Fatal("failed multi changed /m")
	}
	rc, _ := dialRaw(t, s, 0, nil, true)
	var mr proto.MultiResponse
	h := rc.call(proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Req: &proto.CreateRequest{Path: "/m/x", ACL: proto.WorldAnyone()}},
		{Type: proto.OpCheck, Req: &proto.CheckVersionRequest{Path: "/m", Version: 42}},
		{Type: proto.OpDelete, Req: &proto.DeleteRequest{Path: "/m/c", Version: -1}},
	}}, &mr)
	if h.Err != 0 || len(mr.Results) != 3 {
		t.Fatalf("%+v %+v", h, mr)
	}
	got := []proto.ErrCode{mr.Results[0].Err, mr.Results[1].Err, mr.Results[2].Err}
	if got[0] != 0 || got[1] != proto.ErrBadVersion || got[2] != proto.ErrRuntimeInconsistency {
		t.Fatalf("per-op errors %v", got)
	}
	// Ops see earlier ops of the same multi: create parent then child,
	// delete child then parent.
	if _, err := c.Multi(
		&zk.CreateRequest{Path: "/m2", Acl: openACL},
		&zk.CreateRequest{Path: "/m2/k", Acl: openACL},
		&zk.DeleteRequest{Path: "/m2/k", Version: -1},
		&zk.DeleteRequest{Path: "/m2", Version: -1},
	); err != nil {
		t.Fatal(err)
	}
	// multiRead is not atomic: per-op results.
	var rr proto.MultiResponse
	rc.call(proto.OpMultiRead, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpGetData, Req: &proto.PathWatchRequest{Path: "/m"}},
		{Type: proto.OpGetChildren, Req: &proto.PathWatchRequest{Path: "/nope"}},
		{Type: proto.OpGetChildren, Req: &proto.PathWatchRequest{Path: "/m"}},
	}}, &rr)
	if len(rr.Results) != 3 || string(rr.Results[0].Data) != "b" || rr.Results[1].Err != proto.ErrNoNode || len(rr.Results[2].Children) != 1 {
		t.Fatalf("multiRead %+v", rr.Results)
	}
}

func TestACLs(t *testing.T) {
	set := testSettings(t)
	set.superDigest = DigestID("super:test")
	s := startTestServer(t, set)
	owner, _ := connect(t, s)
	if err := owner.AddAuth("digest", []byte("alice:secret")); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Create("/sec", []byte("s"), 0, zk.DigestACL(zk.PermAll, "alice", "secret")); err != nil {
		t.Fatal(err)
	}
	if _, err := owner.Create("/authacl", nil, 0, zk.AuthACL(zk.PermRead|zk.PermAdmin)); err != nil {
		t.Fatal(err)
	}
	other, _ := connect(t, s)
	if _, _, err := other.Get("/sec"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("unauthenticated get: %v", err)
	}
	if _, err := other.Create("/sec/x", nil, 0, openACL); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("unauthenticated create: %v", err)
	}
	if _, err := other.Create("/bad", nil, 0, zk.AuthACL(zk.PermAll)); !errors.Is(err, zk.ErrInvalidACL) {
		t.Fatalf("auth ACL without identity: %v", err)
	}
	if _, err := other.Create("/bad", nil, 0, []zk.ACL{}); !errors.Is(err, zk.ErrInvalidACL) {
		t.Fatalf("empty ACL: %v", err)
	}
	acl, _, err := owner.GetACL("/authacl")
	if err != nil || len(acl) != 1 || acl[0].Scheme != "digest" || acl[0].ID != DigestID("alice:secret") {
		t.Fatalf("auth ACL expanded to %+v %v", acl, err)
	}
	other.AddAuth("digest", []byte("alice:secret"))
	if d, _, err := other.Get("/sec"); err != nil || string(d) != "s" {
		t.Fatalf("authenticated get: %q %v", d, err)
	}
	// The super digest bypasses ACLs.
	su, _ := connect(t, s)
	su.AddAuth("digest", []byte("super:test"))
	if _, err := su.SetACL("/sec", zk.WorldACL(zk.PermRead), -1); err != nil {
		t.Fatalf("super setACL: %v", err)
	}
	// ip scheme.
	if _, err := owner.Create("/ip", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.0/8"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Set("/ip", []byte("ok"), -1); err != nil {
		t.Fatalf("ip ACL: %v", err)
	}
	if _, err := owner.Create("/ip2", nil, 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "10.1.2.3"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Set("/ip2", []byte("no"), -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("foreign ip ACL: %v", err)
	}
	// getACL without ADMIN masks digests; whoAmI lists identities.
	rc, _ := dialRaw(t, s, 0, nil, false)
	rc.call(proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("bob:pw")}, nil)
	var who proto.WhoAmIResponse
	rc.call(proto.OpWhoAmI, nil, &who)
	// Listed in the order of ZooKeeper's HashSet of ids (checked against
	// Apache ZooKeeper in TestDifferentialEdgeCases).
	if len(who.ClientInfo) != 2 || who.ClientInfo[0].User != "bob" || who.ClientInfo[1].AuthScheme != "ip" {
		t.Fatalf("whoAmI %+v", who)
	}
	if h := rc.call(proto.OpAuth, &proto.AuthPacket{Scheme: "nosuch", Auth: []byte("x")}, nil); h.Err != proto.ErrAuthFailed {
		t.Fatalf("bad scheme auth: %+v", h)
	}
}

func TestSequentialAndContainerAndTTL(t *testing.T) {
	set := testSettings(t)
	set.extendedTypes = true
	clk := newFakeClock()
	s := startTestServer(t, set, WithClock(clk))
	c, _ := connect(t, s)
	c.Create("/q", nil, 0, openACL)
	c.Create("/q/plain", nil, 0, openACL)
	p, _ := c.Create("/q/s-", nil, zk.FlagSequence, openACL)
	if p != "/q/s-0000000001" {
		t.Fatalf("seq name %s (parent cversion counts every child change)", p)
	}
	c.Delete("/q/plain", -1)
	c.Delete(p, -1)
	p, _ = c.Create("/q/s-", nil, zk.FlagSequence|zk.FlagEphemeral, openACL)
	if p != "/q/s-0000000002" { // deletes do not advance the suffix
		t.Fatalf("seq after deletes %s", p)
	}
	if _, st, _ := c.Get("/q"); st.Cversion != 5 { // 3 creates + 2 deletes
		t.Fatalf("client cversion %d", st.Cversion)
	}
	if p == "" {
		t.Fatalf("seq after deletes %s", p)
	}
	// Containers go once their last child goes.
	if _, err := c.CreateContainer("/ctr", nil, zk.FlagContainer, openACL); err != nil {
		t.Fatal(err)
	}
	c.Create("/ctr/k", nil, 0, openACL)
	s.sweepContainers()
	if ok, _, _ := c.Exists("/ctr"); !ok {
		t.Fatal("container with a child swept")
	}
	c.Delete("/ctr/k", -1)
	s.sweepContainers()
	if ok, _, _ := c.Exists("/ctr"); ok {
		t.Fatal("empty container not swept")
	}
	// TTL nodes expire by the injected clock.
	if _, err := c.CreateTTL("/ttl", nil, zk.FlagTTL, openACL, time.Minute); err != nil {
		t.Fatal(err)
	}
	_, st, _ := c.Get("/ttl")
	s.mu.RLock()
	internal := s.tree.nodes["/ttl"].stat.EphemeralOwner
	s.mu.RUnlock()
	if st.EphemeralOwner != 0 || internal != -0x100000000000000|60000 {
		t.Fatalf("TTL owner 0x%x (internal 0x%x)", st.EphemeralOwner, internal)
	}
	s.sweepContainers()
	if ok, _, _ := c.Exists("/ttl"); !ok {
		t.Fatal("TTL node expired early")
	}
	clk.Advance(2 * time.Minute)
	s.sweepContainers()
	if ok, _, _ := c.Exists("/ttl"); ok {
		t.Fatal("TTL node not expired")
	}
}

func TestTTLNeedsExtendedTypes(t *testing.T) {
	s := startTestServer(t, testSettings(t))
	c, _ := connect(t, s)
	if _, err := c.CreateTTL("/ttl", nil, zk.FlagTTL, openACL, time.Minute); err == nil || !strings.Contains(err.Error(), "-6") {
		t.Fatalf("TTL without extended types: %v", err)
	}
}

func TestPersistentWatchesAndRemove(t *testing.T) {
	s := startTestServer(t, testSettings(t))
	rc, _ := dialRaw(t, s, 0, nil, true)
	var er proto.ErrorResponse
	if h := rc.call(proto.OpAddWatch, &proto.AddWatchRequest{Path: "/pw", Mode: proto.AddWatchPersistentRecursive}, &er); h.Err != 0 {
		t.Fatal(h.Err)
	}
	rc.call(proto.OpCreate, &proto.CreateRequest{Path: "/pw", ACL: proto.WorldAnyone()}, nil)
	rc.call(proto.OpCreate, &proto.CreateRequest{Path: "/pw/a", ACL: proto.WorldAnyone()}, nil)
	rc.call(proto.OpSetData, &proto.SetDataRequest{Path: "/pw/a", Data: []byte("x"), Version: -1}, nil)
	var got []string
	for _, ev := range rc.events {
		got = append(got, fmt.Sprintf("%s %s", ev.Type, ev.Path))
	}
	want := []string{"NodeCreated /pw", "NodeCreated /pw/a", "NodeDataChanged /pw/a"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("recursive events %v, want %v", got, want)
	}
	if h := rc.call(proto.OpCheckWatches, &proto.WatchTypeRequest{Path: "/pw", Type: WatcherTypeAny}, nil); h.Err != 0 {
		t.Fatalf("checkWatches %v", h.Err)
	}
	if h := rc.call(proto.OpRemoveWatches, &proto.WatchTypeRequest{Path: "/pw", Type: WatcherTypeAny}, nil); h.Err != 0 {
		t.Fatalf("removeWatches %v", h.Err)
	}
	if h := rc.call(proto.OpRemoveWatches, &proto.WatchTypeRequest{Path: "/pw", Type: WatcherTypeAny}, nil); h.Err != proto.ErrNoWatcher {
		t.Fatalf("second removeWatches %v", h.Err)
	}
	// Plain persistent watch: data and child events on the node itself.
	// Adding it over a recursive one replaces it (the last mode wins).
	rc.events = nil
	rc.call(proto.OpAddWatch, &proto.AddWatchRequest{Path: "/pw", Mode: proto.AddWatchPersistentRecursive}, &er)
	rc.call(proto.OpAddWatch, &proto.AddWatchRequest{Path: "/pw", Mode: proto.AddWatchPersistent}, &er)
	rc.call(proto.OpCreate, &proto.CreateRequest{Path: "/pw/b", ACL: proto.WorldAnyone()}, nil)
	rc.call(proto.OpSetData, &proto.SetDataRequest{Path: "/pw", Version: -1}, nil)
	rc.call(proto.OpSetData, &proto.SetDataRequest{Path: "/pw/b", Version: -1}, nil)
	got = nil
	for _, ev := range rc.events {
		got = append(got, fmt.Sprintf("%s %s", ev.Type, ev.Path))
	}
	want = []string{"NodeChildrenChanged /pw", "NodeDataChanged /pw"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("persistent events %v, want %v", got, want)
	}
}

func TestSetWatchesOnReconnect(t *testing.T) {
	s := startTestServer(t, testSettings(t))
	c, _ := connect(t, s)
	c.Create("/sw", nil, 0, openACL)
	c.Create("/sw/gone", nil, 0, openACL)
	_, st, _ := c.Get("/sw")
	rel := st.Mzxid
	c.Set("/sw", []byte("changed"), -1)
	c.Delete("/sw/gone", -1)
	rc, _ := dialRaw(t, s, 0, nil, false)
	h := rc.call(proto.OpSetWatches, &proto.SetWatches{
		RelativeZxid: rel,
		DataWatches:  []string{"/sw", "/sw/gone"},
		ExistWatches: []string{"/sw/new"},
		ChildWatches: []string{"/sw"},
	}, nil)
	if h.Err != 0 {
		t.Fatal(h.Err)
	}
	var got []string
	for _, ev := range rc.events {
		got = append(got, fmt.Sprintf("%s %s", ev.Type, ev.Path))
	}
	sort.Strings(got)
	want := []string{"NodeChildrenChanged /sw", "NodeDataChanged /sw", "NodeDeleted /sw/gone"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("setWatches events %v, want %v", got, want)
	}
	rc.events = nil
	c.Create("/sw/new", nil, 0, openACL)
	rc.call(proto.OpSync, &proto.PathRequest{Path: "/"}, nil)
	if len(rc.events) != 1 || rc.events[0].Type != proto.EventNodeCreated {
		t.Fatalf("re-registered exist watch: %+v", rc.events)
	}
}

func TestGetAllChildrenNumberAndBadPaths(t *testing.T) {
	s := startTestServer(t, testSettings(t))
	rc, _ := dialRaw(t, s, 0, nil, false)
	for _, p := range []string{"/g", "/g/a", "/g/a/b", "/g/c"} {
		rc.call(proto.OpCreate, &proto.CreateRequest{Path: p, ACL: proto.WorldAnyone()}, nil)
	}
	var n proto.GetAllChildrenNumberResponse
	rc.call(proto.OpGetAllChildrenNumber, &proto.PathRequest{Path: "/g"}, &n)
	if n.TotalNumber != 3 {
		t.Fatalf("getAllChildrenNumber %d", n.TotalNumber)
	}
	for _, p := range []string{"/g/", "g", "/g//x", "/g/./x", "/g/\x01"} {
		if h := rc.call(proto.OpCreate, &proto.CreateRequest{Path: p, ACL: proto.WorldAnyone()}, nil); h.Err != proto.ErrBadArguments && h.Err != proto.ErrNoNode {
			t.Fatalf("create %q: %v", p, h.Err)
		}
	}
	if h := rc.call(proto.OpDelete, &proto.DeleteRequest{Path: "/zookeeper", Version: -1}, nil); h.Err != proto.ErrBadArguments {
		t.Fatalf("delete /zookeeper: %v", h.Err)
	}
	if h := rc.call(proto.OpCreate, &proto.CreateRequest{Path: "/g", ACL: proto.WorldAnyone()}, nil); h.Err != proto.ErrNodeExists {
		t.Fatalf("duplicate create: %v", h.Err)
	}
	if h := rc.call(proto.OpCreate, &proto.CreateRequest{Path: "/x/y", ACL: proto.WorldAnyone()}, nil); h.Err != proto.ErrNoNode {
		t.Fatalf("create without parent: %v", h.Err)
	}
}

func TestMaxClientCnxns(t *testing.T) {
	set := testSettings(t)
	set.maxClientCnxns = 2
	s := startTestServer(t, set)
	dialRaw(t, s, 0, nil, false)
	dialRaw(t, s, 0, nil, false)
	_, resp := dialRaw(t, s, 0, nil, false)
	if resp != nil {
		t.Fatalf("third connection from one IP accepted: %+v", resp)
	}
}
