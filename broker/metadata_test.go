package broker

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/internal/testutil"
)

func metadataFor(t *testing.T, b *Broker, version int16, allowAuto bool, topics ...string) *kmsg.MetadataResponse {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = version
	req.AllowAutoTopicCreation = allowAuto
	for _, n := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, rt)
	}
	return roundTrip(t, b, req).(*kmsg.MetadataResponse)
}

// TestMetadataAutoCreate: LEADER_NOT_AVAILABLE right after an auto-create,
// then the topic with num.partitions partitions and a stable id; nothing
// is created when the request or the broker forbids it.
func TestMetadataAutoCreate(t *testing.T) {
	b := startBroker(t, map[string]string{"num.partitions": "3"})
	r := metadataFor(t, b, 12, true, "auto")
	if r.Topics[0].ErrorCode != kerr.LeaderNotAvailable.Code {
		t.Fatalf("first metadata for a new topic: %v", kerr.ErrorForCode(r.Topics[0].ErrorCode))
	}
	var id [16]byte
	testutil.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		r := metadataFor(t, b, 12, true, "auto")
		if err := kerr.ErrorForCode(r.Topics[0].ErrorCode); err != nil {
			return err
		}
		id = r.Topics[0].TopicID
		if len(r.Topics[0].Partitions) != 3 || id == [16]byte{} {
			t.Fatalf("auto-created topic: %+v", r.Topics[0])
		}
		return nil
	})
	for _, v := range []int16{1, 4, 9, 10, 12} {
		r := metadataFor(t, b, v, false, "auto")
		if r.Topics[0].ErrorCode != 0 || len(r.Topics[0].Partitions) != 3 || r.Topics[0].Partitions[0].Leader != 0 {
			t.Fatalf("v%d: %+v", v, r.Topics[0])
		}
		if v >= 10 && r.Topics[0].TopicID != id {
			t.Fatalf("v%d: topic id changed", v)
		}
	}
	if r := metadataFor(t, b, 12, false, "manual"); r.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("allow_auto_topic_creation=false: %v", kerr.ErrorForCode(r.Topics[0].ErrorCode))
	}
	if r := metadataFor(t, b, 12, true, "bad name!"); r.Topics[0].ErrorCode != kerr.InvalidTopicException.Code {
		t.Fatalf("invalid name: %v", kerr.ErrorForCode(r.Topics[0].ErrorCode))
	}
	// v0: an empty list means every topic.
	if r := metadataFor(t, b, 0, false); len(r.Topics) != 1 {
		t.Fatalf("v0 all topics: %d", len(r.Topics))
	}
	off := startBroker(t, map[string]string{"auto.create.topics.enable": "false"})
	if r := metadataFor(t, off, 12, true, "auto"); r.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("auto.create.topics.enable=false: %v", kerr.ErrorForCode(r.Topics[0].ErrorCode))
	}
}

// TestAdvertisedListeners: Metadata and DescribeCluster return
// advertised.listeners, not the bound address.
func TestAdvertisedListeners(t *testing.T) {
	b := startBroker(t, map[string]string{"advertised.listeners": "PLAINTEXT://broker0.example:19092"})
	r := metadataFor(t, b, 12, false)
	if len(r.Brokers) != 1 || r.Brokers[0].Host != "broker0.example" || r.Brokers[0].Port != 19092 {
		t.Fatalf("metadata brokers: %+v", r.Brokers)
	}
	dc := kmsg.NewPtrDescribeClusterRequest()
	dc.Version, dc.EndpointType = 1, 1
	if r := roundTrip(t, b, dc).(*kmsg.DescribeClusterResponse); len(r.Brokers) != 1 || r.Brokers[0].Host != "broker0.example" {
		t.Fatalf("describe cluster brokers: %+v", r.Brokers)
	}
}
