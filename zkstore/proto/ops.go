package proto

// Request and response bodies, one pair per opcode family, in jute field
// order (zookeeper.jute, org.apache.zookeeper.proto).

// CreateRequest is the body of create (1), create2 (15) and
// createContainer (19, flags 4).
type CreateRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags CreateMode
}

func (r *CreateRequest) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	encodeACLs(e, r.ACL)
	e.Int(int32(r.Flags))
}

func (r *CreateRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = decodeACLs(d)
	r.Flags = CreateMode(d.Int())
}

// CreateTTLRequest is the body of createTTL (21).
type CreateTTLRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags CreateMode
	TTL   int64 // ms
}

func (r *CreateTTLRequest) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	encodeACLs(e, r.ACL)
	e.Int(int32(r.Flags))
	e.Long(r.TTL)
}

func (r *CreateTTLRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = decodeACLs(d)
	r.Flags = CreateMode(d.Int())
	r.TTL = d.Long()
}

// CreateResponse is the reply body of create (1).
type CreateResponse struct{ Path string }

func (r *CreateResponse) Encode(e *Encoder) { e.String(r.Path) }
func (r *CreateResponse) Decode(d *Decoder) { r.Path = d.String() }

// Create2Response is the reply body of create2, createContainer, createTTL.
type Create2Response struct {
	Path string
	Stat Stat
}

func (r *Create2Response) Encode(e *Encoder) { e.String(r.Path); r.Stat.Encode(e) }
func (r *Create2Response) Decode(d *Decoder) { r.Path = d.String(); r.Stat.Decode(d) }

// DeleteRequest is the body of delete (2); Version -1 matches any.
type DeleteRequest struct {
	Path    string
	Version int32
}

func (r *DeleteRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }
func (r *DeleteRequest) Decode(d *Decoder) { r.Path = d.String(); r.Version = d.Int() }

// PathWatchRequest is {ustring path; boolean watch}: the body of exists
// (ExistsRequest), getData (GetDataRequest), getChildren and getChildren2.
type PathWatchRequest struct {
	Path  string
	Watch bool
}

func (r *PathWatchRequest) Encode(e *Encoder) { e.String(r.Path); e.Bool(r.Watch) }
func (r *PathWatchRequest) Decode(d *Decoder) { r.Path = d.String(); r.Watch = d.Bool() }

// The jute names of the {path, watch} requests.
type (
	ExistsRequest       = PathWatchRequest
	GetDataRequest      = PathWatchRequest
	GetChildrenRequest  = PathWatchRequest
	GetChildren2Request = PathWatchRequest
)

// StatResponse is {Stat stat}: ExistsResponse, SetDataResponse,
// SetACLResponse (and check's SetDataResponse inside multi).
type StatResponse struct{ Stat Stat }

func (r *StatResponse) Encode(e *Encoder) { r.Stat.Encode(e) }
func (r *StatResponse) Decode(d *Decoder) { r.Stat.Decode(d) }

// The jute names of the {stat} responses.
type (
	ExistsResponse  = StatResponse
	SetDataResponse = StatResponse
	SetACLResponse  = StatResponse
)

// GetDataResponse is the reply body of getData (4).
type GetDataResponse struct {
	Data []byte
	Stat Stat
}

func (r *GetDataResponse) Encode(e *Encoder) { e.Buffer(r.Data); r.Stat.Encode(e) }
func (r *GetDataResponse) Decode(d *Decoder) { r.Data = d.Buffer(); r.Stat.Decode(d) }

// SetDataRequest is the body of setData (5); Version -1 matches any.
type SetDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

func (r *SetDataRequest) Encode(e *Encoder) { e.String(r.Path); e.Buffer(r.Data); e.Int(r.Version) }
func (r *SetDataRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.Version = d.Int()
}

// PathRequest is {ustring path}: GetACLRequest, SyncRequest,
// SyncResponse, GetEphemeralsRequest (prefixPath),
// GetAllChildrenNumberRequest.
type PathRequest struct{ Path string }

func (r *PathRequest) Encode(e *Encoder) { e.String(r.Path) }
func (r *PathRequest) Decode(d *Decoder) { r.Path = d.String() }

// The jute names of the {path} records.
type (
	GetACLRequest               = PathRequest
	SyncRequest                 = PathRequest
	SyncResponse                = PathRequest
	GetEphemeralsRequest        = PathRequest
	GetAllChildrenNumberRequest = PathRequest
)

// GetACLResponse is the reply body of getACL (6).
type GetACLResponse struct {
	ACL  []ACL
	Stat Stat
}

func (r *GetACLResponse) Encode(e *Encoder) { encodeACLs(e, r.ACL); r.Stat.Encode(e) }
func (r *GetACLResponse) Decode(d *Decoder) { r.ACL = decodeACLs(d); r.Stat.Decode(d) }

// SetACLRequest is the body of setACL (7); Version is checked against
// aversion (-1 any).
type SetACLRequest struct {
	Path    string
	ACL     []ACL
	Version int32
}

func (r *SetACLRequest) Encode(e *Encoder) { e.String(r.Path); encodeACLs(e, r.ACL); e.Int(r.Version) }
func (r *SetACLRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.ACL = decodeACLs(d)
	r.Version = d.Int()
}

// GetChildrenResponse is the reply body of getChildren (8).
type GetChildrenResponse struct{ Children []string }

func (r *GetChildrenResponse) Encode(e *Encoder) { e.Strings(r.Children) }
func (r *GetChildrenResponse) Decode(d *Decoder) { r.Children = d.Strings() }

// GetChildren2Response is the reply body of getChildren2 (12).
type GetChildren2Response struct {
	Children []string
	Stat     Stat
}

func (r *GetChildren2Response) Encode(e *Encoder) { e.Strings(r.Children); r.Stat.Encode(e) }
func (r *GetChildren2Response) Decode(d *Decoder) { r.Children = d.Strings(); r.Stat.Decode(d) }

// CheckVersionRequest is the body of check (13), used inside multi.
type CheckVersionRequest struct {
	Path    string
	Version int32
}

func (r *CheckVersionRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }
func (r *CheckVersionRequest) Decode(d *Decoder) { r.Path = d.String(); r.Version = d.Int() }

// SetWatches is the body of setWatches (101): re-registers watches after a
// reconnect, relative to the last zxid the client saw.
type SetWatches struct {
	RelativeZxid int64
	DataWatches  []string
	ExistWatches []string
	ChildWatches []string
}

func (r *SetWatches) Encode(e *Encoder) {
	e.Long(r.RelativeZxid)
	e.Strings(r.DataWatches)
	e.Strings(r.ExistWatches)
	e.Strings(r.ChildWatches)
}

func (r *SetWatches) Decode(d *Decoder) {
	r.RelativeZxid = d.Long()
	r.DataWatches = d.Strings()
	r.ExistWatches = d.Strings()
	r.ChildWatches = d.Strings()
}

// SetWatches2 is the body of setWatches2 (105): SetWatches plus persistent
// and persistent-recursive watches.
type SetWatches2 struct {
	RelativeZxid               int64
	DataWatches                []string
	ExistWatches               []string
	ChildWatches               []string
	PersistentWatches          []string
	PersistentRecursiveWatches []string
}

func (r *SetWatches2) Encode(e *Encoder) {
	e.Long(r.RelativeZxid)
	e.Strings(r.DataWatches)
	e.Strings(r.ExistWatches)
	e.Strings(r.ChildWatches)
	e.Strings(r.PersistentWatches)
	e.Strings(r.PersistentRecursiveWatches)
}

func (r *SetWatches2) Decode(d *Decoder) {
	r.RelativeZxid = d.Long()
	r.DataWatches = d.Strings()
	r.ExistWatches = d.Strings()
	r.ChildWatches = d.Strings()
	r.PersistentWatches = d.Strings()
	r.PersistentRecursiveWatches = d.Strings()
}

// AddWatchRequest is the body of addWatch (106); Mode is
// AddWatchPersistent or AddWatchPersistentRecursive. The reply body is
// ErrorResponse{0}.
type AddWatchRequest struct {
	Path string
	Mode int32
}

func (r *AddWatchRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Mode) }
func (r *AddWatchRequest) Decode(d *Decoder) { r.Path = d.String(); r.Mode = d.Int() }

// WatchTypeRequest is {ustring path; int type}: CheckWatchesRequest (17)
// and RemoveWatchesRequest (18). Type is a WatcherType*.
type WatchTypeRequest struct {
	Path string
	Type int32
}

func (r *WatchTypeRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Type) }
func (r *WatchTypeRequest) Decode(d *Decoder) { r.Path = d.String(); r.Type = d.Int() }

// The jute names of the {path, type} requests.
type (
	CheckWatchesRequest  = WatchTypeRequest
	RemoveWatchesRequest = WatchTypeRequest
)

// GetEphemeralsResponse is the reply body of getEphemerals (103).
type GetEphemeralsResponse struct{ Ephemerals []string }

func (r *GetEphemeralsResponse) Encode(e *Encoder) { e.Strings(r.Ephemerals) }
func (r *GetEphemeralsResponse) Decode(d *Decoder) { r.Ephemerals = d.Strings() }

// GetAllChildrenNumberResponse is the reply body of getAllChildrenNumber.
type GetAllChildrenNumberResponse struct{ TotalNumber int32 }

func (r *GetAllChildrenNumberResponse) Encode(e *Encoder) { e.Int(r.TotalNumber) }
func (r *GetAllChildrenNumberResponse) Decode(d *Decoder) { r.TotalNumber = d.Int() }

// ClientInfo is one identity in WhoAmIResponse.
type ClientInfo struct {
	AuthScheme string
	User       string
}

// WhoAmIResponse is the reply body of whoAmI (107).
type WhoAmIResponse struct{ ClientInfo []ClientInfo }

func (r *WhoAmIResponse) Encode(e *Encoder) {
	if r.ClientInfo == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(r.ClientInfo)))
	for _, c := range r.ClientInfo {
		e.String(c.AuthScheme)
		e.String(c.User)
	}
}

func (r *WhoAmIResponse) Decode(d *Decoder) {
	n, null := d.VectorLen(8)
	if null || d.err != nil {
		r.ClientInfo = nil
		return
	}
	r.ClientInfo = make([]ClientInfo, n)
	for i := range r.ClientInfo {
		r.ClientInfo[i].AuthScheme = d.String()
		r.ClientInfo[i].User = d.String()
	}
	if d.err != nil {
		r.ClientInfo = nil
	}
}

// ReconfigRequest is the body of reconfig (16). The reply is a
// GetDataResponse with the new config.
type ReconfigRequest struct {
	JoiningServers string
	LeavingServers string
	NewMembers     string
	CurConfigID    int64
}

func (r *ReconfigRequest) Encode(e *Encoder) {
	e.String(r.JoiningServers)
	e.String(r.LeavingServers)
	e.String(r.NewMembers)
	e.Long(r.CurConfigID)
}

func (r *ReconfigRequest) Decode(d *Decoder) {
	r.JoiningServers = d.String()
	r.LeavingServers = d.String()
	r.NewMembers = d.String()
	r.CurConfigID = d.Long()
}

// SASLRequest is {buffer token}: GetSASLRequest (102) and SetSASLResponse.
type SASLRequest struct{ Token []byte }

func (r *SASLRequest) Encode(e *Encoder) { e.Buffer(r.Token) }
func (r *SASLRequest) Decode(d *Decoder) { r.Token = d.Buffer() }
