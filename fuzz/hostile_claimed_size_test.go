package fuzz

import (
	"fmt"
	"testing"
	"time"

	"github.com/gregorlog/gregor/internal/testutil"
)

// TestHostileKafkaClaimedFrameSize: memory follows the bytes a client
// sends, not the frame size it claims. Clients send a 4-byte size prefix
// claiming socket.request.max.bytes (Kafka's default, 100 MiB) and then
// only part of the body, and stay connected (connections.max.idle.ms is
// Kafka's 10 min, so the idle reaper never helps here).
//
// netio used to allocate the whole claimed frame as soon as the prefix
// arrived: 8 connections that sent 6 bytes each pinned 1 GiB of heap
// (128 MiB pooled buffers). It now grows the buffer as the body arrives
// (netio/conn.go, readBody): at most 4x what was sent, and at least 64 KiB.
func TestHostileKafkaClaimedFrameSize(t *testing.T) {
	raiseNoFile(t)
	for name, start := range kafkaTargets() {
		t.Run(name, func(t *testing.T) { hostileKafkaClaimedFrameSize(t, start) })
	}
}

func hostileKafkaClaimedFrameSize(t *testing.T, start func(*testing.T, kafkaLimits) *kafkaTarget) {
	h := start(t, kafkaLimits{}) // Kafka's defaults: 100 MiB frames, 10 min idle
	if err := h.op(); err != nil {
		t.Fatal(err)
	}
	const claimed = 100 << 20
	before := heapInuse()
	var held connSet
	defer held.closeAll()
	// send opens conns connections that claim a 100 MiB frame and send
	// sent bytes of it, and waits until the server has read them all.
	send := func(conns, sent int) {
		t.Helper()
		in0 := h.m.BytesIn.Load()
		body := make([]byte, sent-4)
		copy(body, []byte{0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff}) // Metadata v12 header
		for range conns {
			c, err := dialFrom("127.0.0.2", h.addr)
			if err != nil {
				t.Fatal(err)
			}
			held.add(c)
			if _, err := c.Write(frame32(claimed, body)); err != nil {
				t.Fatal(err)
			}
		}
		testutil.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
			if got := h.m.BytesIn.Load() - in0; got < int64(conns*sent) {
				return fmt.Errorf("server read %d of %d bytes so far", got, conns*sent)
			}
			return nil
		})
	}

	// Idle after the prefix and 2 body bytes: allow 1 MiB each for buffers.
	const idle = 8
	send(idle, 6)
	during := heapInuse()
	t.Logf("%d connections that sent 6 bytes each: HeapInuse %d MiB -> %d MiB", idle, before>>20, during>>20)
	if during > before+idle<<20 {
		t.Errorf("HeapInuse grew by %d MiB for %d connections that sent 6 bytes each (bound %d MiB)", (during-before)>>20, idle, idle)
	}

	// 1 MiB + 8 bytes each (the body just past 1 MiB, so the buffer has grown
	// to 4 MiB): at most 4x that, plus 1 MiB, each.
	const drip, dripped = 4, 1<<20 + 8
	send(drip, dripped)
	during2 := heapInuse()
	bound := uint64(idle<<20 + drip*(4*dripped+1<<20))
	t.Logf("and %d connections that sent 1 MiB each: HeapInuse %d MiB (bound %d MiB over %d MiB)", drip, during2>>20, bound>>20, before>>20)
	if during2 > before+bound {
		t.Errorf("HeapInuse grew by %d MiB (bound %d MiB)", (during2-before)>>20, bound>>20)
	}

	if err := h.op(); err != nil {
		t.Fatalf("well-behaved client while the connections are held: %v", err)
	}
	held.closeAll()
	testutil.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if after := heapInuse(); after > before+8<<20 {
			return fmt.Errorf("HeapInuse %d MiB, was %d MiB before the attack", after>>20, before>>20)
		}
		return nil
	})
}
