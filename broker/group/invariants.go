package group

import (
	"fmt"

	"github.com/gregorlog/gregor/internal/invariants"
)

// check panics if a group's bookkeeping is inconsistent. It runs after
// every Coordinator call under -tags invariants or -race.
func (c *Coordinator) check() {
	if !invariants.Enabled {
		return
	}
	for id, g := range c.groups {
		if err := g.checkErr(); err != nil {
			panic(fmt.Sprintf("group %q (%s gen %d): %v", id, g.state, g.generation, err))
		}
		if c.parts[c.PartitionFor(id)] != partOwned {
			panic(fmt.Sprintf("group %q held for a partition not owned", id))
		}
	}
}

func (g *Group) checkErr() error {
	if g.state == stateDead {
		return fmt.Errorf("dead group still registered")
	}
	if len(g.order) != len(g.members) {
		return fmt.Errorf("order %v vs %d members", g.order, len(g.members))
	}
	for _, id := range g.order {
		m := g.members[id]
		if m == nil || m.id != id {
			return fmt.Errorf("order names %q, not a member", id)
		}
		if m.instanceID != "" && g.static[m.instanceID] != id {
			return fmt.Errorf("static %q maps to %q, not %q", m.instanceID, g.static[m.instanceID], id)
		}
		if m.awaitingJoin() && g.state != statePreparingRebalance {
			return fmt.Errorf("member %q awaits join in %s", id, g.state)
		}
		if m.awaitingSync() && g.state != stateCompletingRebalance {
			return fmt.Errorf("member %q awaits sync in %s", id, g.state)
		}
	}
	for inst, id := range g.static {
		if m := g.members[id]; m == nil || m.instanceID != inst {
			return fmt.Errorf("static %q -> %q dangling", inst, id)
		}
	}
	if (g.leader == "") != (len(g.members) == 0) || (g.leader != "" && g.members[g.leader] == nil) {
		return fmt.Errorf("leader %q with %d members", g.leader, len(g.members))
	}
	if (g.state == statePreparingRebalance) != !g.joinDeadline.IsZero() {
		return fmt.Errorf("join deadline %v in %s", g.joinDeadline, g.state)
	}
	if (g.state == stateStable || g.state == stateCompletingRebalance) && len(g.members) == 0 {
		return fmt.Errorf("no members in %s", g.state)
	}
	for id := range g.pendingSync {
		if g.members[id] == nil {
			return fmt.Errorf("pending sync %q not a member", id)
		}
	}
	return nil
}
