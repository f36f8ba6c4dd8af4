package broker

// DescribeConfigs (key 32), v0-4, as Kafka 3.8 in ZooKeeper mode.
//
// Topic resources list every topic config with its effective value and
// source (DYNAMIC_TOPIC_CONFIG for an override, else the broker synonym's
// layer, else DEFAULT_CONFIG); broker resources (our id, or "" for the
// cluster default) list every broker key. v1+ adds synonyms when asked
// (KIP-226, most specific first), v3+ the config type and, when asked,
// documentation. v0 has is_default instead of a source. config_names
// selects keys; null means all. An unknown topic is
// UNKNOWN_TOPIC_OR_PARTITION; another broker's id is INVALID_REQUEST.

import (
	"context"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/config"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.DescribeConfigs, 0, 4, handleDescribeConfigs) }

func handleDescribeConfigs(b *Broker, ctx context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.DescribeConfigsRequest)
	resp := q.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, res := range q.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
		var entries []config.Entry
		var err error
		switch res.ResourceType {
		case resourceTopic:
			// The cache holds the overrides as last read from ZooKeeper.
			if tm := b.meta.topic(res.ResourceName); tm == nil {
				err = fmt.Errorf("%w: %s", errUnknownTopicOrPartition, res.ResourceName)
			} else {
				entries, err = b.conf().DescribeTopic(tm.Overrides)
			}
		case resourceBroker:
			if _, err = b.brokerEntity(res.ResourceName); err == nil {
				entries = b.conf().DescribeBroker()
			}
		default:
			err = fmt.Errorf("%w: resource type %d", errInvalidRequest, res.ResourceType)
		}
		rr.ErrorCode = errorCode(err)
		rr.ErrorMessage = errorMessage(err)
		if errorCode(err) == kerr.UnknownServerError.Code {
			b.log.Warn("DescribeConfigs", "resource", res.ResourceName, "err", err)
		}
		for _, e := range entries {
			if res.ConfigNames != nil && !slices.Contains(res.ConfigNames, e.Name) {
				continue
			}
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			c.Name = e.Name
			if !e.Null && !e.Sensitive {
				v := e.Value
				c.Value = &v
			}
			c.ReadOnly = e.ReadOnly
			c.IsDefault = e.Source == config.SourceDefaultConfig
			c.Source = kmsg.ConfigSource(e.Source)
			c.IsSensitive = e.Sensitive
			if q.IncludeSynonyms && r.APIVersion >= 1 {
				for _, s := range e.Synonyms {
					cs := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
					cs.Name, cs.Source = s.Name, kmsg.ConfigSource(s.Source)
					if !s.Null {
						v := s.Value
						cs.Value = &v
					}
					c.ConfigSynonyms = append(c.ConfigSynonyms, cs)
				}
			}
			c.ConfigType = kmsg.ConfigType(e.KafkaType)
			if q.IncludeDocumentation {
				doc := e.Doc
				c.Documentation = &doc
			}
			rr.Configs = append(rr.Configs, c)
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return respond(r, resp)
}
