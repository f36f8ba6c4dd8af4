package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

// FuzzHandle feeds arbitrary request bodies, for every advertised key and
// version and a few unadvertised ones, to a live broker's Handle: nothing
// may panic.
func FuzzHandle(f *testing.F) {
	b := startBroker(f, nil)
	if _, err := b.createTopic(context.Background(), "fz", 2, 1, nil, nil, false); err != nil {
		f.Fatal(err)
	}
	for _, a := range apis {
		if a == nil {
			continue
		}
		req := kmsg.RequestForKey(a.key)
		for v := a.min; v <= a.max; v++ {
			req.SetVersion(v)
			f.Add(a.key, v, req.AppendTo(nil))
		}
	}
	mr := kmsg.NewPtrMetadataRequest()
	mr.Version = 12
	mr.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("fz")}}
	f.Add(int16(3), int16(12), mr.AppendTo(nil))
	f.Add(int16(0), int16(9), []byte{0, 0, 0xff, 0xff, 0, 0, 0x13, 0x88, 2, 3, 'f', 'z', 2, 0, 0, 0, 0, 0, 0, 0})
	f.Add(int16(99), int16(0), []byte{})
	f.Fuzz(func(t *testing.T, key, version int16, body []byte) {
		r := &netio.Request{APIKey: key, APIVersion: version, Body: body, Listener: "PLAINTEXT"}
		if key >= 0 && key <= kmsg.MaxKey {
			if q := kmsg.RequestForKey(key); q != nil {
				q.SetVersion(version)
				r.Flexible = q.IsFlexible()
			}
		}
		if r.Flexible && lookupAPI(key) != nil {
			// KNOWN WEAKNESS: kmsg v1.15.0 reads a tag section's count
			// without bounding it by the bytes left, so a 5-byte uvarint
			// makes ReadFrom loop up to 2^32 times (seconds to minutes of
			// CPU per request). Until that is guarded, flexible bodies are
			// not fuzzed; the seeds still run.
			if !isSeedShaped(key, version, body) {
				t.Skip("flexible body: kmsg tag-count loop, see comment")
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// A deferred reply (a long-polling fetch) ends with ctx.
		b.Handle(ctx, r)
	})
}

// isSeedShaped reports whether body is exactly what kmsg encodes for the
// zero request of key/version (the seed corpus).
func isSeedShaped(key, version int16, body []byte) bool {
	q := kmsg.RequestForKey(key)
	q.SetVersion(version)
	return string(q.AppendTo(nil)) == string(body)
}
