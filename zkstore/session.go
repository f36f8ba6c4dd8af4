package zkstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"sort"
)

// SessionTracker decides session expiry the way ZooKeeper's
// SessionTrackerImpl does: deadlines are rounded up to the next tick and
// kept in buckets, so one pass per tick expires a whole bucket. It is a
// deterministic state machine: every method takes the current time in
// milliseconds and nothing reads a clock. Not safe for concurrent use.
type SessionTracker struct {
	tickMs int64
	// Invariant: every tracked session is in exactly the bucket of its
	// expireAt.
	sessions map[int64]*trackedSession
	buckets  map[int64]map[int64]struct{}
}

type trackedSession struct {
	timeoutMs int64
	expireAt  int64
}

// NewSessionTracker returns an empty tracker with tick tickMs.
func NewSessionTracker(tickMs int64) *SessionTracker {
	if tickMs <= 0 {
		tickMs = 1
	}
	return &SessionTracker{tickMs: tickMs, sessions: make(map[int64]*trackedSession), buckets: make(map[int64]map[int64]struct{})}
}

func (t *SessionTracker) roundToNextTick(ms int64) int64 {
	return (ms/t.tickMs + 1) * t.tickMs
}

// Add starts tracking a session (or re-tracks it after recovery) with a
// deadline of now + timeout.
func (t *SessionTracker) Add(id int64, timeoutMs int64, nowMs int64) {
	if s := t.sessions[id]; s != nil {
		// A new timeout re-bases the deadline, even to an earlier one.
		s.timeoutMs = timeoutMs
		t.move(id, s, t.roundToNextTick(nowMs+timeoutMs))
		return
	}
	s := &trackedSession{timeoutMs: timeoutMs}
	t.sessions[id] = s
	t.move(id, s, t.roundToNextTick(nowMs+timeoutMs))
}

func (t *SessionTracker) move(id int64, s *trackedSession, to int64) {
	if s.expireAt == to {
		return
	}
	if b := t.buckets[s.expireAt]; b != nil {
		delete(b, id)
		if len(b) == 0 {
			delete(t.buckets, s.expireAt)
		}
	}
	s.expireAt = to
	b := t.buckets[to]
	if b == nil {
		b = make(map[int64]struct{})
		t.buckets[to] = b
	}
	b[id] = struct{}{}
}

// Touch extends a session's deadline to now + timeout; false if the session
// is not tracked (expired or closing).
func (t *SessionTracker) Touch(id int64, nowMs int64) bool {
	s := t.sessions[id]
	if s == nil {
		return false
	}
	if to := t.roundToNextTick(nowMs + s.timeoutMs); to > s.expireAt {
		t.move(id, s, to)
	}
	return true
}

// Remove stops tracking a session.
func (t *SessionTracker) Remove(id int64) {
	s := t.sessions[id]
	if s == nil {
		return
	}
	if b := t.buckets[s.expireAt]; b != nil {
		delete(b, id)
		if len(b) == 0 {
			delete(t.buckets, s.expireAt)
		}
	}
	delete(t.sessions, id)
}

// Expired removes and returns, sorted, the sessions whose deadline is at or
// before now.
func (t *SessionTracker) Expired(nowMs int64) []int64 {
	var out []int64
	for at, b := range t.buckets {
		if at > nowMs {
			continue
		}
		for id := range b {
			out = append(out, id)
			delete(t.sessions, id)
		}
		delete(t.buckets, at)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Len returns the number of tracked sessions.
func (t *SessionTracker) Len() int { return len(t.sessions) }

// Bucket is one expiry bucket, for the dump command.
type Bucket struct {
	ExpireAt int64
	IDs      []int64
}

// Buckets returns the buckets in deadline order.
func (t *SessionTracker) Buckets() []Bucket {
	out := make([]Bucket, 0, len(t.buckets))
	for at, b := range t.buckets {
		bk := Bucket{ExpireAt: at}
		for id := range b {
			bk.IDs = append(bk.IDs, id)
		}
		sort.Slice(bk.IDs, func(i, j int) bool { return bk.IDs[i] < bk.IDs[j] })
		out = append(out, bk)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ExpireAt < out[j].ExpireAt })
	return out
}

// initialSessionID is ZooKeeper's SessionTrackerImpl.initializeNextSessionId:
// the server id in the top byte, then the millisecond clock shifted so ids
// from successive restarts do not collide.
func initialSessionID(serverID int64, nowMs int64) int64 {
	next := int64(uint64(nowMs<<24) >> 8)
	return next | serverID<<56
}

// sessionPassword derives a session's 16-byte password from a per-database
// secret, so every restart (and later every replica) derives the same value
// without storing it. Clients treat it as opaque.
func sessionPassword(secret []byte, id int64) []byte {
	m := hmac.New(sha256.New, secret)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	m.Write(b[:])
	return m.Sum(nil)[:16]
}
