package zkstore

// Opcodes (ZooDefs.OpCode). Txn types reuse them, as ZooKeeper's do; they
// are part of the txn-log format: never change them.
const (
	OpNotification    int32 = 0
	OpCreate          int32 = 1
	OpDelete          int32 = 2
	OpExists          int32 = 3
	OpGetData         int32 = 4
	OpSetData         int32 = 5
	OpGetACL          int32 = 6
	OpSetACL          int32 = 7
	OpGetChildren     int32 = 8
	OpSync            int32 = 9
	OpPing            int32 = 11
	OpGetChildren2    int32 = 12
	OpCheck           int32 = 13
	OpMulti           int32 = 14
	OpCreate2         int32 = 15
	OpReconfig        int32 = 16
	OpCheckWatches    int32 = 17
	OpRemoveWatches   int32 = 18
	OpCreateContainer int32 = 19
	OpDeleteContainer int32 = 20
	OpCreateTTL       int32 = 21
	OpMultiRead       int32 = 22
	OpAuth            int32 = 100
	OpSetWatches      int32 = 101
	OpSASL            int32 = 102
	OpGetEphemerals   int32 = 103
	OpGetAllChildren  int32 = 104
	OpSetWatches2     int32 = 105
	OpAddWatch        int32 = 106
	OpWhoAmI          int32 = 107
	OpCreateSession   int32 = -10
	OpCloseSession    int32 = -11
	OpError           int32 = -1
)

// TxnHeader is ZooKeeper's TxnHeader: who asked, which zxid the txn got and
// the wall-clock time (ms) stamped at preparation, so apply reads no clock.
type TxnHeader struct {
	SessionID int64
	Cxid      int32
	Zxid      int64
	Time      int64
	Type      int32
}

// Txn is one ordered state-machine input: a header and a body, one of
// *CreateTxn, *DeleteTxn, *SetDataTxn, *SetACLTxn, *CheckVersionTxn,
// *ErrorTxn, *MultiTxn, *CreateSessionTxn or *CloseSessionTxn.
type Txn struct {
	TxnHeader
	Body any
}

// CreateTxn creates a node. Type create/create2 with Ephemeral set makes an
// ephemeral of the header's session; createContainer makes a container and
// createTTL a TTL node.
type CreateTxn struct {
	Path           string
	Data           []byte
	ACL            []ACL
	Ephemeral      bool
	ParentCVersion int32
	TTL            int64
}

// DeleteTxn deletes a node (types delete and deleteContainer).
type DeleteTxn struct{ Path string }

// SetDataTxn replaces a node's data; Version is the node's new version.
type SetDataTxn struct {
	Path    string
	Data    []byte
	Version int32
}

// SetACLTxn replaces a node's ACL; Version is the node's new aversion.
type SetACLTxn struct {
	Path    string
	ACL     []ACL
	Version int32
}

// CheckVersionTxn is a successful version check inside a multi.
type CheckVersionTxn struct {
	Path    string
	Version int32
}

// ErrorTxn records a failed write: it still consumes a zxid.
type ErrorTxn struct{ Err Code }

// MultiOp is one sub-txn of a multi: its type and body.
type MultiOp struct {
	Type int32
	Body any
}

// MultiTxn is an atomic multi. A failed multi is logged with every op as an
// ErrorTxn (0 before the failing op, its code, then -2), like ZooKeeper.
type MultiTxn struct{ Ops []MultiOp }

// CreateSessionTxn opens a session with its negotiated timeout.
type CreateSessionTxn struct{ Timeout int32 }

// CloseSessionTxn closes (or expires) a session and deletes its ephemerals.
type CloseSessionTxn struct{}

// Result is what applying a txn produced for the client: the error code,
// the created path, the resulting stat, or per-op results of a multi.
type Result struct {
	Type  int32
	Err   Code
	Path  string
	Stat  Stat
	Multi []Result
}
