package zkstore

import "github.com/gregorlog/gregor/zkstore/proto"

// exists (3), getData (4), setData (5), check (13) and sync (9). check is
// meant for multi: sent alone ZooKeeper prepares it like a write (a failed
// check answers its error) but has no reply for a passed one and drops the
// connection; zkstore does the same (conn.go complete).
//
// exists on a missing node still registers the (exist) watch, so a later
// create fires NodeCreated; getData on a missing node or without READ
// registers nothing.

func init() {
	writeHandlers[OpSetData] = func(rec proto.Record) ([]WriteOp, bool, Code) {
		r := rec.(*proto.SetDataRequest)
		return []WriteOp{{Type: OpSetData, Path: r.Path, Data: r.Data, Version: r.Version}}, false, CodeOK
	}
	writeHandlers[OpCheck] = func(rec proto.Record) ([]WriteOp, bool, Code) {
		r := rec.(*proto.CheckVersionRequest)
		return []WriteOp{{Type: OpCheck, Path: r.Path, Version: r.Version}}, false, CodeOK
	}
	readHandlers[OpExists] = func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
		r := rec.(*proto.PathWatchRequest)
		s := c.s
		s.mu.RLock()
		defer s.mu.RUnlock()
		_, st, _, ok := s.tree.Get(r.Path)
		if r.Watch && validatePath(r.Path) {
			s.wmu.Lock()
			s.watches.AddData(r.Path, c)
			s.wmu.Unlock()
		}
		if !ok {
			return s.tree.lastZxid, CodeNoNode, nil
		}
		return s.tree.lastZxid, CodeOK, &proto.StatResponse{Stat: proto.Stat(st)}
	}
	readHandlers[OpGetData] = func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
		r := rec.(*proto.PathWatchRequest)
		s := c.s
		s.mu.RLock()
		defer s.mu.RUnlock()
		data, st, code := c.getDataLocked(r.Path, r.Watch)
		if code != CodeOK {
			return s.tree.lastZxid, code, nil
		}
		return s.tree.lastZxid, CodeOK, &proto.GetDataResponse{Data: data, Stat: proto.Stat(st)}
	}
	readHandlers[OpSync] = func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
		// Standalone: every earlier write of this connection is applied
		// by the time this runs in FIFO turn, and there is no leader to
		// catch up with.
		return c.curZxid(), CodeOK, &proto.PathRequest{Path: rec.(*proto.PathRequest).Path}
	}
}

// getDataLocked reads a node for getData (and multiRead); s.mu must be
// held for reading.
func (c *conn) getDataLocked(p string, watch bool) ([]byte, Stat, Code) {
	s := c.s
	data, st, acl, ok := s.tree.Get(p)
	if !ok {
		return nil, Stat{}, CodeNoNode
	}
	if !checkACL(acl, PermRead, c.auth.Load()) {
		return nil, Stat{}, CodeNoAuth
	}
	if watch {
		s.wmu.Lock()
		s.watches.AddData(p, c)
		s.wmu.Unlock()
	}
	return data, st, CodeOK
}
