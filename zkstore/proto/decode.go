package proto

import "fmt"

// NewRequestRecord returns an empty request body for op, ready to Decode,
// or nil for an opcode clients may not send. Opcodes without a body (ping,
// closeSession, whoAmI) give *Empty.
//
//	create, create2, createContainer   *CreateRequest
//	createTTL                          *CreateTTLRequest
//	delete                             *DeleteRequest
//	exists, getData, getChildren,
//	getChildren2                       *PathWatchRequest
//	setData                            *SetDataRequest
//	getACL, sync, getEphemerals,
//	getAllChildrenNumber               *PathRequest
//	setACL                             *SetACLRequest
//	check                              *CheckVersionRequest
//	multi, multiRead                   *MultiRequest
//	reconfig                           *ReconfigRequest
//	checkWatches, removeWatches        *WatchTypeRequest
//	auth                               *AuthPacket
//	setWatches                         *SetWatches
//	setWatches2                        *SetWatches2
//	sasl                               *SASLRequest
//	addWatch                           *AddWatchRequest
//	ping, closeSession, whoAmI         *Empty
func NewRequestRecord(op OpCode) Record {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer:
		return new(CreateRequest)
	case OpCreateTTL:
		return new(CreateTTLRequest)
	case OpDelete:
		return new(DeleteRequest)
	case OpExists, OpGetData, OpGetChildren, OpGetChildren2:
		return new(PathWatchRequest)
	case OpSetData:
		return new(SetDataRequest)
	case OpGetACL, OpSync, OpGetEphemerals, OpGetAllChildrenNumber:
		return new(PathRequest)
	case OpSetACL:
		return new(SetACLRequest)
	case OpCheck:
		return new(CheckVersionRequest)
	case OpMulti, OpMultiRead:
		return new(MultiRequest)
	case OpReconfig:
		return new(ReconfigRequest)
	case OpCheckWatches, OpRemoveWatches:
		return new(WatchTypeRequest)
	case OpAuth:
		return new(AuthPacket)
	case OpSetWatches:
		return new(SetWatches)
	case OpSetWatches2:
		return new(SetWatches2)
	case OpSASL:
		return new(SASLRequest)
	case OpAddWatch:
		return new(AddWatchRequest)
	case OpPing, OpCloseSession, OpWhoAmI:
		return new(Empty)
	}
	return nil
}

// DecodeRequest decodes the body of a request (the bytes after the
// RequestHeader) for opcode op and returns the typed record listed at
// NewRequestRecord. Unknown opcodes give ErrUnknownOp (the server answers
// Unimplemented and closes); malformed bodies give an error wrapping
// ErrShort, ErrBadLength or ErrBadMulti (ZooKeeper closes the connection).
// Trailing bytes are ignored, as ZooKeeper ignores them. For multiRead
// only getChildren and getData sub-ops are accepted, for multi only
// writes and check.
func DecodeRequest(op OpCode, body []byte) (Record, error) {
	return DecodeRequestMax(op, body, DefaultMaxBuffer)
}

// DecodeRequestMax is DecodeRequest with a jute.maxbuffer other than the
// default bounding buffer and string lengths.
func DecodeRequestMax(op OpCode, body []byte, maxBuffer int) (Record, error) {
	rec := NewRequestRecord(op)
	if rec == nil {
		return nil, fmt.Errorf("%w: %d", ErrUnknownOp, int32(op))
	}
	d := NewDecoder(body)
	if maxBuffer > 0 {
		d.MaxBuffer = maxBuffer
	}
	rec.Decode(d)
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("proto: decode %s request: %w", op, err)
	}
	if m, ok := rec.(*MultiRequest); ok {
		for i, sub := range m.Ops {
			read := sub.Type == OpGetChildren || sub.Type == OpGetData
			if read != (op == OpMultiRead) {
				return nil, fmt.Errorf("proto: decode %s request: %w: op %d is %s", op, ErrBadMulti, i, sub.Type)
			}
		}
	}
	return rec, nil
}

// NewResponseRecord returns an empty reply body for op, for clients, or
// nil when a successful reply has no body (delete, setWatches, auth,
// ping, closeSession, checkWatches, removeWatches).
func NewResponseRecord(op OpCode) Record {
	switch op {
	case OpCreate:
		return new(CreateResponse)
	case OpCreate2, OpCreateContainer, OpCreateTTL:
		return new(Create2Response)
	case OpExists, OpSetData, OpSetACL, OpCheck:
		return new(StatResponse)
	case OpGetData, OpReconfig:
		return new(GetDataResponse)
	case OpGetACL:
		return new(GetACLResponse)
	case OpGetChildren:
		return new(GetChildrenResponse)
	case OpGetChildren2:
		return new(GetChildren2Response)
	case OpSync:
		return new(PathRequest)
	case OpMulti, OpMultiRead:
		return new(MultiResponse)
	case OpGetEphemerals:
		return new(GetEphemeralsResponse)
	case OpGetAllChildrenNumber:
		return new(GetAllChildrenNumberResponse)
	case OpAddWatch:
		return new(ErrorResponse)
	case OpWhoAmI:
		return new(WhoAmIResponse)
	case OpSASL:
		return new(SASLRequest)
	}
	return nil
}
