package broker

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

// handlerFunc serves one decoded request. req's version is r.APIVersion.
type handlerFunc func(b *Broker, ctx context.Context, r *netio.Request, req kmsg.Request) netio.Reply

// api is one advertised API key.
type api struct {
	key      int16
	min, max int16
	fn       handlerFunc
}

// apis is the advertised table, filled by each NN_name.go file's init.
var apis [kmsg.MaxKey + 1]*api

// register advertises key with versions [min, max], served by fn. Every
// version in the range must be implemented by fn.
func register(key kmsg.Key, min, max int16, fn handlerFunc) {
	if apis[key] != nil {
		panic(fmt.Sprintf("broker: API key %d registered twice", key))
	}
	if r := kmsg.RequestForKey(int16(key)); r == nil || r.MaxVersion() < max {
		panic(fmt.Sprintf("broker: kmsg cannot decode key %d v%d", key, max))
	}
	apis[key] = &api{key: int16(key), min: min, max: max, fn: fn}
}

func lookupAPI(key int16) *api {
	if key < 0 || int(key) >= len(apis) {
		return nil
	}
	return apis[key]
}

// Handle is netio's entry point. The key and version are checked against
// the advertised table before kmsg parses anything: kmsg would happily
// parse any version it knows (kafka-protocol.md §6.1).
func (b *Broker) Handle(ctx context.Context, r *netio.Request) netio.Reply {
	if b.closing.Load() {
		return netio.CloseConn(ErrClosed)
	}
	a := lookupAPI(r.APIKey)
	if a == nil {
		return netio.CloseConn(fmt.Errorf("%w: unknown API key %d", errInvalidRequest, r.APIKey))
	}
	if r.APIVersion < a.min || r.APIVersion > a.max {
		if r.APIKey == int16(kmsg.ApiVersions) && r.APIVersion > a.max {
			return apiVersionsFallback(r, a.max)
		}
		return netio.CloseConn(fmt.Errorf("%w: %s v%d (advertised %d-%d)", errUnsupportedVersion, kmsg.NameForKey(r.APIKey), r.APIVersion, a.min, a.max))
	}
	req := kmsg.RequestForKey(r.APIKey)
	req.SetVersion(r.APIVersion)
	if err := req.ReadFrom(r.Body); err != nil {
		if r.APIKey == int16(kmsg.ApiVersions) {
			// Kafka answers an unparsable ApiVersions with a v0 error body
			// rather than closing (ApiVersionsRequest.getErrorResponse).
			return apiVersionsError(r, a.max, 35)
		}
		return netio.CloseConn(fmt.Errorf("%w: %s v%d: %w", errInvalidRequest, kmsg.NameForKey(r.APIKey), r.APIVersion, err))
	}
	b.inflight.Add(1)
	reply := a.fn(b, ctx, r, req)
	b.inflight.Done()
	return reply
}

// respond encodes a kmsg response for r (same version), after r's
// response header.
func respond(r *netio.Request, resp kmsg.Response) netio.Reply {
	resp.SetVersion(r.APIVersion)
	out := r.AppendResponseHeader(make([]byte, 0, 256))
	out = resp.AppendTo(out)
	return netio.Respond(new(netio.Response).AddBytes(out))
}

// respondTo resolves a deferred reply with a kmsg response.
func respondTo(p *netio.Pending, r *netio.Request, resp kmsg.Response) {
	resp.SetVersion(r.APIVersion)
	out := r.AppendResponseHeader(make([]byte, 0, 256))
	out = resp.AppendTo(out)
	p.Respond(new(netio.Response).AddBytes(out))
}
