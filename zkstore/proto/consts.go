package proto

import "strconv"

// OpCode is ZooKeeper's request type (ZooDefs.OpCode). The values are part
// of the wire format and of txn records: never change them.
type OpCode int32

// Opcodes, wire format (ZooDefs.OpCode).
const (
	OpNotification         OpCode = 0
	OpCreate               OpCode = 1
	OpDelete               OpCode = 2
	OpExists               OpCode = 3
	OpGetData              OpCode = 4
	OpSetData              OpCode = 5
	OpGetACL               OpCode = 6
	OpSetACL               OpCode = 7
	OpGetChildren          OpCode = 8
	OpSync                 OpCode = 9
	OpPing                 OpCode = 11
	OpGetChildren2         OpCode = 12
	OpCheck                OpCode = 13
	OpMulti                OpCode = 14
	OpCreate2              OpCode = 15
	OpReconfig             OpCode = 16
	OpCheckWatches         OpCode = 17
	OpRemoveWatches        OpCode = 18
	OpCreateContainer      OpCode = 19
	OpDeleteContainer      OpCode = 20
	OpCreateTTL            OpCode = 21
	OpMultiRead            OpCode = 22
	OpAuth                 OpCode = 100
	OpSetWatches           OpCode = 101
	OpSASL                 OpCode = 102
	OpGetEphemerals        OpCode = 103
	OpGetAllChildrenNumber OpCode = 104
	OpSetWatches2          OpCode = 105
	OpAddWatch             OpCode = 106
	OpWhoAmI               OpCode = 107
	OpCreateSession        OpCode = -10
	OpCloseSession         OpCode = -11
	OpError                OpCode = -1
)

var opNames = map[OpCode]string{
	OpNotification: "notification", OpCreate: "create", OpDelete: "delete", OpExists: "exists",
	OpGetData: "getData", OpSetData: "setData", OpGetACL: "getACL", OpSetACL: "setACL",
	OpGetChildren: "getChildren", OpSync: "sync", OpPing: "ping", OpGetChildren2: "getChildren2",
	OpCheck: "check", OpMulti: "multi", OpCreate2: "create2", OpReconfig: "reconfig",
	OpCheckWatches: "checkWatches", OpRemoveWatches: "removeWatches", OpCreateContainer: "createContainer",
	OpDeleteContainer: "deleteContainer", OpCreateTTL: "createTTL", OpMultiRead: "multiRead",
	OpAuth: "auth", OpSetWatches: "setWatches", OpSASL: "sasl", OpGetEphemerals: "getEphemerals",
	OpGetAllChildrenNumber: "getAllChildrenNumber", OpSetWatches2: "setWatches2", OpAddWatch: "addWatch",
	OpWhoAmI: "whoAmI", OpCreateSession: "createSession", OpCloseSession: "closeSession", OpError: "error",
}

// String returns ZooKeeper's name for the opcode (as in Request.op2String).
func (o OpCode) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return "unknown " + strconv.Itoa(int(o))
}

// IsWrite reports whether the opcode changes the tree (and is logged as a
// txn).
func (o OpCode) IsWrite() bool {
	switch o {
	case OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL, OpDelete, OpDeleteContainer,
		OpSetData, OpSetACL, OpCheck, OpMulti, OpReconfig, OpCreateSession, OpCloseSession:
		return true
	}
	return false
}

// Special xids, wire format (ClientCnxn).
const (
	XidNotification int32 = -1
	XidPing         int32 = -2
	XidAuth         int32 = -4
	XidSetWatches   int32 = -8
)

// ErrCode is a ZooKeeper error code (KeeperException.Code), carried in
// ReplyHeader.Err, MultiHeader.Err and ErrorResponse. Wire format: never
// change the values. An ErrCode is an error; OK is not meant to be returned
// as one.
type ErrCode int32

// Error codes, wire format (KeeperException.Code).
const (
	ErrOK                           ErrCode = 0
	ErrSystemError                  ErrCode = -1
	ErrRuntimeInconsistency         ErrCode = -2
	ErrDataInconsistency            ErrCode = -3
	ErrConnectionLoss               ErrCode = -4
	ErrMarshallingError             ErrCode = -5
	ErrUnimplemented                ErrCode = -6
	ErrOperationTimeout             ErrCode = -7
	ErrBadArguments                 ErrCode = -8
	ErrUnknownSession               ErrCode = -12
	ErrNewConfigNoQuorum            ErrCode = -13
	ErrReconfigInProgress           ErrCode = -14
	ErrAPIError                     ErrCode = -100
	ErrNoNode                       ErrCode = -101
	ErrNoAuth                       ErrCode = -102
	ErrBadVersion                   ErrCode = -103
	ErrNoChildrenForEphemerals      ErrCode = -108
	ErrNodeExists                   ErrCode = -110
	ErrNotEmpty                     ErrCode = -111
	ErrSessionExpired               ErrCode = -112
	ErrInvalidCallback              ErrCode = -113
	ErrInvalidACL                   ErrCode = -114
	ErrAuthFailed                   ErrCode = -115
	ErrSessionMoved                 ErrCode = -118
	ErrNotReadOnly                  ErrCode = -119
	ErrEphemeralOnLocalSession      ErrCode = -120
	ErrNoWatcher                    ErrCode = -121
	ErrRequestTimeout               ErrCode = -122
	ErrReconfigDisabled             ErrCode = -123
	ErrSessionClosedRequireSaslAuth ErrCode = -124
	ErrQuotaExceeded                ErrCode = -125
	ErrThrottledOp                  ErrCode = -127
)

var errNames = map[ErrCode]string{
	ErrOK: "OK", ErrSystemError: "SystemError", ErrRuntimeInconsistency: "RuntimeInconsistency",
	ErrDataInconsistency: "DataInconsistency", ErrConnectionLoss: "ConnectionLoss",
	ErrMarshallingError: "MarshallingError", ErrUnimplemented: "Unimplemented",
	ErrOperationTimeout: "OperationTimeout", ErrBadArguments: "BadArguments",
	ErrUnknownSession: "UnknownSession", ErrNewConfigNoQuorum: "NewConfigNoQuorum",
	ErrReconfigInProgress: "ReconfigInProgress", ErrAPIError: "APIError", ErrNoNode: "NoNode",
	ErrNoAuth: "NoAuth", ErrBadVersion: "BadVersion", ErrNoChildrenForEphemerals: "NoChildrenForEphemerals",
	ErrNodeExists: "NodeExists", ErrNotEmpty: "NotEmpty", ErrSessionExpired: "SessionExpired",
	ErrInvalidCallback: "InvalidCallback", ErrInvalidACL: "InvalidACL", ErrAuthFailed: "AuthFailed",
	ErrSessionMoved: "SessionMoved", ErrNotReadOnly: "NotReadOnly",
	ErrEphemeralOnLocalSession: "EphemeralOnLocalSession", ErrNoWatcher: "NoWatcher",
	ErrRequestTimeout: "RequestTimeout", ErrReconfigDisabled: "ReconfigDisabled",
	ErrSessionClosedRequireSaslAuth: "SessionClosedRequireSaslAuth", ErrQuotaExceeded: "QuotaExceeded",
	ErrThrottledOp: "ThrottledOp",
}

// String returns the KeeperException.Code name, e.g. "NoNode".
func (c ErrCode) String() string {
	if s, ok := errNames[c]; ok {
		return s
	}
	return "ErrCode(" + strconv.Itoa(int(c)) + ")"
}

// Error implements error: "zk: NoNode (-101)".
func (c ErrCode) Error() string {
	return "zk: " + c.String() + " (" + strconv.Itoa(int(c)) + ")"
}

// EventType is a watch event type (Watcher.Event.EventType). Wire format.
type EventType int32

// Event types, wire format.
const (
	EventNone                   EventType = -1
	EventNodeCreated            EventType = 1
	EventNodeDeleted            EventType = 2
	EventNodeDataChanged        EventType = 3
	EventNodeChildrenChanged    EventType = 4
	EventDataWatchRemoved       EventType = 5
	EventChildWatchRemoved      EventType = 6
	EventPersistentWatchRemoved EventType = 7
)

var eventNames = map[EventType]string{
	EventNone: "None", EventNodeCreated: "NodeCreated", EventNodeDeleted: "NodeDeleted",
	EventNodeDataChanged: "NodeDataChanged", EventNodeChildrenChanged: "NodeChildrenChanged",
	EventDataWatchRemoved: "DataWatchRemoved", EventChildWatchRemoved: "ChildWatchRemoved",
	EventPersistentWatchRemoved: "PersistentWatchRemoved",
}

func (t EventType) String() string {
	if s, ok := eventNames[t]; ok {
		return s
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// KeeperState is a session state (Watcher.Event.KeeperState). Wire format.
type KeeperState int32

// Keeper states, wire format. The server only ever sends SyncConnected.
const (
	StateUnknown           KeeperState = -1
	StateDisconnected      KeeperState = 0
	StateNoSyncConnected   KeeperState = 1
	StateSyncConnected     KeeperState = 3
	StateAuthFailed        KeeperState = 4
	StateConnectedReadOnly KeeperState = 5
	StateSaslAuthenticated KeeperState = 6
	StateExpired           KeeperState = -112
	StateClosed            KeeperState = 7
)

var stateNames = map[KeeperState]string{
	StateUnknown: "Unknown", StateDisconnected: "Disconnected", StateNoSyncConnected: "NoSyncConnected",
	StateSyncConnected: "SyncConnected", StateAuthFailed: "AuthFailed", StateConnectedReadOnly: "ConnectedReadOnly",
	StateSaslAuthenticated: "SaslAuthenticated", StateExpired: "Expired", StateClosed: "Closed",
}

func (s KeeperState) String() string {
	if n, ok := stateNames[s]; ok {
		return n
	}
	return "KeeperState(" + strconv.Itoa(int(s)) + ")"
}

// CreateMode is CreateRequest.Flags (CreateMode). Wire format.
type CreateMode int32

// Create modes, wire format.
const (
	ModePersistent                  CreateMode = 0
	ModeEphemeral                   CreateMode = 1
	ModePersistentSequential        CreateMode = 2
	ModeEphemeralSequential         CreateMode = 3
	ModeContainer                   CreateMode = 4
	ModePersistentWithTTL           CreateMode = 5
	ModePersistentSequentialWithTTL CreateMode = 6
)

// Valid reports whether m is a known create mode.
func (m CreateMode) Valid() bool { return m >= 0 && m <= 6 }

// IsEphemeral reports whether nodes of this mode belong to a session.
func (m CreateMode) IsEphemeral() bool { return m == ModeEphemeral || m == ModeEphemeralSequential }

// IsSequential reports whether the mode appends the %010d suffix.
func (m CreateMode) IsSequential() bool {
	return m == ModePersistentSequential || m == ModeEphemeralSequential || m == ModePersistentSequentialWithTTL
}

// IsContainer reports whether the mode creates a container.
func (m CreateMode) IsContainer() bool { return m == ModeContainer }

// IsTTL reports whether the mode creates a TTL node.
func (m CreateMode) IsTTL() bool {
	return m == ModePersistentWithTTL || m == ModePersistentSequentialWithTTL
}

// Permission bits of an ACL (ZooDefs.Perms). Wire format.
const (
	PermRead   int32 = 1
	PermWrite  int32 = 2
	PermCreate int32 = 4
	PermDelete int32 = 8
	PermAdmin  int32 = 16
	PermAll    int32 = 31
)

// Watch types of CheckWatchesRequest/RemoveWatchesRequest
// (Watcher.WatcherType). Wire format.
const (
	WatcherTypeChildren int32 = 1
	WatcherTypeData     int32 = 2
	WatcherTypeAny      int32 = 3
)

// AddWatch modes (AddWatchMode). Wire format.
const (
	AddWatchPersistent          int32 = 0
	AddWatchPersistentRecursive int32 = 1
)

// EphemeralOwner markers in Stat (EphemeralType): a container's owner is
// ContainerOwner; a TTL node's is TTLOwnerMask | ttl (extended types).
const (
	ContainerOwner int64 = -0x8000000000000000
	TTLOwnerMask   int64 = -0x100000000000000 // 0xFF << 56
	MaxTTL         int64 = 0x00FFFFFFFFFF     // EphemeralType.TTL max (40 bits)
)

// ProtocolVersion is ConnectRequest/ConnectResponse.ProtocolVersion.
const ProtocolVersion int32 = 0

// PasswordLen is the length of a session password.
const PasswordLen = 16

// FourLetterWords are the commands recognised when the first 4 bytes of a
// new connection match one of them as a big-endian int (FourLetterCommands).
var FourLetterWords = []string{
	"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk",
	"srvr", "srst", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash",
}

// FourLetterWord returns the command whose big-endian int value is n (the
// first 4 bytes of a connection read as a frame length), if any.
func FourLetterWord(n int32) (string, bool) {
	b := [4]byte{byte(uint32(n) >> 24), byte(uint32(n) >> 16), byte(uint32(n) >> 8), byte(uint32(n))}
	s := string(b[:])
	for _, w := range FourLetterWords {
		if w == s {
			return w, true
		}
	}
	return "", false
}
