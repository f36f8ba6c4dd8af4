package proto

import "fmt"

// Txn records (org.apache.zookeeper.txn): what a write becomes once the
// server has validated it, the unit the data tree applies and the
// transaction log persists. Field order is ZooKeeper's.

// TxnHeader precedes every txn record.
type TxnHeader struct {
	ClientID int64 // session id
	Cxid     int32
	Zxid     int64
	Time     int64 // ms since epoch, assigned by the leader
	Type     OpCode
}

// TxnHeaderSize is the encoded size of a TxnHeader.
const TxnHeaderSize = 32

func (r *TxnHeader) Encode(e *Encoder) {
	e.Long(r.ClientID)
	e.Int(r.Cxid)
	e.Long(r.Zxid)
	e.Long(r.Time)
	e.Int(int32(r.Type))
}

func (r *TxnHeader) Decode(d *Decoder) {
	r.ClientID = d.Long()
	r.Cxid = d.Int()
	r.Zxid = d.Long()
	r.Time = d.Long()
	r.Type = OpCode(d.Int())
}

// CreateTxn is the txn of create and create2. Ephemeral nodes belong to
// the header's ClientID.
type CreateTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	Ephemeral      bool
	ParentCVersion int32 // the parent's cversion after this create
}

func (r *CreateTxn) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	encodeACLs(e, r.ACL)
	e.Bool(r.Ephemeral)
	e.Int(r.ParentCVersion)
}

func (r *CreateTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = decodeACLs(d)
	r.Ephemeral = d.Bool()
	r.ParentCVersion = d.Int()
}

// CreateContainerTxn is the txn of createContainer.
type CreateContainerTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	ParentCVersion int32
}

func (r *CreateContainerTxn) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	encodeACLs(e, r.ACL)
	e.Int(r.ParentCVersion)
}

func (r *CreateContainerTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = decodeACLs(d)
	r.ParentCVersion = d.Int()
}

// CreateTTLTxn is the txn of createTTL.
type CreateTTLTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	ParentCVersion int32
	TTL            int64
}

func (r *CreateTTLTxn) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	encodeACLs(e, r.ACL)
	e.Int(r.ParentCVersion)
	e.Long(r.TTL)
}

func (r *CreateTTLTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = decodeACLs(d)
	r.ParentCVersion = d.Int()
	r.TTL = d.Long()
}

// DeleteTxn is the txn of delete and deleteContainer.
type DeleteTxn struct{ Path string }

func (r *DeleteTxn) Encode(e *Encoder) { e.String(r.Path) }
func (r *DeleteTxn) Decode(d *Decoder) { r.Path = d.String() }

// SetDataTxn is the txn of setData; Version is the new version.
type SetDataTxn struct {
	Path    string
	Data    []byte
	Version int32
}

func (r *SetDataTxn) Encode(e *Encoder) { e.String(r.Path); e.Buffer(r.Data); e.Int(r.Version) }
func (r *SetDataTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.Version = d.Int()
}

// CheckVersionTxn is the txn of check inside a multi.
type CheckVersionTxn struct {
	Path    string
	Version int32
}

func (r *CheckVersionTxn) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }
func (r *CheckVersionTxn) Decode(d *Decoder) { r.Path = d.String(); r.Version = d.Int() }

// SetACLTxn is the txn of setACL; Version is the new aversion.
type SetACLTxn struct {
	Path    string
	ACL     []ACL
	Version int32
}

func (r *SetACLTxn) Encode(e *Encoder) { e.String(r.Path); encodeACLs(e, r.ACL); e.Int(r.Version) }
func (r *SetACLTxn) Decode(d *Decoder) {
	r.Path = d.String()
	r.ACL = decodeACLs(d)
	r.Version = d.Int()
}

// CreateSessionTxn is the txn of createSession (-10); the session id is
// the header's ClientID.
type CreateSessionTxn struct{ TimeOut int32 }

func (r *CreateSessionTxn) Encode(e *Encoder) { e.Int(r.TimeOut) }
func (r *CreateSessionTxn) Decode(d *Decoder) { r.TimeOut = d.Int() }

// CloseSessionTxn is the txn of closeSession (-11): the ephemerals to
// delete, so replicas agree on them.
type CloseSessionTxn struct{ Paths2Delete []string }

func (r *CloseSessionTxn) Encode(e *Encoder) { e.Strings(r.Paths2Delete) }
func (r *CloseSessionTxn) Decode(d *Decoder) { r.Paths2Delete = d.Strings() }

// ErrorTxn is the txn of a failed write (type -1): it still consumes a
// zxid.
type ErrorTxn struct{ Err ErrCode }

func (r *ErrorTxn) Encode(e *Encoder) { e.Int(int32(r.Err)) }
func (r *ErrorTxn) Decode(d *Decoder) { r.Err = ErrCode(d.Int()) }

// Txn is one entry of a MultiTxn: a type and the encoded sub-txn.
type Txn struct {
	Type OpCode
	Data []byte
}

func (r *Txn) Encode(e *Encoder) { e.Int(int32(r.Type)); e.Buffer(r.Data) }
func (r *Txn) Decode(d *Decoder) { r.Type = OpCode(d.Int()); r.Data = d.Buffer() }

// Record decodes the entry's sub-txn. Nested multis are refused.
func (r *Txn) Record() (Record, error) {
	if r.Type == OpMulti {
		return nil, fmt.Errorf("%w: nested multi txn", ErrBadMulti)
	}
	return DecodeTxn(r.Type, r.Data)
}

// MultiTxn is the txn of multi: one entry per sub-op, all applied at one
// zxid. A failed multi is a MultiTxn of ErrorTxns.
type MultiTxn struct{ Txns []Txn }

func (r *MultiTxn) Encode(e *Encoder) {
	if r.Txns == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(r.Txns)))
	for i := range r.Txns {
		r.Txns[i].Encode(e)
	}
}

func (r *MultiTxn) Decode(d *Decoder) {
	n, null := d.VectorLen(8)
	if null || d.err != nil {
		r.Txns = nil
		return
	}
	r.Txns = make([]Txn, n)
	for i := range r.Txns {
		r.Txns[i].Decode(d)
	}
	if d.err != nil {
		r.Txns = nil
	}
}

// NewMultiTxn encodes sub-txns into a MultiTxn. types[i] is the type of
// recs[i].
func NewMultiTxn(types []OpCode, recs []Record) *MultiTxn {
	m := &MultiTxn{Txns: make([]Txn, len(recs))}
	for i, rec := range recs {
		m.Txns[i] = Txn{Type: types[i], Data: Marshal(rec)}
	}
	return m
}

// NewTxnRecord returns an empty txn record for a txn type, or nil.
func NewTxnRecord(t OpCode) Record {
	switch t {
	case OpCreate, OpCreate2:
		return new(CreateTxn)
	case OpCreateContainer:
		return new(CreateContainerTxn)
	case OpCreateTTL:
		return new(CreateTTLTxn)
	case OpDelete, OpDeleteContainer:
		return new(DeleteTxn)
	case OpSetData:
		return new(SetDataTxn)
	case OpCheck:
		return new(CheckVersionTxn)
	case OpSetACL:
		return new(SetACLTxn)
	case OpError:
		return new(ErrorTxn)
	case OpMulti:
		return new(MultiTxn)
	case OpCreateSession:
		return new(CreateSessionTxn)
	case OpCloseSession:
		return new(CloseSessionTxn)
	}
	return nil
}

// DecodeTxn decodes a txn body of the given type. For a MultiTxn every
// sub-txn is decoded too (to validate it); use Txn.Record to get them.
func DecodeTxn(t OpCode, body []byte) (Record, error) {
	rec := NewTxnRecord(t)
	if rec == nil {
		return nil, fmt.Errorf("%w: txn type %d", ErrUnknownOp, int32(t))
	}
	if err := Unmarshal(body, rec); err != nil {
		return nil, fmt.Errorf("proto: decode %s txn: %w", t, err)
	}
	if m, ok := rec.(*MultiTxn); ok {
		for i := range m.Txns {
			if _, err := m.Txns[i].Record(); err != nil {
				return nil, fmt.Errorf("proto: multi txn entry %d: %w", i, err)
			}
		}
	}
	return rec, nil
}

// TxnEntry is a complete txn: header plus record, as logged.
type TxnEntry struct {
	Hdr TxnHeader
	Rec Record
}

func (r *TxnEntry) Encode(e *Encoder) { r.Hdr.Encode(e); r.Rec.Encode(e) }

// Decode reads the header and then the record its type selects.
func (r *TxnEntry) Decode(d *Decoder) {
	r.Hdr.Decode(d)
	if d.err != nil {
		return
	}
	rec := NewTxnRecord(r.Hdr.Type)
	if rec == nil {
		d.Fail(fmt.Errorf("%w: txn type %d", ErrUnknownOp, int32(r.Hdr.Type)))
		return
	}
	rec.Decode(d)
	r.Rec = rec
}

// DecodeTxnEntry decodes a header+record and validates multi sub-txns.
func DecodeTxnEntry(b []byte) (*TxnEntry, error) {
	var te TxnEntry
	if err := Unmarshal(b, &te); err != nil {
		return nil, err
	}
	if m, ok := te.Rec.(*MultiTxn); ok {
		for i := range m.Txns {
			if _, err := m.Txns[i].Record(); err != nil {
				return nil, fmt.Errorf("proto: multi txn entry %d: %w", i, err)
			}
		}
	}
	return &te, nil
}
