package fuzz

import (
	"testing"
	"time"
)

// TestHostileKafkaTagCount: kmsg up to v1.15.0 read a tag section's count
// as a uvarint and then looped that many times even after the bytes had run
// out, about 33 ns an iteration, so a 28-byte request with a 5-byte count
// (2^32-1) held one of the broker's num.io.threads for about 140 s of CPU
// before being refused, and a few connections kept every core busy. Kafka
// stops at the first read past the end (BufferUnderflowException); kmsg
// v1.15.1 does too. The broker must refuse the request and close the
// connection: the 30 s bound is liveness (the old loop takes minutes), not
// a speed check.
func TestHostileKafkaTagCount(t *testing.T) {
	h := startBrokerTarget(t, kafkaLimits{})
	c, err := dialFrom("127.0.0.2", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Header v2's empty tag section, then a Metadata v12 body: topics null,
	// allow_auto_topic_creation, no authorized operations, and a tag count
	// of 2^32-1.
	body := []byte{0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}
	start := time.Now()
	if _, err := c.Write(kframe(3, 12, 1, body)); err != nil {
		t.Fatal(err)
	}
	if n, err := closedByPeer(c, 0, 30*time.Second); err != nil {
		t.Fatalf("a Metadata v12 request with a 2^32-1 tag count: after %d bytes: %v", n, err)
	}
	t.Logf("a Metadata v12 request with a 2^32-1 tag count was refused after %v", time.Since(start))
}
