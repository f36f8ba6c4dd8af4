package group

import (
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeGroups handles DescribeGroups v0-v5. An unknown group is
// described as Dead with no error, as Kafka does.
func (c *Coordinator) DescribeGroups(now time.Time, req *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	r := kmsg.NewPtrDescribeGroupsResponse()
	r.Version = req.Version
	for _, id := range req.Groups {
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group = id
		rg.State = stateDead.String()
		if code := c.checkGroup(id, true); code != 0 {
			rg.ErrorCode = code
			rg.State = "" // Kafka's EmptyGroup summary
			r.Groups = append(r.Groups, rg)
			continue
		}
		g := c.groups[id]
		if g == nil && req.Version >= 6 {
			rg.ErrorCode = kerr.GroupIDNotFound.Code
			msg := "Group " + id + " not found."
			rg.ErrorMessage = &msg
		}
		if g != nil {
			rg.State = g.state.String()
			rg.ProtocolType = g.protocolType
			stable := g.state == stateStable
			if stable {
				rg.Protocol = g.protocol
			}
			for _, mid := range g.order {
				m := g.members[mid]
				rm := kmsg.NewDescribeGroupsResponseGroupMember()
				rm.MemberID = m.id
				if m.instanceID != "" {
					inst := m.instanceID
					rm.InstanceID = &inst
				}
				rm.ClientID, rm.ClientHost = m.clientID, m.clientHost
				if stable {
					rm.ProtocolMetadata = m.metadataFor(g.protocol)
					rm.MemberAssignment = m.assignment
				}
				rg.Members = append(rg.Members, rm)
			}
		}
		r.Groups = append(r.Groups, rg)
	}
	return r
}

// ListGroups handles ListGroups v0-v5 (states filter v4+, types filter v5+:
// every group here is "classic").
func (c *Coordinator) ListGroups(now time.Time, req *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	r := kmsg.NewPtrListGroupsResponse()
	r.Version = req.Version
	for _, p := range c.parts {
		if p == partLoading {
			// Kafka reports the load but still lists the loaded groups.
			r.ErrorCode = kerr.CoordinatorLoadInProgress.Code
		}
	}
	stateOK := func(s State) bool {
		if req.Version < 4 || len(req.StatesFilter) == 0 {
			return true
		}
		for _, f := range req.StatesFilter {
			if strings.EqualFold(f, s.String()) {
				return true
			}
		}
		return false
	}
	typeOK := func() bool {
		if req.Version < 5 || len(req.TypesFilter) == 0 {
			return true
		}
		for _, f := range req.TypesFilter {
			if strings.EqualFold(f, "classic") {
				return true
			}
		}
		return false
	}()
	for _, id := range c.Groups() {
		g := c.groups[id]
		if !stateOK(g.state) || !typeOK {
			continue
		}
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group = id
		rg.ProtocolType = g.protocolType
		rg.GroupState = g.state.String()
		rg.GroupType = "classic"
		r.Groups = append(r.Groups, rg)
	}
	return r
}

// DeleteGroups handles DeleteGroups v0-v2: only Empty groups (or groups
// holding only offsets) can be deleted; their offsets go with them.
func (c *Coordinator) DeleteGroups(now time.Time, req *kmsg.DeleteGroupsRequest) (*kmsg.DeleteGroupsResponse, Out) {
	defer c.check()
	var o Out
	r := kmsg.NewPtrDeleteGroupsResponse()
	r.Version = req.Version
	for _, id := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group = id
		if code := c.checkGroup(id, true); code != 0 {
			rg.ErrorCode = code
		} else if g := c.groups[id]; g == nil {
			rg.ErrorCode = kerr.GroupIDNotFound.Code
		} else if g.state != stateEmpty {
			rg.ErrorCode = kerr.NonEmptyGroup.Code
		} else {
			part := c.PartitionFor(id)
			for _, tp := range sortedTPs(g.offsets) {
				o.Records = append(o.Records, offsetTombstone(part, id, tp))
			}
			g.offsets = nil
			c.removeGroup(g, &o)
		}
		r.Groups = append(r.Groups, rg)
	}
	return r, o
}

// FindCoordinator answers FindCoordinator v0-v5 for group keys with the
// given node: on a single broker it coordinates every group once its
// partitions are loaded. Transaction keys (key type 1) answer
// COORDINATOR_NOT_AVAILABLE: Gregor has no transaction coordinator yet.
func (c *Coordinator) FindCoordinator(req *kmsg.FindCoordinatorRequest, nodeID int32, host string, port int32) *kmsg.FindCoordinatorResponse {
	r := kmsg.NewPtrFindCoordinatorResponse()
	r.Version = req.Version
	keys := req.CoordinatorKeys
	if req.Version < 4 {
		keys = []string{req.CoordinatorKey}
	}
	for _, k := range keys {
		rc := kmsg.NewFindCoordinatorResponseCoordinator()
		rc.Key = k
		rc.NodeID, rc.Host, rc.Port = -1, "", -1
		switch {
		case req.CoordinatorType != 0:
			rc.ErrorCode = kerr.CoordinatorNotAvailable.Code
		default:
			switch c.parts[c.PartitionFor(k)] {
			case partNotOwned:
				rc.ErrorCode = kerr.CoordinatorNotAvailable.Code
			default:
				// A loading partition still names its coordinator; the
				// group requests themselves say COORDINATOR_LOAD_IN_PROGRESS.
				rc.NodeID, rc.Host, rc.Port = nodeID, host, port
			}
		}
		r.Coordinators = append(r.Coordinators, rc)
	}
	if req.Version < 4 {
		rc := r.Coordinators[0]
		r.Coordinators = nil
		r.ErrorCode, r.NodeID, r.Host, r.Port = rc.ErrorCode, rc.NodeID, rc.Host, rc.Port
		if req.Version >= 1 && rc.ErrorCode != 0 {
			msg := kerr.ErrorForCode(rc.ErrorCode).Error()
			r.ErrorMessage = &msg
		}
	}
	return r
}
