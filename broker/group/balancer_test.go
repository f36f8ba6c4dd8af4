package group

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// simClient is a consumer driven by a real franz-go balancer: it builds
// its JoinGroup metadata, and as leader runs the balancer, exactly as kgo
// does; the test plays its network.
type simClient struct {
	name  string
	id    string
	gen   int32
	owned map[string][]int32
}

type simGroup struct {
	t       *testing.T
	c       *Coordinator
	now     time.Time
	bal     kgo.GroupBalancer
	parts   int32
	clients map[string]*simClient
}

func (s *simGroup) joinReq(cl *simClient) *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = 9
	req.Group = "sim"
	req.SessionTimeoutMillis = 45_000
	req.RebalanceTimeoutMillis = 60_000
	req.MemberID = cl.id
	req.ProtocolType = "consumer"
	req.Protocols = []kmsg.JoinGroupRequestProtocol{{
		Name:     s.bal.ProtocolName(),
		Metadata: s.bal.JoinGroupMetadata([]string{"t"}, cl.owned, cl.gen),
	}}
	return req
}

// round makes the named clients (re)join and completes the rebalance,
// returning the clients that lost partitions (cooperative: they rejoin).
func (s *simGroup) round(names []string) []string {
	joins := map[string]*kmsg.JoinGroupResponse{}
	collect := func(o Out) {
		for _, d := range o.Deliveries {
			if r, ok := d.Resp.(*kmsg.JoinGroupResponse); ok {
				joins[d.To.(string)] = r
			}
		}
	}
	for _, n := range names {
		cl := s.clients[n]
		o := s.c.JoinGroup(s.now, Caller{ClientID: n, Waiter: n}, s.joinReq(cl))
		if len(o.Deliveries) == 1 {
			if r := o.Deliveries[0].Resp.(*kmsg.JoinGroupResponse); r.ErrorCode == 79 {
				cl.id = r.MemberID // KIP-394 round trip
				o = s.c.JoinGroup(s.now, Caller{ClientID: n, Waiter: n}, s.joinReq(cl))
			}
		}
		collect(o)
	}
	if len(joins) != len(s.clients) {
		s.t.Fatalf("%d join responses for %d members", len(joins), len(s.clients))
	}
	var leader string
	for n, r := range joins {
		if r.ErrorCode != 0 {
			s.t.Fatalf("%s join: error %d", n, r.ErrorCode)
		}
		s.clients[n].gen = r.Generation
		if r.LeaderID == r.MemberID {
			leader = n
		}
	}
	lr := joins[leader]
	mb, _, err := s.bal.MemberBalancer(lr.Members)
	if err != nil {
		s.t.Fatal(err)
	}
	var into kgo.IntoSyncAssignment
	if be, ok := mb.(kgo.GroupMemberBalancerOrError); ok {
		if into, err = be.BalanceOrError(map[string]int32{"t": s.parts}); err != nil {
			s.t.Fatal(err)
		}
	} else {
		into = mb.Balance(map[string]int32{"t": s.parts})
	}
	plan := into.IntoSyncAssignment()
	syncs := map[string]*kmsg.SyncGroupResponse{}
	for n, cl := range s.clients {
		req := kmsg.NewPtrSyncGroupRequest()
		req.Version = 5
		req.Group = "sim"
		req.Generation = cl.gen
		req.MemberID = cl.id
		pt, p := "consumer", s.bal.ProtocolName()
		req.ProtocolType, req.Protocol = &pt, &p
		if n == leader {
			continue
		}
		for _, d := range s.c.SyncGroup(s.now, Caller{Waiter: n}, req).Deliveries {
			syncs[d.To.(string)] = d.Resp.(*kmsg.SyncGroupResponse)
		}
	}
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 5
	req.Group = "sim"
	req.Generation = s.clients[leader].gen
	req.MemberID = s.clients[leader].id
	req.GroupAssignment = plan
	for _, d := range s.c.SyncGroup(s.now, Caller{Waiter: leader}, req).Deliveries {
		syncs[d.To.(string)] = d.Resp.(*kmsg.SyncGroupResponse)
	}
	var lost []string
	for n, cl := range s.clients {
		r := syncs[n]
		if r == nil || r.ErrorCode != 0 {
			s.t.Fatalf("%s: sync %+v", n, r)
		}
		got, err := s.bal.ParseSyncAssignment(r.MemberAssignment)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, p := range cl.owned["t"] {
			if !slices.Contains(got["t"], p) {
				lost = append(lost, n)
				break
			}
		}
		cl.owned = got
	}
	s.checkNoDoubleOwnership()
	slices.Sort(lost)
	return lost
}

func (s *simGroup) checkNoDoubleOwnership() {
	owner := map[int32]string{}
	for n, cl := range s.clients {
		for _, p := range cl.owned["t"] {
			if o, ok := owner[p]; ok {
				s.t.Fatalf("partition %d owned by %s and %s", p, o, n)
			}
			owner[p] = n
		}
	}
}

func (s *simGroup) checkAllAssigned() {
	n := 0
	for _, cl := range s.clients {
		n += len(cl.owned["t"])
	}
	if n != int(s.parts) {
		s.t.Fatalf("%d of %d partitions assigned: %v", n, s.parts, s.owned())
	}
}

func (s *simGroup) owned() map[string][]int32 {
	m := map[string][]int32{}
	for n, cl := range s.clients {
		m[n] = cl.owned["t"]
	}
	return m
}

func (s *simGroup) add(name string) {
	s.clients[name] = &simClient{name: name, gen: -1}
}

// settle runs rounds until no member lost partitions (eager balancers
// settle in one round; cooperative ones need a second).
func (s *simGroup) settle(first []string) int {
	names := first
	for rounds := 1; rounds <= 5; rounds++ {
		lost := s.round(names)
		if len(lost) == 0 || !s.bal.IsCooperative() {
			s.checkAllAssigned()
			return rounds
		}
		// In a cooperative group a member that revoked partitions
		// rejoins at once; the others rejoin when told to.
		names = s.allNames(lost)
	}
	s.t.Fatal("rebalance did not settle in 5 rounds")
	return 0
}

// allNames puts first the members that triggered the rejoin.
func (s *simGroup) allNames(first []string) []string {
	names := append([]string(nil), first...)
	var rest []string
	for n := range s.clients {
		if !slices.Contains(first, n) {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}

// TestRealBalancers runs franz-go's own balancers (cooperative-sticky,
// its default, plus sticky, range and round-robin) through the state
// machine: members join one by one, one leaves, one dies; after every
// settled rebalance each partition has exactly one owner, and
// cooperative-sticky needs its second round exactly when partitions move.
func TestRealBalancers(t *testing.T) {
	for _, bal := range []kgo.GroupBalancer{
		kgo.CooperativeStickyBalancer(), kgo.StickyBalancer(), kgo.RangeBalancer(), kgo.RoundRobinBalancer(),
	} {
		t.Run(bal.ProtocolName(), func(t *testing.T) {
			c := New(Config{InitialRebalanceDelay: -1})
			c.OwnAll()
			s := &simGroup{t: t, c: c, now: time.Unix(1_700_000_000, 0), bal: bal, parts: 12, clients: map[string]*simClient{}}
			s.add("a")
			s.settle([]string{"a"})
			for _, n := range []string{"b", "c"} {
				s.add(n)
				rounds := s.settle(s.allNames([]string{n}))
				if bal.IsCooperative() && rounds != 2 {
					t.Fatalf("adding %s: cooperative rebalance took %d rounds, want 2", n, rounds)
				}
			}
			if got := c.Group("sim").State(); got != Stable {
				t.Fatalf("state %s", got)
			}
			// b leaves (LeaveGroup v3): a and c share everything.
			leave := kmsg.NewPtrLeaveGroupRequest()
			leave.Version = 3
			leave.Group = "sim"
			leave.Members = []kmsg.LeaveGroupRequestMember{{MemberID: s.clients["b"].id}}
			if r, _ := c.LeaveGroup(s.now, leave); r.Members[0].ErrorCode != 0 {
				t.Fatalf("leave: %+v", r)
			}
			delete(s.clients, "b")
			s.settle(s.allNames(nil))
			// c dies: a keeps heartbeating past c's session timeout.
			for range 10 {
				s.now = s.now.Add(5 * time.Second)
				hb := kmsg.NewPtrHeartbeatRequest()
				hb.Group, hb.MemberID, hb.Generation = "sim", s.clients["a"].id, s.clients["a"].gen
				c.Heartbeat(s.now, hb)
				c.Tick(s.now)
			}
			if ms := c.Group("sim").Members(); len(ms) != 1 || ms[0] != s.clients["a"].id {
				t.Fatalf("members after c's death: %v", ms)
			}
			delete(s.clients, "c")
			s.settle([]string{"a"})
			if got := len(s.clients["a"].owned["t"]); got != int(s.parts) {
				t.Fatalf("a owns %d partitions", got)
			}
		})
	}
}
