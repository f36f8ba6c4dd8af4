package proto

import (
	"bytes"
	"reflect"
	"testing"
)

// The fuzz targets check that decoding never panics and that whatever
// decodes re-encodes to bytes that decode to the same record. Seeds come
// from the samples above, the captured client traffic under testdata/
// (see golden_test.go) and testdata/fuzz/.

func FuzzDecodeRequest(f *testing.F) {
	for op, r := range sampleRequests() {
		f.Add(int32(op), Marshal(r))
	}
	for _, fr := range loadGoldenRequests(f) {
		f.Add(int32(fr.op), fr.body)
	}
	f.Fuzz(func(t *testing.T, op int32, body []byte) {
		rec, err := DecodeRequest(OpCode(op), body)
		if err != nil {
			return
		}
		again, err := DecodeRequest(OpCode(op), Marshal(rec))
		if err != nil {
			t.Fatalf("re-encoded %s request does not decode: %v", OpCode(op), err)
		}
		if !reflect.DeepEqual(rec, again) {
			t.Fatalf("%s: decode(encode(r)) != r\n%#v\n%#v", OpCode(op), rec, again)
		}
	})
}

func FuzzConnectRequest(f *testing.F) {
	f.Add(Marshal(&ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)}))
	f.Add(Marshal(&ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16), HasReadOnly: true}))
	for _, b := range loadGoldenConnects(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeConnectRequest(body)
		if err != nil {
			return
		}
		b := Marshal(r)
		if len(b) > len(body) || !bytes.Equal(body[:len(b)-1], b[:len(b)-1]) {
			t.Fatalf("re-encoding differs from the input beyond the last byte:\n%x\n%x", body, b)
		}
		again, err := DecodeConnectRequest(b)
		if err != nil || !reflect.DeepEqual(r, again) {
			t.Fatalf("connect request does not round-trip: %v\n%#v\n%#v", err, r, again)
		}
	})
}

func FuzzDecodeTxn(f *testing.F) {
	f.Add(int32(OpCreate), Marshal(&CreateTxn{Path: "/a", Data: []byte("x"), ACL: WorldAnyone(), ParentCVersion: 1}))
	f.Add(int32(OpMulti), Marshal(NewMultiTxn([]OpCode{OpDelete, OpError}, []Record{&DeleteTxn{Path: "/a"}, &ErrorTxn{Err: -2}})))
	f.Add(int32(OpCloseSession), Marshal(&CloseSessionTxn{Paths2Delete: []string{"/e"}}))
	for _, tx := range loadGoldenTxns(f) {
		f.Add(int32(tx.Hdr.Type), Marshal(tx.Rec))
	}
	f.Fuzz(func(t *testing.T, typ int32, body []byte) {
		rec, err := DecodeTxn(OpCode(typ), body)
		if err != nil {
			return
		}
		again, err := DecodeTxn(OpCode(typ), Marshal(rec))
		if err != nil || !reflect.DeepEqual(rec, again) {
			t.Fatalf("%s txn does not round-trip: %v\n%#v\n%#v", OpCode(typ), err, rec, again)
		}
	})
}
