package zkstore

import "time"

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
