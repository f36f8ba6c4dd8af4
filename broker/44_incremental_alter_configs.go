package broker

// IncrementalAlterConfigs (key 44), v0-1, as Kafka 3.8 in ZooKeeper mode.
//
// Applies SET (0), DELETE (1), APPEND (2) and SUBTRACT (3) to a topic's or
// broker's stored overrides (KIP-339); APPEND and SUBTRACT work on list
// keys only, starting from the effective value. The result is validated
// and written like AlterConfigs. A key named twice in one resource is
// INVALID_REQUEST.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/config"
	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.IncrementalAlterConfigs, 0, 1, handleIncrementalAlterConfigs) }

func handleIncrementalAlterConfigs(b *Broker, ctx context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.IncrementalAlterConfigsRequest)
	resp := q.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, res := range q.Resources {
		rr := kmsg.NewIncrementalAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
		cur, err := b.currentOverrides(ctx, res.ResourceType, res.ResourceName)
		if err == nil {
			var m map[string]string
			m, err = b.applyIncremental(res, cloneOverrides(cur))
			if err == nil {
				err = b.writeOverrides(ctx, res.ResourceType, res.ResourceName, m, q.ValidateOnly)
			}
		}
		rr.ErrorCode = errorCode(err)
		rr.ErrorMessage = errorMessage(err)
		resp.Resources = append(resp.Resources, rr)
	}
	return respond(r, resp)
}

func (b *Broker) applyIncremental(res kmsg.IncrementalAlterConfigsRequestResource, m map[string]string) (map[string]string, error) {
	seen := map[string]bool{}
	for _, c := range res.Configs {
		if seen[c.Name] {
			return nil, fmt.Errorf("%w: error due to duplicate config keys: %s", errInvalidRequest, c.Name)
		}
		seen[c.Name] = true
		val := ""
		if c.Value != nil {
			val = *c.Value
		}
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			if c.Value == nil {
				return nil, fmt.Errorf("%w: null value for %s", errInvalidConfigBroker, c.Name)
			}
			m[c.Name] = val
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(m, c.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			cur, isList, err := b.effectiveList(res, c.Name, m)
			if err != nil {
				return nil, err
			}
			if !isList {
				return nil, fmt.Errorf("%w: config %s is not a list: cannot %s", errInvalidConfigBroker, c.Name, strings.ToLower(c.Op.String()))
			}
			items := strings.Split(val, ",")
			for _, it := range items {
				it = strings.TrimSpace(it)
				if it == "" {
					continue
				}
				if c.Op == kmsg.IncrementalAlterConfigOpAppend {
					if !slices.Contains(cur, it) {
						cur = append(cur, it)
					}
				} else {
					cur = slices.DeleteFunc(cur, func(s string) bool { return s == it })
				}
			}
			m[c.Name] = strings.Join(cur, ",")
		default:
			return nil, fmt.Errorf("%w: unknown op %d for %s", errInvalidRequest, c.Op, c.Name)
		}
	}
	return m, nil
}

// effectiveList is a list key's current effective value.
func (b *Broker) effectiveList(res kmsg.IncrementalAlterConfigsRequestResource, name string, overrides map[string]string) ([]string, bool, error) {
	if res.ResourceType == resourceTopic {
		k, ok := config.LookupTopicKey(name)
		if !ok {
			return nil, false, fmt.Errorf("%w: %s", config.ErrUnknownKey, name)
		}
		if k.Type != config.TypeList {
			return nil, false, nil
		}
		tc, err := b.conf().Topic(overrides)
		if err != nil {
			return nil, false, err
		}
		return tc.List(name), true, nil
	}
	k, ok := config.LookupBrokerKey(name)
	if !ok {
		return nil, false, fmt.Errorf("%w: %s", config.ErrUnknownKey, name)
	}
	if k.Type != config.TypeList {
		return nil, false, nil
	}
	return b.conf().List(name), true, nil
}
