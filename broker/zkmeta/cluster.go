package zkmeta

import (
	"context"
	"errors"
	"slices"
)

// TopicMetadata is everything ZooKeeper holds about one topic.
type TopicMetadata struct {
	Assignment TopicAssignment
	// States holds the partitions whose state znode exists (a partition
	// may lack one briefly while a non-atomic writer creates it).
	States            map[int32]PartitionState
	Configs           map[string]string
	MarkedForDeletion bool
}

// Cluster is a point-in-time read of the metadata a broker serves
// Metadata, DescribeCluster and DescribeConfigs from. It is assembled from
// several reads, so concurrent changes may show partially; Watch tells
// when to read again.
type Cluster struct {
	Controller int32 // -1 when none
	Brokers    []BrokerInfo
	Topics     map[string]TopicMetadata
}

// ReadCluster reads brokers, the controller, and every topic's assignment,
// partition states, configs and deletion mark. Topics deleted while being
// read are left out.
func (c *Client) ReadCluster(ctx context.Context) (Cluster, error) {
	var cl Cluster
	var err error
	if cl.Controller, err = c.ControllerID(ctx); err != nil {
		return Cluster{}, err
	}
	if cl.Brokers, err = c.Brokers(ctx); err != nil {
		return Cluster{}, err
	}
	topics, err := c.Topics(ctx)
	if err != nil {
		return Cluster{}, err
	}
	marked, err := c.TopicsMarkedForDeletion(ctx)
	if err != nil {
		return Cluster{}, err
	}
	cl.Topics = make(map[string]TopicMetadata, len(topics))
	for _, t := range topics {
		a, err := c.Topic(ctx, t)
		if errors.Is(err, ErrNoTopic) {
			continue
		}
		if err != nil {
			return Cluster{}, err
		}
		tm := TopicMetadata{Assignment: a, States: make(map[int32]PartitionState, len(a.Partitions)), MarkedForDeletion: slices.Contains(marked, t)}
		for _, p := range sortedPartitions(a.Partitions) {
			s, err := c.PartitionState(ctx, t, p)
			if errors.Is(err, ErrNoTopic) {
				continue
			}
			if err != nil {
				return Cluster{}, err
			}
			tm.States[p] = s
		}
		if tm.Configs, err = c.TopicConfig(ctx, t); err != nil {
			return Cluster{}, err
		}
		cl.Topics[t] = tm
	}
	return cl, nil
}
