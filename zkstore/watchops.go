package zkstore

import "github.com/gregorlog/gregor/zkstore/proto"

// setWatches (101), setWatches2 (105), addWatch (106), checkWatches (17)
// and removeWatches (18).
//
// setWatches re-registers a reconnecting client's watches and fires at
// once, before its reply, the events it missed since relativeZxid
// (DataTree.setWatches): data watch -> NodeDeleted if gone, NodeDataChanged
// if mzxid > relZxid; exist watch -> NodeCreated if the node now exists;
// child watch -> NodeDeleted if gone, NodeChildrenChanged if pzxid >
// relZxid. Persistent watches are re-added.

func init() {
	readHandlers[OpSetWatches] = func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
		r := rec.(*proto.SetWatches)
		c.setWatches(r.RelativeZxid, r.DataWatches, r.ExistWatches, r.ChildWatches, nil, nil)
		return c.curZxid(), CodeOK, nil
	}
	readHandlers[OpSetWatches2] = func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
		r := rec.(*proto.SetWatches2)
		c.setWatches(r.RelativeZxid, r.DataWatches, r.ExistWatches, r.ChildWatches, r.PersistentWatches, r.PersistentRecursiveWatches)
		return c.curZxid(), CodeOK, nil
	}
	readHandlers[OpAddWatch] = func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
		r := rec.(*proto.AddWatchRequest)
		if r.Mode != proto.AddWatchPersistent && r.Mode != proto.AddWatchPersistentRecursive {
			// AddWatchMode.fromValue throws while the request is
			// deserialized: MarshallingError.
			return c.curZxid(), CodeMarshallingError, nil
		}
		s := c.s
		s.mu.RLock()
		defer s.mu.RUnlock()
		s.wmu.Lock()
		s.watches.AddPersistent(r.Path, c, r.Mode == proto.AddWatchPersistentRecursive)
		s.wmu.Unlock()
		return s.tree.lastZxid, CodeOK, &proto.ErrorResponse{Err: proto.ErrOK}
	}
	watchType := func(remove bool) func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
		return func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
			r := rec.(*proto.WatchTypeRequest)
			s := c.s
			s.wmu.Lock()
			var found bool
			if remove {
				found = s.watches.Remove(r.Path, r.Type, c)
			} else {
				found = s.watches.Check(r.Path, r.Type, c)
			}
			s.wmu.Unlock()
			if !found {
				return c.curZxid(), CodeNoWatcher, nil
			}
			return c.curZxid(), CodeOK, nil
		}
	}
	readHandlers[OpCheckWatches] = watchType(false)
	readHandlers[OpRemoveWatches] = watchType(true)
}

func (c *conn) setWatches(rel int64, data, exist, child, persistent, recursive []string) {
	s := c.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for _, p := range data {
		n := s.tree.nodes[p]
		switch {
		case n == nil:
			c.queueEvent(Event{EventNodeDeleted, p})
		case n.stat.Mzxid > rel:
			c.queueEvent(Event{EventNodeDataChanged, p})
		default:
			s.watches.AddData(p, c)
		}
	}
	for _, p := range exist {
		if s.tree.nodes[p] != nil {
			c.queueEvent(Event{EventNodeCreated, p})
		} else {
			s.watches.AddData(p, c)
		}
	}
	for _, p := range child {
		n := s.tree.nodes[p]
		switch {
		case n == nil:
			c.queueEvent(Event{EventNodeDeleted, p})
		case n.stat.Pzxid > rel:
			c.queueEvent(Event{EventNodeChildrenChanged, p})
		default:
			s.watches.AddChild(p, c)
		}
	}
	for _, p := range persistent {
		s.watches.AddPersistent(p, c, false)
	}
	for _, p := range recursive {
		s.watches.AddPersistent(p, c, true)
	}
}
