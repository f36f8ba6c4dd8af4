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
	batches         atomic.Int64 // group commits
	commitNanos     atomic.Int64 // in TxnLog.Commit
	applyNanos      atomic.Int64 // preparing and applying batches
	lingerNanos     atomic.Int64 // waiting for more writers

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

// CommitStats are the group-commit pipeline's counters since the server
// started: they show how many writes each fdatasync covers and where a
// batch spends its time (benchmarks/zk prints them).
type CommitStats struct {
	Batches    int64 // log commits (one write + fdatasync each)
	Writes     int64 // txns in them
	FsyncNanos int64 // in TxnLog.Commit (write + fdatasync)
	ApplyNanos int64 // preparing, logging and applying under the tree lock
	WaitNanos  int64 // lingering for more writers
}

// CommitStats returns the commit pipeline's counters.
func (s *Server) CommitStats() CommitStats {
	return CommitStats{
		Batches:    s.stats.batches.Load(),
		Writes:     s.stats.commits.Load(),
		FsyncNanos: s.stats.commitNanos.Load(),
		ApplyNanos: s.stats.applyNanos.Load(),
		WaitNanos:  s.stats.lingerNanos.Load(),
	}
}
