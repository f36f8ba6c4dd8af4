package zkstore

import (
	"fmt"
	"sort"

	"github.com/gregorlog/gregor/internal/invariants"
)

// Stat is a znode's metadata, field for field ZooKeeper's Stat record.
type Stat struct {
	Czxid          int64
	Mzxid          int64
	Ctime          int64
	Mtime          int64
	Version        int32
	Cversion       int32
	Aversion       int32
	EphemeralOwner int64
	DataLength     int32
	NumChildren    int32
	Pzxid          int64
}

// ACL is one access-control entry: permission bits for scheme:id.
type ACL struct {
	Perms  int32
	Scheme string
	ID     string
}

// Permission bits (ZooDefs.Perms).
const (
	PermRead   int32 = 1
	PermWrite  int32 = 2
	PermCreate int32 = 4
	PermDelete int32 = 8
	PermAdmin  int32 = 16
	PermAll    int32 = 31
)

// OpenACL is world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE).
var OpenACL = []ACL{{Perms: PermAll, Scheme: "world", ID: "anyone"}}

// Special ephemeralOwner values (EphemeralType): containers carry
// 0x8000000000000000, TTL nodes 0xFF<<56 | ttl.
const (
	containerOwner int64 = -0x8000000000000000
	ttlOwnerMask   int64 = -0x100000000000000 // 0xFF00000000000000
	maxTTL         int64 = 0x00FFFFFFFFFF     // EphemeralType.TTL: 40 bits
)

func isContainerOwner(o int64) bool { return o == containerOwner }
func isTTLOwner(o int64) bool       { return o != containerOwner && o&ttlOwnerMask == ttlOwnerMask }

// ttlOf returns the TTL (ms) encoded in a TTL node's ephemeralOwner.
func ttlOf(o int64) int64 { return o &^ ttlOwnerMask }

// isSessionOwner reports whether an ephemeralOwner names a session.
func isSessionOwner(o int64) bool { return o != 0 && !isContainerOwner(o) && !isTTLOwner(o) }

// Watch event types (Watcher.Event.EventType).
const (
	EventNodeCreated         int32 = 1
	EventNodeDeleted         int32 = 2
	EventNodeDataChanged     int32 = 3
	EventNodeChildrenChanged int32 = 4
)

// Event is a change the tree made, to be matched against watches.
type Event struct {
	Type int32
	Path string
}

type node struct {
	data []byte // never mutated in place: setData replaces the slice
	acl  []ACL
	// stat.DataLength and stat.NumChildren are kept equal to len(data) and
	// len(children). Invariant: stat.NumChildren == len(children).
	// stat.Cversion counts child creates only, as ZooKeeper's DataNode
	// does; it is the sequential suffix. Clients see clientStat.
	stat     Stat
	children map[string]*node
	// childCap emulates the table size of ZooKeeper's children HashSet
	// (created with capacity 8, doubled whenever the size exceeds 3/4 of
	// it, never shrunk), so getChildren lists names in ZooKeeper's order.
	childCap uint32
	// seq (when the node was added to its parent) and hash (its name's
	// spread Java hash) place it in its parent's emulated HashSet.
	seq  uint64
	hash uint32
}

// addChild links child under n as name.
func (t *DataTree) addChild(n *node, name string, child *node) {
	if n.children == nil {
		n.children = make(map[string]*node)
	}
	if n.childCap == 0 {
		n.childCap = 8
	}
	t.childSeq++
	h := uint32(javaStringHash(name))
	child.seq, child.hash = t.childSeq, h^h>>16
	n.children[name] = child
	for uint32(len(n.children)) > n.childCap*3/4 {
		n.childCap *= 2
	}
}

// javaSetLess orders two entries of a HashSet of table size capacity:
// by bucket, then insertion order within a bucket. (Buckets Java would
// treeify, 8+ colliding names, are not emulated.)
func javaSetLess(capacity uint32, hashA uint32, seqA uint64, hashB uint32, seqB uint64) bool {
	mask := capacity - 1
	if ba, bb := hashA&mask, hashB&mask; ba != bb {
		return ba < bb
	}
	return seqA < seqB
}

// sortedChildren lists a node's children in the order ZooKeeper's
// HashSet iterates them.
func (n *node) sortedChildren() []string {
	out := make([]string, 0, len(n.children))
	for c := range n.children {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := n.children[out[i]], n.children[out[j]]
		return javaSetLess(n.childCap, a.hash, a.seq, b.hash, b.seq)
	})
	return out
}

// clientStat is the stat clients see (DataNode.copyStat): cversion
// translated from creates to changes (creates*2 - children, since every
// create but the live children was followed by a delete), and the
// ephemeralOwner of containers and TTL nodes shown as 0.
func (n *node) clientStat() Stat {
	st := n.stat
	st.Cversion = n.stat.Cversion*2 - n.stat.NumChildren
	if !isSessionOwner(st.EphemeralOwner) {
		st.EphemeralOwner = 0
	}
	return st
}

// DataTree is ZooKeeper's data tree as a deterministic state machine: Apply
// takes ordered txns and returns results and the events they trigger. It
// does no I/O and reads no clock; times come from the txn headers. It is not
// safe for concurrent use: the server guards it with its own lock.
type DataTree struct {
	nodes map[string]*node
	// ephemerals maps a session id to the paths of its ephemeral nodes.
	ephemerals map[int64]map[string]struct{}
	// sessions maps every live session id to its negotiated timeout (ms).
	sessions map[int64]int32
	// containers and ttls index the nodes the sweeper may delete.
	containers map[string]struct{}
	ttls       map[string]struct{}
	childSeq   uint64 // insertion counter for node.seq
	// lastZxid is the zxid of the last applied txn.
	// Invariant: txns are applied with strictly increasing zxids.
	lastZxid int64
	dataSize int64 // sum of len(path)+len(data), for mntr
}

// NewDataTree returns a tree holding ZooKeeper's initial nodes: /,
// /zookeeper, /zookeeper/quota and /zookeeper/config.
func NewDataTree() *DataTree {
	t := &DataTree{
		nodes:      make(map[string]*node),
		ephemerals: make(map[int64]map[string]struct{}),
		sessions:   make(map[int64]int32),
		containers: make(map[string]struct{}),
		ttls:       make(map[string]struct{}),
	}
	t.nodes["/"] = &node{acl: OpenACL}
	t.addSystemNode("/zookeeper")
	t.addSystemNode("/zookeeper/quota")
	t.addSystemNode("/zookeeper/config")
	return t
}

func (t *DataTree) addSystemNode(p string) {
	parent, name := splitPath(p)
	acl := OpenACL
	if p == "/zookeeper/config" {
		acl = []ACL{{Perms: PermRead, Scheme: "world", ID: "anyone"}}
	}
	n := &node{acl: acl}
	if p == "/zookeeper/config" {
		n.stat.Aversion = -1 // as ZooKeeper's config node shows
	}
	t.nodes[p] = n
	pn := t.nodes[parent]
	t.addChild(pn, name, n)
	pn.stat.NumChildren++
	t.dataSize += int64(len(p))
}

// LastZxid returns the zxid of the last applied txn.
func (t *DataTree) LastZxid() int64 { return t.lastZxid }

// NodeCount returns the node count as ZooKeeper reports it (the root is
// indexed twice there, so an empty server reports 5).
func (t *DataTree) NodeCount() int { return len(t.nodes) + 1 }

// ApproximateDataSize is the sum of path and data lengths.
func (t *DataTree) ApproximateDataSize() int64 { return t.dataSize }

// Sessions returns a copy of the live sessions and their timeouts.
func (t *DataTree) Sessions() map[int64]int32 {
	out := make(map[int64]int32, len(t.sessions))
	for k, v := range t.sessions {
		out[k] = v
	}
	return out
}

// SessionTimeout returns a live session's timeout.
func (t *DataTree) SessionTimeout(id int64) (int32, bool) {
	to, ok := t.sessions[id]
	return to, ok
}

// Ephemerals returns the ephemeral paths owned by a session, in
// ZooKeeper's order.
func (t *DataTree) Ephemerals(session int64) []string {
	out := make([]string, 0, len(t.ephemerals[session]))
	for p := range t.ephemerals[session] {
		out = append(out, p)
	}
	// ZooKeeper hands out (and a closing session deletes) its ephemerals
	// as a copied HashSet: new HashSet<>(set) sizes its table for the
	// count, at least 16. Ties in a bucket go by name.
	table := uint32(16)
	for float64(table) < float64(len(out))/0.75+1 {
		table *= 2
	}
	sort.Slice(out, func(i, j int) bool {
		bi, bj := javaBucket(javaStringHash(out[i]), table), javaBucket(javaStringHash(out[j]), table)
		if bi != bj {
			return bi < bj
		}
		return out[i] < out[j]
	})
	return out
}

// EphemeralCount returns the number of ephemeral nodes.
func (t *DataTree) EphemeralCount() int {
	n := 0
	for _, s := range t.ephemerals {
		n += len(s)
	}
	return n
}

// Get returns a node's data, stat and ACL.
func (t *DataTree) Get(p string) (data []byte, st Stat, acl []ACL, ok bool) {
	n := t.nodes[p]
	if n == nil {
		return nil, Stat{}, nil, false
	}
	return n.data, n.clientStat(), n.acl, true
}

// Children returns a node's child names, sorted, and its stat.
func (t *DataTree) Children(p string) ([]string, Stat, bool) {
	n := t.nodes[p]
	if n == nil {
		return nil, Stat{}, false
	}
	return n.sortedChildren(), n.clientStat(), true
}

// CountDescendants returns the number of nodes below p (getAllChildrenNumber).
func (t *DataTree) CountDescendants(p string) (int, bool) {
	n := t.nodes[p]
	if n == nil {
		return 0, false
	}
	total := 0
	var walk func(path string, n *node)
	walk = func(path string, n *node) {
		for c := range n.children {
			total++
			cp := joinPath(path, c)
			walk(cp, t.nodes[cp])
		}
	}
	walk(p, n)
	return total, true
}

// Apply applies one txn and returns its result and the events it triggers.
// Txns must come in zxid order; a txn that fails validation here (which a
// correct preparation never produces) yields an error result and no change.
func (t *DataTree) Apply(txn *Txn) (Result, []Event) {
	if invariants.Enabled && txn.Zxid <= t.lastZxid && txn.Zxid != 0 {
		panic(fmt.Sprintf("zkstore: txn zxid 0x%x applied after 0x%x", txn.Zxid, t.lastZxid))
	}
	if txn.Zxid > t.lastZxid {
		t.lastZxid = txn.Zxid
	}
	var evs []Event
	res := t.applyBody(&txn.TxnHeader, txn.Type, txn.Body, &evs)
	return res, evs
}

func (t *DataTree) applyBody(h *TxnHeader, typ int32, body any, evs *[]Event) Result {
	res := Result{Type: typ}
	switch b := body.(type) {
	case *CreateTxn:
		owner := int64(0)
		switch {
		case typ == OpCreateContainer:
			owner = containerOwner
		case typ == OpCreateTTL:
			owner = ttlOwnerMask | (b.TTL & maxTTL)
		case b.Ephemeral:
			owner = h.SessionID
		}
		res.Err = t.createNode(b.Path, b.Data, b.ACL, owner, b.ParentCVersion, h.Zxid, h.Time, evs)
		res.Path = b.Path
		if res.Err == CodeOK {
			res.Stat = t.nodes[b.Path].clientStat()
		}
	case *DeleteTxn:
		res.Err = t.deleteNode(b.Path, h.Zxid, evs)
	case *SetDataTxn:
		n := t.nodes[b.Path]
		if n == nil {
			res.Err = CodeNoNode
			break
		}
		t.dataSize += int64(len(b.Data) - len(n.data))
		n.data = b.Data
		n.stat.DataLength = int32(len(b.Data))
		n.stat.Version = b.Version
		n.stat.Mzxid = h.Zxid
		n.stat.Mtime = h.Time
		res.Stat = n.clientStat()
		*evs = append(*evs, Event{EventNodeDataChanged, b.Path})
	case *SetACLTxn:
		n := t.nodes[b.Path]
		if n == nil {
			res.Err = CodeNoNode
			break
		}
		n.acl = b.ACL
		n.stat.Aversion = b.Version
		res.Stat = n.clientStat()
	case *CheckVersionTxn:
		if n := t.nodes[b.Path]; n != nil {
			res.Stat = n.clientStat()
		} else {
			res.Err = CodeNoNode
		}
	case *ErrorTxn:
		res.Err = b.Err
	case *CreateSessionTxn:
		t.sessions[h.SessionID] = b.Timeout
	case *CloseSessionTxn:
		t.closeSession(h.SessionID, h.Zxid, evs)
	case *MultiTxn:
		res.Multi = make([]Result, len(b.Ops))
		for i := range b.Ops {
			op := &b.Ops[i]
			res.Multi[i] = t.applyBody(h, op.Type, op.Body, evs)
		}
	default:
		panic(fmt.Sprintf("zkstore: unknown txn body %T", body))
	}
	return res
}

func (t *DataTree) createNode(p string, data []byte, acl []ACL, owner int64, parentCVersion int32, zxid, now int64, evs *[]Event) Code {
	if p == "/" || !validatePath(p) {
		// Never produced by preparation; guards replay of a damaged log.
		return CodeBadArguments
	}
	parentPath, name := splitPath(p)
	parent := t.nodes[parentPath]
	if parent == nil {
		return CodeNoNode
	}
	if _, ok := parent.children[name]; ok {
		return CodeNodeExists
	}
	if parentCVersion == -1 {
		parentCVersion = parent.stat.Cversion + 1
	}
	parent.stat.Cversion = parentCVersion
	parent.stat.Pzxid = zxid
	child := &node{
		data: data,
		acl:  acl,
		stat: Stat{
			Czxid: zxid, Mzxid: zxid, Pzxid: zxid,
			Ctime: now, Mtime: now,
			EphemeralOwner: owner,
			DataLength:     int32(len(data)),
		},
	}
	t.addChild(parent, name, child)
	parent.stat.NumChildren++
	t.nodes[p] = child
	t.dataSize += int64(len(p) + len(data))
	switch {
	case isContainerOwner(owner):
		t.containers[p] = struct{}{}
	case isTTLOwner(owner):
		t.ttls[p] = struct{}{}
	case owner != 0:
		s := t.ephemerals[owner]
		if s == nil {
			s = make(map[string]struct{})
			t.ephemerals[owner] = s
		}
		s[p] = struct{}{}
	}
	*evs = append(*evs, Event{EventNodeCreated, p}, Event{EventNodeChildrenChanged, parentPath})
	return CodeOK
}

func (t *DataTree) deleteNode(p string, zxid int64, evs *[]Event) Code {
	n := t.nodes[p]
	if n == nil || p == "/" || p == "" {
		return CodeNoNode
	}
	if len(n.children) > 0 {
		return CodeNotEmpty
	}
	parentPath, name := splitPath(p)
	parent := t.nodes[parentPath]
	delete(parent.children, name)
	parent.stat.NumChildren--
	if zxid > parent.stat.Pzxid {
		parent.stat.Pzxid = zxid
	}
	delete(t.nodes, p)
	t.dataSize -= int64(len(p) + len(n.data))
	owner := n.stat.EphemeralOwner
	switch {
	case isContainerOwner(owner):
		delete(t.containers, p)
	case isTTLOwner(owner):
		delete(t.ttls, p)
	case owner != 0:
		if s := t.ephemerals[owner]; s != nil {
			delete(s, p)
			if len(s) == 0 {
				delete(t.ephemerals, owner)
			}
		}
	}
	*evs = append(*evs, Event{EventNodeDeleted, p}, Event{EventNodeChildrenChanged, parentPath})
	return CodeOK
}

func (t *DataTree) closeSession(id int64, zxid int64, evs *[]Event) {
	// In ZooKeeper's order (its CloseSessionTxn lists them so), which is
	// deterministic for replay; ephemerals have no children, so the order
	// never trips NotEmpty.
	for _, p := range t.Ephemerals(id) {
		t.deleteNode(p, zxid, evs)
	}
	delete(t.sessions, id)
	delete(t.ephemerals, id)
}

// ExpiredContainers returns, sorted, the containers that have had children
// and have none now, and the TTL nodes without children whose mtime+ttl is
// before now (ms). The server proposes deleteContainer txns for them, as
// ZooKeeper's ContainerManager does.
func (t *DataTree) ExpiredContainers(nowMs int64) []string {
	var out []string
	for p := range t.containers {
		n := t.nodes[p]
		if n.stat.Cversion > 0 && len(n.children) == 0 {
			out = append(out, p)
		}
	}
	for p := range t.ttls {
		n := t.nodes[p]
		if len(n.children) == 0 && n.stat.Mtime+ttlOf(n.stat.EphemeralOwner) < nowMs {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
