package zkstore

import (
	"fmt"
	"testing"
)

// treeStep drives the state machine without a network: prepare a write as
// the committer does, apply it at the next zxid, return result and events.
type treeStep struct {
	t    *testing.T
	tree *DataTree
	now  int64
}

func (s *treeStep) write(session int64, auth *authSet, multi bool, ops ...WriteOp) (Result, []Event) {
	zxid := s.tree.lastZxid + 1
	s.now += 10
	typ, body := s.tree.prepare(&prepCtx{session: session, auth: auth, zxid: zxid}, ops, multi)
	txn := &Txn{TxnHeader: TxnHeader{SessionID: session, Zxid: zxid, Time: s.now, Type: typ}, Body: body}
	// Every txn must survive the log encoding unchanged.
	dec, err := DecodeTxn(AppendTxn(nil, txn))
	if err != nil {
		s.t.Fatalf("txn round trip: %v", err)
	}
	if fmt.Sprintf("%+v", dec.TxnHeader) != fmt.Sprintf("%+v", txn.TxnHeader) {
		s.t.Fatalf("header round trip %+v != %+v", dec.TxnHeader, txn.TxnHeader)
	}
	return s.tree.Apply(dec)
}

func create(p string, flags int32) WriteOp {
	return WriteOp{Type: OpCreate2, Create: &CreateRequest{Path: p, ACL: OpenACL, Flags: flags}}
}

func TestTreeStatRules(t *testing.T) {
	st := &treeStep{t: t, tree: NewDataTree(), now: 1000}
	if st.tree.NodeCount() != 5 {
		t.Fatalf("empty tree node count %d", st.tree.NodeCount())
	}
	res, evs := st.write(0, nil, false, create("/a", 0))
	if res.Err != CodeOK || res.Stat.Czxid != 1 || res.Stat.Mzxid != 1 || res.Stat.Pzxid != 1 || res.Stat.Ctime != 1010 {
		t.Fatalf("create: %+v", res)
	}
	if fmt.Sprint(evs) != "[{1 /a} {4 /}]" {
		t.Fatalf("create events %v", evs)
	}
	st.write(0, nil, false, create("/a/b", 0))
	_, a, _, _ := st.tree.Get("/a")
	if a.Cversion != 1 || a.NumChildren != 1 || a.Pzxid != 2 || a.Mzxid != 1 {
		t.Fatalf("parent after child create: %+v", a)
	}
	res, _ = st.write(0, nil, false, WriteOp{Type: OpSetData, Path: "/a", Data: []byte("xy"), Version: 0})
	if res.Stat.Version != 1 || res.Stat.Mzxid != 3 || res.Stat.DataLength != 2 || res.Stat.Mtime != 1030 {
		t.Fatalf("setData: %+v", res.Stat)
	}
	// A failed write is an error txn and still consumes a zxid.
	res, evs = st.write(0, nil, false, WriteOp{Type: OpSetData, Path: "/a", Version: 0})
	if res.Err != CodeBadVersion || st.tree.lastZxid != 4 || len(evs) != 0 {
		t.Fatalf("bad version: %+v zxid %d", res, st.tree.lastZxid)
	}
	res, _ = st.write(0, nil, false, WriteOp{Type: OpSetACL, Path: "/a", ACL: OpenACL, Version: 0})
	if res.Stat.Aversion != 1 {
		t.Fatalf("setACL: %+v", res.Stat)
	}
	res, evs = st.write(0, nil, false, WriteOp{Type: OpDelete, Path: "/a/b", Version: -1})
	_, a, _, _ = st.tree.Get("/a")
	if res.Err != CodeOK || a.Cversion != 2 || a.NumChildren != 0 || a.Pzxid != 6 {
		t.Fatalf("parent after delete: %+v", a)
	}
	if fmt.Sprint(evs) != "[{2 /a/b} {4 /a}]" {
		t.Fatalf("delete events %v", evs)
	}
	// The sequential suffix counts child creates only (ZooKeeper's internal
	// cversion), while clients see creates+deletes (2 above).
	res, _ = st.write(0, nil, false, create("/a/s-", 2))
	if res.Path != "/a/s-0000000001" {
		t.Fatalf("sequential %s", res.Path)
	}
}

func TestTreeCreateCheckOrder(t *testing.T) {
	st := &treeStep{t: t, tree: NewDataTree()}
	// A write from a session the tree does not know fails.
	if res, _ := st.write(7, nil, false, create("/e", 1)); res.Err != CodeSessionExpired {
		t.Fatalf("write from unknown session: %v", res.Err)
	}
	st.tree.Apply(&Txn{TxnHeader: TxnHeader{SessionID: 7, Zxid: st.tree.lastZxid + 1, Type: OpCreateSession}, Body: &CreateSessionTxn{Timeout: 4000}})
	st.write(7, nil, false, create("/e", 1))
	cases := []struct {
		op   WriteOp
		want Code
	}{
		{create("rel", 0), CodeBadArguments},
		{WriteOp{Type: OpCreate, Create: &CreateRequest{Path: "/x", ACL: nil}}, CodeInvalidACL},
		{create("/no/parent", 0), CodeNoNode},
		{create("/e", 0), CodeNodeExists},
		{create("/e/child", 0), CodeNoChildrenForEphemerals},
		{create("/bad/", 0), CodeNoNode},
		{create("/e/", 0), CodeBadArguments},
		{WriteOp{Type: OpCreate, Create: &CreateRequest{Path: "/x", ACL: OpenACL, Flags: 9}}, CodeBadArguments},
		{WriteOp{Type: OpCreateTTL, Create: &CreateRequest{Path: "/x", ACL: OpenACL, Flags: 5, TTL: 10}}, CodeUnimplemented},
		{WriteOp{Type: OpDelete, Path: "/zookeeper", Version: -1}, CodeBadArguments},
		{WriteOp{Type: OpDelete, Path: "/e", Version: 3}, CodeBadVersion},
		{WriteOp{Type: OpDelete, Path: "/nope", Version: -1}, CodeNoNode},
	}
	for i, c := range cases {
		res, _ := st.write(0, nil, false, c.op)
		if res.Err != c.want {
			t.Errorf("case %d: %v, want %v", i, res.Err, c.want)
		}
	}
}

func TestTreeMultiAtomic(t *testing.T) {
	st := &treeStep{t: t, tree: NewDataTree()}
	st.write(0, nil, false, create("/m", 0))
	before := st.tree.NodeCount()
	res, evs := st.write(0, nil, true,
		create("/m/a", 0),
		WriteOp{Type: OpCheck, Path: "/m", Version: 5},
		WriteOp{Type: OpDelete, Path: "/m", Version: -1})
	if len(evs) != 0 || st.tree.NodeCount() != before {
		t.Fatalf("failed multi changed the tree: %v", evs)
	}
	got := []Code{res.Multi[0].Err, res.Multi[1].Err, res.Multi[2].Err}
	if fmt.Sprint(got) != fmt.Sprint([]Code{0, CodeBadVersion, CodeRuntimeInconsistency}) {
		t.Fatalf("per-op codes %v", got)
	}
	res, _ = st.write(0, nil, true,
		create("/m/a", 0),
		create("/m/a/b", 0),
		WriteOp{Type: OpDelete, Path: "/m/a/b", Version: 0},
		WriteOp{Type: OpSetData, Path: "/m/a", Version: 0, Data: []byte("z")})
	for i, r := range res.Multi {
		if r.Err != CodeOK {
			t.Fatalf("op %d: %v", i, r.Err)
		}
	}
	// All ops share one zxid.
	_, a, _, _ := st.tree.Get("/m/a")
	if a.Czxid != a.Mzxid || a.Version != 1 || a.Cversion != 2 {
		t.Fatalf("multi stat %+v", a)
	}
}

func TestTreeSessionsAndEphemerals(t *testing.T) {
	st := &treeStep{t: t, tree: NewDataTree()}
	apply := func(typ int32, session int64, body any) []Event {
		zxid := st.tree.lastZxid + 1
		_, evs := st.tree.Apply(&Txn{TxnHeader: TxnHeader{SessionID: session, Zxid: zxid, Type: typ}, Body: body})
		return evs
	}
	apply(OpCreateSession, 42, &CreateSessionTxn{Timeout: 5000})
	st.write(42, nil, false, create("/p", 0))
	st.write(42, nil, false, create("/p/e1", 1))
	st.write(42, nil, false, create("/p/e2", 3))
	if got := st.tree.Ephemerals(42); fmt.Sprint(got) != "[/p/e1 /p/e20000000001]" {
		t.Fatalf("ephemerals %v", got)
	}
	evs := apply(OpCloseSession, 42, &CloseSessionTxn{})
	if len(st.tree.Ephemerals(42)) != 0 || len(evs) != 4 {
		t.Fatalf("close: %v events %v", st.tree.Ephemerals(42), evs)
	}
	if _, ok := st.tree.SessionTimeout(42); ok {
		t.Fatal("session still present")
	}
}

func TestSessionTrackerBuckets(t *testing.T) {
	tr := NewSessionTracker(2000)
	tr.Add(1, 10000, 1000) // deadline 11000 -> bucket 12000
	tr.Add(2, 4000, 1000)  // 5000 -> 6000
	if got := tr.Expired(5999); len(got) != 0 {
		t.Fatalf("early %v", got)
	}
	if !tr.Touch(2, 3000) { // 7000 -> 8000
		t.Fatal("touch")
	}
	if got := tr.Expired(6000); len(got) != 0 {
		t.Fatalf("touched session expired %v", got)
	}
	if got := tr.Expired(8000); fmt.Sprint(got) != "[2]" {
		t.Fatalf("expired %v", got)
	}
	if tr.Touch(2, 8000) {
		t.Fatal("touch after expiry succeeded")
	}
	tr.Remove(1)
	if tr.Len() != 0 || len(tr.Buckets()) != 0 {
		t.Fatal("tracker not empty")
	}
}

func TestWatchManagerDedupe(t *testing.T) {
	m := NewWatchManager()
	w := &conn{}
	m.AddData("/a", w)
	m.AddChild("/a", w)
	m.AddPersistent("/", w, true)
	fired := m.Trigger([]Event{{EventNodeDeleted, "/a"}})
	if len(fired) != 1 {
		t.Fatalf("fired %d times", len(fired))
	}
	if m.Count() != 2 { // the recursive watch, in the data and child tables
		t.Fatalf("one-shot watches not removed: %d", m.Count())
	}
	// A standard watch on the same path replaces the recursive mode in
	// that table only (ZooKeeper's one mode per path and watcher).
	m.AddData("/", w)
	if fired := m.Trigger([]Event{{EventNodeCreated, "/x"}}); len(fired) != 0 {
		t.Fatalf("recursive data watch survived a standard one: %v", fired)
	}
	if !m.Check("/", WatcherTypeChildren, w) || !m.Remove("/", WatcherTypeChildren, w) || m.Remove("/", WatcherTypeChildren, w) {
		t.Fatal("child-table entry of addWatch")
	}
	m.RemoveWatcher(w)
	if m.Count() != 0 {
		t.Fatal("RemoveWatcher left watches")
	}
}

func TestValidatePath(t *testing.T) {
	for p, ok := range map[string]bool{
		"/": true, "/a": true, "/a/b-1": true, "": false, "a": false, "/a/": false,
		"//a": false, "/a//b": false, "/./a": false, "/a/..": false, "/a\x00": false,
		"/a\x1f": false, "/\u00e9": true, "/\uf000": false, "/\ufff5": false,
	} {
		if validatePath(p) != ok {
			t.Errorf("validatePath(%q) != %v", p, ok)
		}
	}
}

func TestJavaOrder(t *testing.T) {
	if h := javaStringHash("hello"); h != 99162322 {
		t.Fatalf(`"hello".hashCode() = %d`, h)
	}
	if h := javaStringHash("polygenelubricants"); h != -2147483648 {
		t.Fatalf(`"polygenelubricants".hashCode() = %d`, h)
	}
	// Apache ZooKeeper lists /p's children k, e as [k e] (capacity-8
	// HashSet: k in bucket 3, e in 5).
	st := &treeStep{t: t, tree: NewDataTree()}
	st.write(0, nil, false, create("/p", 0))
	st.write(0, nil, false, create("/p/e", 0))
	st.write(0, nil, false, create("/p/k", 0))
	if kids, _, _ := st.tree.Children("/p"); fmt.Sprint(kids) != "[k e]" {
		t.Fatalf("children order %v", kids)
	}
}
