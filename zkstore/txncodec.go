package zkstore

import (
	"fmt"

	"github.com/gregorlog/gregor/zkstore/proto"
)

// Txns are persisted as ZooKeeper's own txn records (TxnHeader followed by
// the jute txn record of its type), encoded by package proto. These
// functions map between them and the tree's Go types.

func toProtoACL(in []ACL) []proto.ACL {
	if in == nil {
		return nil
	}
	out := make([]proto.ACL, len(in))
	for i, a := range in {
		out[i] = proto.ACL{Perms: a.Perms, ID: proto.Id{Scheme: a.Scheme, ID: a.ID}}
	}
	return out
}

func fromProtoACL(in []proto.ACL) []ACL {
	if in == nil {
		return nil
	}
	if len(in) == 1 && in[0].Perms == PermAll && in[0].ID.Scheme == "world" && in[0].ID.ID == "anyone" {
		return OpenACL
	}
	out := make([]ACL, len(in))
	for i, a := range in {
		out[i] = ACL{Perms: a.Perms, Scheme: a.ID.Scheme, ID: a.ID.ID}
	}
	return out
}

func bodyToRecord(typ int32, body any) proto.Record {
	switch b := body.(type) {
	case *CreateTxn:
		switch typ {
		case OpCreateContainer:
			return &proto.CreateContainerTxn{Path: b.Path, Data: b.Data, ACL: toProtoACL(b.ACL), ParentCVersion: b.ParentCVersion}
		case OpCreateTTL:
			return &proto.CreateTTLTxn{Path: b.Path, Data: b.Data, ACL: toProtoACL(b.ACL), ParentCVersion: b.ParentCVersion, TTL: b.TTL}
		}
		return &proto.CreateTxn{Path: b.Path, Data: b.Data, ACL: toProtoACL(b.ACL), Ephemeral: b.Ephemeral, ParentCVersion: b.ParentCVersion}
	case *DeleteTxn:
		return &proto.DeleteTxn{Path: b.Path}
	case *SetDataTxn:
		return &proto.SetDataTxn{Path: b.Path, Data: b.Data, Version: b.Version}
	case *SetACLTxn:
		return &proto.SetACLTxn{Path: b.Path, ACL: toProtoACL(b.ACL), Version: b.Version}
	case *CheckVersionTxn:
		return &proto.CheckVersionTxn{Path: b.Path, Version: b.Version}
	case *ErrorTxn:
		return &proto.ErrorTxn{Err: proto.ErrCode(b.Err)}
	case *CreateSessionTxn:
		return &proto.CreateSessionTxn{TimeOut: b.Timeout}
	case *CloseSessionTxn:
		return &proto.CloseSessionTxn{}
	case *MultiTxn:
		types := make([]proto.OpCode, len(b.Ops))
		recs := make([]proto.Record, len(b.Ops))
		for i, op := range b.Ops {
			types[i] = proto.OpCode(op.Type)
			recs[i] = bodyToRecord(op.Type, op.Body)
		}
		return proto.NewMultiTxn(types, recs)
	}
	panic(fmt.Sprintf("zkstore: unknown txn body %T", body))
}

func recordToBody(rec proto.Record) (any, error) {
	switch r := rec.(type) {
	case *proto.CreateTxn:
		return &CreateTxn{Path: r.Path, Data: r.Data, ACL: fromProtoACL(r.ACL), Ephemeral: r.Ephemeral, ParentCVersion: r.ParentCVersion}, nil
	case *proto.CreateContainerTxn:
		return &CreateTxn{Path: r.Path, Data: r.Data, ACL: fromProtoACL(r.ACL), ParentCVersion: r.ParentCVersion}, nil
	case *proto.CreateTTLTxn:
		return &CreateTxn{Path: r.Path, Data: r.Data, ACL: fromProtoACL(r.ACL), ParentCVersion: r.ParentCVersion, TTL: r.TTL}, nil
	case *proto.DeleteTxn:
		return &DeleteTxn{Path: r.Path}, nil
	case *proto.SetDataTxn:
		return &SetDataTxn{Path: r.Path, Data: r.Data, Version: r.Version}, nil
	case *proto.SetACLTxn:
		return &SetACLTxn{Path: r.Path, ACL: fromProtoACL(r.ACL), Version: r.Version}, nil
	case *proto.CheckVersionTxn:
		return &CheckVersionTxn{Path: r.Path, Version: r.Version}, nil
	case *proto.ErrorTxn:
		return &ErrorTxn{Err: Code(r.Err)}, nil
	case *proto.CreateSessionTxn:
		return &CreateSessionTxn{Timeout: r.TimeOut}, nil
	case *proto.CloseSessionTxn:
		return &CloseSessionTxn{}, nil
	case *proto.MultiTxn:
		m := &MultiTxn{Ops: make([]MultiOp, len(r.Txns))}
		for i := range r.Txns {
			sub, err := r.Txns[i].Record()
			if err != nil {
				return nil, err
			}
			b, err := recordToBody(sub)
			if err != nil {
				return nil, err
			}
			m.Ops[i] = MultiOp{Type: int32(r.Txns[i].Type), Body: b}
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: unexpected txn record %T", ErrCorruptLog, rec)
}

// AppendTxn appends the jute encoding of txn (TxnHeader + record) to b.
func AppendTxn(b []byte, txn *Txn) []byte {
	e := proto.Encoder{B: b}
	hdr := proto.TxnHeader{ClientID: txn.SessionID, Cxid: txn.Cxid, Zxid: txn.Zxid, Time: txn.Time, Type: proto.OpCode(txn.Type)}
	hdr.Encode(&e)
	bodyToRecord(txn.Type, txn.Body).Encode(&e)
	return e.B
}

// DecodeTxn decodes a txn encoded by AppendTxn.
func DecodeTxn(b []byte) (*Txn, error) {
	te, err := proto.DecodeTxnEntry(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorruptLog, err)
	}
	body, err := recordToBody(te.Rec)
	if err != nil {
		return nil, err
	}
	return &Txn{
		TxnHeader: TxnHeader{SessionID: te.Hdr.ClientID, Cxid: te.Hdr.Cxid, Zxid: te.Hdr.Zxid, Time: te.Hdr.Time, Type: int32(te.Hdr.Type)},
		Body:      body,
	}, nil
}
