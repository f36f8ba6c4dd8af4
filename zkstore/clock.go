package zkstore

import (
	"time"

	"golang.org/x/sys/unix"
)

// Clock is the server's source of wall time. Tests inject a fake to drive
// session expiry and TTLs step by step.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

var monoStart = time.Now()

// nanotime is a monotonic clock for latency and fsync statistics only.
func nanotime() int64 { return int64(time.Since(monoStart)) }

// elapsedMs is the monotonic clock in ms (CLOCK_MONOTONIC, like Java's
// System.nanoTime that ZooKeeper's cons reports as lresp).
func elapsedMs() int64 {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
		return nanotime() / 1e6
	}
	return ts.Nano() / 1e6
}
