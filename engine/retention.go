package engine

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gregorlog/gregor/internal/invariants"
)

// Retention is Kafka's UnifiedLog.deleteOldSegments, run for every log by
// the manager every log.retention.check.interval.ms (LogManager.cleanupLogs).
// One pass over a log deletes, in this order and each time only a prefix
// of the log that stops at the first segment that does not qualify:
//
//  1. segments wholly below the log start offset (after DeleteRecords),
//     under every cleanup policy;
//  2. when cleanup.policy contains delete and retention.bytes >= 0, the
//     oldest segments while the log stays at least retention.bytes big
//     without them;
//  3. when cleanup.policy contains delete and retention.ms >= 0, segments
//     whose largest timestamp (the file's mtime if no batch carries one)
//     is more than retention.ms before now.
//
// A segment qualifies only if every offset in it is below the high
// watermark, so the log start offset never passes it. The active segment
// qualifies too when it is not empty: then the log first rolls an empty
// segment at the log end, so it always keeps one.

// Reasons a retention pass deletes a segment (Kafka's SegmentDeletionReason).
const (
	ReasonLogStart       = "log-start-offset"
	ReasonRetentionBytes = "retention.bytes"
	ReasonRetentionMs    = "retention.ms"
)

// DeletedSegment is one segment removed by a retention pass.
type DeletedSegment struct {
	TopicPartition
	SegmentInfo
	Reason string
}

func (d DeletedSegment) String() string {
	return fmt.Sprintf("%s [%d, %d) %d bytes (%s)", d.TopicPartition, d.BaseOffset, d.NextOffset, d.Size, d.Reason)
}

// DeleteOldSegments runs one retention pass over the log at time now and
// returns the segments it deleted. If the log start moved, the dir's
// log-start-offset-checkpoint is rewritten.
func (l *Log) DeleteOldSegments(now time.Time) ([]DeletedSegment, error) {
	del, err := l.deleteOldSegments(now)
	if len(del) > 0 && l.ld != nil {
		if cerr := l.ld.checkpointLogStart(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return del, err
}

func (l *Log) deleteOldSegments(now time.Time) ([]DeletedSegment, error) {
	nowMs := now.UnixMilli()
	cfg := l.cfg.Load()
	l.mu.Lock()
	defer l.mu.Unlock()
	// Checked under mu: DeleteLog marks the log closed before it takes mu.
	if err := l.writeErr(); err != nil {
		return nil, err
	}
	ls := l.logStart.Load()
	out, err := l.deleteWhileLocked(nil, ReasonLogStart, nowMs, func(s *segment, upper int64, last bool) (bool, error) {
		return !last && upper <= ls, nil
	})
	if err != nil || !cfg.retentionEnabled() || !l.configured.Load() {
		return out, err
	}
	if rb := cfg.retentionBytes; rb >= 0 {
		if diff := l.Size() - rb; diff >= 0 {
			out, err = l.deleteWhileLocked(out, ReasonRetentionBytes, nowMs, func(s *segment, _ int64, _ bool) (bool, error) {
				sz := s.size.Load()
				if diff-sz < 0 {
					return false, nil
				}
				diff -= sz
				return true, nil
			})
			if err != nil {
				return out, err
			}
		}
	}
	if rms := cfg.retentionMs; rms >= 0 {
		out, err = l.deleteWhileLocked(out, ReasonRetentionMs, nowMs, func(s *segment, _ int64, _ bool) (bool, error) {
			ts, err := l.largestTimestamp(s)
			return err == nil && nowMs-ts > rms, err
		})
	}
	return out, err
}

// largestTimestamp is Kafka's LogSegment.largestTimestamp: the largest
// batch max timestamp, or the file's mtime when no batch carries one.
func (l *Log) largestTimestamp(s *segment) (int64, error) {
	ts, _, err := s.maxTimestamp()
	if err != nil {
		return -1, err
	}
	if ts >= 0 {
		return ts, nil
	}
	fi, err := l.vfs.Stat(s.logPath)
	if err != nil {
		return -1, err
	}
	return fi.ModTime().UnixMilli(), nil
}

// deleteWhileLocked deletes the longest prefix of segments for which pred
// holds, stopping at the first segment not wholly below the high watermark
// and at an empty active segment (Kafka's LocalLog.deletableSegments and
// the high watermark bound of UnifiedLog.deleteOldSegments). pred sees
// each segment's upper bound (the next segment's base, or the log end for
// the active one) and whether it is the active segment. l.mu must be held.
func (l *Log) deleteWhileLocked(out []DeletedSegment, reason string, nowMs int64, pred func(s *segment, upper int64, last bool) (bool, error)) ([]DeletedSegment, error) {
	segs := l.segments()
	hw, leo := l.hw.Load(), l.leo.Load()
	var perr error
	k := 0
	for ; k < len(segs); k++ {
		s := segs[k]
		last := k == len(segs)-1
		upper := leo
		if !last {
			upper = segs[k+1].base
		}
		if (last && s.size.Load() == 0) || upper > hw {
			break
		}
		ok, err := pred(s, upper, last)
		if err != nil {
			perr = fmt.Errorf("engine: retention of %s-%d: %w", l.topic, l.partition, err)
		}
		if !ok {
			break
		}
	}
	if k == 0 {
		return out, perr
	}
	tp := TopicPartition{l.topic, l.partition}
	for i, s := range segs[:k] {
		upper := leo
		if i+1 < len(segs) {
			upper = segs[i+1].base
		}
		ts := int64(-1)
		if s.maxTsKnown.Load() {
			ts = s.maxTs.Load()
		}
		out = append(out, DeletedSegment{tp, SegmentInfo{BaseOffset: s.base, NextOffset: upper, Size: s.size.Load(), MaxTimestamp: ts}, reason})
	}
	if err := l.removeSegmentsLocked(k, nowMs); err != nil {
		return out, err
	}
	return out, perr
}

// removeSegmentsLocked removes the first k segments: out of the segment
// list at once (readers holding a Region or a file reference keep reading
// the open file), renamed to .deleted, and unlinked after
// file.delete.delay.ms. When k covers every segment it first rolls an
// empty active segment at the log end, as Kafka does, so the log always
// keeps one. The log start offset moves to the new first segment. l.mu
// must be held.
func (l *Log) removeSegmentsLocked(k int, nowMs int64) error {
	segs := l.segments()
	cfg := l.cfg.Load()
	if k >= len(segs) {
		if _, err := l.rollLocked(l.leo.Load(), nowMs, cfg); err != nil {
			return err
		}
		segs = l.segments()
		k = len(segs) - 1
	}
	rest := append([]*segment(nil), segs[k:]...)
	// The log start moves before the segment list does: a reader that
	// sees the new list then also sees the new start (Log.Read checks it
	// last), so it never mistakes a later batch for the offset it asked.
	if ls := rest[0].base; ls > l.logStart.Load() {
		l.logStart.Store(ls)
		if l.hw.Load() < ls {
			l.setHW(ls)
		}
	}
	l.segs.Store(&rest)
	var first error
	victims := segs[:k:k]
	for _, s := range victims {
		if err := s.markDeleted(); err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		// Kafka skips this fsync; without it a crash could bring the old
		// names back and resurrect the segments.
		first = l.vfs.SyncDir(l.dir)
	}
	remove := func() {
		for _, s := range victims {
			s.removeDeleted()
		}
	}
	if l.deleter != nil {
		l.deleter.schedule(nowMs, cfg.fileDeleteDelayMs, remove)
	} else {
		remove()
	}
	if invariants.Enabled && first == nil {
		l.checkInvariants()
	}
	if first != nil {
		return l.fail(first)
	}
	return nil
}

// RunRetention runs one retention pass over every log at now (the
// background loop calls it every log.retention.check.interval.ms with the
// manager's clock), unlinks the .deleted files whose file.delete.delay.ms
// has passed by now, and rewrites log-start-offset-checkpoint in each dir
// where a log start moved. It returns every segment it deleted.
func (m *Manager) RunRetention(now time.Time) ([]DeletedSegment, error) {
	m.deleter.runDue(now.UnixMilli())
	var out []DeletedSegment
	var errs []error
	var moved []*logDir
	for _, l := range m.Logs() {
		if l.Offline() || l.closed.Load() {
			continue
		}
		del, err := l.deleteOldSegments(now)
		if err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, err)
		}
		if len(del) == 0 {
			continue
		}
		out = append(out, del...)
		seen := false
		for _, d := range moved {
			seen = seen || d == l.ld
		}
		if !seen {
			moved = append(moved, l.ld)
		}
	}
	for _, d := range moved {
		if err := d.checkpointLogStart(); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// retentionTick is the background retention task.
func (m *Manager) retentionTick() {
	del, err := m.RunRetention(m.opts.Clock.Now())
	if err != nil {
		m.logf("engine: retention: %v", err)
	}
	for i := 0; i < len(del); {
		j := i
		for j < len(del) && del[j].TopicPartition == del[i].TopicPartition && del[j].Reason == del[i].Reason {
			j++
		}
		m.logf("engine: %s: deleted %d segments [%d, %d) (%s breach)", del[i].TopicPartition, j-i, del[i].BaseOffset, del[j-1].NextOffset, del[i].Reason)
		i = j
	}
}

// deleter unlinks renamed files (.deleted segments, -delete partition
// dirs) once file.delete.delay.ms has passed on the manager's clock, like
// Kafka's scheduled delete-file task. What is still pending at Close or a
// crash is removed by the next Open, which deletes every leftover.
type deleter struct {
	clock Clock
	wake  chan struct{} // capacity 1: a new removal was scheduled

	mu      sync.Mutex // guards the following
	pending []pendingRemoval
}

type pendingRemoval struct {
	dueMs  int64
	remove func()
}

func newDeleter(c Clock) *deleter { return &deleter{clock: c, wake: make(chan struct{}, 1)} }

// schedule runs remove delayMs after nowMs; at once if delayMs <= 0.
func (d *deleter) schedule(nowMs, delayMs int64, remove func()) {
	if delayMs <= 0 {
		remove()
		return
	}
	d.mu.Lock()
	d.pending = append(d.pending, pendingRemoval{nowMs + delayMs, remove})
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// runDue runs every removal due at nowMs and returns the earliest due time
// still pending, or NoLimit.
func (d *deleter) runDue(nowMs int64) int64 {
	var due []func()
	next := NoLimit
	d.mu.Lock()
	keep := d.pending[:0]
	for _, p := range d.pending {
		if p.dueMs <= nowMs {
			due = append(due, p.remove)
		} else {
			keep = append(keep, p)
			next = min(next, p.dueMs)
		}
	}
	clear(d.pending[len(keep):])
	d.pending = keep
	d.mu.Unlock()
	for _, f := range due {
		f()
	}
	return next
}

// pendingCount is how many removals are waiting.
func (d *deleter) pendingCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending)
}

// loop runs removals as they fall due until stop closes. With an injected
// clock that does not follow wall time, RunRetention(now) runs them.
func (d *deleter) loop(stop <-chan struct{}) {
	for {
		now := d.clock.Now().UnixMilli()
		next := d.runDue(now)
		var fire <-chan time.Time
		var t *time.Timer
		if next < NoLimit {
			t = time.NewTimer(time.Duration(max(next-now, 1)) * time.Millisecond)
			fire = t.C
		}
		select {
		case <-stop:
		case <-d.wake:
		case <-fire:
		}
		if t != nil {
			t.Stop()
		}
		select {
		case <-stop:
			return
		default:
		}
	}
}
