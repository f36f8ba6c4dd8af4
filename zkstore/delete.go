package zkstore

import "github.com/gregorlog/gregor/zkstore/proto"

// delete (2): DELETE permission on the parent, version -1 matches any,
// NotEmpty while children remain, the special paths are BadArguments.

func init() {
	writeHandlers[OpDelete] = func(rec proto.Record) ([]WriteOp, bool, Code) {
		r := rec.(*proto.DeleteRequest)
		return []WriteOp{{Type: OpDelete, Path: r.Path, Version: r.Version}}, false, CodeOK
	}
}
