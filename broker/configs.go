package broker

import (
	"context"
	"fmt"
	"maps"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/config"
	"github.com/gregorlog/gregor/broker/zkmeta"
)

// loadDynamicConfig layers /config/brokers/<id> and /config/brokers/<default>
// over server.properties and re-applies the result to every log (a dynamic
// message.max.bytes, for one, takes effect at once). Invalid entries are
// logged and skipped, as Kafka does.
func (b *Broker) loadDynamicConfig(ctx context.Context) {
	per, err1 := b.zk.BrokerConfig(ctx, strconv.Itoa(int(b.id)))
	def, err2 := b.zk.BrokerConfig(ctx, zkmeta.DefaultBrokerEntity)
	if err1 != nil || err2 != nil {
		if ctx.Err() == nil {
			b.log.Warn("reading dynamic broker configs", "err", fmt.Sprint(err1, err2))
		}
		return
	}
	n, errs := b.cfg.WithDynamic(per, def)
	for _, e := range errs {
		b.log.Warn("ignoring dynamic broker config", "err", e)
	}
	b.cur.Store(n)
	if b.eng == nil {
		return
	}
	for _, t := range b.meta.allTopics() {
		b.loadTopicLogged(ctx, t.Name)
	}
}

// configFence returns a fence for a config write: the controller's own, or
// else the current controller epoch (Kafka's ZK mode lets any broker write
// configs; the check still orders the write after the last election).
func (b *Broker) configFence(ctx context.Context) (zkmeta.Fence, error) {
	if f, ok := b.controller(); ok {
		return f, nil
	}
	return b.zk.ControllerEpoch(ctx)
}

// brokerEntity maps a broker resource name to its ZooKeeper entity: our
// id, or "" for the cluster-wide default.
func (b *Broker) brokerEntity(name string) (string, error) {
	if name == "" {
		return zkmeta.DefaultBrokerEntity, nil
	}
	if id, err := strconv.ParseInt(name, 10, 32); err != nil || int32(id) != b.id {
		return "", fmt.Errorf("%w: unexpected broker id, expected %d or empty string, but received %s", errInvalidRequest, b.id, name)
	}
	return name, nil
}

const (
	resourceTopic  = kmsg.ConfigResourceTypeTopic
	resourceBroker = kmsg.ConfigResourceTypeBroker
)

// currentOverrides returns a resource's stored overrides.
func (b *Broker) currentOverrides(ctx context.Context, typ kmsg.ConfigResourceType, name string) (map[string]string, error) {
	switch typ {
	case resourceTopic:
		if b.meta.topic(name) == nil {
			return nil, fmt.Errorf("%w: %s", errUnknownTopicOrPartition, name)
		}
		return b.zk.TopicConfig(ctx, name)
	case resourceBroker:
		ent, err := b.brokerEntity(name)
		if err != nil {
			return nil, err
		}
		return b.zk.BrokerConfig(ctx, ent)
	}
	return nil, fmt.Errorf("%w: resource type %d", errInvalidRequest, typ)
}

// writeOverrides validates and (unless validateOnly) stores a resource's
// complete new set of overrides, then applies it locally.
func (b *Broker) writeOverrides(ctx context.Context, typ kmsg.ConfigResourceType, name string, m map[string]string, validateOnly bool) error {
	switch typ {
	case resourceTopic:
		if err := config.ValidateTopicConfigs(m); err != nil {
			return err
		}
		if validateOnly {
			return nil
		}
		f, err := b.configFence(ctx)
		if err != nil {
			return err
		}
		if err := b.zk.AlterTopicConfig(ctx, f, name, m); err != nil {
			return err
		}
		return b.loadTopic(ctx, name)
	case resourceBroker:
		ent, err := b.brokerEntity(name)
		if err != nil {
			return err
		}
		if err := config.ValidateDynamicBroker(m); err != nil {
			return err
		}
		if validateOnly {
			return nil
		}
		f, err := b.configFence(ctx)
		if err != nil {
			return err
		}
		if err := b.zk.AlterBrokerConfig(ctx, f, ent, m); err != nil {
			return err
		}
		b.loadDynamicConfig(ctx)
		return nil
	}
	return fmt.Errorf("%w: resource type %d", errInvalidRequest, typ)
}

func cloneOverrides(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}
