package broker

// DeleteTopics (key 20), v0-6, as Kafka 3.8 in ZooKeeper mode.
//
// Served by the controller. The topic is marked in /admin/delete_topics
// and the controller completes the deletion at once (one fenced multi
// removing the assignment, partition states, config and marker); the logs
// are renamed "-delete" and removed after file.delete.delay.ms. v6
// addresses topics by name or by id (UNKNOWN_TOPIC_ID for an unknown id).
// delete.topic.enable=false answers TOPIC_DELETION_DISABLED (73).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.DeleteTopics, 0, 6, handleDeleteTopics) }

func handleDeleteTopics(b *Broker, ctx context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.DeleteTopicsRequest)
	resp := q.ResponseKind().(*kmsg.DeleteTopicsResponse)
	type target struct {
		name *string
		id   [16]byte
	}
	var targets []target
	if r.APIVersion >= 6 {
		for _, t := range q.Topics {
			targets = append(targets, target{t.Topic, t.TopicID})
		}
	} else {
		for _, n := range q.TopicNames {
			targets = append(targets, target{name: &n})
		}
	}
	for _, t := range targets {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID = t.name, t.id
		var err error
		if t.name == nil || *t.name == "" {
			tm := b.meta.topicByID(t.id)
			if tm == nil {
				err = errUnknownTopicID
			} else {
				n := tm.Name
				rt.Topic = &n
			}
		} else if tm := b.meta.topic(*t.name); tm != nil {
			rt.TopicID = tm.ID
		}
		if err == nil {
			err = b.deleteTopic(ctx, *rt.Topic)
		}
		rt.ErrorCode = errorCode(err)
		if r.APIVersion >= 5 {
			rt.ErrorMessage = errorMessage(err)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return respond(r, resp)
}
