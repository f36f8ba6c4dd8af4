package zkstore

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gregorlog/gregor/internal/zkref"
	"github.com/gregorlog/gregor/zkstore/proto"
)

// edgeStep is one raw request of the edge-case differential test.
type edgeStep struct {
	conn int // which of two connections sends it
	op   proto.OpCode
	req  proto.Record
	resp func() proto.Record
}

func acl(perms int32, scheme, id string) []proto.ACL {
	return []proto.ACL{{Perms: perms, ID: proto.Id{Scheme: scheme, ID: id}}}
}

func stat() proto.Record     { return new(proto.StatResponse) }
func getData() proto.Record  { return new(proto.GetDataResponse) }
func getACL() proto.Record   { return new(proto.GetACLResponse) }
func create2() proto.Record  { return new(proto.Create2Response) }
func children() proto.Record { return new(proto.GetChildren2Response) }
func multiR() proto.Record   { return new(proto.MultiResponse) }

func setData(p string, v int32) *proto.SetDataRequest {
	return &proto.SetDataRequest{Path: p, Data: []byte("d"), Version: v}
}

func watch(p string) *proto.PathWatchRequest { return &proto.PathWatchRequest{Path: p, Watch: true} }

// watchSteps exercise watch registration, firing and removal; connection 1
// watches, connection 0 changes things, and a sync on connection 1 flushes
// the events it got.
var watchSteps = []edgeStep{
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/w", ACL: proto.WorldAnyone()}, create2},
	{1, proto.OpExists, watch("/w/a"), stat},
	{1, proto.OpGetData, watch("/w"), getData},
	{1, proto.OpGetChildren2, watch("/w"), children},
	{1, proto.OpCheckWatches, &proto.WatchTypeRequest{Path: "/w/a", Type: 2}, nil},
	{1, proto.OpCheckWatches, &proto.WatchTypeRequest{Path: "/w/a", Type: 1}, nil},
	{1, proto.OpCheckWatches, &proto.WatchTypeRequest{Path: "/w", Type: 3}, nil},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/w/a", ACL: proto.WorldAnyone()}, create2},
	{1, proto.OpSync, &proto.PathRequest{Path: "/"}, nil},
	{0, proto.OpSetData, setData("/w", -1), stat},
	{1, proto.OpSync, &proto.PathRequest{Path: "/"}, nil},
	{1, proto.OpGetData, watch("/w/a"), getData},
	{1, proto.OpGetChildren2, watch("/w/a"), children},
	{0, proto.OpDelete, &proto.DeleteRequest{Path: "/w/a", Version: -1}, nil},
	{1, proto.OpSync, &proto.PathRequest{Path: "/"}, nil},
	{1, proto.OpAddWatch, &proto.AddWatchRequest{Path: "/w", Mode: 1}, nil},
	{1, proto.OpGetData, watch("/w"), getData},
	{0, proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Req: &proto.CreateRequest{Path: "/w/b", ACL: proto.WorldAnyone()}},
		{Type: proto.OpCreate, Req: &proto.CreateRequest{Path: "/w/b/c", ACL: proto.WorldAnyone()}},
		{Type: proto.OpSetData, Req: setData("/w", -1)},
	}}, multiR},
	{1, proto.OpSync, &proto.PathRequest{Path: "/"}, nil},
	{1, proto.OpCheckWatches, &proto.WatchTypeRequest{Path: "/w", Type: 1}, nil},
	{1, proto.OpCheckWatches, &proto.WatchTypeRequest{Path: "/w", Type: 2}, nil},
	{1, proto.OpRemoveWatches, &proto.WatchTypeRequest{Path: "/w", Type: 2}, nil},
	{1, proto.OpRemoveWatches, &proto.WatchTypeRequest{Path: "/w", Type: 1}, nil},
	{1, proto.OpRemoveWatches, &proto.WatchTypeRequest{Path: "/w", Type: 3}, nil},
	{0, proto.OpSetData, setData("/w/b/c", -1), stat},
	{1, proto.OpSync, &proto.PathRequest{Path: "/"}, nil},
	{1, proto.OpAddWatch, &proto.AddWatchRequest{Path: "/w/b", Mode: 0}, nil},
	{1, proto.OpExists, watch("/w/b"), stat},
	{0, proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpDelete, Req: &proto.DeleteRequest{Path: "/w/b/c", Version: -1}},
		{Type: proto.OpDelete, Req: &proto.DeleteRequest{Path: "/w/b", Version: -1}},
		{Type: proto.OpCreate, Req: &proto.CreateRequest{Path: "/w/b", ACL: proto.WorldAnyone()}},
	}}, multiR},
	{1, proto.OpSync, &proto.PathRequest{Path: "/"}, nil},
	{1, proto.OpSetWatches, &proto.SetWatches{RelativeZxid: 1, DataWatches: []string{"/w", "/w/gone"}, ExistWatches: []string{"/w/b", "/w/new"}, ChildWatches: []string{"/w", "/w/gone"}}, nil},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/w/new", ACL: proto.WorldAnyone()}, create2},
	{1, proto.OpSync, &proto.PathRequest{Path: "/"}, nil},
	{1, proto.OpGetEphemerals, &proto.PathRequest{Path: ""}, func() proto.Record { return new(proto.GetEphemeralsResponse) }},
	{0, proto.OpCreate, &proto.CreateRequest{Path: "/w/e-alpha", ACL: proto.WorldAnyone(), Flags: proto.ModeEphemeral}, nil},
	{0, proto.OpCreate, &proto.CreateRequest{Path: "/w/e-beta", ACL: proto.WorldAnyone(), Flags: proto.ModeEphemeral}, nil},
	{0, proto.OpCreate, &proto.CreateRequest{Path: "/w/e-gamma", ACL: proto.WorldAnyone(), Flags: proto.ModeEphemeral}, nil},
	{0, proto.OpCreate, &proto.CreateRequest{Path: "/w/e-delta", ACL: proto.WorldAnyone(), Flags: proto.ModeEphemeralSequential}, nil},
	{0, proto.OpCreate, &proto.CreateRequest{Path: "/w/new/e-eps", ACL: proto.WorldAnyone(), Flags: proto.ModeEphemeral}, nil},
	{1, proto.OpExists, watch("/w/e-alpha"), stat},
	{1, proto.OpExists, watch("/w/e-beta"), stat},
	{1, proto.OpExists, watch("/w/e-gamma"), stat},
	{1, proto.OpExists, watch("/w/new/e-eps"), stat},
	{1, proto.OpGetChildren2, watch("/w"), children},
	{0, proto.OpGetEphemerals, &proto.PathRequest{Path: "/w"}, func() proto.Record { return new(proto.GetEphemeralsResponse) }},
	{0, proto.OpCloseSession, nil, nil},
	{1, proto.OpSync, &proto.PathRequest{Path: "/"}, nil},
	{1, proto.OpCloseSession, nil, nil},
}

var edgeSteps = []edgeStep{
	{0, proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("alice:pw")}, nil},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/d", ACL: append(acl(31, "digest", DigestID("alice:pw")), acl(1, "world", "anyone")...)}, create2},
	{1, proto.OpGetACL, &proto.PathRequest{Path: "/d"}, getACL},
	{0, proto.OpGetACL, &proto.PathRequest{Path: "/d"}, getACL},
	{1, proto.OpSetData, &proto.SetDataRequest{Path: "/d", Data: []byte("x"), Version: -1}, stat},
	{1, proto.OpSetACL, &proto.SetACLRequest{Path: "/d", ACL: acl(31, "world", "anyone"), Version: -1}, stat},
	{0, proto.OpSetACL, &proto.SetACLRequest{Path: "/d", ACL: acl(31, "world", "anyone"), Version: 3}, stat},
	{0, proto.OpSetACL, &proto.SetACLRequest{Path: "/missing", ACL: nil, Version: -1}, stat},
	{0, proto.OpSetACL, &proto.SetACLRequest{Path: "/missing", ACL: acl(31, "world", "anyone"), Version: -1}, stat},
	{0, proto.OpSetACL, &proto.SetACLRequest{Path: "/d", ACL: acl(31, "auth", ""), Version: 0}, stat},
	{0, proto.OpGetACL, &proto.PathRequest{Path: "/d"}, getACL},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/badip", ACL: acl(31, "ip", "abc")}, create2},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/baddigest", ACL: acl(31, "digest", "nocolon")}, create2},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/badworld", ACL: acl(31, "world", "someone")}, create2},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/badscheme", ACL: acl(31, "nosuch", "x")}, create2},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/p", ACL: proto.WorldAnyone()}, create2},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/p/k", ACL: proto.WorldAnyone()}, create2},
	{0, proto.OpDelete, &proto.DeleteRequest{Path: "/p", Version: 9}, nil},
	{0, proto.OpCheck, &proto.CheckVersionRequest{Path: "/p", Version: 0}, stat},
	{0, proto.OpCheck, &proto.CheckVersionRequest{Path: "/p", Version: 4}, stat},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/p/e", ACL: proto.WorldAnyone(), Flags: proto.ModeEphemeral}, create2},
	{0, proto.OpGetChildren2, &proto.PathWatchRequest{Path: "/p/e"}, children},
	{0, proto.OpGetChildren2, &proto.PathWatchRequest{Path: "/p"}, children},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/p/c", ACL: proto.WorldAnyone(), Flags: proto.ModeContainer}, create2},
	{0, proto.OpCreateContainer, &proto.CreateRequest{Path: "/p/c2", ACL: proto.WorldAnyone(), Flags: proto.ModePersistent}, create2},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/p/t", ACL: proto.WorldAnyone(), Flags: proto.ModePersistentWithTTL}, create2},
	{0, proto.OpCreateTTL, &proto.CreateTTLRequest{Path: "/p/t2", ACL: proto.WorldAnyone(), Flags: proto.ModePersistent, TTL: 1000}, create2},
	{0, proto.OpCreateTTL, &proto.CreateTTLRequest{Path: "/p/t3-", ACL: proto.WorldAnyone(), Flags: proto.ModePersistentSequentialWithTTL, TTL: 1000}, create2},
	{0, proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate2, Req: &proto.CreateRequest{Path: "/p/m", ACL: proto.WorldAnyone()}},
		{Type: proto.OpCreateContainer, Req: &proto.CreateRequest{Path: "/p/mc", ACL: proto.WorldAnyone(), Flags: proto.ModeContainer}},
		{Type: proto.OpCheck, Req: &proto.CheckVersionRequest{Path: "/p/m", Version: 0}},
		{Type: proto.OpSetData, Req: &proto.SetDataRequest{Path: "/p/m", Data: []byte("v"), Version: 0}},
		{Type: proto.OpDelete, Req: &proto.DeleteRequest{Path: "/p/mc", Version: -1}},
	}}, multiR},
	{0, proto.OpMulti, &proto.MultiRequest{}, multiR},
	{0, proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpDelete, Req: &proto.DeleteRequest{Path: "/p/none", Version: -1}},
		{Type: proto.OpCreate, Req: &proto.CreateRequest{Path: "/p/z", ACL: proto.WorldAnyone()}},
	}}, multiR},
	{0, proto.OpGetAllChildrenNumber, &proto.PathRequest{Path: "/"}, func() proto.Record { return new(proto.GetAllChildrenNumberResponse) }},
	{0, proto.OpGetAllChildrenNumber, &proto.PathRequest{Path: "/nope"}, func() proto.Record { return new(proto.GetAllChildrenNumberResponse) }},
	{0, proto.OpGetEphemerals, &proto.PathRequest{Path: "/p/"}, func() proto.Record { return new(proto.GetEphemeralsResponse) }},
	{0, proto.OpGetEphemerals, &proto.PathRequest{Path: "/q"}, func() proto.Record { return new(proto.GetEphemeralsResponse) }},
	{0, proto.OpSync, &proto.PathRequest{Path: "/nope"}, func() proto.Record { return new(proto.PathRequest) }},
	{0, proto.OpCheckWatches, &proto.WatchTypeRequest{Path: "/p", Type: 1}, nil},
	{0, proto.OpRemoveWatches, &proto.WatchTypeRequest{Path: "/p", Type: 2}, nil},
	{0, proto.OpAddWatch, &proto.AddWatchRequest{Path: "/p", Mode: 5}, nil},
	{0, proto.OpGetData, &proto.PathWatchRequest{Path: "/", Watch: false}, getData},
	{0, proto.OpGetData, &proto.PathWatchRequest{Path: "/zookeeper/config"}, getData},
	{0, proto.OpSetData, &proto.SetDataRequest{Path: "/zookeeper/config", Data: []byte("x"), Version: -1}, stat},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/zookeeper/config/x", ACL: proto.WorldAnyone()}, create2},
	{0, proto.OpDelete, &proto.DeleteRequest{Path: "/", Version: -1}, nil},
	{0, proto.OpCreate2, &proto.CreateRequest{Path: "/", ACL: proto.WorldAnyone()}, create2},
	{0, proto.OpSetData, &proto.SetDataRequest{Path: "bad", Version: -1}, stat},
	{0, proto.OpGetData, &proto.PathWatchRequest{Path: "bad"}, getData},
	{0, proto.OpExists, &proto.PathWatchRequest{Path: "/p/"}, stat},
	{0, proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("super:test")}, nil},
	{0, proto.OpWhoAmI, nil, func() proto.Record { return new(proto.WhoAmIResponse) }},
	{1, proto.OpAuth, &proto.AuthPacket{Scheme: "ip", Auth: []byte("127.0.0.1")}, nil},
	{1, proto.OpWhoAmI, nil, func() proto.Record { return new(proto.WhoAmIResponse) }},
	{1, proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("nocolon")}, nil},
	{1, proto.OpWhoAmI, nil, func() proto.Record { return new(proto.WhoAmIResponse) }},
	{1, proto.OpAuth, &proto.AuthPacket{Scheme: "nosuch", Auth: []byte("x")}, nil},
	{1, proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("bob:pw")}, nil},
	{1, proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("carol:pw")}, nil},
	{1, proto.OpWhoAmI, nil, func() proto.Record { return new(proto.WhoAmIResponse) }},
	{1, proto.OpMultiRead, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpGetData, Req: &proto.PathWatchRequest{Path: "/p/m"}},
		{Type: proto.OpGetChildren, Req: &proto.PathWatchRequest{Path: "/nope"}},
		{Type: proto.OpGetData, Req: &proto.PathWatchRequest{Path: "/d"}},
	}}, multiR},
	{1, proto.OpCreate2, &proto.CreateRequest{Path: "/p/t", ACL: proto.WorldAnyone(), Flags: proto.ModePersistentWithTTL}, create2},
	{1, proto.OpCreateContainer, &proto.CreateRequest{Path: "/p/cs", ACL: proto.WorldAnyone(), Flags: proto.ModePersistentSequential}, create2},
	{1, proto.OpCreateContainer, &proto.CreateRequest{Path: "/p/ce", ACL: proto.WorldAnyone(), Flags: proto.ModeEphemeral}, create2},
	{1, proto.OpCreateTTL, &proto.CreateTTLRequest{Path: "/p/te", ACL: proto.WorldAnyone(), Flags: proto.ModeEphemeral, TTL: 100}, create2},
	{1, proto.OpDelete, &proto.DeleteRequest{Path: "/p/k/", Version: -1}, nil},
	{1, proto.OpDelete, &proto.DeleteRequest{Path: "/nope/x", Version: -1}, nil},
	{1, proto.OpSetData, &proto.SetDataRequest{Path: "/p/", Version: -1}, stat},
	{1, proto.OpCheck, &proto.CheckVersionRequest{Path: "/p", Version: 0}, stat},
	{1, proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("zed:1")}, nil},
	{1, proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("amy:2")}, nil},
	{1, proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("super:test")}, nil},
	{1, proto.OpCreate2, &proto.CreateRequest{Path: "/au", ACL: append(acl(3, "auth", ""), acl(1, "world", "anyone")...)}, create2},
	{1, proto.OpGetACL, &proto.PathRequest{Path: "/au"}, getACL},
	{1, proto.OpCreate2, &proto.CreateRequest{Path: "/dup", ACL: append(acl(3, "world", "anyone"), acl(3, "world", "anyone")...)}, create2},
	{1, proto.OpGetACL, &proto.PathRequest{Path: "/dup"}, getACL},
	{1, proto.OpCreate2, &proto.CreateRequest{Path: "/d3", ACL: acl(31, "digest", "a:b:c")}, create2},
	{1, proto.OpCreate2, &proto.CreateRequest{Path: "/ipc", ACL: acl(31, "ip", "10.0.0.0/8")}, create2},
	{1, proto.OpCreate2, &proto.CreateRequest{Path: "/ipb", ACL: acl(31, "ip", "10.0.0.0/33")}, create2},
	{1, proto.OpCreate2, &proto.CreateRequest{Path: "/perm", ACL: acl(0, "world", "anyone")}, create2},
	{1, proto.OpGetData, &proto.PathWatchRequest{Path: "/perm"}, getData},
	{1, proto.OpCreate2, &proto.CreateRequest{Path: "/perm/x", ACL: proto.WorldAnyone()}, create2},
}

// render prints a reply with zxids and times dropped, keeping what both
// servers must agree on.
func render(h proto.ReplyHeader, rec proto.Record) string {
	out := fmt.Sprintf("err=%s", h.Err)
	if rec == nil || h.Err != 0 {
		return out
	}
	norm := func(st proto.Stat) string {
		owner := "0"
		if st.EphemeralOwner != 0 {
			owner = "session"
		}
		return fmt.Sprintf("{v=%d cv=%d av=%d owner=%s len=%d kids=%d}", st.Version, st.Cversion, st.Aversion, owner, st.DataLength, st.NumChildren)
	}
	switch r := rec.(type) {
	case *proto.StatResponse:
		return out + " " + norm(r.Stat)
	case *proto.GetDataResponse:
		return out + fmt.Sprintf(" data=%q ", r.Data) + norm(r.Stat)
	case *proto.Create2Response:
		return out + " path=" + r.Path + " " + norm(r.Stat)
	case *proto.GetChildren2Response:
		return out + fmt.Sprintf(" kids=%v ", r.Children) + norm(r.Stat)
	case *proto.GetACLResponse:
		return out + fmt.Sprintf(" acl=%v ", r.ACL) + norm(r.Stat)
	case *proto.MultiResponse:
		var parts []string
		for _, m := range r.Results {
			parts = append(parts, fmt.Sprintf("%s/%s/%s/%s", m.Type, m.Err, m.Path, norm(m.Stat)))
		}
		return out + " [" + strings.Join(parts, " ") + "]"
	}
	return out + fmt.Sprintf(" %+v", rec)
}

func runEdge(t *testing.T, addr string, edgeSteps []edgeStep) []string {
	var conns [2]*rawClient
	for i := range conns {
		conns[i], _ = dialRawAddr(t, addr, proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)})
	}
	var out []string
	for i, st := range edgeSteps {
		var resp proto.Record
		if st.resp != nil {
			resp = st.resp()
		}
		c := conns[st.conn]
		xid := c.send(st.op, st.req)
		h, d, err := c.recvErr(xid)
		if err != nil {
			out = append(out, fmt.Sprintf("%2d c%d %-20s closed", i, st.conn, st.op))
			conns[st.conn], _ = dialRawAddr(t, addr, proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)})
			continue
		}
		if h.Err == 0 && resp != nil {
			resp.Decode(d)
		}
		var evs []string
		for _, ev := range c.events {
			evs = append(evs, fmt.Sprintf("%s:%s", ev.Type, ev.Path))
		}
		c.events = nil
		out = append(out, fmt.Sprintf("%2d c%d %-20s %s events=%v", i, st.conn, st.op, render(h, resp), evs))
	}
	return out
}

// TestDifferentialEdgeCases runs handshakes and raw requests at the edges
// of ZooKeeper's semantics (ACL fixup, check order, container/TTL flags,
// multi result types, special paths, auth identities, watch modes and
// removal) against Apache ZooKeeper 3.8 and zkstore and compares the
// replies and watch events, zxids and times aside.
func TestDifferentialEdgeCases(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Apache ZooKeeper")
	}
	ref := zkref.Start(t, zkref.Config{JVMProps: map[string]string{
		"zookeeper.extendedTypesEnabled":                     "true",
		"zookeeper.DigestAuthenticationProvider.superDigest": DigestID("super:test"),
	}})
	set := testSettings(t)
	set.extendedTypes = true
	set.superDigest = DigestID("super:test")
	s := startTestServer(t, set)
	t.Run("connect", func(t *testing.T) {
		plain := startTestServer(t, testSettings(t))
		want := connectCases(t, ref.Addr)
		got := connectCases(t, plain.Addr().String())
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("handshake differs:\n zookeeper: %s\n zkstore:   %s", want[i], got[i])
			}
		}
	})
	want := runEdge(t, ref.Addr, edgeSteps)
	got := runEdge(t, s.Addr().String(), edgeSteps)
	want = append(want, runEdge(t, ref.Addr, watchSteps)...)
	got = append(got, runEdge(t, s.Addr().String(), watchSteps)...)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step differs:\n zookeeper: %s\n zkstore:   %s", want[i], got[i])
		} else {
			t.Logf("same: %s", got[i])
		}
	}
}

// connectCases are handshakes compared between the two servers.
func connectCases(t *testing.T, addr string) []string {
	var out []string
	try := func(name string, req proto.ConnectRequest) *rawClient {
		rc, resp := dialRawAddr(t, addr, req)
		if resp == nil {
			out = append(out, name+": closed")
			return rc
		}
		out = append(out, fmt.Sprintf("%s: timeout=%d newSession=%v passwd=%d readOnly=%v/%v", name, resp.TimeOut, resp.SessionID != 0, len(resp.Passwd), resp.HasReadOnly, resp.ReadOnly))
		return rc
	}
	pw := make([]byte, 16)
	try("short timeout", proto.ConnectRequest{TimeOut: 10, Passwd: pw})
	try("long timeout", proto.ConnectRequest{TimeOut: 1 << 30, Passwd: pw})
	try("readOnly client", proto.ConnectRequest{TimeOut: 5000, Passwd: pw, HasReadOnly: true, ReadOnly: true})
	try("unknown session", proto.ConnectRequest{TimeOut: 5000, SessionID: 0x1234, Passwd: pw, HasReadOnly: true})
	try("future zxid", proto.ConnectRequest{TimeOut: 5000, LastZxidSeen: 1 << 40, Passwd: pw})
	rc := try("fresh", proto.ConnectRequest{TimeOut: 6000, Passwd: pw})
	bad := append([]byte(nil), rc.passwd...)
	bad[3] ^= 0x55
	try("wrong password", proto.ConnectRequest{TimeOut: 6000, SessionID: rc.session, Passwd: bad})
	try("short password", proto.ConnectRequest{TimeOut: 6000, SessionID: rc.session, Passwd: rc.passwd[:8]})
	try("reattach", proto.ConnectRequest{TimeOut: 9000, SessionID: rc.session, Passwd: rc.passwd})
	return out
}
