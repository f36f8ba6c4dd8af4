package zkstore

import (
	"errors"
	"fmt"
)

// Code is a ZooKeeper error code (KeeperException.Code). The data tree and
// request preparation speak in codes because they are part of the replicated
// state (error txns carry them); conversion to Go errors happens at the API
// edges.
type Code int32

// ZooKeeper error codes used by the server. Values are part of the wire
// protocol and of the txn-log format; never change them.
const (
	CodeOK                      Code = 0
	CodeSystemError             Code = -1
	CodeRuntimeInconsistency    Code = -2
	CodeMarshallingError        Code = -5
	CodeUnimplemented           Code = -6
	CodeBadArguments            Code = -8
	CodeNoNode                  Code = -101
	CodeNoAuth                  Code = -102
	CodeBadVersion              Code = -103
	CodeNoChildrenForEphemerals Code = -108
	CodeNodeExists              Code = -110
	CodeNotEmpty                Code = -111
	CodeSessionExpired          Code = -112
	CodeInvalidACL              Code = -114
	CodeAuthFailed              Code = -115
	CodeSessionMoved            Code = -118
	CodeNoWatcher               Code = -121
)

func (c Code) Error() string { return fmt.Sprintf("zkstore: zookeeper error code %d", int32(c)) }

// Sentinel errors of the package.
var (
	ErrClosed        = errors.New("zkstore: server closed")
	ErrFsyncFailed   = errors.New("zkstore: txn log fsync failed; server stopped accepting writes")
	ErrCorruptLog    = errors.New("zkstore: corrupt txn log")
	ErrCorruptSnap   = errors.New("zkstore: corrupt snapshot")
	ErrLogGap        = errors.New("zkstore: gap in txn log sequence")
	ErrBadConfig     = errors.New("zkstore: bad configuration")
	ErrTooManyConns  = errors.New("zkstore: too many connections from client address")
	ErrFrameTooLarge = errors.New("zkstore: frame length exceeds jute.maxbuffer")
)
