package zkstore

import "github.com/gregorlog/gregor/zkstore/proto"

// create (1), create2 (15), createContainer (19) and createTTL (21): all
// become a CreateTxn; preparation (prep.go) checks them in ZooKeeper's
// order and picks the sequential suffix from the parent's cversion.

func init() {
	mk := func(op int32) func(proto.Record) ([]WriteOp, bool, Code) {
		return func(rec proto.Record) ([]WriteOp, bool, Code) {
			return []WriteOp{createOp(op, rec)}, false, CodeOK
		}
	}
	for _, op := range []int32{OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL} {
		writeHandlers[op] = mk(op)
	}
}

func createOp(op int32, rec proto.Record) WriteOp {
	switch r := rec.(type) {
	case *proto.CreateRequest:
		return WriteOp{Type: op, Create: &CreateRequest{Path: r.Path, Data: r.Data, ACL: fromProtoACL(r.ACL), Flags: int32(r.Flags)}}
	case *proto.CreateTTLRequest:
		return WriteOp{Type: op, Create: &CreateRequest{Path: r.Path, Data: r.Data, ACL: fromProtoACL(r.ACL), Flags: int32(r.Flags), TTL: r.TTL}}
	}
	return WriteOp{Type: -999}
}
