package zkstore

import (
	"os"
	"path/filepath"
	"testing"
)

// seedLog returns a valid log file holding a few txns of every kind.
func seedLog(t testing.TB) []byte {
	tree := NewDataTree()
	b := encodeFileHeader(logMagic, logVersion, 1)
	st := &treeStep{tree: tree}
	add := func(session int64, multi bool, ops ...WriteOp) {
		zxid := tree.lastZxid + 1
		typ, body := tree.prepare(&prepCtx{session: session, zxid: zxid, extended: true}, ops, multi)
		txn := &Txn{TxnHeader: TxnHeader{SessionID: session, Zxid: zxid, Time: 5, Type: typ}, Body: body}
		tree.Apply(txn)
		b = appendRecord(b, AppendTxn(nil, txn))
	}
	_ = st
	txn := &Txn{TxnHeader: TxnHeader{SessionID: 9, Zxid: 1, Type: OpCreateSession}, Body: &CreateSessionTxn{Timeout: 4000}}
	tree.Apply(txn)
	b = appendRecord(b, AppendTxn(nil, txn))
	add(9, false, create("/a", 0))
	add(9, false, create("/a/e", 1))
	add(9, false, WriteOp{Type: OpCreateTTL, Create: &CreateRequest{Path: "/t", ACL: OpenACL, Flags: 5, TTL: 100}})
	add(9, false, WriteOp{Type: OpCreateContainer, Create: &CreateRequest{Path: "/c", ACL: OpenACL, Flags: 4}})
	add(9, false, WriteOp{Type: OpSetData, Path: "/a", Data: []byte("x"), Version: -1})
	add(9, false, WriteOp{Type: OpSetACL, Path: "/a", ACL: OpenACL, Version: -1})
	add(9, true, create("/m", 0), WriteOp{Type: OpCheck, Path: "/m", Version: 0}, WriteOp{Type: OpDelete, Path: "/m", Version: -1})
	add(9, true, create("/m", 0), WriteOp{Type: OpCheck, Path: "/m", Version: 7})
	add(9, false, WriteOp{Type: OpDelete, Path: "/nope", Version: -1})
	txn = &Txn{TxnHeader: TxnHeader{SessionID: 9, Zxid: tree.lastZxid + 1, Type: OpCloseSession}, Body: &CloseSessionTxn{}}
	b = appendRecord(b, AppendTxn(nil, txn))
	return append(b, make([]byte, 64)...)
}

func FuzzLoadTxnLog(f *testing.F) {
	seed := seedLog(f)
	f.Add(seed)
	f.Add(seed[:len(seed)-70])
	f.Add(seed[:logHeaderSize+5])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		tree := NewDataTree()
		last := int64(0)
		end, _, err := LoadTxnLog(b, func(txn *Txn) error {
			// Apply what replay would apply; it must never panic.
			if txn.Zxid == last+1 {
				tree.Apply(txn)
				last = txn.Zxid
			}
			return nil
		})
		if err == nil && (end < 0 || end > int64(len(b))) {
			t.Fatalf("end %d outside [0,%d]", end, len(b))
		}
		checkTreeInvariants(t, tree)
	})
}

func seedSnapshot(t testing.TB) []byte {
	tree := NewDataTree()
	LoadTxnLog(seedLog(t), func(txn *Txn) error {
		if txn.Type != OpCloseSession { // keep the session and its ephemeral
			tree.Apply(txn)
		}
		return nil
	})
	dir := t.TempDir()
	p, err := writeSnapshot(dir, tree.captureSnapshot())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzLoadSnapshot(f *testing.F) {
	seed := seedSnapshot(f)
	f.Add(seed)
	f.Add(seed[:len(seed)-1])
	f.Add(seed[:logHeaderSize])
	f.Fuzz(func(t *testing.T, b []byte) {
		tree, err := LoadSnapshot(b)
		if err != nil {
			return
		}
		checkTreeInvariants(t, tree)
		// A loaded snapshot must round-trip.
		dir := t.TempDir()
		p, err := writeSnapshot(dir, tree.captureSnapshot())
		if err != nil {
			t.Fatal(err)
		}
		b2, _ := os.ReadFile(filepath.Clean(p))
		if _, err := LoadSnapshot(b2); err != nil {
			t.Fatalf("re-encoded snapshot does not load: %v", err)
		}
	})
}

func TestSnapshotRoundTrip(t *testing.T) {
	tree, err := LoadSnapshot(seedSnapshot(t))
	if err != nil {
		t.Fatal(err)
	}
	checkTreeInvariants(t, tree)
	if _, _, _, ok := tree.Get("/a/e"); !ok || len(tree.Ephemerals(9)) != 1 || len(tree.ttls) != 1 || len(tree.containers) != 1 {
		t.Fatalf("snapshot lost state: %v", tree.Ephemerals(9))
	}
}

// checkTreeInvariants verifies the tree's indexes against its nodes.
func checkTreeInvariants(t *testing.T, tree *DataTree) {
	t.Helper()
	for p, n := range tree.nodes {
		if int(n.stat.NumChildren) != len(n.children) {
			t.Fatalf("%s: numChildren %d, %d children", p, n.stat.NumChildren, len(n.children))
		}
		for c := range n.children {
			if tree.nodes[joinPath(p, c)] == nil {
				t.Fatalf("%s: dangling child %s", p, c)
			}
		}
	}
	for id, paths := range tree.ephemerals {
		for p := range paths {
			if n := tree.nodes[p]; n == nil || n.stat.EphemeralOwner != id {
				t.Fatalf("ephemeral index %x -> %s wrong", id, p)
			}
		}
	}
}
