package zkstore

import (
	"strings"

	"github.com/gregorlog/gregor/zkstore/proto"
)

// getChildren (8), getChildren2 (12), getAllChildrenNumber (104) and
// getEphemerals (103).

func init() {
	children := func(withStat bool) func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
		return func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
			r := rec.(*proto.PathWatchRequest)
			s := c.s
			s.mu.RLock()
			defer s.mu.RUnlock()
			kids, st, code := c.getChildrenLocked(r.Path, r.Watch)
			if code != CodeOK {
				return s.tree.lastZxid, code, nil
			}
			if withStat {
				return s.tree.lastZxid, CodeOK, &proto.GetChildren2Response{Children: kids, Stat: proto.Stat(st)}
			}
			return s.tree.lastZxid, CodeOK, &proto.GetChildrenResponse{Children: kids}
		}
	}
	readHandlers[OpGetChildren] = children(false)
	readHandlers[OpGetChildren2] = children(true)
	readHandlers[OpGetAllChildren] = func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
		p := rec.(*proto.PathRequest).Path
		s := c.s
		s.mu.RLock()
		defer s.mu.RUnlock()
		_, _, acl, ok := s.tree.Get(p)
		if !ok {
			return s.tree.lastZxid, CodeNoNode, nil
		}
		if !checkACL(acl, PermRead, c.auth.Load()) {
			return s.tree.lastZxid, CodeNoAuth, nil
		}
		n, _ := s.tree.CountDescendants(p)
		return s.tree.lastZxid, CodeOK, &proto.GetAllChildrenNumberResponse{TotalNumber: int32(n)}
	}
	readHandlers[OpGetEphemerals] = func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
		prefix := rec.(*proto.PathRequest).Path
		s := c.s
		s.mu.RLock()
		defer s.mu.RUnlock()
		all := s.tree.Ephemerals(c.SessionID())
		out := make([]string, 0, len(all))
		for _, p := range all {
			if prefix == "" || prefix == "/" || strings.HasPrefix(p, prefix) {
				out = append(out, p)
			}
		}
		return s.tree.lastZxid, CodeOK, &proto.GetEphemeralsResponse{Ephemerals: out}
	}
}

// getChildrenLocked reads a node's children; s.mu must be held for reading.
func (c *conn) getChildrenLocked(p string, watch bool) ([]string, Stat, Code) {
	s := c.s
	n := s.tree.nodes[p]
	if n == nil {
		return nil, Stat{}, CodeNoNode
	}
	if !checkACL(n.acl, PermRead, c.auth.Load()) {
		return nil, Stat{}, CodeNoAuth
	}
	kids, st, _ := s.tree.Children(p)
	if watch {
		s.wmu.Lock()
		s.watches.AddChild(p, c)
		s.wmu.Unlock()
	}
	return kids, st, CodeOK
}
