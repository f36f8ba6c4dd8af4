package proto

import "fmt"

// MultiHeader precedes every op of a multi request and every result of a
// multi response; {Type: -1, Done: true, Err: -1} ends the list.
type MultiHeader struct {
	Type OpCode
	Done bool
	Err  ErrCode
}

// MultiHeaderSize is the encoded size of a MultiHeader.
const MultiHeaderSize = 9

func (r *MultiHeader) Encode(e *Encoder) { e.Int(int32(r.Type)); e.Bool(r.Done); e.Int(int32(r.Err)) }
func (r *MultiHeader) Decode(d *Decoder) {
	r.Type = OpCode(d.Int())
	r.Done = d.Bool()
	r.Err = ErrCode(d.Int())
}

var multiEnd = MultiHeader{Type: -1, Done: true, Err: -1}

// MultiOp is one sub-operation of a multi (14) or multiRead (22).
//
// Req by Type: create, create2, createContainer → *CreateRequest;
// createTTL → *CreateTTLRequest; delete → *DeleteRequest; setData →
// *SetDataRequest; check → *CheckVersionRequest; getChildren, getData →
// *PathWatchRequest (multiRead only).
type MultiOp struct {
	Type OpCode
	Req  Record
}

// MultiRequest is MultiOperationRecord, the body of multi and multiRead.
type MultiRequest struct {
	Ops []MultiOp
}

func (r *MultiRequest) Encode(e *Encoder) {
	for _, op := range r.Ops {
		h := MultiHeader{Type: op.Type, Done: false, Err: -1}
		h.Encode(e)
		op.Req.Encode(e)
	}
	end := multiEnd
	end.Encode(e)
}

// NewMultiOpRecord returns an empty request record for a multi sub-op type,
// or nil if the type may not appear in a multi.
func NewMultiOpRecord(t OpCode) Record {
	switch t {
	case OpCreate, OpCreate2, OpCreateContainer:
		return new(CreateRequest)
	case OpCreateTTL:
		return new(CreateTTLRequest)
	case OpDelete:
		return new(DeleteRequest)
	case OpSetData:
		return new(SetDataRequest)
	case OpCheck:
		return new(CheckVersionRequest)
	case OpGetChildren, OpGetData:
		return new(PathWatchRequest)
	}
	return nil
}

func (r *MultiRequest) Decode(d *Decoder) {
	r.Ops = r.Ops[:0]
	// Each op consumes at least MultiHeaderSize bytes, so the loop is
	// bounded by the input length.
	for d.err == nil {
		var h MultiHeader
		h.Decode(d)
		if d.err != nil || h.Done {
			return
		}
		rec := NewMultiOpRecord(h.Type)
		if rec == nil {
			d.Fail(fmt.Errorf("%w: op type %d", ErrBadMulti, int32(h.Type)))
			return
		}
		rec.Decode(d)
		r.Ops = append(r.Ops, MultiOp{Type: h.Type, Req: rec})
	}
}

// MultiResult is one per-op result of a multi response (OpResult).
//
// Type selects the record written after the header: create →
// CreateResponse{Path}; create2 (also used for container and TTL creates)
// → Create2Response{Path, Stat}; setData → SetDataResponse{Stat}; delete
// and check → nothing; getChildren → GetChildrenResponse{Children};
// getData → GetDataResponse{Data, Stat}; error (-1) → ErrorResponse{Err}.
// For a failed multi every result is an error: 0 before the failing op,
// its code, then RuntimeInconsistency (-2) after.
type MultiResult struct {
	Type     OpCode
	Err      ErrCode // only for Type == OpError
	Path     string
	Stat     Stat
	Data     []byte
	Children []string
}

// MultiResponse is the reply body of multi and multiRead.
type MultiResponse struct {
	Results []MultiResult
}

func (r *MultiResponse) Encode(e *Encoder) {
	for i := range r.Results {
		res := &r.Results[i]
		h := MultiHeader{Type: res.Type}
		if res.Type == OpError {
			h.Err = res.Err
		}
		h.Encode(e)
		switch res.Type {
		case OpCreate:
			e.String(res.Path)
		case OpCreate2, OpCreateContainer, OpCreateTTL:
			e.String(res.Path)
			res.Stat.Encode(e)
		case OpSetData:
			res.Stat.Encode(e)
		case OpGetChildren:
			e.Strings(res.Children)
		case OpGetData:
			e.Buffer(res.Data)
			res.Stat.Encode(e)
		case OpError:
			e.Int(int32(res.Err))
		}
	}
	end := multiEnd
	end.Encode(e)
}

func (r *MultiResponse) Decode(d *Decoder) {
	r.Results = r.Results[:0]
	for d.err == nil {
		var h MultiHeader
		h.Decode(d)
		if d.err != nil || h.Done {
			return
		}
		res := MultiResult{Type: h.Type}
		switch h.Type {
		case OpCreate:
			res.Path = d.String()
		case OpCreate2, OpCreateContainer, OpCreateTTL:
			res.Path = d.String()
			res.Stat.Decode(d)
		case OpSetData:
			res.Stat.Decode(d)
		case OpDelete, OpCheck:
		case OpGetChildren:
			res.Children = d.Strings()
		case OpGetData:
			res.Data = d.Buffer()
			res.Stat.Decode(d)
		case OpError:
			res.Err = ErrCode(d.Int())
		default:
			d.Fail(fmt.Errorf("%w: result type %d", ErrBadMulti, int32(h.Type)))
			return
		}
		r.Results = append(r.Results, res)
	}
}

// FailedMultiResults builds the results of a multi whose op at index
// failed (0 <= failed < n) with code: ErrorResults of 0 before it, code at
// it, RuntimeInconsistency after (PrepRequestProcessor/DataTree).
func FailedMultiResults(n, failed int, code ErrCode) []MultiResult {
	out := make([]MultiResult, n)
	for i := range out {
		out[i].Type = OpError
		switch {
		case i < failed:
			out[i].Err = ErrOK
		case i == failed:
			out[i].Err = code
		default:
			out[i].Err = ErrRuntimeInconsistency
		}
	}
	return out
}
