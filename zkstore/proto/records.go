package proto

// This file holds the records every message uses: headers, the connect
// handshake, Id/ACL/Stat, WatcherEvent, AuthPacket, ErrorResponse.

// Id is an ACL identity {scheme, id}, e.g. {"world", "anyone"}.
type Id struct {
	Scheme string
	ID     string
}

func (r *Id) Encode(e *Encoder) { e.String(r.Scheme); e.String(r.ID) }
func (r *Id) Decode(d *Decoder) { r.Scheme = d.String(); r.ID = d.String() }

// ACL is one access-control entry.
type ACL struct {
	Perms int32
	ID    Id
}

func (r *ACL) Encode(e *Encoder) { e.Int(r.Perms); r.ID.Encode(e) }
func (r *ACL) Decode(d *Decoder) { r.Perms = d.Int(); r.ID.Decode(d) }

// WorldAnyone is the ACL OPEN_ACL_UNSAFE: all perms to world:anyone.
func WorldAnyone() []ACL { return []ACL{{Perms: PermAll, ID: Id{Scheme: "world", ID: "anyone"}}} }

// aclMinSize is the smallest encoded ACL: perms + two empty strings.
const aclMinSize = 12

func encodeACLs(e *Encoder, v []ACL) {
	if v == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(v)))
	for i := range v {
		v[i].Encode(e)
	}
}

func decodeACLs(d *Decoder) []ACL {
	n, null := d.VectorLen(aclMinSize)
	if null || d.err != nil {
		return nil
	}
	out := make([]ACL, n)
	for i := range out {
		out[i].Decode(d)
	}
	if d.err != nil {
		return nil
	}
	return out
}

// StatSize is the encoded size of a Stat. Wire format.
const StatSize = 68

// Stat is a znode's metadata, 68 bytes on the wire in this field order.
type Stat struct {
	Czxid          int64 // zxid of the create
	Mzxid          int64 // zxid of the last setData (or create)
	Ctime          int64 // ms since epoch
	Mtime          int64 // ms since epoch
	Version        int32 // data version
	Cversion       int32 // children version
	Aversion       int32 // ACL version
	EphemeralOwner int64 // session id, ContainerOwner, TTLOwnerMask|ttl, or 0
	DataLength     int32
	NumChildren    int32
	Pzxid          int64 // zxid of the last child create/delete
}

func (r *Stat) Encode(e *Encoder) {
	e.Long(r.Czxid)
	e.Long(r.Mzxid)
	e.Long(r.Ctime)
	e.Long(r.Mtime)
	e.Int(r.Version)
	e.Int(r.Cversion)
	e.Int(r.Aversion)
	e.Long(r.EphemeralOwner)
	e.Int(r.DataLength)
	e.Int(r.NumChildren)
	e.Long(r.Pzxid)
}

func (r *Stat) Decode(d *Decoder) {
	r.Czxid = d.Long()
	r.Mzxid = d.Long()
	r.Ctime = d.Long()
	r.Mtime = d.Long()
	r.Version = d.Int()
	r.Cversion = d.Int()
	r.Aversion = d.Int()
	r.EphemeralOwner = d.Long()
	r.DataLength = d.Int()
	r.NumChildren = d.Int()
	r.Pzxid = d.Long()
}

// RequestHeader precedes every request body after the handshake.
type RequestHeader struct {
	Xid  int32
	Type OpCode
}

// RequestHeaderSize is the encoded size of a RequestHeader.
const RequestHeaderSize = 8

func (r *RequestHeader) Encode(e *Encoder) { e.Int(r.Xid); e.Int(int32(r.Type)) }
func (r *RequestHeader) Decode(d *Decoder) { r.Xid = d.Int(); r.Type = OpCode(d.Int()) }

// ReplyHeader precedes every reply and notification. A body follows only
// when Err is 0.
type ReplyHeader struct {
	Xid  int32
	Zxid int64
	Err  ErrCode
}

// ReplyHeaderSize is the encoded size of a ReplyHeader.
const ReplyHeaderSize = 16

func (r *ReplyHeader) Encode(e *Encoder) { e.Int(r.Xid); e.Long(r.Zxid); e.Int(int32(r.Err)) }
func (r *ReplyHeader) Decode(d *Decoder) {
	r.Xid = d.Int()
	r.Zxid = d.Long()
	r.Err = ErrCode(d.Int())
}

// ConnectRequest is the first frame a client sends (no RequestHeader).
// The trailing readOnly byte is not part of the jute record: Java and kazoo
// send it (45 bytes with a 16-byte password), go-zookeeper does not (44).
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    int64
	TimeOut         int32 // requested session timeout, ms
	SessionID       int64 // 0 = new session
	Passwd          []byte
	ReadOnly        bool
	// HasReadOnly records whether the readOnly byte was present; the
	// ConnectResponse carries it back only then.
	HasReadOnly bool
}

func (r *ConnectRequest) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Long(r.LastZxidSeen)
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

func (r *ConnectRequest) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.LastZxidSeen = d.Long()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	r.HasReadOnly = d.err == nil && d.Remaining() > 0
	if r.HasReadOnly {
		r.ReadOnly = d.Bool()
	}
}

// ConnectResponse answers a ConnectRequest. An invalid or expired session
// is {TimeOut: 0, SessionID: 0, Passwd: 16 zero bytes}.
type ConnectResponse struct {
	ProtocolVersion int32
	TimeOut         int32 // negotiated, ms
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	// HasReadOnly must equal the request's HasReadOnly.
	HasReadOnly bool
}

func (r *ConnectResponse) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if r.HasReadOnly {
		e.Bool(r.ReadOnly)
	}
}

func (r *ConnectResponse) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	r.HasReadOnly = d.err == nil && d.Remaining() > 0
	if r.HasReadOnly {
		r.ReadOnly = d.Bool()
	}
}

// DecodeConnectRequest decodes a handshake frame body.
func DecodeConnectRequest(body []byte) (*ConnectRequest, error) {
	r := new(ConnectRequest)
	if err := Unmarshal(body, r); err != nil {
		return nil, err
	}
	return r, nil
}

// WatcherEvent is the body of a notification (xid -1, zxid -1).
type WatcherEvent struct {
	Type  EventType
	State KeeperState
	Path  string
}

func (r *WatcherEvent) Encode(e *Encoder) {
	e.Int(int32(r.Type))
	e.Int(int32(r.State))
	e.String(r.Path)
}
func (r *WatcherEvent) Decode(d *Decoder) {
	r.Type = EventType(d.Int())
	r.State = KeeperState(d.Int())
	r.Path = d.String()
}

// AuthPacket is the body of an auth request (op 100, xid -4 from Java and
// kazoo, an ordinary xid from go-zookeeper).
type AuthPacket struct {
	Type   int32 // always 0
	Scheme string
	Auth   []byte
}

func (r *AuthPacket) Encode(e *Encoder) { e.Int(r.Type); e.String(r.Scheme); e.Buffer(r.Auth) }
func (r *AuthPacket) Decode(d *Decoder) { r.Type = d.Int(); r.Scheme = d.String(); r.Auth = d.Buffer() }

// ErrorResponse is {int err}: the addWatch reply body and the multi
// ErrorResult.
type ErrorResponse struct {
	Err ErrCode
}

func (r *ErrorResponse) Encode(e *Encoder) { e.Int(int32(r.Err)) }
func (r *ErrorResponse) Decode(d *Decoder) { r.Err = ErrCode(d.Int()) }

// Empty is a record with no fields: the body of ping, closeSession,
// whoAmI requests and of delete, setWatches, checkWatches and
// removeWatches replies.
type Empty struct{}

func (*Empty) Encode(*Encoder) {}
func (*Empty) Decode(*Decoder) {}

// AppendReply appends one framed reply: the ReplyHeader and, when hdr.Err
// is 0 and body is not nil, the body.
func AppendReply(b []byte, hdr ReplyHeader, body Record) []byte {
	e := Encoder{B: b}
	mark := e.BeginFrame()
	hdr.Encode(&e)
	if hdr.Err == ErrOK && body != nil {
		body.Encode(&e)
	}
	e.EndFrame(mark)
	return e.B
}

// AppendNotification appends one framed watch event (xid -1, zxid -1).
func AppendNotification(b []byte, ev WatcherEvent) []byte {
	return AppendReply(b, ReplyHeader{Xid: XidNotification, Zxid: -1}, &ev)
}

// AppendRequest appends one framed request: the header then body (nil for
// none). Used by clients and tests.
func AppendRequest(b []byte, hdr RequestHeader, body Record) []byte {
	e := Encoder{B: b}
	mark := e.BeginFrame()
	hdr.Encode(&e)
	if body != nil {
		body.Encode(&e)
	}
	e.EndFrame(mark)
	return e.B
}

// AppendFramed appends r framed by its length (the handshake messages).
func AppendFramed(b []byte, r Record) []byte {
	e := Encoder{B: b}
	mark := e.BeginFrame()
	r.Encode(&e)
	e.EndFrame(mark)
	return e.B
}
