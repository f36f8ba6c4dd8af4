package zkstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/gregorlog/gregor/zkstore/proto"
)

// Snapshot file format (see the package doc). Part of the on-disk format:
// never change these constants; bump snapVersion instead.
const (
	snapMagic   = "GZKS"
	snapVersion = 1

	snapRecSession byte = 1
	snapRecNode    byte = 2
	snapRecEnd     byte = 3
)

// snapNode is one node as captured for a snapshot. data and acl are shared
// with the tree, which never mutates them in place; seq, hash and childCap
// carry the emulated HashSet order.
type snapNode struct {
	path     string
	data     []byte
	acl      []ACL
	stat     Stat
	seq      uint64
	hash     uint32
	childCap uint32
}

// snapState is a consistent copy of the tree at zxid. Capturing it is a
// flat copy of the node structs, taken by the committer (writes wait for
// it, reads do not); ordering and writing happen in the background.
type snapState struct {
	zxid     int64
	sessions map[int64]int32
	nodes    []snapNode
}

func (t *DataTree) captureSnapshot() *snapState {
	s := &snapState{zxid: t.lastZxid, sessions: t.Sessions(), nodes: make([]snapNode, 0, len(t.nodes))}
	for p, n := range t.nodes {
		s.nodes = append(s.nodes, snapNode{path: p, data: n.data, acl: n.acl, stat: n.stat, seq: n.seq, hash: n.hash, childCap: n.childCap})
	}
	return s
}

// orderDepthFirst puts the nodes depth first, children in ZooKeeper's
// HashSet order, as ZooKeeper's snapshots are: loading adds children in
// file order, so the order survives restarts the way ZooKeeper's does.
func (s *snapState) orderDepthFirst() {
	kids := make(map[string][]int, len(s.nodes)/4+1)
	root := -1
	for i := range s.nodes {
		p := s.nodes[i].path
		if p == "/" {
			root = i
			continue
		}
		parent, _ := splitPath(p)
		kids[parent] = append(kids[parent], i)
	}
	if root < 0 {
		return
	}
	out := make([]snapNode, 0, len(s.nodes))
	var walk func(i int)
	walk = func(i int) {
		n := &s.nodes[i]
		out = append(out, *n)
		ks := kids[n.path]
		capacity := n.childCap
		if capacity == 0 {
			capacity = 8
		}
		sort.Slice(ks, func(a, b int) bool {
			x, y := &s.nodes[ks[a]], &s.nodes[ks[b]]
			return javaSetLess(capacity, x.hash, x.seq, y.hash, y.seq)
		})
		for _, k := range ks {
			walk(k)
		}
	}
	walk(root)
	s.nodes = out
}

func encodeACLList(e *proto.Encoder, acl []ACL) {
	e.Int(int32(len(acl)))
	for _, a := range acl {
		e.Int(a.Perms)
		e.String(a.Scheme)
		e.String(a.ID)
	}
}

// writeSnapshot writes s to dir/snapshot.<hex zxid> through a temporary
// file, fsync and rename, so a crash leaves either no file or a whole one.
func writeSnapshot(dir string, s *snapState) (string, error) {
	s.orderDepthFirst()
	final := filepath.Join(dir, "snapshot."+strconv.FormatInt(s.zxid, 16))
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp)
	buf := encodeFileHeader(snapMagic, snapVersion, s.zxid)
	e := proto.Encoder{}
	flush := func(force bool) error {
		if len(buf) < 1<<20 && !force {
			return nil
		}
		_, err := f.Write(buf)
		buf = buf[:0]
		return err
	}
	ids := make([]int64, 0, len(s.sessions))
	for id := range s.sessions {
		ids = append(ids, id)
	}
	for _, id := range ids {
		e.B = append(e.B[:0], snapRecSession)
		e.Long(id)
		e.Int(s.sessions[id])
		buf = appendRecord(buf, e.B)
	}
	for i := range s.nodes {
		n := &s.nodes[i]
		e.B = append(e.B[:0], snapRecNode)
		e.String(n.path)
		e.Buffer(n.data)
		encodeACLList(&e, n.acl)
		st := proto.Stat(n.stat)
		st.Encode(&e)
		buf = appendRecord(buf, e.B)
		if err := flush(false); err != nil {
			f.Close()
			return "", err
		}
	}
	e.B = append(e.B[:0], snapRecEnd)
	e.Long(int64(len(s.sessions)))
	e.Long(int64(len(s.nodes)))
	buf = appendRecord(buf, e.B)
	if err := flush(true); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", err
	}
	return final, syncDir(dir)
}

// LoadSnapshot decodes a snapshot file's bytes into a new tree. It fails
// with ErrCorruptSnap on any damage, including a missing end record.
func LoadSnapshot(b []byte) (*DataTree, error) {
	zxid, err := decodeFileHeader(b, snapMagic, snapVersion)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %w", ErrCorruptSnap, err)
	}
	t := &DataTree{
		nodes:      make(map[string]*node),
		ephemerals: make(map[int64]map[string]struct{}),
		sessions:   make(map[int64]int32),
		containers: make(map[string]struct{}),
		ttls:       make(map[string]struct{}),
		lastZxid:   zxid,
	}
	ended := false
	var nSessions, nNodes int64
	var order []string // node paths in file order
	d := proto.NewDecoder(nil)
	_, torn, err := readRecords(b[logHeaderSize:], func(p []byte) error {
		if ended {
			return errors.New("record after end")
		}
		if len(p) == 0 {
			return errors.New("empty record")
		}
		d.Reset(p[1:])
		switch p[0] {
		case snapRecSession:
			id := d.Long()
			to := d.Int()
			t.sessions[id] = to
		case snapRecNode:
			path := d.String()
			data := d.Buffer()
			n, null := d.VectorLen(12)
			var acl []ACL
			if !null && d.Err() == nil {
				acl = make([]ACL, n)
				for i := range acl {
					acl[i] = ACL{Perms: d.Int(), Scheme: d.String(), ID: d.String()}
				}
			}
			var st proto.Stat
			st.Decode(d)
			if d.Err() != nil {
				break
			}
			if _, dup := t.nodes[path]; dup || (path != "/" && !validatePath(path)) {
				return fmt.Errorf("bad node path %q", path)
			}
			if len(data) == 0 {
				data = nil
			}
			t.nodes[path] = &node{data: data, acl: internACL(acl), stat: Stat(st)}
			order = append(order, path)
			t.dataSize += int64(len(path) + len(data))
		case snapRecEnd:
			nSessions, nNodes = d.Long(), d.Long()
			ended = true
		default:
			return fmt.Errorf("unknown record kind %d", p[0])
		}
		return d.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptSnap, err)
	}
	if torn || !ended || nSessions != int64(len(t.sessions)) || nNodes != int64(len(t.nodes)) {
		return nil, fmt.Errorf("%w: truncated or inconsistent", ErrCorruptSnap)
	}
	if t.nodes["/"] == nil {
		return nil, fmt.Errorf("%w: no root", ErrCorruptSnap)
	}
	// Rebuild the child sets and indexes from the node list, in file order.
	for _, p := range order {
		n := t.nodes[p]
		if p == "/" {
			continue
		}
		parent, name := splitPath(p)
		pn := t.nodes[parent]
		if pn == nil {
			return nil, fmt.Errorf("%w: %s has no parent", ErrCorruptSnap, p)
		}
		t.addChild(pn, name, n)
		o := n.stat.EphemeralOwner
		switch {
		case isContainerOwner(o):
			t.containers[p] = struct{}{}
		case isTTLOwner(o):
			t.ttls[p] = struct{}{}
		case o != 0:
			s := t.ephemerals[o]
			if s == nil {
				s = make(map[string]struct{})
				t.ephemerals[o] = s
			}
			s[p] = struct{}{}
		}
	}
	for p, n := range t.nodes {
		if int(n.stat.NumChildren) != len(n.children) {
			return nil, fmt.Errorf("%w: %s numChildren %d, has %d", ErrCorruptSnap, p, n.stat.NumChildren, len(n.children))
		}
	}
	return t, nil
}

// loadLatestSnapshot loads the newest valid snapshot in dir, skipping
// damaged ones (an older snapshot plus a longer log replay gives the same
// state). It returns a fresh tree when there is none.
func loadLatestSnapshot(dir string) (*DataTree, string, error) {
	files, err := listFiles(dir, "snapshot")
	if err != nil {
		return nil, "", err
	}
	var firstErr error
	for i := len(files) - 1; i >= 0; i-- {
		b, err := os.ReadFile(files[i].path)
		if err != nil {
			return nil, "", err
		}
		t, err := LoadSnapshot(b)
		if err == nil {
			return t, files[i].path, nil
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", filepath.Base(files[i].path), err)
		}
	}
	if len(files) > 0 {
		// Every snapshot damaged: refuse rather than silently starting empty.
		return nil, "", firstErr
	}
	return NewDataTree(), "", nil
}

// purge keeps the retain newest snapshots and the log files needed to
// replay from the oldest of them, deleting the rest (autopurge).
func purge(snapDir, logDir string, retain int) (removed []string, err error) {
	if retain < 3 {
		retain = 3
	}
	snaps, err := listFiles(snapDir, "snapshot")
	if err != nil {
		return nil, err
	}
	if len(snaps) <= retain {
		return nil, nil
	}
	oldestKept := snaps[len(snaps)-retain].firstZxid
	for _, s := range snaps[:len(snaps)-retain] {
		if err := os.Remove(s.path); err != nil {
			return removed, err
		}
		removed = append(removed, s.path)
	}
	logs, err := listFiles(logDir, "log")
	if err != nil {
		return removed, err
	}
	// A log may go when the next log starts at or before the oldest kept
	// snapshot's zxid + 1: every txn it holds is in that snapshot.
	for i := 0; i+1 < len(logs); i++ {
		if logs[i+1].firstZxid <= oldestKept+1 {
			if err := os.Remove(logs[i].path); err != nil {
				return removed, err
			}
			removed = append(removed, logs[i].path)
		}
	}
	return removed, nil
}
