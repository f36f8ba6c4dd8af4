// Package proto is the jute codec of ZooKeeper's client wire protocol
// (Apache ZooKeeper 3.8, zookeeper.jute) for zkstore: framing, the connect
// handshake, request and reply headers, every request and response body
// that zkCli.sh 3.8, kazoo 2.8 and go-zookeeper send, the multi encoding,
// watch events, and the txn records the data tree applies and the log
// persists. It also holds the protocol's constants (opcodes, special xids,
// error codes, event types, keeper states, create modes, perms), all part
// of the wire format: never change their values.
//
// # Primitives
//
// Every field is big-endian; records are their fields in declaration order,
// with no tags:
//
//	int      4 bytes          long     8 bytes          boolean  1 byte (0/1)
//	buffer   int32 len + bytes, len -1 = null
//	ustring  int32 len + UTF-8, len -1 = null
//	vector   int32 count + elements, count -1 = null
//
// Decoder never panics: the first error is sticky, and every length or
// count is bounded by the bytes actually remaining (and by jute.maxbuffer,
// DefaultMaxBuffer = 0xfffff, for buffers and strings), so hostile input
// cannot make it allocate more than its own size. Encoder appends to a
// []byte. Null buffers and vectors decode to nil and empty ones to non-nil
// empty slices, so a decoded record re-encodes to the same bytes.
//
// # Framing
//
// Each message in either direction is one frame:
//
//	+----------------+----------------------------+
//	| len int32 (BE) | len bytes of message       |
//	+----------------+----------------------------+
//
// The server refuses len < 0 or len > jute.maxbuffer ("Len error") and
// closes. On a fresh connection the first 4 bytes may instead be a
// four-letter word such as "ruok" (see FourLetterWord).
//
// # Connect handshake
//
// The first client frame is a ConnectRequest without RequestHeader:
//
//	0        4              12         16             24        28   28+n  29+n
//	+--------+--------------+----------+--------------+---------+------+----------+
//	| protoV | lastZxidSeen | timeOut  | sessionId    | pwd len | pwd  | readOnly |
//	| int 0  | long         | int (ms) | long (0=new) | int n   | n B  | bool opt |
//	+--------+--------------+----------+--------------+---------+------+----------+
//
// With a 16-byte password the body is 44 bytes from go-zookeeper (no
// readOnly byte) and 45 from zkCli.sh and kazoo. The reply is a
// ConnectResponse {int protoV; int timeOut; long sessionId; buffer passwd}
// (36 bytes) plus the readOnly byte (37) only when the request carried it
// (ConnectRequest.HasReadOnly → ConnectResponse.HasReadOnly). An invalid
// or expired session gets timeOut 0, sessionId 0 and 16 zero bytes.
//
// # Requests and replies
//
//	request:  | len | xid int32 | type int32 | body (per opcode, may be empty) |
//	reply:    | len | xid int32 | zxid int64 | err int32 | body iff err == 0 |
//
// Special xids: -1 watch notification (server → client, zxid -1, body
// WatcherEvent{type, state, path}), -2 ping, -4 auth (Java, kazoo), -8
// setWatches (Java). go-zookeeper uses ordinary xids for auth and
// setWatches; servers echo whatever xid arrives. DecodeRequest maps an
// opcode and body to its typed record (see NewRequestRecord for the table).
//
// # Multi
//
// A multi (14) or multiRead (22) body is a list of sub-ops, each a
// MultiHeader followed by its request record, closed by an end header:
//
//	+-----------+---------+----------+------------------+
//	| type int  | done=0  | err=-1   | op request body  |  × n
//	+-----------+---------+----------+------------------+
//	| type=-1   | done=1  | err=-1   |                     end
//	+-----------+---------+----------+
//
// The response has the same shape with a result per op: header {type,
// done=0, err} + CreateResponse (create), Create2Response (create2 and
// container/TTL creates), SetDataResponse (setData), nothing (delete,
// check), GetChildrenResponse / GetDataResponse (multiRead) or, for
// type -1, ErrorResponse{err}. A failed multi still has ReplyHeader err 0,
// and every result is an ErrorResult: 0 before the failing op, its code at
// it, -2 (RuntimeInconsistency) after (FailedMultiResults).
//
// # Txns
//
// A txn is TxnHeader{long clientId; int cxid; long zxid; long time; int
// type} followed by the record for type (CreateTxn, CreateContainerTxn,
// CreateTTLTxn, DeleteTxn, SetDataTxn, CheckVersionTxn, SetACLTxn,
// ErrorTxn, MultiTxn of Txn{type, buffer}, CreateSessionTxn,
// CloseSessionTxn). DecodeTxn and TxnEntry decode them; the log's own
// framing and checksums belong to the persistence layer.
package proto
