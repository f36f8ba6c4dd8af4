package proto

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

var sampleACL = []ACL{
	{Perms: PermAll, ID: Id{Scheme: "world", ID: "anyone"}},
	{Perms: PermRead | PermAdmin, ID: Id{Scheme: "digest", ID: "u:Vc1zbDiZ3fsAj+SJU4Qzlr8nAlM="}},
}

var sampleStat = Stat{
	Czxid: 0x100000003, Mzxid: 0x100000007, Ctime: 1795305374147, Mtime: 1795305375000,
	Version: 3, Cversion: 2, Aversion: 1, EphemeralOwner: 0x100004519160000,
	DataLength: 5, NumChildren: 2, Pzxid: 0x100000009,
}

// sampleRequests has one body per opcode a client may send.
func sampleRequests() map[OpCode]Record {
	return map[OpCode]Record{
		OpCreate:               &CreateRequest{Path: "/a", Data: []byte("x"), ACL: sampleACL, Flags: ModeEphemeralSequential},
		OpCreate2:              &CreateRequest{Path: "/a2", Data: nil, ACL: WorldAnyone(), Flags: ModePersistent},
		OpCreateContainer:      &CreateRequest{Path: "/c", Data: []byte{}, ACL: WorldAnyone(), Flags: ModeContainer},
		OpCreateTTL:            &CreateTTLRequest{Path: "/t", Data: []byte("ttl"), ACL: WorldAnyone(), Flags: ModePersistentWithTTL, TTL: 60000},
		OpDelete:               &DeleteRequest{Path: "/a", Version: -1},
		OpExists:               &PathWatchRequest{Path: "/e", Watch: true},
		OpGetData:              &PathWatchRequest{Path: "/g", Watch: false},
		OpSetData:              &SetDataRequest{Path: "/s", Data: []byte("new"), Version: 4},
		OpGetACL:               &PathRequest{Path: "/acl"},
		OpSetACL:               &SetACLRequest{Path: "/acl", ACL: sampleACL, Version: -1},
		OpGetChildren:          &PathWatchRequest{Path: "/", Watch: true},
		OpSync:                 &PathRequest{Path: "/"},
		OpPing:                 &Empty{},
		OpGetChildren2:         &PathWatchRequest{Path: "/k", Watch: false},
		OpCheck:                &CheckVersionRequest{Path: "/v", Version: 7},
		OpMulti:                &MultiRequest{Ops: []MultiOp{{OpCreate, &CreateRequest{Path: "/m", Data: []byte{}, ACL: WorldAnyone()}}, {OpCreateTTL, &CreateTTLRequest{Path: "/mt", ACL: WorldAnyone(), Flags: ModePersistentWithTTL, TTL: 5}}, {OpSetData, &SetDataRequest{Path: "/m", Data: []byte("d"), Version: -1}}, {OpCheck, &CheckVersionRequest{Path: "/m", Version: 1}}, {OpDelete, &DeleteRequest{Path: "/m", Version: -1}}}},
		OpMultiRead:            &MultiRequest{Ops: []MultiOp{{OpGetChildren, &PathWatchRequest{Path: "/"}}, {OpGetData, &PathWatchRequest{Path: "/zookeeper"}}}},
		OpReconfig:             &ReconfigRequest{JoiningServers: "server.4=127.0.0.1:2884:3884;2184", CurConfigID: -1},
		OpCheckWatches:         &WatchTypeRequest{Path: "/w", Type: WatcherTypeData},
		OpRemoveWatches:        &WatchTypeRequest{Path: "/w", Type: WatcherTypeAny},
		OpAuth:                 &AuthPacket{Type: 0, Scheme: "digest", Auth: []byte("u:p")},
		OpSetWatches:           &SetWatches{RelativeZxid: 0x10, DataWatches: []string{"/a", "/b"}, ExistWatches: []string{}, ChildWatches: nil},
		OpSASL:                 &SASLRequest{Token: []byte{1, 2, 3}},
		OpGetEphemerals:        &PathRequest{Path: "/"},
		OpGetAllChildrenNumber: &PathRequest{Path: "/zookeeper"},
		OpSetWatches2:          &SetWatches2{RelativeZxid: 3, DataWatches: []string{"/d"}, ExistWatches: []string{"/e"}, ChildWatches: []string{"/c"}, PersistentWatches: []string{"/p"}, PersistentRecursiveWatches: []string{"/r"}},
		OpAddWatch:             &AddWatchRequest{Path: "/r", Mode: AddWatchPersistentRecursive},
		OpWhoAmI:               &Empty{},
		OpCloseSession:         &Empty{},
	}
}

func sampleResponses() map[OpCode]Record {
	return map[OpCode]Record{
		OpCreate:               &CreateResponse{Path: "/a0000000001"},
		OpCreate2:              &Create2Response{Path: "/a2", Stat: sampleStat},
		OpExists:               &StatResponse{Stat: sampleStat},
		OpGetData:              &GetDataResponse{Data: []byte("hello"), Stat: sampleStat},
		OpGetACL:               &GetACLResponse{ACL: sampleACL, Stat: sampleStat},
		OpGetChildren:          &GetChildrenResponse{Children: []string{"a", "zookeeper"}},
		OpGetChildren2:         &GetChildren2Response{Children: []string{}, Stat: sampleStat},
		OpSync:                 &PathRequest{Path: "/"},
		OpGetEphemerals:        &GetEphemeralsResponse{Ephemerals: []string{"/e1", "/x/e2"}},
		OpGetAllChildrenNumber: &GetAllChildrenNumberResponse{TotalNumber: 3},
		OpAddWatch:             &ErrorResponse{Err: ErrOK},
		OpWhoAmI:               &WhoAmIResponse{ClientInfo: []ClientInfo{{"ip", "127.0.0.1"}, {"digest", "u"}}},
		OpSASL:                 &SASLRequest{Token: nil},
		OpMulti: &MultiResponse{Results: []MultiResult{
			{Type: OpCreate, Path: "/m"}, {Type: OpCreate2, Path: "/m2", Stat: sampleStat},
			{Type: OpSetData, Stat: sampleStat}, {Type: OpCheck}, {Type: OpDelete},
		}},
		OpMultiRead: &MultiResponse{Results: []MultiResult{
			{Type: OpGetChildren, Children: []string{"x"}}, {Type: OpGetData, Data: []byte("d"), Stat: sampleStat},
			{Type: OpError, Err: ErrNoNode},
		}},
	}
}

// roundTrip encodes r, decodes into a fresh record of the same type with
// fresh(), and checks equality and byte-identical re-encoding.
func roundTrip(t *testing.T, name string, r Record, decode func([]byte) (Record, error)) {
	t.Helper()
	b := Marshal(r)
	got, err := decode(b)
	if err != nil {
		t.Fatalf("%s: decode: %v", name, err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("%s: round trip mismatch\n got %#v\nwant %#v", name, got, r)
	}
	if b2 := Marshal(got); !bytes.Equal(b, b2) {
		t.Fatalf("%s: re-encoding differs\n%x\n%x", name, b, b2)
	}
	// Every strict prefix must fail cleanly (records with no fields and
	// trailing optional bytes aside).
	for i := 0; i < len(b); i++ {
		if _, err := decode(b[:i]); err == nil {
			if _, ok := r.(*ConnectRequest); ok && i == len(b)-1 {
				continue
			}
			if _, ok := r.(*ConnectResponse); ok && i == len(b)-1 {
				continue
			}
			t.Fatalf("%s: truncated to %d of %d bytes decoded without error", name, i, len(b))
		}
	}
}

func TestRequestRoundTrip(t *testing.T) {
	for op, r := range sampleRequests() {
		roundTrip(t, "request "+op.String(), r, func(b []byte) (Record, error) { return DecodeRequest(op, b) })
	}
	// Every opcode the issue names must be decodable.
	for _, op := range []OpCode{OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL, OpDelete, OpExists,
		OpGetData, OpSetData, OpGetACL, OpSetACL, OpGetChildren, OpGetChildren2, OpSync, OpPing, OpCheck,
		OpMulti, OpMultiRead, OpSetWatches, OpSetWatches2, OpAddWatch, OpRemoveWatches, OpCheckWatches,
		OpGetEphemerals, OpGetAllChildrenNumber, OpWhoAmI, OpAuth, OpCloseSession} {
		if _, ok := sampleRequests()[op]; !ok {
			t.Errorf("no sample for %s", op)
		}
		if NewRequestRecord(op) == nil {
			t.Errorf("no request record for %s", op)
		}
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for op, r := range sampleResponses() {
		roundTrip(t, "response "+op.String(), r, func(b []byte) (Record, error) {
			rec := NewResponseRecord(op)
			return rec, Unmarshal(b, rec)
		})
	}
}

func TestRecordRoundTrip(t *testing.T) {
	recs := []Record{
		&ConnectRequest{ProtocolVersion: 0, LastZxidSeen: 0x12, TimeOut: 30000, SessionID: 0, Passwd: make([]byte, 16), HasReadOnly: true},
		&ConnectRequest{ProtocolVersion: 0, TimeOut: 10000, SessionID: 0x100003e0fff0001, Passwd: make([]byte, 16)},
		&ConnectResponse{TimeOut: 10000, SessionID: 0x100003e0fff0001, Passwd: bytes.Repeat([]byte{7}, 16), HasReadOnly: true, ReadOnly: false},
		&ConnectResponse{TimeOut: 4000, SessionID: 1, Passwd: bytes.Repeat([]byte{9}, 16)},
		&RequestHeader{Xid: 5, Type: OpGetData},
		&ReplyHeader{Xid: 5, Zxid: 0x13, Err: ErrBadVersion},
		&WatcherEvent{Type: EventNodeDataChanged, State: StateSyncConnected, Path: "/t1"},
		&MultiHeader{Type: -1, Done: true, Err: -1},
		&Stat{}, &sampleStat,
		&TxnHeader{ClientID: 0x100003e0fff0001, Cxid: 3, Zxid: 0x100000005, Time: 1795305374147, Type: OpCreate},
		&CreateTxn{Path: "/a", Data: []byte("x"), ACL: sampleACL, Ephemeral: true, ParentCVersion: 3},
		&CreateContainerTxn{Path: "/c", Data: []byte{}, ACL: WorldAnyone(), ParentCVersion: 1},
		&CreateTTLTxn{Path: "/t", Data: nil, ACL: WorldAnyone(), ParentCVersion: 2, TTL: 1000},
		&DeleteTxn{Path: "/a"},
		&SetDataTxn{Path: "/a", Data: []byte("y"), Version: 2},
		&CheckVersionTxn{Path: "/a", Version: 2},
		&SetACLTxn{Path: "/a", ACL: sampleACL, Version: 1},
		&ErrorTxn{Err: ErrNodeExists},
		&CreateSessionTxn{TimeOut: 10000},
		&CloseSessionTxn{Paths2Delete: []string{"/e1"}},
		NewMultiTxn([]OpCode{OpCreate, OpSetData, OpError}, []Record{&CreateTxn{Path: "/x", Data: []byte{}, ACL: WorldAnyone()}, &SetDataTxn{Path: "/x", Data: []byte("1"), Version: 1}, &ErrorTxn{Err: ErrRuntimeInconsistency}}),
	}
	for _, r := range recs {
		roundTrip(t, reflect.TypeOf(r).Elem().Name(), r, func(b []byte) (Record, error) {
			rec := reflect.New(reflect.TypeOf(r).Elem()).Interface().(Record)
			return rec, Unmarshal(b, rec)
		})
	}
}

func TestDecodeTxn(t *testing.T) {
	cases := map[OpCode]Record{
		OpCreate:          &CreateTxn{Path: "/a", Data: []byte("x"), ACL: WorldAnyone(), ParentCVersion: 1},
		OpCreateContainer: &CreateContainerTxn{Path: "/c", Data: []byte{}, ACL: WorldAnyone(), ParentCVersion: 1},
		OpCreateTTL:       &CreateTTLTxn{Path: "/t", Data: []byte{}, ACL: WorldAnyone(), ParentCVersion: 1, TTL: 9},
		OpDelete:          &DeleteTxn{Path: "/a"},
		OpSetData:         &SetDataTxn{Path: "/a", Data: []byte{}, Version: 1},
		OpCheck:           &CheckVersionTxn{Path: "/a", Version: 1},
		OpSetACL:          &SetACLTxn{Path: "/a", ACL: WorldAnyone(), Version: 1},
		OpError:           &ErrorTxn{Err: ErrNoNode},
		OpCreateSession:   &CreateSessionTxn{TimeOut: 4000},
		OpCloseSession:    &CloseSessionTxn{Paths2Delete: []string{}},
		OpMulti:           NewMultiTxn([]OpCode{OpDelete}, []Record{&DeleteTxn{Path: "/a"}}),
	}
	for op, r := range cases {
		roundTrip(t, "txn "+op.String(), r, func(b []byte) (Record, error) { return DecodeTxn(op, b) })
		te := &TxnEntry{Hdr: TxnHeader{ClientID: 1, Cxid: 2, Zxid: 3, Time: 4, Type: op}, Rec: r}
		got, err := DecodeTxnEntry(Marshal(te))
		if err != nil || !reflect.DeepEqual(got, te) {
			t.Fatalf("txn entry %s: %v %#v", op, err, got)
		}
	}
	if _, err := DecodeTxn(OpGetData, nil); !errors.Is(err, ErrUnknownOp) {
		t.Fatalf("getData txn: %v", err)
	}
	nested := NewMultiTxn([]OpCode{OpMulti}, []Record{&MultiTxn{Txns: []Txn{}}})
	if _, err := DecodeTxn(OpMulti, Marshal(nested)); !errors.Is(err, ErrBadMulti) {
		t.Fatalf("nested multi txn: %v", err)
	}
}

func TestMultiKinds(t *testing.T) {
	// A write in a multiRead and a read in a multi are refused.
	write := Marshal(&MultiRequest{Ops: []MultiOp{{OpDelete, &DeleteRequest{Path: "/a", Version: -1}}}})
	if _, err := DecodeRequest(OpMultiRead, write); !errors.Is(err, ErrBadMulti) {
		t.Fatalf("write in multiRead: %v", err)
	}
	read := Marshal(&MultiRequest{Ops: []MultiOp{{OpGetData, &PathWatchRequest{Path: "/a"}}}})
	if _, err := DecodeRequest(OpMulti, read); !errors.Is(err, ErrBadMulti) {
		t.Fatalf("read in multi: %v", err)
	}
	// Unknown sub-op type.
	var e Encoder
	(&MultiHeader{Type: OpSetACL, Err: -1}).Encode(&e)
	(&SetACLRequest{Path: "/a", ACL: WorldAnyone()}).Encode(&e)
	(&MultiHeader{Type: -1, Done: true, Err: -1}).Encode(&e)
	if _, err := DecodeRequest(OpMulti, e.B); !errors.Is(err, ErrBadMulti) {
		t.Fatalf("setACL in multi: %v", err)
	}
	// An empty multi is just the end header.
	m, err := DecodeRequest(OpMulti, Marshal(&MultiRequest{}))
	if err != nil || len(m.(*MultiRequest).Ops) != 0 {
		t.Fatalf("empty multi: %v %#v", err, m)
	}
	// Failed multi results.
	res := FailedMultiResults(3, 1, ErrBadVersion)
	want := []ErrCode{ErrOK, ErrBadVersion, ErrRuntimeInconsistency}
	for i, r := range res {
		if r.Type != OpError || r.Err != want[i] {
			t.Fatalf("result %d: %+v", i, r)
		}
	}
	// Encoded failed result: header {-1, false, code} + ErrorResponse{code}.
	b := Marshal(&MultiResponse{Results: res[1:2]})
	wantB := []byte{0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0x99, 0xff, 0xff, 0xff, 0x99, 0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff}
	if !bytes.Equal(b, wantB) {
		t.Fatalf("failed multi bytes\n got %x\nwant %x", b, wantB)
	}
}
