package zkstore

import (
	"sync"
	"sync/atomic"
)

// serverStats are the counters srvr, stat, mntr and the AdminServer
// report; srst resets them.
type serverStats struct {
	packetsReceived atomic.Int64
	packetsSent     atomic.Int64
	authFailed      atomic.Int64
	outstanding     atomic.Int64
	commits         atomic.Int64 // txns committed
	snapshots       atomic.Int64 // snapshots written
	rejected        atomic.Int64 // connections refused by maxClientCnxns

	mu     sync.Mutex // guards the latency and fsync fields
	latMin int64      // ms
	latMax int64
	latSum int64
	latCnt int64

	fsyncCnt int64 // ns values
	fsyncSum int64
	fsyncMin int64
	fsyncMax int64
}

func (s *serverStats) reset() {
	s.packetsReceived.Store(0)
	s.packetsSent.Store(0)
	s.mu.Lock()
	s.latMin, s.latMax, s.latSum, s.latCnt = 0, 0, 0, 0
	s.mu.Unlock()
}

func (s *serverStats) observeLatency(ms int64) {
	s.mu.Lock()
	if s.latCnt == 0 || ms < s.latMin {
		s.latMin = ms
	}
	if ms > s.latMax {
		s.latMax = ms
	}
	s.latSum += ms
	s.latCnt++
	s.mu.Unlock()
}

func (s *serverStats) observeFsync(ns int64) {
	s.mu.Lock()
	if s.fsyncCnt == 0 || ns < s.fsyncMin {
		s.fsyncMin = ns
	}
	if ns > s.fsyncMax {
		s.fsyncMax = ns
	}
	s.fsyncSum += ns
	s.fsyncCnt++
	s.mu.Unlock()
}

// latency returns min, avg and max request latency in ms.
func (s *serverStats) latency() (int64, float64, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.latCnt == 0 {
		return 0, 0, 0
	}
	return s.latMin, float64(s.latSum) / float64(s.latCnt), s.latMax
}
