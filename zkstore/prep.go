package zkstore

import (
	"fmt"
	"strings"
)

// Request preparation turns a client write into a txn, ZooKeeper's
// PrepRequestProcessor: it checks paths, ACLs and versions against the tree
// plus the changes of earlier ops of the same multi, picks sequential names
// and fills in new versions. A failed check yields an error txn, which still
// consumes a zxid.

// nodeRec is a node as preparation sees it (ZooKeeper's ChangeRecord).
type nodeRec struct {
	stat Stat
	acl  []ACL
}

// prepView overlays the pending changes of a multi on the tree.
type prepView struct {
	t    *DataTree
	over map[string]*nodeRec // nil value: deleted by an earlier op
}

func (v *prepView) get(p string) *nodeRec {
	if r, ok := v.over[p]; ok {
		return r
	}
	n := v.t.nodes[p]
	if n == nil {
		return nil
	}
	return &nodeRec{stat: n.stat, acl: n.acl}
}

func (v *prepView) set(p string, r *nodeRec) {
	if v.over == nil {
		v.over = make(map[string]*nodeRec)
	}
	v.over[p] = r
}

// prepCtx is the caller of a write.
type prepCtx struct {
	session  int64
	auth     *authSet
	zxid     int64
	extended bool // zookeeper.extendedTypesEnabled: TTL nodes allowed
}

// CreateRequest is a create of any kind (create, create2, createContainer,
// createTTL) after decoding.
type CreateRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
	TTL   int64
}

// Create modes (CreateMode flags).
const (
	flagEphemeral  int32 = 1
	flagSequential int32 = 2
	modeContainer  int32 = 4
	modeTTL        int32 = 5
	modeTTLSeq     int32 = 6
)

func (v *prepView) prepCreate(c *prepCtx, op int32, r *CreateRequest) (any, Code) {
	if r.Flags < 0 || r.Flags > modeTTLSeq {
		return nil, CodeBadArguments
	}
	isTTL := r.Flags == modeTTL || r.Flags == modeTTLSeq
	if op == OpCreateTTL || isTTL {
		if !c.extended {
			return nil, CodeUnimplemented
		}
		// EphemeralType.validateTTL: TTL modes need 0 < ttl <= max, and
		// only createTTL carries a ttl (the others send -1).
		if op != OpCreateTTL || !isTTL || r.TTL <= 0 || r.TTL > maxTTL {
			return nil, CodeBadArguments
		}
	}
	// createContainer makes a container whatever the flags say (only
	// their sequential bit still counts), as ZooKeeper does; a create
	// with the container flag does too.
	container := op == OpCreateContainer || r.Flags == modeContainer
	if container {
		op = OpCreateContainer
	}
	p := r.Path
	if !strings.HasPrefix(p, "/") || strings.IndexByte(p, 0) >= 0 {
		return nil, CodeBadArguments
	}
	acl, ok := fixupACL(r.ACL, c.auth)
	if !ok {
		return nil, CodeInvalidACL
	}
	parentPath, _ := splitPath(p)
	parent := v.get(parentPath)
	if parent == nil {
		return nil, CodeNoNode
	}
	if !checkACL(parent.acl, PermCreate, c.auth) {
		return nil, CodeNoAuth
	}
	if r.Flags&flagSequential != 0 {
		p += fmt.Sprintf("%010d", parent.stat.Cversion)
	}
	if !validatePath(p) {
		return nil, CodeBadArguments
	}
	if p == "/" || v.get(p) != nil {
		return nil, CodeNodeExists
	}
	if isSessionOwner(parent.stat.EphemeralOwner) {
		return nil, CodeNoChildrenForEphemerals
	}
	ephemeral := r.Flags&flagEphemeral != 0 && r.Flags != modeTTL && !container
	owner := int64(0)
	switch {
	case op == OpCreateContainer:
		owner = containerOwner
	case op == OpCreateTTL:
		owner = ttlOwnerMask | r.TTL
	case ephemeral:
		owner = c.session
	}
	np := *parent
	np.stat.Cversion++
	np.stat.NumChildren++
	np.stat.Pzxid = c.zxid
	v.set(parentPath, &np)
	v.set(p, &nodeRec{acl: acl, stat: Stat{EphemeralOwner: owner}})
	return &CreateTxn{Path: p, Data: r.Data, ACL: acl, Ephemeral: ephemeral, ParentCVersion: np.stat.Cversion, TTL: r.TTL}, CodeOK
}

func (v *prepView) prepDelete(c *prepCtx, op int32, p string, version int32) (any, Code) {
	// getParentPathAndValidate: only a missing '/', a NUL or a special
	// path is BadArguments; any other malformed path is simply NoNode.
	slash := strings.LastIndexByte(p, '/')
	if slash < 0 || strings.IndexByte(p, 0) >= 0 || isSpecialPath(p) {
		return nil, CodeBadArguments
	}
	parentPath := p[:slash]
	if parentPath == "" {
		parentPath = "/"
	}
	n := v.get(p)
	if n == nil {
		return nil, CodeNoNode
	}
	parent := v.get(parentPath)
	if parent == nil {
		return nil, CodeNoNode
	}
	if op == OpDeleteContainer {
		o := n.stat.EphemeralOwner
		if !isContainerOwner(o) && !isTTLOwner(o) {
			return nil, CodeBadArguments
		}
	} else if !checkACL(parent.acl, PermDelete, c.auth) {
		return nil, CodeNoAuth
	}
	if version != -1 && version != n.stat.Version {
		return nil, CodeBadVersion
	}
	if n.stat.NumChildren > 0 {
		return nil, CodeNotEmpty
	}
	np := *parent
	np.stat.NumChildren--
	np.stat.Pzxid = c.zxid
	v.set(parentPath, &np)
	v.set(p, nil)
	return &DeleteTxn{Path: p}, CodeOK
}

func (v *prepView) prepSetData(c *prepCtx, p string, data []byte, version int32) (any, Code) {
	if !validatePath(p) {
		return nil, CodeBadArguments
	}
	n := v.get(p)
	if n == nil {
		return nil, CodeNoNode
	}
	if !checkACL(n.acl, PermWrite, c.auth) {
		return nil, CodeNoAuth
	}
	if version != -1 && version != n.stat.Version {
		return nil, CodeBadVersion
	}
	nn := *n
	nn.stat.Version++
	v.set(p, &nn)
	return &SetDataTxn{Path: p, Data: data, Version: nn.stat.Version}, CodeOK
}

func (v *prepView) prepSetACL(c *prepCtx, p string, acl []ACL, version int32) (any, Code) {
	if !validatePath(p) {
		return nil, CodeBadArguments
	}
	fixed, ok := fixupACL(acl, c.auth)
	if !ok {
		return nil, CodeInvalidACL
	}
	n := v.get(p)
	if n == nil {
		return nil, CodeNoNode
	}
	if !checkACL(n.acl, PermAdmin, c.auth) {
		return nil, CodeNoAuth
	}
	if version != -1 && version != n.stat.Aversion {
		return nil, CodeBadVersion
	}
	nn := *n
	nn.stat.Aversion++
	nn.acl = fixed
	v.set(p, &nn)
	return &SetACLTxn{Path: p, ACL: fixed, Version: nn.stat.Aversion}, CodeOK
}

func (v *prepView) prepCheck(c *prepCtx, p string, version int32) (any, Code) {
	if !validatePath(p) {
		return nil, CodeBadArguments
	}
	n := v.get(p)
	if n == nil {
		return nil, CodeNoNode
	}
	if !checkACL(n.acl, PermRead, c.auth) {
		return nil, CodeNoAuth
	}
	if version != -1 && version != n.stat.Version {
		return nil, CodeBadVersion
	}
	return &CheckVersionTxn{Path: p, Version: n.stat.Version}, CodeOK
}

// WriteOp is one decoded write request (alone or inside a multi).
type WriteOp struct {
	Type    int32
	Create  *CreateRequest
	Path    string
	Data    []byte
	ACL     []ACL
	Version int32
}

func (v *prepView) prepOp(c *prepCtx, op *WriteOp) (any, Code) {
	if c.session != 0 {
		// A write from a session that is gone (expired or closed while the
		// request was in flight) fails, as SessionTracker.checkSession
		// makes it fail in ZooKeeper; otherwise an ephemeral could outlive
		// its session. Checked against the replicated session table, so
		// preparation stays deterministic.
		if _, ok := v.t.sessions[c.session]; !ok {
			return nil, CodeSessionExpired
		}
	}
	switch op.Type {
	case OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL:
		return v.prepCreate(c, op.Type, op.Create)
	case OpDelete, OpDeleteContainer:
		return v.prepDelete(c, op.Type, op.Path, op.Version)
	case OpSetData:
		return v.prepSetData(c, op.Path, op.Data, op.Version)
	case OpSetACL:
		return v.prepSetACL(c, op.Path, op.ACL, op.Version)
	case OpCheck:
		return v.prepCheck(c, op.Path, op.Version)
	}
	return nil, CodeBadArguments
}

// txnTypeOf maps a request op to the type its txn is logged with.
func txnTypeOf(op *WriteOp, body any) int32 {
	if _, ok := body.(*CreateTxn); ok && op.Type != OpCreateTTL && op.Create.Flags == modeContainer {
		return OpCreateContainer
	}
	return op.Type
}

// Prepare turns one write (or a multi, when ops has several entries and
// multi is true) into the body and type of its txn. Errors become ErrorTxn
// bodies (type -1), or for a multi a MultiTxn of ErrorTxns: 0 before the
// failing op, its code, then -2 (RuntimeInconsistency).
func (t *DataTree) prepare(c *prepCtx, ops []WriteOp, multi bool) (int32, any) {
	v := &prepView{t: t}
	if !multi {
		body, code := v.prepOp(c, &ops[0])
		if code != CodeOK {
			return OpError, &ErrorTxn{Err: code}
		}
		return txnTypeOf(&ops[0], body), body
	}
	mt := &MultiTxn{Ops: make([]MultiOp, 0, len(ops))}
	for i := range ops {
		body, code := v.prepOp(c, &ops[i])
		if code != CodeOK {
			failed := &MultiTxn{Ops: make([]MultiOp, len(ops))}
			for j := range ops {
				e := CodeOK
				switch {
				case j == i:
					e = code
				case j > i:
					e = CodeRuntimeInconsistency
				}
				failed.Ops[j] = MultiOp{Type: OpError, Body: &ErrorTxn{Err: e}}
			}
			return OpMulti, failed
		}
		mt.Ops = append(mt.Ops, MultiOp{Type: txnTypeOf(&ops[i], body), Body: body})
	}
	return OpMulti, mt
}
