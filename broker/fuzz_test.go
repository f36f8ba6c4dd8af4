package broker

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/netio"
)

// FuzzHandle feeds arbitrary request bodies, for every advertised key and
// version and a few unadvertised ones, to a live broker's Handle: nothing
// may panic. Seeds: kmsg's zero request for every advertised key and
// version, and the frames kcat, franz-go and sarama sent (fuzz/testdata/kafka-requests).
func FuzzHandle(f *testing.F) {
	add := func(key, version int16, body []byte) { f.Add(key, version, body) }
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
			add(a.key, v, req.AppendTo(nil))
		}
	}
	mr := kmsg.NewPtrMetadataRequest()
	mr.Version = 12
	mr.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("fz")}}
	add(int16(3), int16(12), mr.AppendTo(nil))
	add(int16(0), int16(9), []byte{0, 0, 0xff, 0xff, 0, 0, 0x13, 0x88, 2, 3, 'f', 'z', 2, 0, 0, 0, 0, 0, 0, 0})
	add(int16(99), int16(0), []byte{})
	// Real traffic: the request frames kcat, franz-go and sarama sent
	// (fuzz/testdata/kafka-requests, recorded by TestCaptureKafkaRequests).
	frames, err := filepath.Glob(filepath.Join("..", "fuzz", "testdata", "kafka-requests", "*", "*.bin"))
	if err != nil || len(frames) == 0 {
		f.Fatalf("no captured request frames: %v", err)
	}
	for _, name := range frames {
		frame, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		key, version, body, ok := splitCapturedFrame(frame)
		if !ok {
			f.Fatalf("%s: not a request frame", name)
		}
		add(key, version, body)
	}
	f.Fuzz(func(t *testing.T, key, version int16, body []byte) {
		r := &netio.Request{APIKey: key, APIVersion: version, Body: body, Listener: "PLAINTEXT"}
		if key >= 0 && key <= kmsg.MaxKey {
			if q := kmsg.RequestForKey(key); q != nil {
				q.SetVersion(version)
				r.Flexible = q.IsFlexible()
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// A deferred reply (a long-polling fetch) ends with ctx.
		b.Handle(ctx, r)
	})
}

// splitCapturedFrame splits a whole request frame (size prefix, header v1
// or v2, body) into key, version and body.
func splitCapturedFrame(frame []byte) (key, version int16, body []byte, ok bool) {
	be := binary.BigEndian
	if len(frame) < 14 || int(be.Uint32(frame)) != len(frame)-4 {
		return 0, 0, nil, false
	}
	key, version = int16(be.Uint16(frame[4:])), int16(be.Uint16(frame[6:]))
	pos := 14
	if n := int16(be.Uint16(frame[12:])); n > 0 {
		pos += int(n)
	}
	q := kmsg.RequestForKey(key)
	if q == nil || pos > len(frame) {
		return 0, 0, nil, false
	}
	q.SetVersion(version)
	if q.IsFlexible() {
		if pos >= len(frame) || frame[pos] != 0 {
			return 0, 0, nil, false // captured clients send no header tags
		}
		pos++
	}
	return key, version, frame[pos:], true
}
