package group

import (
	"bytes"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// State is a classic group's state, named exactly as Kafka prints it.
type State uint8

const (
	stateEmpty State = iota
	statePreparingRebalance
	stateCompletingRebalance
	stateStable
	stateDead
)

// Exported names of the states.
const (
	Empty               = stateEmpty
	PreparingRebalance  = statePreparingRebalance
	CompletingRebalance = stateCompletingRebalance
	Stable              = stateStable
	Dead                = stateDead
)

func (s State) String() string {
	switch s {
	case stateEmpty:
		return "Empty"
	case statePreparingRebalance:
		return "PreparingRebalance"
	case stateCompletingRebalance:
		return "CompletingRebalance"
	case stateStable:
		return "Stable"
	}
	return "Dead"
}

type protocol struct {
	name string
	meta []byte
}

type member struct {
	id, instanceID       string
	clientID, clientHost string
	session, rebalance   time.Duration
	protocols            []protocol
	assignment           []byte

	// isNew: added by JoinGroup and not yet answered; expires after
	// newMemberJoinTimeout instead of being kept alive while parked.
	isNew      bool
	hbDeadline time.Time

	// Invariant: joinWaiter != nil iff the member is awaiting join.
	joinWaiter  Waiter
	joinVersion int16
	// Invariant: syncWaiter != nil iff the member is awaiting sync.
	syncWaiter  Waiter
	syncVersion int16
}

func (m *member) awaitingJoin() bool { return m.joinWaiter != nil }
func (m *member) awaitingSync() bool { return m.syncWaiter != nil }

func (m *member) metadataFor(proto string) []byte {
	for _, p := range m.protocols {
		if p.name == proto {
			return p.meta
		}
	}
	return nil
}

func (m *member) matches(ps []kmsg.JoinGroupRequestProtocol) bool {
	if len(ps) != len(m.protocols) {
		return false
	}
	for i, p := range ps {
		if p.Name != m.protocols[i].name || !bytes.Equal(p.Metadata, m.protocols[i].meta) {
			return false
		}
	}
	return true
}

// Group is one classic consumer group. Its fields are owned by the
// Coordinator and change only inside Coordinator calls.
type Group struct {
	c  *Coordinator
	id string

	state     State
	stateTime time.Time // Kafka's currentStateTimestamp

	protocolType string
	protocol     string // selected protocol; "" unless a generation has members
	generation   int32
	leader       string // "" when there are no members

	// Invariant: order holds exactly the keys of members, in join order;
	// it makes leader choice and describe output deterministic.
	members map[string]*member
	order   []string
	// static maps group.instance.id to the member id holding it.
	// Invariant: static[m.instanceID] == m.id for every static member.
	static map[string]string
	// pending are KIP-394 member ids handed out with MEMBER_ID_REQUIRED,
	// with the deadline (session timeout) by which they must rejoin.
	pending map[string]time.Time

	// Rebalance timer: set iff state == PreparingRebalance.
	joinDeadline     time.Time
	initialDelay     bool          // the timer is Kafka's InitialDelayedJoin
	initialRemaining time.Duration // rebalance timeout left after the delays
	newMemberAdded   bool

	// Sync timer: members of the generation that have not sent SyncGroup.
	syncDeadline time.Time
	pendingSync  map[string]bool

	// subscribed is the union of the members' subscribed topics when the
	// protocol type is "consumer" and every subscription parsed.
	subscribed map[string]bool

	offsets map[topicPartition]offset
}

type topicPartition struct {
	topic     string
	partition int32
}

type offset struct {
	offset      int64
	leaderEpoch int32
	metadata    string
	commitTime  time.Time
	expireTime  time.Time // zero: expire by offsets.retention.minutes
}

func newGroup(c *Coordinator, id string, now time.Time) *Group {
	return &Group{
		c:         c,
		id:        id,
		state:     stateEmpty,
		stateTime: now,
		members:   make(map[string]*member),
		static:    make(map[string]string),
		pending:   make(map[string]time.Time),
		offsets:   make(map[topicPartition]offset),
	}
}

// ID, State, Generation, Protocol, ProtocolType, Leader and Members are
// read-only views for the CLI, metrics and tests.
func (g *Group) ID() string           { return g.id }
func (g *Group) State() State         { return g.state }
func (g *Group) Generation() int32    { return g.generation }
func (g *Group) Protocol() string     { return g.protocol }
func (g *Group) ProtocolType() string { return g.protocolType }
func (g *Group) Leader() string       { return g.leader }
func (g *Group) Members() []string    { return append([]string(nil), g.order...) }

func (g *Group) transition(s State, now time.Time) {
	g.state = s
	g.stateTime = now
}

func (g *Group) rebalanceTimeout() time.Duration {
	var t time.Duration
	for _, m := range g.members {
		t = max(t, m.rebalance)
	}
	return t
}

func (g *Group) numAwaitingJoin() int {
	n := 0
	for _, m := range g.members {
		if m.awaitingJoin() {
			n++
		}
	}
	return n
}

func (g *Group) allJoined() bool {
	return len(g.pending) == 0 && g.numAwaitingJoin() == len(g.members)
}

func (g *Group) add(m *member) {
	g.members[m.id] = m
	g.order = append(g.order, m.id)
	if m.instanceID != "" {
		g.static[m.instanceID] = m.id
	}
	if g.leader == "" {
		g.leader = m.id
	}
}

// remove drops a member, answering its parked requests with
// UNKNOWN_MEMBER_ID (a parked JoinGroup with an empty member id, so the
// client rejoins from scratch), and picks a new leader if needed.
func (g *Group) remove(id string, o *Out) {
	m := g.members[id]
	if m == nil {
		return
	}
	if m.awaitingJoin() {
		o.deliver(m.joinWaiter, joinError(m.joinVersion, "", errUnknownMember))
		m.joinWaiter = nil
	}
	if m.awaitingSync() {
		o.deliver(m.syncWaiter, syncError(m.syncVersion, errUnknownMember))
		m.syncWaiter = nil
	}
	delete(g.members, id)
	delete(g.pendingSync, id)
	for i, x := range g.order {
		if x == id {
			g.order = append(g.order[:i:i], g.order[i+1:]...)
			break
		}
	}
	if m.instanceID != "" && g.static[m.instanceID] == id {
		delete(g.static, m.instanceID)
	}
	if g.leader == id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0]
		}
	}
}

// electJoinedLeader is Kafka's maybeElectNewJoinedLeader: the leader must
// be a member that rejoined.
func (g *Group) electJoinedLeader() bool {
	if m := g.members[g.leader]; m != nil && m.awaitingJoin() {
		return true
	}
	for _, id := range g.order {
		if g.members[id].awaitingJoin() {
			g.leader = id
			return true
		}
	}
	return false
}

// candidates are the protocols every member supports, in the leader's
// preference order.
func (g *Group) candidates() []string {
	count := make(map[string]int)
	for _, m := range g.members {
		for _, p := range m.protocols {
			count[p.name]++
		}
	}
	var out []string
	ref := g.members[g.leader]
	if ref == nil && len(g.order) > 0 {
		ref = g.members[g.order[0]]
	}
	if ref == nil {
		return nil
	}
	for _, p := range ref.protocols {
		if count[p.name] == len(g.members) {
			out = append(out, p.name)
		}
	}
	return out
}

// supports is Kafka's supportsProtocols: whether a member with this
// protocol type and these protocols may join.
func (g *Group) supports(ptype string, ps []kmsg.JoinGroupRequestProtocol) bool {
	if len(g.members) == 0 {
		return ptype != "" && len(ps) > 0
	}
	if ptype != g.protocolType {
		return false
	}
	count := make(map[string]int)
	for _, m := range g.members {
		for _, p := range m.protocols {
			count[p.name]++
		}
	}
	for _, p := range ps {
		if count[p.Name] == len(g.members) {
			return true
		}
	}
	return false
}

// selectProtocol is Kafka's vote: each member votes for its most preferred
// candidate; most votes wins. Kafka breaks ties arbitrarily (hash order);
// Gregor breaks them by the leader's preference order.
func (g *Group) selectProtocol() string {
	cands := g.candidates()
	if len(cands) == 0 {
		return ""
	}
	in := make(map[string]bool, len(cands))
	for _, c := range cands {
		in[c] = true
	}
	votes := make(map[string]int)
	for _, m := range g.members {
		for _, p := range m.protocols {
			if in[p.name] {
				votes[p.name]++
				break
			}
		}
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if votes[c] > votes[best] {
			best = c
		}
	}
	return best
}

// computeSubscribed parses ConsumerMemberMetadata of the selected
// protocol; nil (unknown) if the type is not "consumer" or any fails.
func (g *Group) computeSubscribed() {
	g.subscribed = nil
	if g.protocolType != "consumer" || g.protocol == "" {
		return
	}
	subs := make(map[string]bool)
	for _, m := range g.members {
		var md kmsg.ConsumerMemberMetadata
		if err := md.ReadFrom(m.metadataFor(g.protocol)); err != nil {
			return
		}
		for _, t := range md.Topics {
			subs[t] = true
		}
	}
	g.subscribed = subs
}

// subscribedTo is Kafka's isSubscribedToTopic: unknown subscriptions
// count as subscribed, so offsets are never deleted from under a member.
func (g *Group) subscribedTo(topic string) bool {
	if g.subscribed == nil {
		return true
	}
	return g.subscribed[topic]
}

func (g *Group) sortedMemberIDs() []string {
	ids := append([]string(nil), g.order...)
	sort.Strings(ids)
	return ids
}
