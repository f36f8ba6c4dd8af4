package group

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Errors returned by the loader and the record codecs.
var (
	ErrBadRecord    = errors.New("group: malformed __consumer_offsets record")
	ErrNotLoading   = errors.New("group: partition is not loading")
	ErrBadPartition = errors.New("group: partition out of range")
)

// Defaults, as Kafka 3.8 ships them.
const (
	DefaultNumPartitions          = 50
	DefaultInitialRebalanceDelay  = 3 * time.Second
	DefaultMinSessionTimeout      = 6 * time.Second
	DefaultMaxSessionTimeout      = 30 * time.Minute
	DefaultMaxSize                = 1<<31 - 1
	DefaultOffsetsRetention       = 7 * 24 * time.Hour
	DefaultRetentionCheckInterval = 10 * time.Minute
	DefaultOffsetMetadataMaxBytes = 4096

	// newMemberJoinTimeout is Kafka's GroupCoordinator.NewMemberJoinTimeoutMs:
	// a new member parked in JoinGroup is dropped after this long, since it
	// cannot heartbeat without a member id.
	newMemberJoinTimeout = 5 * time.Minute
)

// Config holds the broker settings the coordinator obeys. Zero fields take
// Kafka's defaults (see withDefaults).
type Config struct {
	NumPartitions          int32         // offsets.topic.num.partitions
	InitialRebalanceDelay  time.Duration // group.initial.rebalance.delay.ms (negative: 0)
	MinSessionTimeout      time.Duration // group.min.session.timeout.ms
	MaxSessionTimeout      time.Duration // group.max.session.timeout.ms
	MaxSize                int           // group.max.size
	OffsetsRetention       time.Duration // offsets.retention.minutes
	RetentionCheckInterval time.Duration // offsets.retention.check.interval.ms
	OffsetMetadataMaxBytes int           // offset.metadata.max.bytes

	// NewUUID makes the suffix of generated member ids (clientId-<uuid>).
	// Tests inject a counter; nil means a random UUID v4.
	NewUUID func() string
}

func (c Config) withDefaults() Config {
	if c.NumPartitions <= 0 {
		c.NumPartitions = DefaultNumPartitions
	}
	if c.InitialRebalanceDelay == 0 {
		c.InitialRebalanceDelay = DefaultInitialRebalanceDelay
	} else if c.InitialRebalanceDelay < 0 {
		c.InitialRebalanceDelay = 0
	}
	if c.MinSessionTimeout == 0 {
		c.MinSessionTimeout = DefaultMinSessionTimeout
	}
	if c.MaxSessionTimeout == 0 {
		c.MaxSessionTimeout = DefaultMaxSessionTimeout
	}
	if c.MaxSize <= 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.OffsetsRetention <= 0 {
		c.OffsetsRetention = DefaultOffsetsRetention
	}
	if c.RetentionCheckInterval <= 0 {
		c.RetentionCheckInterval = DefaultRetentionCheckInterval
	}
	if c.OffsetMetadataMaxBytes <= 0 {
		c.OffsetMetadataMaxBytes = DefaultOffsetMetadataMaxBytes
	}
	if c.NewUUID == nil {
		c.NewUUID = randomUUID
	}
	return c
}

func randomUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// Waiter identifies a parked JoinGroup or SyncGroup request for the driver
// (typically its connection and correlation id). The coordinator only
// stores it and hands it back in a Delivery.
type Waiter any

// Caller describes who sent a request: Kafka takes the client id and host
// from the request header and the socket.
type Caller struct {
	ClientID   string
	ClientHost string
	Waiter     Waiter // where JoinGroup/SyncGroup responses go
}

// Delivery is a response for a waiter: the driver writes Resp to To.
type Delivery struct {
	To   Waiter
	Resp kmsg.Response
}

// Record is a key/value to append to partition Partition of
// __consumer_offsets. A nil Value is a tombstone.
type Record struct {
	Partition int32
	Key       []byte
	Value     []byte
}

// Out is what one step of the state machine asks the driver to do, in this
// order: append Records to __consumer_offsets, then send Deliveries.
type Out struct {
	Records    []Record
	Deliveries []Delivery
}

func (o *Out) deliver(w Waiter, r kmsg.Response) {
	o.Deliveries = append(o.Deliveries, Delivery{To: w, Resp: r})
}

type partState uint8

const (
	partNotOwned partState = iota
	partLoading
	partOwned
)

// Coordinator is the group coordinator for the __consumer_offsets
// partitions this broker leads. It is not safe for concurrent use: the
// driver serialises calls (one goroutine or one mutex) and passes the
// current time to every call. Nothing in it reads a clock or starts a timer.
type Coordinator struct {
	cfg Config

	// parts[p] is whether this broker coordinates partition p.
	parts []partState
	// loading holds records read so far for partitions being loaded.
	loading map[int32]*loadState

	// groups holds every live group; a group that becomes Dead is removed.
	// Invariant: every group here has state != Dead and
	// parts[PartitionFor(id)] == partOwned.
	groups map[string]*Group

	lastRetentionCheck time.Time
}

// New returns a coordinator that owns no partitions yet. A single broker
// calls OwnAll; a replicated one calls BeginLoad/LoadRecord/FinishLoad per
// partition it leads.
func New(cfg Config) *Coordinator {
	cfg = cfg.withDefaults()
	return &Coordinator{
		cfg:     cfg,
		parts:   make([]partState, cfg.NumPartitions),
		loading: make(map[int32]*loadState),
		groups:  make(map[string]*Group),
	}
}

// Config returns the effective configuration (defaults applied).
func (c *Coordinator) Config() Config { return c.cfg }

// PartitionFor is the __consumer_offsets partition of group id.
func (c *Coordinator) PartitionFor(group string) int32 {
	return PartitionFor(group, c.cfg.NumPartitions)
}

// checkGroup is Kafka's validateGroupStatus: the error for a request
// naming group, or 0.
func (c *Coordinator) checkGroup(group string, allowEmpty bool) int16 {
	if group == "" && !allowEmpty {
		return kerr.InvalidGroupID.Code
	}
	switch c.parts[c.PartitionFor(group)] {
	case partLoading:
		return kerr.CoordinatorLoadInProgress.Code
	case partNotOwned:
		return kerr.NotCoordinator.Code
	}
	return 0
}

// Groups returns the ids of the live groups, sorted.
func (c *Coordinator) Groups() []string {
	ids := make([]string, 0, len(c.groups))
	for id := range c.groups {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Group returns a live group, or nil.
func (c *Coordinator) Group(id string) *Group { return c.groups[id] }

func (c *Coordinator) getOrCreate(now time.Time, id string) *Group {
	g := c.groups[id]
	if g == nil {
		g = newGroup(c, id, now)
		c.groups[id] = g
	}
	return g
}

// Tick fires every timer due at now: KIP-394 pending members and session
// timeouts, the (initial) rebalance delay and rebalance timeout, the sync
// timeout, and offset retention. Drivers call it periodically (Kafka's
// purgatory granularity is a few ms; every 100 ms-1 s is plenty) and may
// call it more often; extra calls are free of side effects.
func (c *Coordinator) Tick(now time.Time) Out {
	defer c.check()
	var o Out
	for _, id := range c.Groups() {
		g := c.groups[id]
		g.tick(now, &o)
	}
	if now.Sub(c.lastRetentionCheck) >= c.cfg.RetentionCheckInterval {
		c.lastRetentionCheck = now
		c.expireOffsets(now, &o)
	}
	return o
}

// NextDeadline is the earliest time at which Tick has something to do
// (zero if nothing is scheduled besides the retention check), so a driver
// can sleep until then.
func (c *Coordinator) NextDeadline() time.Time {
	var next time.Time
	min := func(t time.Time) {
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, g := range c.groups {
		min(g.joinDeadline)
		min(g.syncDeadline)
		for _, d := range g.pending {
			min(d)
		}
		for _, m := range g.members {
			min(m.hbDeadline)
		}
	}
	return next
}

func (c *Coordinator) removeGroup(g *Group, o *Out) {
	g.transition(stateDead, time.Time{})
	delete(c.groups, g.id)
	if o != nil {
		o.Records = append(o.Records, groupTombstone(g.id, c.PartitionFor(g.id)))
	}
}
