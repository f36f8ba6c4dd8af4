package broker

// AlterConfigs (key 33), v0-2, as Kafka 3.8 in ZooKeeper mode.
//
// Replaces the whole override set of a topic (/config/topics/<t>) or of a
// broker (/config/brokers/<id>, or <default> for an empty name) with the
// given keys; anything not listed reverts to its default. Topic keys are
// checked against the topic table, broker keys must exist and be
// dynamically updatable (INVALID_CONFIG names the key). validate_only
// writes nothing. The write posts a /config/changes notification, so every
// broker re-reads the entity; this one applies it before answering.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.AlterConfigs, 0, 2, handleAlterConfigs) }

func handleAlterConfigs(b *Broker, ctx context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.AlterConfigsRequest)
	resp := q.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, res := range q.Resources {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
		m := map[string]string{}
		var err error
		for _, c := range res.Configs {
			if c.Value == nil {
				err = fmt.Errorf("%w: null value for %s", errInvalidConfigBroker, c.Name)
				break
			}
			m[c.Name] = *c.Value
		}
		if err == nil {
			_, err = b.currentOverrides(ctx, res.ResourceType, res.ResourceName)
		}
		if err == nil {
			err = b.writeOverrides(ctx, res.ResourceType, res.ResourceName, m, q.ValidateOnly)
		}
		rr.ErrorCode = errorCode(err)
		rr.ErrorMessage = errorMessage(err)
		resp.Resources = append(resp.Resources, rr)
	}
	return respond(r, resp)
}
