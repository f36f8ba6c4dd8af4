package broker

// ApiVersions (key 18), v0-3, as Kafka 3.8.
//
// Every client opens with it. A version above ours is not parsed: the
// answer is a v0 body with UNSUPPORTED_VERSION (35) and only our own
// ApiVersions range, [{18, 0, 3}] (KIP-511); the client retries with v3.
// The response header is always v0, even for v3 (netio knows). v3+
// requests carry the client's software name and version, which must match
// Kafka's pattern or the answer is INVALID_REQUEST (42).
//
// The advertised table is built from every file's register call. Transaction,
// SASL and telemetry keys are absent until implemented, which
// clients handle cleanly (kafka-protocol.md §5).

import (
	"context"
	"regexp"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

func init() { register(kmsg.ApiVersions, 0, 3, handleAPIVersions) }

// softwarePattern is Kafka's SOFTWARE_NAME_VERSION_PATTERN.
var softwarePattern = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

func handleAPIVersions(b *Broker, _ context.Context, r *netio.Request, req kmsg.Request) netio.Reply {
	q := req.(*kmsg.ApiVersionsRequest)
	resp := kmsg.NewPtrApiVersionsResponse()
	if r.APIVersion >= 3 && (!softwarePattern.MatchString(q.ClientSoftwareName) || !softwarePattern.MatchString(q.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
	}
	resp.ApiKeys = advertisedKeys()
	resp.FinalizedFeaturesEpoch = -1
	return respond(r, resp)
}

// advertisedKeys lists the registered keys in key order.
func advertisedKeys() []kmsg.ApiVersionsResponseApiKey {
	var out []kmsg.ApiVersionsResponseApiKey
	for _, a := range apis {
		if a != nil {
			out = append(out, kmsg.ApiVersionsResponseApiKey{ApiKey: a.key, MinVersion: a.min, MaxVersion: a.max})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ApiKey < out[j].ApiKey })
	return out
}

// apiVersionsFallback is the KIP-511 answer to an ApiVersions version we do
// not know: header v0, v0 body, error 35, only key 18's range.
func apiVersionsFallback(r *netio.Request, max int16) netio.Reply {
	return apiVersionsError(r, max, kerr.UnsupportedVersion.Code)
}

func apiVersionsError(r *netio.Request, max, code int16) netio.Reply {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.SetVersion(0)
	resp.ErrorCode = code
	resp.ApiKeys = []kmsg.ApiVersionsResponseApiKey{{ApiKey: int16(kmsg.ApiVersions), MinVersion: 0, MaxVersion: max}}
	out := r.AppendResponseHeader(make([]byte, 0, 32))
	out = resp.AppendTo(out)
	return netio.Respond(new(netio.Response).AddBytes(out))
}
