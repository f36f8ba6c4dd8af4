package broker

// DescribeCluster (key 60), v0-1, as Kafka 3.8.
//
// The live brokers (from /brokers/ids) with the endpoint of the listener
// the request came in on, the cluster id and the controller. v1's
// endpoint_type must be 1 (brokers); 2 (controllers, KRaft only) is
// UNSUPPORTED_ENDPOINT_TYPE. Authorized operations are not computed (no
// ACLs yet): -2147483648, Kafka's "not requested" value.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.DescribeCluster, 0, 1, handleDescribeCluster) }

func handleDescribeCluster(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.DescribeClusterRequest)
	resp := q.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.ClusterID = b.clusterID
	resp.ControllerID = b.controllerID()
	resp.EndpointType = 1
	resp.ClusterAuthorizedOperations = -2147483648
	if r.APIVersion >= 1 && q.EndpointType != 1 {
		resp.ErrorCode = 114 // UNSUPPORTED_ENDPOINT_TYPE
		msg := "the endpoint type requested is not supported by a ZooKeeper-mode broker"
		resp.ErrorMessage = &msg
		return respond(r, resp)
	}
	for _, bi := range b.meta.allBrokers() {
		for _, ep := range bi.Endpoints {
			if ep.Name != r.Listener {
				continue
			}
			rb := kmsg.NewDescribeClusterResponseBroker()
			rb.NodeID, rb.Host, rb.Port = bi.ID, ep.Host, int32(ep.Port)
			if bi.Rack != "" {
				rack := bi.Rack
				rb.Rack = &rack
			}
			resp.Brokers = append(resp.Brokers, rb)
		}
	}
	return respond(r, resp)
}
