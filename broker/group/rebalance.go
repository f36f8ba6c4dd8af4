package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var (
	errUnknownMember        = kerr.UnknownMemberID.Code
	errIllegalGeneration    = kerr.IllegalGeneration.Code
	errRebalanceInProgress  = kerr.RebalanceInProgress.Code
	errFencedInstance       = kerr.FencedInstanceID.Code
	errCoordinatorNotAvail  = kerr.CoordinatorNotAvailable.Code
	errInconsistentProtocol = kerr.InconsistentGroupProtocol.Code
	notCoordinator          = kerr.NotCoordinator.Code
)

func joinError(version int16, memberID string, code int16) *kmsg.JoinGroupResponse {
	r := kmsg.NewPtrJoinGroupResponse()
	r.Version = version
	r.ErrorCode = code
	r.MemberID = memberID
	r.Generation = -1
	if version >= 7 {
		r.ProtocolType = nil
		r.Protocol = nil
	}
	return r
}

func syncError(version int16, code int16) *kmsg.SyncGroupResponse {
	r := kmsg.NewPtrSyncGroupResponse()
	r.Version = version
	r.ErrorCode = code
	return r
}

// JoinGroup handles a JoinGroup request (v0-v9). Its response, now or when
// the rebalance completes, is a Delivery to caller.Waiter.
func (c *Coordinator) JoinGroup(now time.Time, caller Caller, req *kmsg.JoinGroupRequest) Out {
	defer c.check()
	var o Out
	fail := func(code int16) Out {
		o.deliver(caller.Waiter, joinError(req.Version, req.MemberID, code))
		return o
	}
	if code := c.checkGroup(req.Group, false); code != 0 {
		return fail(code)
	}
	session := time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	if session < c.cfg.MinSessionTimeout || session > c.cfg.MaxSessionTimeout {
		return fail(kerr.InvalidSessionTimeout.Code)
	}
	unknown := req.MemberID == ""
	g := c.groups[req.Group]
	if g == nil {
		if !unknown {
			return fail(errUnknownMember)
		}
		g = c.getOrCreate(now, req.Group)
	}
	if !g.acceptJoining(req.MemberID) {
		g.remove(req.MemberID, &o)
		delete(g.pending, req.MemberID)
		o.deliver(caller.Waiter, joinError(req.Version, "", kerr.GroupMaxSizeReached.Code))
		g.tryCompleteJoin(now, &o)
		return o
	}
	if !g.supports(req.ProtocolType, req.Protocols) {
		return fail(errInconsistentProtocol)
	}
	instance := ""
	if req.Version >= 5 && req.InstanceID != nil {
		instance = *req.InstanceID
	}
	if unknown {
		g.joinNew(now, caller, req, instance, &o)
	} else {
		g.joinCurrent(now, caller, req, instance, &o)
	}
	g.tryCompleteJoin(now, &o)
	return o
}

func (g *Group) acceptJoining(id string) bool {
	max := g.c.cfg.MaxSize
	switch g.state {
	case stateEmpty, stateDead:
		return true
	case statePreparingRebalance:
		if m := g.members[id]; m != nil && m.awaitingJoin() {
			return true
		}
		return g.numAwaitingJoin() < max
	default:
		return g.members[id] != nil || len(g.members) < max
	}
}

func (g *Group) joinNew(now time.Time, caller Caller, req *kmsg.JoinGroupRequest, instance string, o *Out) {
	newID := caller.ClientID + "-" + g.c.cfg.NewUUID()
	if instance != "" {
		if old, ok := g.static[instance]; ok {
			g.replaceStatic(now, caller, req, old, newID, o)
			return
		}
		g.addAndRebalance(now, caller, req, newID, instance, o)
		return
	}
	if req.Version >= 4 {
		// KIP-394: hand out the id, expect the client back with it.
		g.pending[newID] = now.Add(time.Duration(req.SessionTimeoutMillis) * time.Millisecond)
		o.deliver(caller.Waiter, joinError(req.Version, newID, kerr.MemberIDRequired.Code))
		return
	}
	g.addAndRebalance(now, caller, req, newID, "", o)
}

func (g *Group) joinCurrent(now time.Time, caller Caller, req *kmsg.JoinGroupRequest, instance string, o *Out) {
	id := req.MemberID
	if _, ok := g.pending[id]; ok {
		if _, taken := g.static[instance]; instance != "" && taken {
			// Kafka never hands a pending (dynamic) id to a static member
			// and fails such a request; the instance belongs to another
			// member id, so it is fenced.
			o.deliver(caller.Waiter, joinError(req.Version, id, errFencedInstance))
			return
		}
		delete(g.pending, id)
		g.addAndRebalance(now, caller, req, id, instance, o)
		return
	}
	if code := g.validateMember(id, instance); code != 0 {
		o.deliver(caller.Waiter, joinError(req.Version, id, code))
		return
	}
	m := g.members[id]
	switch g.state {
	case statePreparingRebalance:
		g.updateAndRebalance(now, caller, req, m, o)
	case stateCompletingRebalance:
		if m.matches(req.Protocols) {
			// A retried JoinGroup whose response was lost: answer again
			// (the leader gets the member list again).
			o.deliver(caller.Waiter, g.joinResponse(req.Version, m, true))
			return
		}
		g.updateAndRebalance(now, caller, req, m, o)
	case stateStable:
		if g.leader == id || !m.matches(req.Protocols) {
			g.updateAndRebalance(now, caller, req, m, o)
			return
		}
		g.touch(now, m)
		o.deliver(caller.Waiter, g.joinResponse(req.Version, m, false))
	default:
		o.deliver(caller.Waiter, joinError(req.Version, id, errUnknownMember))
	}
}

// validateMember is Kafka's validateCurrentMember without the generation.
func (g *Group) validateMember(id, instance string) int16 {
	if instance != "" {
		owner, ok := g.static[instance]
		if !ok {
			return errUnknownMember
		}
		if owner != id {
			return errFencedInstance
		}
	}
	if g.members[id] == nil {
		return errUnknownMember
	}
	return 0
}

func protocolsOf(req *kmsg.JoinGroupRequest) []protocol {
	ps := make([]protocol, len(req.Protocols))
	for i, p := range req.Protocols {
		ps[i] = protocol{name: p.Name, meta: append([]byte(nil), p.Metadata...)}
	}
	return ps
}

func rebalanceOf(req *kmsg.JoinGroupRequest) time.Duration {
	if req.Version == 0 {
		return time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	}
	return time.Duration(req.RebalanceTimeoutMillis) * time.Millisecond
}

func (g *Group) setJoinWaiter(m *member, caller Caller, version int16, o *Out) {
	if m.awaitingJoin() {
		// Kafka silently replaces the callback; answering the superseded
		// request keeps the driver from holding it forever.
		o.deliver(m.joinWaiter, joinError(m.joinVersion, m.id, errRebalanceInProgress))
	}
	m.joinWaiter = caller.Waiter
	m.joinVersion = version
}

func (g *Group) addAndRebalance(now time.Time, caller Caller, req *kmsg.JoinGroupRequest, id, instance string, o *Out) {
	m := &member{
		id:         id,
		instanceID: instance,
		clientID:   caller.ClientID,
		clientHost: caller.ClientHost,
		session:    time.Duration(req.SessionTimeoutMillis) * time.Millisecond,
		rebalance:  rebalanceOf(req),
		protocols:  protocolsOf(req),
		isNew:      true,
		hbDeadline: now.Add(newMemberJoinTimeout),
	}
	g.add(m)
	g.protocolType = req.ProtocolType
	g.setJoinWaiter(m, caller, req.Version, o)
	if g.state == statePreparingRebalance && g.generation == 0 {
		g.newMemberAdded = true
	}
	g.maybePrepareRebalance(now, o)
}

func (g *Group) updateAndRebalance(now time.Time, caller Caller, req *kmsg.JoinGroupRequest, m *member, o *Out) {
	m.protocols = protocolsOf(req)
	m.session = time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	m.rebalance = rebalanceOf(req)
	m.clientID, m.clientHost = caller.ClientID, caller.ClientHost
	g.setJoinWaiter(m, caller, req.Version, o)
	g.maybePrepareRebalance(now, o)
}

// replaceStatic is Kafka's updateStaticMemberAndRebalance: a static member
// rejoining with an unknown member id takes over its old identity (and
// assignment); the old id is fenced.
func (g *Group) replaceStatic(now time.Time, caller Caller, req *kmsg.JoinGroupRequest, oldID, newID string, o *Out) {
	oldLeader := g.leader
	m := g.members[oldID]
	if m.awaitingJoin() {
		o.deliver(m.joinWaiter, joinError(m.joinVersion, oldID, errFencedInstance))
		m.joinWaiter = nil
	}
	if m.awaitingSync() {
		o.deliver(m.syncWaiter, syncError(m.syncVersion, errFencedInstance))
		m.syncWaiter = nil
	}
	delete(g.members, oldID)
	m.id = newID
	g.members[newID] = m
	for i, x := range g.order {
		if x == oldID {
			g.order[i] = newID
		}
	}
	g.static[m.instanceID] = newID
	if g.leader == oldID {
		g.leader = newID
	}
	if g.pendingSync[oldID] {
		delete(g.pendingSync, oldID)
		g.pendingSync[newID] = true
	}
	g.touch(now, m)
	m.protocols = protocolsOf(req)
	m.session = time.Duration(req.SessionTimeoutMillis) * time.Millisecond
	m.rebalance = rebalanceOf(req)
	m.clientID, m.clientHost = caller.ClientID, caller.ClientHost

	switch g.state {
	case stateStable:
		if g.selectProtocol() == g.protocol {
			// Same protocol: no rebalance; persist the new member id and
			// answer with the current generation. The old leader id is
			// returned (unless KIP-814 skip_assignment applies) so a
			// rejoining leader does not compute an assignment that a
			// Stable group would never distribute.
			g.storeGroup(o)
			r := g.joinResponse(req.Version, m, false)
			r.LeaderID = oldLeader
			if req.Version >= 9 && oldLeader == oldID {
				r.LeaderID = newID
				r.SkipAssignment = true
				r.Members = g.joinMembers()
			}
			o.deliver(caller.Waiter, r)
			return
		}
		g.setJoinWaiter(m, caller, req.Version, o)
		g.prepareRebalance(now, o)
	case stateCompletingRebalance:
		g.setJoinWaiter(m, caller, req.Version, o)
		g.prepareRebalance(now, o)
	default: // PreparingRebalance
		g.setJoinWaiter(m, caller, req.Version, o)
	}
}

func (g *Group) touch(now time.Time, m *member) {
	m.hbDeadline = now.Add(m.session)
}

func (g *Group) maybePrepareRebalance(now time.Time, o *Out) {
	switch g.state {
	case stateStable, stateCompletingRebalance, stateEmpty:
		g.prepareRebalance(now, o)
	}
}

func (g *Group) prepareRebalance(now time.Time, o *Out) {
	if g.state == stateCompletingRebalance {
		// Pending SyncGroups fail; the members rejoin.
		for _, id := range g.order {
			m := g.members[id]
			m.assignment = nil
			if m.awaitingSync() {
				o.deliver(m.syncWaiter, syncError(m.syncVersion, errRebalanceInProgress))
				m.syncWaiter = nil
			}
		}
	}
	g.syncDeadline = time.Time{}
	g.pendingSync = nil
	rt := g.rebalanceTimeout()
	if delay := g.c.cfg.InitialRebalanceDelay; g.state == stateEmpty && delay > 0 {
		g.initialDelay = true
		g.initialRemaining = max(rt-delay, 0)
		g.joinDeadline = now.Add(delay)
	} else {
		g.initialDelay = false
		g.joinDeadline = now.Add(rt)
	}
	g.transition(statePreparingRebalance, now)
	g.tryCompleteJoin(now, o)
}

func (g *Group) tryCompleteJoin(now time.Time, o *Out) {
	if g.state == statePreparingRebalance && !g.initialDelay && g.allJoined() {
		g.completeJoin(now, o)
	}
}

// joinDeadlinePassed is the expiry of Kafka's DelayedJoin / InitialDelayedJoin.
func (g *Group) joinDeadlinePassed(now time.Time, o *Out) {
	if g.initialDelay && g.newMemberAdded && g.initialRemaining > 0 {
		g.newMemberAdded = false
		delay := min(g.c.cfg.InitialRebalanceDelay, g.initialRemaining)
		g.initialRemaining -= delay
		g.joinDeadline = now.Add(delay)
		return
	}
	g.completeJoin(now, o)
}

// completeJoin is Kafka's onCompleteJoin.
func (g *Group) completeJoin(now time.Time, o *Out) {
	g.initialDelay = false
	g.newMemberAdded = false
	// Dynamic members that did not rejoin are dropped; static ones stay
	// until their session expires.
	for _, id := range append([]string(nil), g.order...) {
		m := g.members[id]
		if !m.awaitingJoin() && m.instanceID == "" {
			g.remove(id, o)
		}
	}
	if len(g.members) > 0 && !g.electJoinedLeader() {
		// Only non-rejoined static members: wait another rebalance timeout
		// for their sessions to expire.
		g.joinDeadline = now.Add(g.rebalanceTimeout())
		return
	}
	g.joinDeadline = time.Time{}
	g.generation++
	if len(g.members) == 0 {
		g.protocol = ""
		g.leader = ""
		g.subscribed = nil
		g.transition(stateEmpty, now)
		g.storeGroup(o)
		return
	}
	g.protocol = g.selectProtocol()
	g.computeSubscribed()
	g.transition(stateCompletingRebalance, now)
	g.pendingSync = make(map[string]bool, len(g.members))
	for _, id := range g.order {
		m := g.members[id]
		g.pendingSync[id] = true
		if m.awaitingJoin() {
			o.deliver(m.joinWaiter, g.joinResponse(m.joinVersion, m, true))
			m.joinWaiter = nil
		}
		// Static members that did not rejoin get a fresh session too,
		// as Kafka schedules every member's heartbeat here.
		m.isNew = false
		g.touch(now, m)
	}
	g.syncDeadline = now.Add(g.rebalanceTimeout())
}

func (g *Group) joinMembers() []kmsg.JoinGroupResponseMember {
	ms := make([]kmsg.JoinGroupResponseMember, 0, len(g.order))
	for _, id := range g.order {
		m := g.members[id]
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.id
		if m.instanceID != "" {
			inst := m.instanceID
			jm.InstanceID = &inst
		}
		jm.ProtocolMetadata = m.metadataFor(g.protocol)
		ms = append(ms, jm)
	}
	return ms
}

// joinResponse is the successful JoinGroup answer of the current
// generation for m; the leader gets the member list when withMembers.
func (g *Group) joinResponse(version int16, m *member, withMembers bool) *kmsg.JoinGroupResponse {
	r := kmsg.NewPtrJoinGroupResponse()
	r.Version = version
	r.Generation = g.generation
	pt, p := g.protocolType, g.protocol
	r.ProtocolType = &pt
	r.Protocol = &p
	r.LeaderID = g.leader
	r.MemberID = m.id
	if withMembers && m.id == g.leader {
		r.Members = g.joinMembers()
	}
	return r
}

// SyncGroup handles a SyncGroup request (v0-v5); the response is a
// Delivery to caller.Waiter, now or when the leader's assignment arrives.
func (c *Coordinator) SyncGroup(now time.Time, caller Caller, req *kmsg.SyncGroupRequest) Out {
	defer c.check()
	var o Out
	fail := func(code int16) Out {
		o.deliver(caller.Waiter, syncError(req.Version, code))
		return o
	}
	if code := c.checkGroup(req.Group, false); code != 0 {
		if code == kerr.CoordinatorLoadInProgress.Code {
			// The rebalance state was lost with the load; older clients do
			// not expect COORDINATOR_LOAD_IN_PROGRESS here, so Kafka asks
			// them to rejoin.
			code = errRebalanceInProgress
		}
		return fail(code)
	}
	g := c.groups[req.Group]
	if g == nil {
		return fail(errUnknownMember)
	}
	instance := ""
	if req.Version >= 3 && req.InstanceID != nil {
		instance = *req.InstanceID
	}
	if code := g.validateMember(req.MemberID, instance); code != 0 {
		return fail(code)
	}
	if req.Generation != g.generation {
		return fail(errIllegalGeneration)
	}
	if req.ProtocolType != nil && *req.ProtocolType != g.protocolType {
		return fail(errInconsistentProtocol)
	}
	if req.Protocol != nil && *req.Protocol != g.protocol {
		return fail(errInconsistentProtocol)
	}
	m := g.members[req.MemberID]
	switch g.state {
	case stateEmpty:
		return fail(errUnknownMember)
	case statePreparingRebalance:
		return fail(errRebalanceInProgress)
	case stateCompletingRebalance:
		if m.awaitingSync() {
			o.deliver(m.syncWaiter, syncError(m.syncVersion, errRebalanceInProgress))
		}
		m.syncWaiter, m.syncVersion = caller.Waiter, req.Version
		g.syncReceived(req.MemberID)
		if req.MemberID != g.leader {
			return o
		}
		assign := make(map[string][]byte, len(req.GroupAssignment))
		for _, a := range req.GroupAssignment {
			assign[a.MemberID] = a.MemberAssignment
		}
		for _, id := range g.order {
			g.members[id].assignment = append([]byte(nil), assign[id]...)
		}
		g.storeGroup(&o)
		g.transition(stateStable, now)
		for _, id := range g.order {
			m := g.members[id]
			if m.awaitingSync() {
				o.deliver(m.syncWaiter, g.syncResponse(m.syncVersion, m))
				m.syncWaiter = nil
				g.touch(now, m)
			}
		}
	case stateStable:
		g.syncReceived(req.MemberID)
		g.touch(now, m)
		o.deliver(caller.Waiter, g.syncResponse(req.Version, m))
	}
	return o
}

func (g *Group) syncReceived(id string) {
	delete(g.pendingSync, id)
	if len(g.pendingSync) == 0 {
		g.syncDeadline = time.Time{}
	}
}

func (g *Group) syncResponse(version int16, m *member) *kmsg.SyncGroupResponse {
	r := kmsg.NewPtrSyncGroupResponse()
	r.Version = version
	pt, p := g.protocolType, g.protocol
	r.ProtocolType = &pt
	r.Protocol = &p
	r.MemberAssignment = append([]byte{}, m.assignment...)
	return r
}

// Heartbeat handles a Heartbeat request (v0-v4).
func (c *Coordinator) Heartbeat(now time.Time, req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	defer c.check()
	r := kmsg.NewPtrHeartbeatResponse()
	r.Version = req.Version
	r.ErrorCode = c.heartbeat(now, req)
	return r
}

func (c *Coordinator) heartbeat(now time.Time, req *kmsg.HeartbeatRequest) int16 {
	if code := c.checkGroup(req.Group, false); code != 0 {
		if code == kerr.CoordinatorLoadInProgress.Code {
			return 0 // Kafka answers blindly while loading: the member stays put
		}
		return code
	}
	g := c.groups[req.Group]
	if g == nil {
		return errUnknownMember
	}
	instance := ""
	if req.Version >= 3 && req.InstanceID != nil {
		instance = *req.InstanceID
	}
	if code := g.validateMember(req.MemberID, instance); code != 0 {
		return code
	}
	if req.Generation != g.generation {
		return errIllegalGeneration
	}
	m := g.members[req.MemberID]
	switch g.state {
	case stateEmpty:
		return errUnknownMember
	case statePreparingRebalance:
		g.touch(now, m)
		return errRebalanceInProgress
	default:
		g.touch(now, m)
		return 0
	}
}

// LeaveGroup handles LeaveGroup v0-v2 (one member id) and v3+ (a batch of
// members, static ones by instance id).
func (c *Coordinator) LeaveGroup(now time.Time, req *kmsg.LeaveGroupRequest) (*kmsg.LeaveGroupResponse, Out) {
	defer c.check()
	var o Out
	r := kmsg.NewPtrLeaveGroupResponse()
	r.Version = req.Version
	leaving := req.Members
	if req.Version < 3 {
		leaving = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	if code := c.checkGroup(req.Group, false); code != 0 {
		r.ErrorCode = code
		return r, o
	}
	g := c.groups[req.Group]
	removed := false
	for _, lm := range leaving {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID = lm.MemberID
		rm.InstanceID = lm.InstanceID
		instance := ""
		if lm.InstanceID != nil {
			instance = *lm.InstanceID
		}
		switch {
		case g == nil:
			rm.ErrorCode = errUnknownMember
		case lm.MemberID == "" && instance != "":
			if id, ok := g.static[instance]; ok {
				g.remove(id, &o)
				removed = true
			} else {
				rm.ErrorCode = errUnknownMember
			}
		default:
			if _, ok := g.pending[lm.MemberID]; ok {
				delete(g.pending, lm.MemberID)
				removed = true
				break
			}
			if code := g.validateMember(lm.MemberID, instance); code != 0 {
				rm.ErrorCode = code
				break
			}
			g.remove(lm.MemberID, &o)
			removed = true
		}
		r.Members = append(r.Members, rm)
	}
	if removed {
		g.afterRemoval(now, &o)
	}
	if req.Version < 3 {
		r.ErrorCode = r.Members[0].ErrorCode
		r.Members = nil
	}
	return r, o
}

// afterRemoval is the tail of Kafka's removeMemberAndUpdateGroup.
func (g *Group) afterRemoval(now time.Time, o *Out) {
	switch g.state {
	case stateStable, stateCompletingRebalance:
		g.prepareRebalance(now, o)
	case statePreparingRebalance:
		g.tryCompleteJoin(now, o)
	}
}

// tick fires the group's due timers.
func (g *Group) tick(now time.Time, o *Out) {
	for _, id := range sortedKeys(g.pending) {
		if !now.Before(g.pending[id]) {
			delete(g.pending, id)
			if g.state == statePreparingRebalance {
				g.tryCompleteJoin(now, o)
			}
		}
	}
	for _, id := range append([]string(nil), g.order...) {
		m := g.members[id]
		if m == nil || now.Before(m.hbDeadline) {
			continue
		}
		if !m.isNew && (m.awaitingJoin() || m.awaitingSync()) {
			continue
		}
		g.remove(id, o)
		g.afterRemoval(now, o)
	}
	if g.state == statePreparingRebalance && !g.joinDeadline.IsZero() && !now.Before(g.joinDeadline) {
		g.joinDeadlinePassed(now, o)
	}
	if !g.syncDeadline.IsZero() && !now.Before(g.syncDeadline) {
		g.syncDeadline = time.Time{}
		if (g.state == stateStable || g.state == stateCompletingRebalance) && len(g.pendingSync) > 0 {
			for _, id := range sortedKeys(g.pendingSync) {
				g.remove(id, o)
			}
			g.pendingSync = nil
			g.prepareRebalance(now, o)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sortStrings(ks)
	return ks
}
