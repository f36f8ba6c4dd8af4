package broker

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gregorlog/gregor/broker/config"
	"github.com/gregorlog/gregor/broker/zkmeta"
	"github.com/gregorlog/gregor/engine"
)

// partitionMeta is one partition as ZooKeeper describes it.
type partitionMeta struct {
	ID          int32
	Replicas    []int32
	ISR         []int32
	Leader      int32 // -1 when none
	LeaderEpoch int32
}

// topicMeta is the cached view of one topic. Immutable once published:
// updates replace the whole value.
type topicMeta struct {
	Name       string
	ID         [16]byte
	Partitions []partitionMeta // indexed by partition id
	Overrides  map[string]string
	Config     *config.TopicConfig
	Internal   bool
}

// metaCache is the broker's view of cluster metadata.
type metaCache struct {
	mu      sync.RWMutex
	topics  map[string]*topicMeta   // guarded by mu
	byID    map[[16]byte]*topicMeta // guarded by mu
	brokers []zkmeta.BrokerInfo     // guarded by mu; sorted by id
}

func (m *metaCache) init() {
	m.topics = map[string]*topicMeta{}
	m.byID = map[[16]byte]*topicMeta{}
}

func (m *metaCache) topic(name string) *topicMeta {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.topics[name]
}

func (m *metaCache) topicByID(id [16]byte) *topicMeta {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.byID[id]
}

func (m *metaCache) allTopics() []*topicMeta {
	m.mu.RLock()
	out := make([]*topicMeta, 0, len(m.topics))
	for _, t := range m.topics {
		out = append(out, t)
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (m *metaCache) put(t *topicMeta) {
	m.mu.Lock()
	if old := m.topics[t.Name]; old != nil {
		delete(m.byID, old.ID)
	}
	m.topics[t.Name] = t
	m.byID[t.ID] = t
	m.mu.Unlock()
}

func (m *metaCache) remove(name string) *topicMeta {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.topics[name]
	if t != nil {
		delete(m.topics, name)
		delete(m.byID, t.ID)
	}
	return t
}

func (m *metaCache) setBrokers(bs []zkmeta.BrokerInfo) {
	bs = slices.Clone(bs)
	sort.Slice(bs, func(i, j int) bool { return bs[i].ID < bs[j].ID })
	m.mu.Lock()
	m.brokers = bs
	m.mu.Unlock()
}

func (m *metaCache) allBrokers() []zkmeta.BrokerInfo {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Clone(m.brokers)
}

// decodeTopicID turns Kafka's Uuid string form into its 16 bytes.
func decodeTopicID(s string) [16]byte {
	var id [16]byte
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil && len(b) == 16 {
		copy(id[:], b)
	}
	return id
}

func encodeTopicID(id [16]byte) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// controller returns this broker's leadership if it is the controller.
func (b *Broker) controller() (zkmeta.Fence, bool) {
	l := b.leadership.Load()
	if l == nil || !l.Self {
		return zkmeta.Fence{}, false
	}
	return l.Fence, true
}

// controllerID is the active controller's id, -1 if unknown.
func (b *Broker) controllerID() int32 {
	if l := b.leadership.Load(); l != nil {
		return l.Controller
	}
	return -1
}

func (b *Broker) onLeadership(ctx context.Context, l zkmeta.Leadership) {
	b.leadership.Store(&l)
	if !l.Self {
		return
	}
	b.log.Info("elected controller", "broker", b.id, "epoch", l.Fence.Epoch)
	// Finish deletions a previous controller left behind.
	if names, err := b.zk.TopicsMarkedForDeletion(ctx); err == nil {
		b.completeDeletions(ctx, names)
	}
}

func (b *Broker) refreshBrokers(ctx context.Context) error {
	bs, err := b.zk.Brokers(ctx)
	if err != nil {
		return err
	}
	b.meta.setBrokers(bs)
	return nil
}

// onEvent applies one zkmeta watch event.
func (b *Broker) onEvent(ctx context.Context, ev zkmeta.Event) {
	switch ev.Kind {
	case zkmeta.BrokersChanged:
		if err := b.refreshBrokers(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("reading brokers", "err", err)
		}
	case zkmeta.TopicsChanged:
		want := map[string]bool{}
		for _, n := range ev.Names {
			want[n] = true
			if b.meta.topic(n) == nil {
				b.loadTopicLogged(ctx, n)
			}
		}
		for _, t := range b.meta.allTopics() {
			if !want[t.Name] {
				// Re-read rather than trust a possibly stale event: the
				// topic may have been re-created meanwhile.
				b.loadTopicLogged(ctx, t.Name)
			}
		}
	case zkmeta.TopicChanged:
		b.loadTopicLogged(ctx, ev.Name)
	case zkmeta.ConfigChanged:
		if t, ok := strings.CutPrefix(ev.Name, "topics/"); ok {
			b.loadTopicLogged(ctx, t)
		} else if strings.HasPrefix(ev.Name, "brokers/") {
			b.loadDynamicConfig(ctx)
		}
	case zkmeta.DeletionsChanged:
		if _, ok := b.controller(); ok {
			b.completeDeletions(ctx, ev.Names)
		}
	case zkmeta.ControllerChanged:
		// Campaign reports the outcome through onLeadership.
	}
}

func (b *Broker) loadTopicLogged(ctx context.Context, name string) {
	if err := b.loadTopic(ctx, name); err != nil && ctx.Err() == nil {
		b.log.Warn("loading topic metadata", "topic", name, "err", err)
	}
}

// loadAllTopics reads every topic from ZooKeeper.
func (b *Broker) loadAllTopics(ctx context.Context) error {
	names, err := b.zk.Topics(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := b.loadTopic(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// loadTopic reads a topic's assignment, partition states and overrides,
// publishes them and creates the logs of the partitions led here.
func (b *Broker) loadTopic(ctx context.Context, name string) error {
	b.reconcileMu.Lock()
	defer b.reconcileMu.Unlock()
	a, err := b.zk.Topic(ctx, name)
	if errors.Is(err, zkmeta.ErrNoTopic) {
		b.dropTopicLocked(name)
		return nil
	}
	if err != nil {
		return err
	}
	states, err := b.zk.PartitionStates(ctx, name)
	if err != nil {
		return err
	}
	overrides, err := b.zk.TopicConfig(ctx, name)
	if err != nil {
		return err
	}
	tc, err := b.conf().Topic(overrides)
	if err != nil {
		b.log.Warn("topic has invalid config overrides; using defaults", "topic", name, "err", err)
		overrides = map[string]string{}
		tc, _ = b.conf().Topic(nil)
	}
	if old := b.meta.topic(name); old != nil && old.ID != decodeTopicID(a.TopicID) {
		// Deleted and re-created while we were not looking: the old
		// partitions' data must not reappear under the new topic.
		b.dropTopicLocked(name)
	}
	t := &topicMeta{Name: name, ID: decodeTopicID(a.TopicID), Overrides: overrides, Config: tc, Internal: name == "__consumer_offsets" || name == "__transaction_state"}
	n := int32(0)
	for p := range a.Partitions {
		n = max(n, p+1)
	}
	t.Partitions = make([]partitionMeta, n)
	for i := range t.Partitions {
		pm := partitionMeta{ID: int32(i), Replicas: a.Partitions[int32(i)], Leader: -1}
		if st, ok := states[int32(i)]; ok {
			pm.Leader, pm.LeaderEpoch, pm.ISR = st.Leader, st.LeaderEpoch, st.ISR
		}
		t.Partitions[i] = pm
	}
	etc := engineTopicConfig(tc)
	for _, p := range t.Partitions {
		if p.Leader != b.id {
			continue
		}
		_, err := b.eng.Log(name, p.ID)
		if errors.Is(err, engine.ErrUnknownLog) {
			_, err = b.eng.CreateLog(name, p.ID, etc)
		}
		if err != nil {
			b.log.Error("opening partition log", "topic", name, "partition", p.ID, "err", err)
		}
	}
	// Logs load with the engine's static defaults; the topic's effective
	// configuration (overrides over dynamic broker configs) lives here.
	if _, err := b.eng.SetTopicConfig(name, etc); err != nil {
		b.log.Error("applying topic config", "topic", name, "err", err)
	}
	b.meta.put(t)
	if name == offsetsTopic {
		b.groups.onTopic(t)
	}
	return nil
}

// engineTopicConfig maps a topic's effective configuration (its overrides
// over the current broker configuration, dynamic layers included) onto
// the engine's TopicConfig. Every field is set, so the engine's own static
// defaults never apply to a topic the broker knows.
func engineTopicConfig(tc *config.TopicConfig) engine.TopicConfig {
	i64 := func(k string) *int64 { return engine.Ptr(tc.Long(k)) }
	i32 := func(k string) *int32 { return engine.Ptr(int32(min(tc.Long(k), math.MaxInt32))) }
	return engine.TopicConfig{
		SegmentBytes:     i64("segment.bytes"),
		SegmentMs:        i64("segment.ms"),
		SegmentJitterMs:  i64("segment.jitter.ms"),
		FlushMessages:    i64("flush.messages"),
		FlushMs:          i64("flush.ms"),
		MaxMessageBytes:  i32("max.message.bytes"),
		IndexIntervalB:   i32("index.interval.bytes"),
		SegmentIndexB:    i32("segment.index.bytes"),
		TimestampType:    tc.String("message.timestamp.type"),
		RetentionMs:      i64("retention.ms"),
		RetentionBytes:   i64("retention.bytes"),
		CleanupPolicy:    strings.Join(tc.List("cleanup.policy"), ","),
		DeleteRetentionM: i64("delete.retention.ms"),
		MinCompactionLag: i64("min.compaction.lag.ms"),
		FileDeleteDelay:  i64("file.delete.delay.ms"),
		// Log cleaner (engine/cleaner_config.go).
		MinCleanableRatio: engine.Ptr(tc.Double("min.cleanable.dirty.ratio")),
		MaxCompactionLag:  i64("max.compaction.lag.ms"),
	}
}

func (b *Broker) dropTopic(name string) {
	b.reconcileMu.Lock()
	defer b.reconcileMu.Unlock()
	b.dropTopicLocked(name)
}

// dropTopicLocked forgets a deleted topic and deletes its local logs.
func (b *Broker) dropTopicLocked(name string) {
	t := b.meta.remove(name)
	if t == nil {
		return
	}
	b.dropProducers(name)
	if name == offsetsTopic {
		b.groups.onTopicGone()
	}
	for _, p := range t.Partitions {
		if err := b.eng.DeleteLog(name, p.ID); err != nil && !errors.Is(err, engine.ErrUnknownLog) {
			b.log.Error("deleting partition log", "topic", name, "partition", p.ID, "err", err)
		}
	}
	b.log.Info("topic deleted", "topic", name)
}

// completeDeletions is the controller's half of topic deletion: remove the
// topic's znodes and its deletion marker in one fenced multi.
func (b *Broker) completeDeletions(ctx context.Context, names []string) {
	f, ok := b.controller()
	if !ok {
		return
	}
	b.deleteMu.Lock()
	defer b.deleteMu.Unlock()
	// Events may be stale: only topics still marked now are deleted, so a
	// topic re-created after its deletion is never touched.
	marked, err := b.zk.TopicsMarkedForDeletion(ctx)
	if err != nil {
		return
	}
	for _, n := range names {
		if !slices.Contains(marked, n) {
			continue
		}
		if err := b.zk.CompleteTopicDeletion(ctx, f, n); err != nil {
			// A conflict means DeleteTopics completed it concurrently.
			if ctx.Err() == nil && !errors.Is(err, zkmeta.ErrConflict) && !errors.Is(err, zkmeta.ErrNoTopic) {
				b.log.Warn("completing topic deletion", "topic", n, "err", err)
			}
			continue
		}
		b.loadTopicLogged(ctx, n)
	}
}

// maxPartitionsPerTopic bounds one topic (Gregor-specific; Kafka has no
// limit but its single ZooKeeper multi cannot hold much more either).
const maxPartitionsPerTopic = 10000

// assign spreads partitions [from, from+n) round-robin over the live
// brokers, rf replicas each, preferred leader first.
func assign(brokers []int32, from, n int32, rf int16) map[int32][]int32 {
	out := make(map[int32][]int32, n)
	for p := from; p < from+n; p++ {
		reps := make([]int32, 0, rf)
		for k := int32(0); k < int32(rf); k++ {
			reps = append(reps, brokers[(int(p)+int(k))%len(brokers)])
		}
		out[p] = reps
	}
	return out
}

func (b *Broker) liveBrokerIDs() []int32 {
	var ids []int32
	for _, bi := range b.meta.allBrokers() {
		ids = append(ids, bi.ID)
	}
	return ids
}

// createTopic is the controller's CreateTopics for one topic: validate,
// assign, write to ZooKeeper, then load it so the logs exist on return.
// validateOnly stops after the checks.
func (b *Broker) createTopic(ctx context.Context, name string, partitions int32, rf int16, assignment map[int32][]int32, configs map[string]string, validateOnly bool) (*topicMeta, error) {
	f, ok := b.controller()
	if !ok {
		return nil, errNotController
	}
	return b.createTopicFenced(ctx, f, name, partitions, rf, assignment, configs, validateOnly)
}

// createTopicFenced writes the topic under fence f: the controller's own,
// or (auto-creation on another broker, as Kafka's ZK-mode brokers write
// topics directly) the current controller epoch.
func (b *Broker) createTopicFenced(ctx context.Context, f zkmeta.Fence, name string, partitions int32, rf int16, assignment map[int32][]int32, configs map[string]string, validateOnly bool) (*topicMeta, error) {
	if err := zkmeta.ValidateTopicName(name); err != nil {
		return nil, err
	}
	if b.meta.topic(name) != nil {
		return nil, fmt.Errorf("%w: topic '%s' already exists", zkmeta.ErrTopicExists, name)
	}
	if err := config.ValidateTopicConfigs(configs); err != nil {
		return nil, err
	}
	brokers := b.liveBrokerIDs()
	if len(assignment) == 0 {
		if partitions == -1 {
			partitions = b.conf().Int("num.partitions")
		}
		if rf == -1 {
			rf = int16(b.conf().Int("default.replication.factor"))
		}
		if partitions <= 0 {
			return nil, fmt.Errorf("%w: number of partitions must be larger than 0", errInvalidPartitions)
		}
		if partitions > maxPartitionsPerTopic {
			return nil, fmt.Errorf("%w: %d partitions requested, at most %d per topic", errInvalidPartitions, partitions, maxPartitionsPerTopic)
		}
		if rf <= 0 {
			return nil, fmt.Errorf("%w: replication factor must be larger than 0", errInvalidReplicationFactor)
		}
		if int(rf) > len(brokers) {
			return nil, fmt.Errorf("%w: replication factor: %d larger than available brokers: %d", errInvalidReplicationFactor, rf, len(brokers))
		}
		assignment = assign(brokers, 0, partitions, rf)
	} else {
		live := map[int32]bool{}
		for _, id := range brokers {
			live[id] = true
		}
		if len(assignment) > maxPartitionsPerTopic {
			return nil, fmt.Errorf("%w: %d partitions requested, at most %d per topic", errInvalidPartitions, len(assignment), maxPartitionsPerTopic)
		}
		for p, reps := range assignment {
			if p < 0 || p >= int32(len(assignment)) || len(reps) == 0 {
				return nil, fmt.Errorf("%w: partition %d", errInvalidReplicaAssignment, p)
			}
			for _, r := range reps {
				if !live[r] {
					return nil, fmt.Errorf("%w: unknown broker %d for partition %d", errInvalidReplicaAssignment, r, p)
				}
			}
		}
	}
	if validateOnly {
		return &topicMeta{Name: name, Partitions: make([]partitionMeta, len(assignment))}, nil
	}
	if _, err := b.zk.CreateTopic(ctx, f, zkmeta.TopicSpec{Name: name, Assignment: assignment, Configs: configs}); err != nil {
		return nil, err
	}
	if err := b.loadTopic(ctx, name); err != nil {
		return nil, err
	}
	t := b.meta.topic(name)
	if t == nil {
		return nil, fmt.Errorf("%w: topic %s vanished after creation", errCoordinator, name)
	}
	b.log.Info("topic created", "topic", name, "partitions", len(assignment), "id", encodeTopicID(t.ID))
	return t, nil
}

// deleteTopic marks and (as controller) completes a topic's deletion.
func (b *Broker) deleteTopic(ctx context.Context, name string) error {
	f, ok := b.controller()
	if !ok {
		return errNotController
	}
	if !b.conf().Bool("delete.topic.enable") {
		return errTopicDeletionDisabled
	}
	if b.meta.topic(name) == nil {
		return fmt.Errorf("%w: %s", zkmeta.ErrNoTopic, name)
	}
	// deleteMu keeps the watch's completeDeletions from racing with us.
	b.deleteMu.Lock()
	defer b.deleteMu.Unlock()
	if err := b.zk.MarkTopicForDeletion(ctx, f, name); err != nil {
		return err
	}
	if err := b.zk.CompleteTopicDeletion(ctx, f, name); err != nil {
		return err
	}
	b.dropTopic(name)
	return nil
}

// partitionLog returns the log of a partition led by this broker, or the
// Kafka error that explains why there is none.
func (b *Broker) partitionLog(t *topicMeta, p int32) (*engine.Log, *partitionMeta, error) {
	if t == nil || p < 0 || int(p) >= len(t.Partitions) {
		return nil, nil, errUnknownTopicOrPartition
	}
	pm := &t.Partitions[p]
	if pm.Leader != b.id {
		if pm.Leader < 0 {
			return nil, pm, errLeaderNotAvailable
		}
		return nil, pm, errNotLeader
	}
	l, err := b.eng.Log(t.Name, p)
	if err != nil {
		return nil, pm, err
	}
	return l, pm, nil
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
