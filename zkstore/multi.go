package zkstore

import "github.com/gregorlog/gregor/zkstore/proto"

// multi (14): all sub-ops are prepared against the tree plus the changes
// of the earlier sub-ops and applied under one zxid, or none is. The reply
// header's err is always 0; a failed multi answers per-op ErrorResults
// (0 before the failing op, its code, -2 after), as ZooKeeper does.
//
// multiRead (22): getData/getChildren sub-ops served in turn, not atomic,
// each with its own result or error.

func init() {
	writeHandlers[OpMulti] = func(rec proto.Record) ([]WriteOp, bool, Code) {
		r := rec.(*proto.MultiRequest)
		ops := make([]WriteOp, 0, len(r.Ops))
		for _, sub := range r.Ops {
			t := int32(sub.Type)
			switch q := sub.Req.(type) {
			case *proto.CreateRequest, *proto.CreateTTLRequest:
				ops = append(ops, createOp(t, q))
			case *proto.DeleteRequest:
				ops = append(ops, WriteOp{Type: t, Path: q.Path, Version: q.Version})
			case *proto.SetDataRequest:
				ops = append(ops, WriteOp{Type: t, Path: q.Path, Data: q.Data, Version: q.Version})
			case *proto.CheckVersionRequest:
				ops = append(ops, WriteOp{Type: t, Path: q.Path, Version: q.Version})
			default:
				return nil, false, CodeBadArguments
			}
		}
		return ops, true, CodeOK
	}
	readHandlers[OpMultiRead] = func(c *conn, rec proto.Record) (int64, Code, proto.Record) {
		r := rec.(*proto.MultiRequest)
		s := c.s
		s.mu.RLock()
		defer s.mu.RUnlock()
		out := make([]proto.MultiResult, 0, len(r.Ops))
		for _, sub := range r.Ops {
			q, ok := sub.Req.(*proto.PathWatchRequest)
			if !ok {
				out = append(out, proto.MultiResult{Type: proto.OpError, Err: proto.ErrBadArguments})
				continue
			}
			switch sub.Type {
			case proto.OpGetData:
				data, st, code := c.getDataLocked(q.Path, q.Watch)
				if code != CodeOK {
					out = append(out, proto.MultiResult{Type: proto.OpError, Err: proto.ErrCode(code)})
					continue
				}
				out = append(out, proto.MultiResult{Type: proto.OpGetData, Data: data, Stat: proto.Stat(st)})
			case proto.OpGetChildren:
				kids, _, code := c.getChildrenLocked(q.Path, q.Watch)
				if code != CodeOK {
					out = append(out, proto.MultiResult{Type: proto.OpError, Err: proto.ErrCode(code)})
					continue
				}
				out = append(out, proto.MultiResult{Type: proto.OpGetChildren, Children: kids})
			default:
				out = append(out, proto.MultiResult{Type: proto.OpError, Err: proto.ErrBadArguments})
			}
		}
		return s.tree.lastZxid, CodeOK, &proto.MultiResponse{Results: out}
	}
}

// multiResults converts a multi's per-op results to the wire form.
func multiResults(res *Result) []proto.MultiResult {
	out := make([]proto.MultiResult, len(res.Multi))
	for i, r := range res.Multi {
		if r.Type == OpError || r.Err != CodeOK {
			out[i] = proto.MultiResult{Type: proto.OpError, Err: proto.ErrCode(r.Err)}
			continue
		}
		t := proto.OpCode(r.Type)
		// ZooKeeper answers a create2 inside a multi with a plain
		// CreateResult and container/TTL creates with a Create2 result
		// (FinalRequestProcessor's multi cases).
		switch t {
		case proto.OpCreate2:
			t = proto.OpCreate
		case proto.OpCreateContainer, proto.OpCreateTTL:
			t = proto.OpCreate2
		}
		out[i] = proto.MultiResult{Type: t, Path: r.Path, Stat: proto.Stat(r.Stat)}
	}
	return out
}
