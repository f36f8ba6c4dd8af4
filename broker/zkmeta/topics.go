package zkmeta

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/broker/config"
)

// Kafka's topic name rules (Topic.validate): at most 249 characters of
// [a-zA-Z0-9._-], not "." or "..".
const maxTopicNameLen = 249

// ValidateTopicName applies Kafka's topic name rules.
func ValidateTopicName(t string) error {
	if t == "" || t == "." || t == ".." {
		return fmt.Errorf("%w: %q", ErrInvalidTopic, t)
	}
	if len(t) > maxTopicNameLen {
		return fmt.Errorf("%w: %q is longer than %d characters", ErrInvalidTopic, t, maxTopicNameLen)
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%w: %q contains %q (allowed: ASCII letters, digits, '.', '_', '-')", ErrInvalidTopic, t, r)
		}
	}
	return nil
}

func topicPath(t string) string              { return "/brokers/topics/" + t }
func partitionsPath(t string) string         { return topicPath(t) + "/partitions" }
func partitionPath(t string, p int32) string { return partitionsPath(t) + "/" + strconv.Itoa(int(p)) }
func statePath(t string, p int32) string     { return partitionPath(t, p) + "/state" }
func topicConfigPath(t string) string        { return "/config/topics/" + t }
func deleteMarkerPath(t string) string       { return "/admin/delete_topics/" + t }

// DefaultBrokerEntity is the entity name of cluster-wide dynamic broker
// configs (/config/brokers/<default>).
const DefaultBrokerEntity = "<default>"

func checkAssignment(a map[int32][]int32, from int32) error {
	if len(a) == 0 {
		return fmt.Errorf("%w: no partitions", ErrInvalidAssignment)
	}
	ps := sortedPartitions(a)
	for i, p := range ps {
		if p != from+int32(i) {
			return fmt.Errorf("%w: partitions must be numbered %d..%d without gaps", ErrInvalidAssignment, from, from+int32(len(ps))-1)
		}
		reps := a[p]
		if len(reps) == 0 {
			return fmt.Errorf("%w: partition %d has no replicas", ErrInvalidAssignment, p)
		}
		seen := map[int32]bool{}
		for _, r := range reps {
			if r < 0 || seen[r] {
				return fmt.Errorf("%w: partition %d replicas %v (negative or repeated broker id)", ErrInvalidAssignment, p, reps)
			}
			seen[r] = true
		}
	}
	return nil
}

// initialState is the state a new partition starts in: the first replica
// leads (the preferred leader), every replica is in the ISR, epoch 0.
func initialState(f Fence, reps []int32) PartitionState {
	return PartitionState{ControllerEpoch: f.Epoch, Leader: reps[0], LeaderEpoch: 0, ISR: slices.Clone(reps)}
}

func createOp(c *Client, p string, data []byte, flags int32) *zk.CreateRequest {
	return &zk.CreateRequest{Path: c.abs(p), Data: data, Acl: openACL, Flags: flags}
}

// TopicSpec describes a topic to create.
type TopicSpec struct {
	Name string
	// Assignment maps partitions 0..n-1 to replicas (preferred leader first).
	Assignment map[int32][]int32
	// Configs are the topic's overrides, validated with broker/config.
	Configs map[string]string
	// States optionally gives the initial leader and ISR per partition;
	// missing partitions start with the first replica as leader and all
	// replicas in the ISR.
	States map[int32]PartitionState
}

// CreateTopic writes a topic in one fenced multi: /config/topics/<t>
// (overrides), /brokers/topics/<t> (v3 assignment with a new random
// topic_id), every partition's state, and a /config/changes notification.
func (c *Client) CreateTopic(ctx context.Context, f Fence, spec TopicSpec) (TopicAssignment, error) {
	if err := ValidateTopicName(spec.Name); err != nil {
		return TopicAssignment{}, err
	}
	if err := checkAssignment(spec.Assignment, 0); err != nil {
		return TopicAssignment{}, err
	}
	if err := config.ValidateTopicConfigs(spec.Configs); err != nil {
		return TopicAssignment{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	for _, p := range []string{"/brokers/topics", "/config/topics", "/config/changes"} {
		if err := c.ensurePathCtx(ctx, p); err != nil {
			return TopicAssignment{}, err
		}
	}
	a := TopicAssignment{Topic: spec.Name, TopicID: NewUUID(), Partitions: maps.Clone(spec.Assignment)}
	t := spec.Name
	// /config/topics/<t> may exist without the topic (Kafka lets configs
	// outlive a failed create); overwrite it then.
	cfgOp := any(createOp(c, topicConfigPath(t), encodeEntityConfig(spec.Configs), zk.FlagPersistent))
	if ok, _, err := c.conn.Exists(c.abs(topicConfigPath(t))); err == nil && ok {
		cfgOp = &zk.SetDataRequest{Path: c.abs(topicConfigPath(t)), Data: encodeEntityConfig(spec.Configs), Version: -1}
	}
	ops := []any{
		cfgOp,
		createOp(c, topicPath(t), encodeTopic(a), zk.FlagPersistent),
		createOp(c, partitionsPath(t), nil, zk.FlagPersistent),
	}
	for _, p := range sortedPartitions(spec.Assignment) {
		st, ok := spec.States[p]
		if !ok {
			st = initialState(f, spec.Assignment[p])
		}
		st.ControllerEpoch = f.Epoch
		ops = append(ops,
			createOp(c, partitionPath(t, p), nil, zk.FlagPersistent),
			createOp(c, statePath(t, p), encodePartitionState(st), zk.FlagPersistent))
	}
	ops = append(ops, createOp(c, "/config/changes/config_change_", encodeChange("topics/"+t), zk.FlagSequence))
	_, err := c.fencedMulti(ctx, f, ops...)
	var me *multiError
	if errors.As(err, &me) && me.op == 1 && errors.Is(me.err, zk.ErrNodeExists) {
		return TopicAssignment{}, fmt.Errorf("%w: %s", ErrTopicExists, t)
	}
	if err != nil {
		return TopicAssignment{}, err
	}
	return a, nil
}

// Topics lists the topics in /brokers/topics, sorted.
func (c *Client) Topics(ctx context.Context) ([]string, error) {
	var ts []string
	err := c.retry(ctx, func() error {
		var err error
		ts, err = c.children("/brokers/topics")
		if errors.Is(err, zk.ErrNoNode) {
			ts, err = nil, nil // no topic was ever created
		}
		return err
	})
	slices.Sort(ts)
	return ts, err
}

// Topic reads a topic's assignment.
func (c *Client) Topic(ctx context.Context, t string) (TopicAssignment, error) {
	var a TopicAssignment
	err := c.retry(ctx, func() error {
		data, st, err := c.conn.Get(c.abs(topicPath(t)))
		if errors.Is(err, zk.ErrNoNode) {
			return fmt.Errorf("%w: %s", ErrNoTopic, t)
		}
		if err != nil {
			return zkErr("get", topicPath(t), err)
		}
		a, err = decodeTopic(t, data)
		a.ZkVersion = st.Version
		return err
	})
	return a, err
}

// PartitionState reads one partition's leader and ISR.
func (c *Client) PartitionState(ctx context.Context, t string, p int32) (PartitionState, error) {
	var s PartitionState
	err := c.retry(ctx, func() error {
		data, st, err := c.conn.Get(c.abs(statePath(t, p)))
		if errors.Is(err, zk.ErrNoNode) {
			return fmt.Errorf("%w: %s partition %d", ErrNoTopic, t, p)
		}
		if err != nil {
			return zkErr("get", statePath(t, p), err)
		}
		s, err = decodePartitionState(data)
		s.ZkVersion = st.Version
		return err
	})
	return s, err
}

// PartitionStates reads the state of every partition in the assignment.
func (c *Client) PartitionStates(ctx context.Context, t string) (map[int32]PartitionState, error) {
	a, err := c.Topic(ctx, t)
	if err != nil {
		return nil, err
	}
	out := make(map[int32]PartitionState, len(a.Partitions))
	for _, p := range sortedPartitions(a.Partitions) {
		s, err := c.PartitionState(ctx, t, p)
		if err != nil {
			return nil, err
		}
		out[p] = s
	}
	return out, nil
}

// UpdatePartitionState writes a new leader/ISR, fenced by the controller
// epoch and conditional on the state's zkVersion (Kafka's partition
// epoch). It returns the new zkVersion; ErrConflict when the state
// changed since it was read.
func (c *Client) UpdatePartitionState(ctx context.Context, f Fence, t string, p int32, s PartitionState) (int32, error) {
	s.ControllerEpoch = f.Epoch
	res, err := c.fencedMulti(ctx, f, &zk.SetDataRequest{Path: c.abs(statePath(t, p)), Data: encodePartitionState(s), Version: s.ZkVersion})
	if errors.Is(err, zk.ErrBadVersion) {
		return 0, fmt.Errorf("%w: %s partition %d state (zkVersion %d)", ErrConflict, t, p, s.ZkVersion)
	}
	if errors.Is(err, zk.ErrNoNode) {
		return 0, fmt.Errorf("%w: %s partition %d", ErrNoTopic, t, p)
	}
	if err != nil {
		return 0, err
	}
	return res[0].Stat.Version, nil
}

// AddPartitions appends partitions to a topic: the assignment is rewritten
// (keeping its topic_id) conditional on its zkVersion, and the new
// partitions' states are created, all in one fenced multi. extra holds the
// new partitions only, numbered from the current count.
func (c *Client) AddPartitions(ctx context.Context, f Fence, t string, extra map[int32][]int32) (TopicAssignment, error) {
	a, err := c.Topic(ctx, t)
	if err != nil {
		return TopicAssignment{}, err
	}
	if err := checkAssignment(extra, int32(len(a.Partitions))); err != nil {
		return TopicAssignment{}, err
	}
	if marked, _ := c.exists(ctx, deleteMarkerPath(t)); marked {
		return TopicAssignment{}, fmt.Errorf("%w: %s is marked for deletion", ErrNoTopic, t)
	}
	merged := maps.Clone(a.Partitions)
	maps.Copy(merged, extra)
	next := a
	next.Partitions = merged
	ops := []any{&zk.SetDataRequest{Path: c.abs(topicPath(t)), Data: encodeTopic(next), Version: a.ZkVersion}}
	for _, p := range sortedPartitions(extra) {
		ops = append(ops,
			createOp(c, partitionPath(t, p), nil, zk.FlagPersistent),
			createOp(c, statePath(t, p), encodePartitionState(initialState(f, extra[p])), zk.FlagPersistent))
	}
	res, err := c.fencedMulti(ctx, f, ops...)
	if errors.Is(err, zk.ErrBadVersion) || errors.Is(err, zk.ErrNodeExists) {
		return TopicAssignment{}, fmt.Errorf("%w: %s assignment changed concurrently", ErrConflict, t)
	}
	if err != nil {
		return TopicAssignment{}, err
	}
	next.ZkVersion = res[0].Stat.Version
	return next, nil
}

func (c *Client) exists(ctx context.Context, p string) (bool, error) {
	var ok bool
	err := c.retry(ctx, func() error {
		var err error
		ok, _, err = c.conn.Exists(c.abs(p))
		if err != nil {
			return zkErr("exists", p, err)
		}
		return nil
	})
	return ok, err
}

// TopicConfig reads /config/topics/<t> (empty when absent).
func (c *Client) TopicConfig(ctx context.Context, t string) (map[string]string, error) {
	return c.entityConfig(ctx, topicConfigPath(t))
}

// BrokerConfig reads /config/brokers/<entity>: a broker id or
// DefaultBrokerEntity (empty when absent).
func (c *Client) BrokerConfig(ctx context.Context, entity string) (map[string]string, error) {
	return c.entityConfig(ctx, "/config/brokers/"+entity)
}

func (c *Client) entityConfig(ctx context.Context, p string) (map[string]string, error) {
	var m map[string]string
	err := c.retry(ctx, func() error {
		data, _, err := c.conn.Get(c.abs(p))
		if errors.Is(err, zk.ErrNoNode) {
			m = map[string]string{}
			return nil
		}
		if err != nil {
			return zkErr("get", p, err)
		}
		m, err = decodeEntityConfig(data)
		return err
	})
	return m, err
}

// AlterTopicConfig replaces a topic's overrides (as Kafka's
// changeTopicConfig does) and posts a config change notification, in one
// fenced multi.
func (c *Client) AlterTopicConfig(ctx context.Context, f Fence, t string, cfg map[string]string) error {
	if err := config.ValidateTopicConfigs(cfg); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if ok, err := c.exists(ctx, topicPath(t)); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w: %s", ErrNoTopic, t)
	}
	return c.writeEntityConfig(ctx, f, "/config/topics", t, "topics/"+t, cfg)
}

// AlterBrokerConfig replaces the dynamic configs of one broker (entity =
// its id) or of the cluster default (DefaultBrokerEntity), validated as
// dynamic broker configs, and posts a notification.
func (c *Client) AlterBrokerConfig(ctx context.Context, f Fence, entity string, cfg map[string]string) error {
	if entity != DefaultBrokerEntity {
		if _, err := strconv.ParseInt(entity, 10, 32); err != nil {
			return fmt.Errorf("%w: broker entity %q is neither an id nor %s", ErrInvalidConfig, entity, DefaultBrokerEntity)
		}
	}
	if err := config.ValidateDynamicBroker(cfg); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return c.writeEntityConfig(ctx, f, "/config/brokers", entity, "brokers/"+entity, cfg)
}

func (c *Client) writeEntityConfig(ctx context.Context, f Fence, parent, name, entityPath string, cfg map[string]string) error {
	if err := c.ensurePathCtx(ctx, parent); err != nil {
		return err
	}
	if err := c.ensurePathCtx(ctx, "/config/changes"); err != nil {
		return err
	}
	p := parent + "/" + name
	for attempt := 0; attempt < 10; attempt++ {
		ok, err := c.exists(ctx, p)
		if err != nil {
			return err
		}
		var op any
		if ok {
			op = &zk.SetDataRequest{Path: c.abs(p), Data: encodeEntityConfig(cfg), Version: -1}
		} else {
			op = createOp(c, p, encodeEntityConfig(cfg), zk.FlagPersistent)
		}
		_, err = c.fencedMulti(ctx, f, op,
			createOp(c, "/config/changes/config_change_", encodeChange(entityPath), zk.FlagSequence))
		if errors.Is(err, zk.ErrNodeExists) || errors.Is(err, zk.ErrNoNode) {
			continue // raced with a create or delete of the entity
		}
		return err
	}
	return fmt.Errorf("%w: %s", ErrConflict, p)
}

// MarkTopicForDeletion creates Kafka's /admin/delete_topics/<t> marker
// (fenced); the controller completes the deletion with
// CompleteTopicDeletion. Marking twice is not an error.
func (c *Client) MarkTopicForDeletion(ctx context.Context, f Fence, t string) error {
	if ok, err := c.exists(ctx, topicPath(t)); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w: %s", ErrNoTopic, t)
	}
	if err := c.ensurePathCtx(ctx, "/admin/delete_topics"); err != nil {
		return err
	}
	_, err := c.fencedMulti(ctx, f, createOp(c, deleteMarkerPath(t), nil, zk.FlagPersistent))
	if errors.Is(err, zk.ErrNodeExists) {
		return nil
	}
	return err
}

// TopicsMarkedForDeletion lists /admin/delete_topics, sorted.
func (c *Client) TopicsMarkedForDeletion(ctx context.Context) ([]string, error) {
	var ts []string
	err := c.retry(ctx, func() error {
		var err error
		ts, err = c.children("/admin/delete_topics")
		if errors.Is(err, zk.ErrNoNode) {
			ts, err = nil, nil
		}
		return err
	})
	slices.Sort(ts)
	return ts, err
}

// CompleteTopicDeletion removes a topic's znodes (partition states, the
// assignment, its config) and the deletion marker in one fenced multi,
// once the brokers have deleted its logs.
func (c *Client) CompleteTopicDeletion(ctx context.Context, f Fence, t string) error {
	var ops []any
	del := func(p string) { ops = append(ops, &zk.DeleteRequest{Path: c.abs(p), Version: -1}) }
	if ok, err := c.exists(ctx, topicPath(t)); err != nil {
		return err
	} else if ok {
		parts, partsErr := c.childrenCtx(ctx, partitionsPath(t))
		if partsErr != nil && !errors.Is(partsErr, zk.ErrNoNode) {
			return partsErr
		}
		for _, ps := range parts {
			pp := partitionsPath(t) + "/" + ps
			kids, err := c.childrenCtx(ctx, pp)
			if err != nil && !errors.Is(err, zk.ErrNoNode) {
				return err
			}
			for _, k := range kids {
				del(pp + "/" + k)
			}
			del(pp)
		}
		if partsErr == nil { // the partitions node exists
			del(partitionsPath(t))
		}
		if err := c.appendIfExists(ctx, &ops, topicPath(t)); err != nil {
			return err
		}
	}
	for _, p := range []string{topicConfigPath(t), deleteMarkerPath(t)} {
		if err := c.appendIfExists(ctx, &ops, p); err != nil {
			return err
		}
	}
	if len(ops) == 0 {
		return nil
	}
	_, err := c.fencedMulti(ctx, f, ops...)
	if errors.Is(err, zk.ErrNoNode) || errors.Is(err, zk.ErrNotEmpty) {
		return fmt.Errorf("%w: %s changed during deletion", ErrConflict, t)
	}
	return err
}

func (c *Client) appendIfExists(ctx context.Context, ops *[]any, p string) error {
	ok, err := c.exists(ctx, p)
	if err != nil {
		return err
	}
	if ok {
		*ops = append(*ops, &zk.DeleteRequest{Path: c.abs(p), Version: -1})
	}
	return nil
}

func (c *Client) childrenCtx(ctx context.Context, p string) ([]string, error) {
	var out []string
	err := c.retry(ctx, func() error {
		var err error
		out, err = c.children(p)
		return err
	})
	return out, err
}
