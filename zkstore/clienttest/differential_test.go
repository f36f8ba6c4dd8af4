package clienttest

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gregorlog/gregor/zkstore/proto"
)

var update = flag.Bool("update", false, "rewrite testdata/diff/*.golden from Apache ZooKeeper's answers")

// The differential test runs each scenario in testdata/diff/*.scn through
// the raw client against Apache ZooKeeper 3.8 and against zkstore, and
// compares the normalised transcripts line by line. Apache ZooKeeper's
// transcript is also kept as testdata/diff/*.golden (rewritten with
// -update), so a drift in the reference is noticed too.
//
// Scenario language, one command per line ('#' comments):
//
//	connect S [ro] [timeout=MS]  new session S (ro: send the readOnly
//	                        byte; timeout: requested session timeout)
//	S create P DATA FLAGS   create (op 1); DATA "-" is empty
//	S create2 P DATA FLAGS  create2 (op 15)
//	S container P DATA      createContainer (op 19)
//	S ttl P DATA TTL        createTTL (op 21, flags 5)
//	S delete P VERSION
//	S exists P [watch]      S get P [watch]      S children P [watch]
//	S children2 P [watch]   S getacl P           S sync P
//	S set P DATA VERSION
//	S setacl P ACL VERSION  ACL = scheme:id:perms[,...] (id may hold ':'),
//	                        "-" for an empty list
//	S multi OP|OP|...       OP = create:P:DATA:FLAGS delete:P:V set:P:DATA:V check:P:V
//	S multiread OP|...      OP = get:P children:P
//	S addwatch P MODE       S removewatches P TYPE   S checkwatches P TYPE
//	S auth SCHEME CRED      (xid -4, as Java and kazoo send it)
//	S whoami   S ephemerals P   S count P
//	S events                ping, print the notifications that came first
//	S await                 wait (pinging, at most 60 s) until notifications
//	                        arrive, print them sorted (session expiry)
//	S eventset              the same as events, sorted (for one txn that deletes
//	                        several nodes, e.g. closeSession, whose order
//	                        ZooKeeper leaves unspecified)
//	S setwatches KIND=P,P... (KIND: data exist child persistent recursive;
//	                        relative zxid = last zxid seen; setWatches2
//	                        when persistent or recursive is present)
//	S pipeline P N          write 5*N requests on P/p<i> at once, then read
//	                        the replies (in request order, or fail)
//	S bigset P N VERSION    setData with N bytes (jute.maxbuffer limits)
//	S unknownop OPCODE      send an unknown opcode, expect Unimplemented
//	                        and a closed connection
//	S drop                  close the TCP connection, keep the session
//	S reconnect             reattach to S's session with its password
//	S badreconnect          reattach with a wrong password
//	S close                 closeSession
//
// Paths are relative to a fresh root per run; "=/path" is absolute.
// Transcripts replace zxids, session ids and times by stable tokens.

type scenario struct {
	name  string
	lines []string
}

func loadScenarios(t *testing.T) []scenario {
	files, err := filepath.Glob("testdata/diff/*.scn")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	var out []scenario
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := scenario{name: strings.TrimSuffix(filepath.Base(f), ".scn")}
		for _, l := range strings.Split(string(b), "\n") {
			l = strings.TrimSpace(l)
			if l != "" && !strings.HasPrefix(l, "#") {
				sc.lines = append(sc.lines, l)
			}
		}
		out = append(out, sc)
	}
	return out
}

func TestDifferential(t *testing.T) {
	scns := loadScenarios(t)
	known := loadKnownDivergences(t)
	ref := reference(t)
	zks := store(t)
	for _, sc := range scns {
		t.Run(sc.name, func(t *testing.T) {
			want := runScenario(t, ref, sc)
			golden := filepath.Join("testdata", "diff", sc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
			} else if g, err := os.ReadFile(golden); err != nil {
				t.Fatalf("%v (run with -update)", err)
			} else if string(g) != want {
				t.Errorf("Apache ZooKeeper's transcript differs from %s:\n%s", golden, diffLines(string(g), want))
			}
			got := runScenario(t, zks, sc)
			why, isKnown := known[sc.name]
			switch {
			case got != want && isKnown:
				t.Logf("known divergence (%s):\n%s", why, diffLines(want, got))
			case got != want:
				t.Errorf("zkstore differs from Apache ZooKeeper (- zookeeper, + zkstore):\n%s", diffLines(want, got))
			case isKnown:
				t.Errorf("zkstore now matches Apache ZooKeeper: remove %q from testdata/diff/known-divergences.txt", sc.name)
			}
		})
	}
}

// loadKnownDivergences reads testdata/diff/known-divergences.txt.
func loadKnownDivergences(t *testing.T) map[string]string {
	b, err := os.ReadFile("testdata/diff/known-divergences.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, why, ok := strings.Cut(l, ": ")
		if !ok {
			t.Fatalf("known-divergences.txt: bad line %q", l)
		}
		out[name] = why
	}
	return out
}

// diffLines shows the lines that differ, with their line numbers.
func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	n := max(len(al), len(bl))
	shown := 0
	for i := 0; i < n && shown < 40; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			fmt.Fprintf(&out, "%4d - %s\n%4d + %s\n", i+1, x, i+1, y)
			shown++
		}
	}
	return out.String()
}

// normalizer maps run-specific values to stable tokens.
type normalizer struct {
	root     string
	zxids    map[int64]string
	sessions map[int64]string
}

func (n *normalizer) zxid(z int64) string {
	if z == 0 || z == -1 {
		return strconv.FormatInt(z, 10)
	}
	if s, ok := n.zxids[z]; ok {
		return s
	}
	s := fmt.Sprintf("z%d", len(n.zxids)+1)
	n.zxids[z] = s
	return s
}

func (n *normalizer) session(id int64) string {
	switch {
	case id == 0:
		return "0"
	case id == proto.ContainerOwner:
		return "container"
	case id&proto.TTLOwnerMask == proto.TTLOwnerMask:
		return fmt.Sprintf("ttl(%d)", id&^proto.TTLOwnerMask)
	}
	if s, ok := n.sessions[id]; ok {
		return s
	}
	return fmt.Sprintf("unknown-session-%d", len(n.sessions))
}

func (n *normalizer) path(p string) string {
	if p == n.root {
		return "/"
	}
	if strings.HasPrefix(p, n.root+"/") {
		return p[len(n.root):]
	}
	return "=" + p
}

func (n *normalizer) stat(s proto.Stat) string {
	return fmt.Sprintf("{czxid=%s mzxid=%s version=%d cversion=%d aversion=%d owner=%s len=%d children=%d pzxid=%s}",
		n.zxid(s.Czxid), n.zxid(s.Mzxid), s.Version, s.Cversion, s.Aversion, n.session(s.EphemeralOwner),
		s.DataLength, s.NumChildren, n.zxid(s.Pzxid))
}

func (n *normalizer) children(c []string) string {
	c = append([]string(nil), c...)
	sort.Strings(c)
	return "[" + strings.Join(c, " ") + "]"
}

func (n *normalizer) acls(a []proto.ACL) string {
	var parts []string
	for _, x := range a {
		parts = append(parts, fmt.Sprintf("%s:%s:%d", x.ID.Scheme, x.ID.ID, x.Perms))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func (n *normalizer) reply(op proto.OpCode, h proto.ReplyHeader, body proto.Record) string {
	head := fmt.Sprintf("zxid=%s", n.zxid(h.Zxid))
	if h.Err != proto.ErrOK {
		return head + " err=" + h.Err.String()
	}
	switch r := body.(type) {
	case nil:
		return head + " ok"
	case *proto.CreateResponse:
		return head + " path=" + n.path(r.Path)
	case *proto.Create2Response:
		return head + " path=" + n.path(r.Path) + " stat=" + n.stat(r.Stat)
	case *proto.StatResponse:
		return head + " stat=" + n.stat(r.Stat)
	case *proto.GetDataResponse:
		return fmt.Sprintf("%s data=%q stat=%s", head, r.Data, n.stat(r.Stat))
	case *proto.GetACLResponse:
		return head + " acl=" + n.acls(r.ACL) + " stat=" + n.stat(r.Stat)
	case *proto.GetChildrenResponse:
		return head + " children=" + n.children(r.Children)
	case *proto.GetChildren2Response:
		return head + " children=" + n.children(r.Children) + " stat=" + n.stat(r.Stat)
	case *proto.PathRequest:
		return head + " path=" + n.path(r.Path)
	case *proto.ErrorResponse:
		return head + " err=" + r.Err.String()
	case *proto.GetEphemeralsResponse:
		var ps []string
		for _, p := range r.Ephemerals {
			ps = append(ps, n.path(p))
		}
		return head + " ephemerals=" + n.children(ps)
	case *proto.GetAllChildrenNumberResponse:
		return fmt.Sprintf("%s count=%d", head, r.TotalNumber)
	case *proto.WhoAmIResponse:
		var ps []string
		for _, c := range r.ClientInfo {
			ps = append(ps, c.AuthScheme+":"+c.User)
		}
		return head + " whoami=" + n.children(ps)
	case *proto.MultiResponse:
		var ps []string
		for _, res := range r.Results {
			switch res.Type {
			case proto.OpCreate:
				ps = append(ps, "create:"+n.path(res.Path))
			case proto.OpCreate2:
				ps = append(ps, "create2:"+n.path(res.Path)+":"+n.stat(res.Stat))
			case proto.OpSetData:
				ps = append(ps, "set:"+n.stat(res.Stat))
			case proto.OpDelete, proto.OpCheck:
				ps = append(ps, res.Type.String())
			case proto.OpGetData:
				ps = append(ps, fmt.Sprintf("get:%q:%s", res.Data, n.stat(res.Stat)))
			case proto.OpGetChildren:
				ps = append(ps, "children:"+n.children(res.Children))
			case proto.OpError:
				ps = append(ps, "error:"+res.Err.String())
			}
		}
		return head + " results=[" + strings.Join(ps, " ") + "]"
	}
	return fmt.Sprintf("%s unexpected body %T", head, body)
}

// runScenario executes sc against tg and returns the transcript.
func runScenario(t *testing.T, tg target, sc scenario) string {
	t.Helper()
	n := &normalizer{
		root:     fmt.Sprintf("/diff-%s-%s-%d", sc.name, tg.name, rand.Uint32()),
		zxids:    map[int64]string{},
		sessions: map[int64]string{},
	}
	conns := map[string]*rawConn{}
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.c.Close()
			}
		}
	}()
	// The root, made by a setup session that is then closed.
	setup, _, err := dialRaw(tg.addr, 0, nil, 0, true)
	if err != nil {
		t.Fatalf("%s: %v", tg.name, err)
	}
	if h, _, err := setup.call(0, proto.OpCreate, &proto.CreateRequest{Path: n.root, Data: []byte{}, ACL: proto.WorldAnyone()}); err != nil || h.Err != proto.ErrOK {
		t.Fatalf("%s: create root: %v %v", tg.name, err, h.Err)
	}
	if _, err := setup.closeSession(); err != nil {
		t.Fatalf("%s: close setup session: %v", tg.name, err)
	}

	abs := func(p string) string {
		if strings.HasPrefix(p, "=") {
			return p[1:]
		}
		if p == "/" {
			return n.root
		}
		return n.root + p
	}
	data := func(s string) []byte {
		if s == "-" {
			return []byte{}
		}
		return []byte(s)
	}
	num := func(s string) int32 {
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			t.Fatalf("bad number %q", s)
		}
		return int32(v)
	}
	num64 := func(s string) int64 {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("bad number %q", s)
		}
		return v
	}
	var out strings.Builder
	for li, line := range sc.lines {
		f := strings.Fields(line)
		fail := func(format string, a ...any) {
			t.Fatalf("%s: %s line %d %q: %s", tg.name, sc.name, li+1, line, fmt.Sprintf(format, a...))
		}
		if f[0] == "connect" {
			ro, timeout := false, int32(10000)
			for _, o := range f[2:] {
				switch {
				case o == "ro":
					ro = true
				case strings.HasPrefix(o, "timeout="):
					timeout = num(strings.TrimPrefix(o, "timeout="))
				default:
					fail("unknown connect option %q", o)
				}
			}
			c, resp, err := dialRawTimeout(tg.addr, 0, nil, 0, ro, timeout)
			if err != nil {
				fail("%v", err)
			}
			conns[f[1]] = c
			n.sessions[resp.SessionID] = f[1]
			fmt.Fprintf(&out, "%s -> timeout=%d readOnlyByte=%v\n", line, resp.TimeOut, resp.HasReadOnly)
			continue
		}
		s, cmd, args := f[0], f[1], f[2:]
		c := conns[s]
		if c == nil && cmd != "reconnect" {
			fail("session %s is not connected", s)
		}
		arg := func(i int) string {
			if i >= len(args) {
				fail("missing argument %d", i+1)
			}
			return args[i]
		}
		watch := len(args) > 1 && args[1] == "watch"
		var (
			op  proto.OpCode
			req proto.Record
			xid int32
		)
		switch cmd {
		case "create", "create2":
			op = proto.OpCreate
			if cmd == "create2" {
				op = proto.OpCreate2
			}
			req = &proto.CreateRequest{Path: abs(arg(0)), Data: data(arg(1)), ACL: proto.WorldAnyone(), Flags: proto.CreateMode(num(arg(2)))}
		case "container":
			op, req = proto.OpCreateContainer, &proto.CreateRequest{Path: abs(arg(0)), Data: data(arg(1)), ACL: proto.WorldAnyone(), Flags: proto.ModeContainer}
		case "ttl":
			op, req = proto.OpCreateTTL, &proto.CreateTTLRequest{Path: abs(arg(0)), Data: data(arg(1)), ACL: proto.WorldAnyone(), Flags: proto.ModePersistentWithTTL, TTL: num64(arg(2))}
		case "delete":
			op, req = proto.OpDelete, &proto.DeleteRequest{Path: abs(arg(0)), Version: num(arg(1))}
		case "exists":
			op, req = proto.OpExists, &proto.PathWatchRequest{Path: abs(arg(0)), Watch: watch}
		case "get":
			op, req = proto.OpGetData, &proto.PathWatchRequest{Path: abs(arg(0)), Watch: watch}
		case "children":
			op, req = proto.OpGetChildren, &proto.PathWatchRequest{Path: abs(arg(0)), Watch: watch}
		case "children2":
			op, req = proto.OpGetChildren2, &proto.PathWatchRequest{Path: abs(arg(0)), Watch: watch}
		case "getacl":
			op, req = proto.OpGetACL, &proto.PathRequest{Path: abs(arg(0))}
		case "sync":
			op, req = proto.OpSync, &proto.PathRequest{Path: abs(arg(0))}
		case "set":
			op, req = proto.OpSetData, &proto.SetDataRequest{Path: abs(arg(0)), Data: data(arg(1)), Version: num(arg(2))}
		case "setacl":
			op, req = proto.OpSetACL, &proto.SetACLRequest{Path: abs(arg(0)), ACL: parseACL(arg(1)), Version: num(arg(2))}
		case "multi", "multiread":
			op = proto.OpMulti
			if cmd == "multiread" {
				op = proto.OpMultiRead
			}
			m := &proto.MultiRequest{}
			for _, o := range strings.Split(arg(0), "|") {
				p := strings.Split(o, ":")
				switch p[0] {
				case "create":
					m.Ops = append(m.Ops, proto.MultiOp{Type: proto.OpCreate, Req: &proto.CreateRequest{Path: abs(p[1]), Data: data(p[2]), ACL: proto.WorldAnyone(), Flags: proto.CreateMode(num(p[3]))}})
				case "delete":
					m.Ops = append(m.Ops, proto.MultiOp{Type: proto.OpDelete, Req: &proto.DeleteRequest{Path: abs(p[1]), Version: num(p[2])}})
				case "set":
					m.Ops = append(m.Ops, proto.MultiOp{Type: proto.OpSetData, Req: &proto.SetDataRequest{Path: abs(p[1]), Data: data(p[2]), Version: num(p[3])}})
				case "check":
					m.Ops = append(m.Ops, proto.MultiOp{Type: proto.OpCheck, Req: &proto.CheckVersionRequest{Path: abs(p[1]), Version: num(p[2])}})
				case "get":
					m.Ops = append(m.Ops, proto.MultiOp{Type: proto.OpGetData, Req: &proto.PathWatchRequest{Path: abs(p[1])}})
				case "children":
					m.Ops = append(m.Ops, proto.MultiOp{Type: proto.OpGetChildren, Req: &proto.PathWatchRequest{Path: abs(p[1])}})
				default:
					fail("unknown multi op %q", p[0])
				}
			}
			req = m
		case "addwatch":
			op, req = proto.OpAddWatch, &proto.AddWatchRequest{Path: abs(arg(0)), Mode: num(arg(1))}
		case "removewatches":
			op, req = proto.OpRemoveWatches, &proto.WatchTypeRequest{Path: abs(arg(0)), Type: num(arg(1))}
		case "checkwatches":
			op, req = proto.OpCheckWatches, &proto.WatchTypeRequest{Path: abs(arg(0)), Type: num(arg(1))}
		case "auth":
			op, req, xid = proto.OpAuth, &proto.AuthPacket{Scheme: arg(0), Auth: []byte(arg(1))}, proto.XidAuth
		case "whoami":
			op = proto.OpWhoAmI
		case "ephemerals":
			op, req = proto.OpGetEphemerals, &proto.PathRequest{Path: abs(arg(0))}
		case "count":
			op, req = proto.OpGetAllChildrenNumber, &proto.PathRequest{Path: abs(arg(0))}
		case "setwatches":
			sw := &proto.SetWatches2{RelativeZxid: c.lastZxid, DataWatches: []string{}, ExistWatches: []string{}, ChildWatches: []string{}, PersistentWatches: []string{}, PersistentRecursiveWatches: []string{}}
			two := false
			for _, a := range args {
				kind, list, _ := strings.Cut(a, "=")
				var ps []string
				for _, p := range strings.Split(list, ",") {
					ps = append(ps, abs(p))
				}
				switch kind {
				case "data":
					sw.DataWatches = ps
				case "exist":
					sw.ExistWatches = ps
				case "child":
					sw.ChildWatches = ps
				case "persistent":
					sw.PersistentWatches, two = ps, true
				case "recursive":
					sw.PersistentRecursiveWatches, two = ps, true
				default:
					fail("unknown watch kind %q", kind)
				}
			}
			xid = proto.XidSetWatches
			if two {
				op, req = proto.OpSetWatches2, sw
			} else {
				op, req = proto.OpSetWatches, &proto.SetWatches{RelativeZxid: sw.RelativeZxid, DataWatches: sw.DataWatches, ExistWatches: sw.ExistWatches, ChildWatches: sw.ChildWatches}
			}
		case "await":
			// Wait (bounded) for notifications caused by something no
			// command does, such as a session expiring.
			evs, err := c.await(60*time.Second, 200*time.Millisecond)
			if err != nil {
				fail("%v", err)
			}
			var ps []string
			for _, e := range evs {
				ps = append(ps, fmt.Sprintf("%s:%s:%s", e.Type, e.State, n.path(e.Path)))
			}
			sort.Strings(ps)
			fmt.Fprintf(&out, "%s -> [%s]\n", line, strings.Join(ps, " "))
			continue
		case "events", "eventset":
			evs, err := c.drain()
			if err != nil {
				fail("%v", err)
			}
			var ps []string
			for _, e := range evs {
				ps = append(ps, fmt.Sprintf("%s:%s:%s", e.Type, e.State, n.path(e.Path)))
			}
			if cmd == "eventset" {
				sort.Strings(ps)
			}
			fmt.Fprintf(&out, "%s -> [%s]\n", line, strings.Join(ps, " "))
			continue
		case "pipeline":
			// N requests written at once (create, getData, setData,
			// exists, a failing create, per node), replies read after.
			count := int(num(arg(1)))
			var ops []proto.OpCode
			var reqs []proto.Record
			for i := 0; i < count; i++ {
				p := fmt.Sprintf("%s/p%d", abs(arg(0)), i)
				ops = append(ops, proto.OpCreate, proto.OpGetData, proto.OpSetData, proto.OpExists, proto.OpCreate)
				reqs = append(reqs,
					&proto.CreateRequest{Path: p, Data: []byte("v"), ACL: proto.WorldAnyone()},
					&proto.PathWatchRequest{Path: p},
					&proto.SetDataRequest{Path: p, Data: []byte("w"), Version: 0},
					&proto.PathWatchRequest{Path: p},
					&proto.CreateRequest{Path: p, ACL: proto.WorldAnyone()})
			}
			hs, bodies, err := c.pipeline(ops, reqs)
			if err != nil {
				fail("%v", err)
			}
			var ps []string
			for i, h := range hs {
				e := n.zxid(h.Zxid) + ":" + h.Err.String()
				switch b := bodies[i].(type) {
				case *proto.GetDataResponse:
					e += fmt.Sprintf(":%q:v%d", b.Data, b.Stat.Version)
				case *proto.StatResponse:
					e += fmt.Sprintf(":v%d", b.Stat.Version)
				}
				ps = append(ps, e)
			}
			fmt.Fprintf(&out, "%s -> in order: %s\n", line, strings.Join(ps, " "))
			continue
		case "bigset":
			// setData with N bytes: near jute.maxbuffer the frame itself
			// is refused ("Len error") and the connection closed.
			size := int(num(arg(1)))
			h, body, err := c.call(0, proto.OpSetData, &proto.SetDataRequest{Path: abs(arg(0)), Data: bytes.Repeat([]byte{'x'}, size), Version: num(arg(2))})
			if err != nil {
				fmt.Fprintf(&out, "%s -> connection closed\n", line)
				c.c.Close()
				continue
			}
			fmt.Fprintf(&out, "%s -> %s\n", line, n.reply(proto.OpSetData, h, body))
			continue
		case "unknownop":
			// An opcode no server knows: ZooKeeper answers Unimplemented
			// and closes the connection.
			h, _, err := c.call(0, proto.OpCode(num(arg(0))), nil)
			if err != nil {
				fail("%v", err)
			}
			c.c.SetReadDeadline(time.Now().Add(ioTimeout))
			var one [1]byte
			_, rerr := c.c.Read(one[:])
			fmt.Fprintf(&out, "%s -> zxid=%s err=%s closed=%v\n", line, n.zxid(h.Zxid), h.Err, rerr != nil)
			continue
		case "drop":
			c.c.Close()
			fmt.Fprintf(&out, "%s\n", line)
			continue
		case "reconnect", "badreconnect":
			old := conns[s]
			if old == nil {
				fail("no session %s", s)
			}
			pw := old.passwd
			if cmd == "badreconnect" {
				pw = make([]byte, proto.PasswordLen)
				pw[0] = 1
			}
			if cmd == "reconnect" {
				old.c.Close()
			}
			nc, resp, err := dialRaw(tg.addr, old.sessionID, pw, old.lastZxid, true)
			if err != nil {
				fmt.Fprintf(&out, "%s -> error\n", line)
				continue
			}
			fmt.Fprintf(&out, "%s -> session=%s timeout=%d passwdLen=%d\n", line, n.session(resp.SessionID), resp.TimeOut, len(resp.Passwd))
			if cmd == "badreconnect" {
				// The server refuses and closes; the session's own
				// connection is untouched.
				nc.c.SetReadDeadline(time.Now().Add(ioTimeout))
				var one [1]byte
				_, rerr := nc.c.Read(one[:])
				nc.c.Close()
				// ZooKeeper closes the session's current connection before
				// it checks the password (processConnectRequest).
				_, perr := old.drain()
				fmt.Fprintf(&out, "%s -> closed=%v oldConnectionAlive=%v\n", line, rerr != nil, perr == nil)
				continue
			}
			if resp.SessionID == 0 {
				// Expired or unknown: the server closes; so do we.
				nc.c.Close()
				delete(conns, s)
				continue
			}
			nc.xid = old.xid
			conns[s] = nc
			continue
		case "close":
			h, err := c.closeSession()
			if err != nil {
				fail("%v", err)
			}
			delete(conns, s)
			fmt.Fprintf(&out, "%s -> zxid=%s\n", line, n.zxid(h.Zxid))
			continue
		default:
			fail("unknown command %q", cmd)
		}
		h, body, err := c.call(xid, op, req)
		if err != nil {
			fail("%v", err)
		}
		fmt.Fprintf(&out, "%s -> %s\n", line, n.reply(op, h, body))
	}
	for s, c := range conns {
		if _, err := c.closeSession(); err != nil {
			t.Fatalf("%s: close %s: %v", tg.name, s, err)
		}
	}
	return out.String()
}

// parseACL parses scheme:id:perms[,...], the id possibly holding ':'.
func parseACL(s string) []proto.ACL {
	out := []proto.ACL{}
	if s == "-" {
		return out // an empty list
	}
	for _, part := range strings.Split(s, ",") {
		i, j := strings.Index(part, ":"), strings.LastIndex(part, ":")
		if i < 0 || j <= i {
			panic(fmt.Sprintf("bad ACL %q: want scheme:id:perms", part))
		}
		perms, _ := strconv.Atoi(part[j+1:])
		out = append(out, proto.ACL{Perms: int32(perms), ID: proto.Id{Scheme: part[:i], ID: part[i+1 : j]}})
	}
	return out
}
