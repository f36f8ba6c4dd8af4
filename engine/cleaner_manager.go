package engine

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/gregorlog/gregor/engine/checkpoint"
)

// cleanerCheckpoint is the per-log-dir file recording, for each compacted
// partition, the first dirty offset: everything below it has been cleaned
// at least once. Kafka's name and text format. Part of the on-disk format.
const cleanerCheckpoint = "cleaner-offset-checkpoint"

// cleanerManager is Kafka's LogCleanerManager plus the LogCleaner threads:
// it picks the filthiest compacted log, hands it to one cleaner at a time
// and checkpoints progress.
type cleanerManager struct {
	m        *Manager
	cfg      CleanerConfig
	throttle *throttler

	mu sync.Mutex // guards the following
	// firstDirty is the checkpointed first dirty offset per partition.
	firstDirty map[TopicPartition]int64
	inProgress map[*Log]bool
	// uncleanable holds logs whose cleaning failed with an error other
	// than an abort (Kafka's uncleanable partitions): skipped until
	// restart, so a corrupt batch is not retried every backoff.
	uncleanable map[*Log]error
	// hook, when set (tests), is called at every swap step.
	hook func(step string) error
	// sync is the cleaner used by CleanOnce; lastStats its last result.
	sync      *cleaner
	lastStats CleanStats

	syncMu sync.Mutex // serializes CleanOnce calls
}

func newCleanerManager(m *Manager) *cleanerManager {
	cm := &cleanerManager{
		m:           m,
		cfg:         m.cfg.Cleaner,
		throttle:    newThrottler(m.cfg.Cleaner.IOMaxBytesPerSecond),
		firstDirty:  map[TopicPartition]int64{},
		inProgress:  map[*Log]bool{},
		uncleanable: map[*Log]error{},
	}
	for _, d := range m.dirs {
		if !d.online() {
			continue
		}
		cps, err := readCheckpoint(filepath.Join(d.path, cleanerCheckpoint))
		if err != nil {
			m.logf("engine: ignoring unreadable %s in %s: %v", cleanerCheckpoint, d.path, err)
			continue
		}
		for tp, off := range cps {
			cm.firstDirty[tp] = off
		}
	}
	return cm
}

func (cm *cleanerManager) mapBytesPerThread() int64 {
	n := int64(max(cm.cfg.Threads, 1))
	return max(cm.cfg.DedupeBufferSize/n, 1<<16)
}

// start runs log.cleaner.threads cleaner goroutines until m.stop closes.
func (cm *cleanerManager) start() {
	if !cm.cfg.Enable {
		return
	}
	backoff := time.Duration(max(cm.cfg.BackoffMs, 1)) * time.Millisecond
	for i := 0; i < cm.cfg.Threads; i++ {
		c := &cleaner{m: cm.m, mapBytes: cm.mapBytesPerThread()}
		cm.m.wg.Add(1)
		go func() {
			defer cm.m.wg.Done()
			t := time.NewTimer(backoff)
			defer t.Stop()
			for {
				worked, err := cm.cleanOnce(c, cm.m.opts.Clock.Now())
				if err != nil && !errors.Is(err, errCleanAborted) {
					cm.m.logf("engine: log cleaner: %v", err)
				}
				if worked && err == nil {
					continue
				}
				t.Reset(backoff)
				select {
				case <-cm.m.stop:
					return
				case <-t.C:
				}
			}
		}()
	}
}

// logToClean is Kafka's LogToClean: a compacted log's cleanable section.
type logToClean struct {
	log              *Log
	firstDirty       int64
	firstUncleanable int64
	cleanBytes       int64
	dirtyBytes       int64
	// maxCompactionDelayMs > 0: max.compaction.lag.ms is breached by that
	// much and the log must be cleaned whatever its ratio.
	maxCompactionDelayMs int64
}

func (t logToClean) ratio() float64 {
	total := t.cleanBytes + t.dirtyBytes
	if total == 0 {
		return 0
	}
	return float64(t.dirtyBytes) / float64(total)
}

// cleanable reports whether the log needs cleaning now (Kafka's filter in
// grabFilthiestCompactedLog).
func (t logToClean) cleanable() bool {
	if t.dirtyBytes == 0 {
		return false
	}
	return t.maxCompactionDelayMs > 0 || t.ratio() > t.log.cfg.Load().minCleanableRatio()
}

// examine computes the cleanable section of l (Kafka's
// LogCleanerManager.cleanableOffsets and calculateCleanableBytes):
//
//   - first dirty offset: the checkpoint, reset to the log start when
//     missing, below the log start or past the log end;
//   - first uncleanable offset: the lowest of the active segment's base,
//     the high watermark and the base of the first segment holding a
//     record younger than min.compaction.lag.ms, rounded down to the base
//     of the segment holding it (only whole sealed segments are cleaned);
//   - clean bytes: segments wholly below the first dirty offset; dirty
//     bytes: the rest below the first uncleanable offset.
func examine(l *Log, checkpointed int64, hasCheckpoint bool, nowMs int64) logToClean {
	cfg := l.cfg.Load()
	segs := l.segments()
	ls, leo := l.logStart.Load(), l.leo.Load()
	firstDirty := checkpointed
	if !hasCheckpoint || firstDirty < ls || firstDirty > leo {
		firstDirty = ls
	}
	act := segs[len(segs)-1]
	uncleanable := min(act.base, l.hw.Load())
	endOf := func(i int) int64 {
		if i+1 < len(segs) {
			return segs[i+1].base
		}
		return segs[i].next.Load()
	}
	if lag := cfg.minCompactionLagMs(); lag > 0 {
		for i, s := range segs[:len(segs)-1] {
			if endOf(i) <= firstDirty {
				continue
			}
			ts, _, err := s.maxTimestamp()
			if err == nil && ts > nowMs-lag {
				uncleanable = min(uncleanable, s.base)
				break
			}
		}
	}
	// Round down to a segment boundary.
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i].base <= uncleanable {
			uncleanable = segs[i].base
			break
		}
	}
	t := logToClean{log: l, firstDirty: firstDirty, firstUncleanable: uncleanable}
	for i, s := range segs[:len(segs)-1] {
		switch {
		case endOf(i) <= firstDirty:
			t.cleanBytes += s.size.Load()
		case s.base < uncleanable:
			t.dirtyBytes += s.size.Load()
		}
	}
	if uncleanable <= firstDirty {
		t.dirtyBytes = 0
	}
	// max.compaction.lag.ms: the earliest first-batch timestamp among the
	// dirty sealed segments (Kafka's maxCompactionDelay).
	if maxLag := cfg.maxCompactionLagMs(); maxLag < NoLimit && nowMs > math.MinInt64+maxLag {
		earliest := int64(math.MaxInt64)
		for i, s := range segs[:len(segs)-1] {
			if endOf(i) <= firstDirty {
				continue
			}
			if ts := firstBatchTimestamp(s); ts > 0 && ts < earliest {
				earliest = ts
			}
		}
		if until := nowMs - maxLag; earliest < until {
			t.maxCompactionDelayMs = until - earliest
		}
	}
	return t
}

// firstBatchTimestamp is the max timestamp of the segment's first batch
// (Kafka's LogSegment.getFirstBatchTimestamp), -1 if empty or unreadable.
func firstBatchTimestamp(s *segment) int64 {
	ref, err := s.acquire()
	if err != nil {
		return -1
	}
	defer ref.release()
	ts := int64(-1)
	scanFrom(ref.f, 0, s.size.Load(), func(bp batchPos) bool { ts = bp.h.MaxTimestamp; return false })
	return ts
}

// grab picks the filthiest cleanable compacted log and marks it in
// progress (Kafka's grabFilthiestCompactedLog): the highest dirty ratio
// among logs over min.cleanable.dirty.ratio or past max.compaction.lag.ms.
func (cm *cleanerManager) grab(nowMs int64) (logToClean, bool) {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	var best logToClean
	found := false
	for _, l := range cm.m.Logs() {
		if cm.inProgress[l] || cm.uncleanable[l] != nil || l.Offline() || l.closed.Load() || !l.cfg.Load().compactEnabled() {
			continue
		}
		cp, ok := cm.firstDirty[TopicPartition{l.topic, l.partition}]
		t := examine(l, cp, ok, nowMs)
		if !t.cleanable() {
			continue
		}
		if !found || t.ratio() > best.ratio() {
			best, found = t, true
		}
	}
	if found {
		cm.inProgress[best.log] = true
	}
	return best, found
}

// cleanOnce cleans the filthiest log with c, if any needs it.
func (cm *cleanerManager) cleanOnce(c *cleaner, now time.Time) (bool, error) {
	nowMs := now.UnixMilli()
	t, ok := cm.grab(nowMs)
	if !ok {
		return false, nil
	}
	l := t.log
	defer func() {
		cm.mu.Lock()
		delete(cm.inProgress, l)
		cm.mu.Unlock()
	}()
	cm.mu.Lock()
	c.hook = cm.hook
	cm.mu.Unlock()
	st, err := c.cleanLog(l, t.firstDirty, t.firstUncleanable, nowMs)
	if err != nil {
		if !errors.Is(err, errCleanAborted) && !errors.Is(err, errCrashInjected) {
			cm.mu.Lock()
			cm.uncleanable[l] = err
			cm.mu.Unlock()
		}
		return true, fmt.Errorf("cleaning %s-%d: %w", l.topic, l.partition, err)
	}
	cm.mu.Lock()
	cm.firstDirty[TopicPartition{l.topic, l.partition}] = st.EndOffset
	cm.lastStats = st
	cm.mu.Unlock()
	cm.m.logf("engine: cleaned %s-%d [%d, %d): read %d bytes, wrote %d, kept %d of %d records in %d segments (was %d)",
		l.topic, l.partition, st.FirstDirty, st.EndOffset, st.BytesRead, st.BytesWritten, st.RecordsKept, st.RecordsRead, st.Groups, st.SegmentsBefore)
	return true, cm.writeCheckpoint(l.ld)
}

// writeCheckpoint rewrites cleaner-offset-checkpoint of d for the logs it
// still holds.
func (cm *cleanerManager) writeCheckpoint(d *logDir) error {
	if !d.online() {
		return *d.err.Load()
	}
	cm.mu.Lock()
	var es []checkpoint.Entry
	for _, l := range cm.m.Logs() {
		if l.ld != d {
			continue
		}
		if off, ok := cm.firstDirty[TopicPartition{l.topic, l.partition}]; ok {
			es = append(es, checkpoint.Entry{Topic: l.topic, Partition: l.partition, Offset: off})
		}
	}
	cm.mu.Unlock()
	sort.Slice(es, func(i, j int) bool {
		if es[i].Topic != es[j].Topic {
			return es[i].Topic < es[j].Topic
		}
		return es[i].Partition < es[j].Partition
	})
	d.cpMu.Lock()
	defer d.cpMu.Unlock()
	if err := checkpoint.Write(filepath.Join(d.path, cleanerCheckpoint), es); err != nil {
		d.fail(err)
		return err
	}
	return nil
}

// CleanOnce runs one cleaning synchronously at time now, on the filthiest
// compacted log that needs it (tests and tools; the cleaner threads do
// the same in the background). It reports whether a log was cleaned and
// that cleaning's statistics.
func (m *Manager) CleanOnce(now time.Time) (CleanStats, bool, error) {
	cm := m.cleaners
	cm.mu.Lock()
	if cm.sync == nil {
		cm.sync = &cleaner{m: m, mapBytes: cm.mapBytesPerThread()}
	}
	c := cm.sync
	cm.mu.Unlock()
	cm.syncMu.Lock()
	defer cm.syncMu.Unlock()
	worked, err := cm.cleanOnce(c, now)
	if !worked {
		return CleanStats{}, false, err
	}
	cm.mu.Lock()
	st := cm.lastStats
	cm.mu.Unlock()
	return st, true, err
}

// CleanerFirstDirtyOffset returns the checkpointed first dirty offset of a
// partition (false if it was never cleaned).
func (m *Manager) CleanerFirstDirtyOffset(topic string, partition int32) (int64, bool) {
	m.cleaners.mu.Lock()
	defer m.cleaners.mu.Unlock()
	off, ok := m.cleaners.firstDirty[TopicPartition{topic, partition}]
	return off, ok
}

// throttler is a token bucket shared by the cleaner threads
// (log.cleaner.io.max.bytes.per.second): callers account bytes read or
// written and sleep while the bucket is in debt. The burst is one second
// of the rate.
type throttler struct {
	rate float64 // bytes per second; 0 means unlimited

	mu    sync.Mutex
	avail float64
	last  time.Time
}

func newThrottler(rate float64) *throttler {
	if rate <= 0 || rate >= math.MaxFloat64/2 || math.IsInf(rate, 1) {
		return &throttler{}
	}
	return &throttler{rate: rate, avail: rate, last: time.Now()}
}

// wait takes n bytes from the bucket, sleeping (until stop closes) while
// it is in debt.
func (t *throttler) wait(n int64, stop <-chan struct{}) {
	if t == nil || t.rate == 0 {
		return
	}
	t.mu.Lock()
	now := time.Now()
	t.avail = min(t.avail+now.Sub(t.last).Seconds()*t.rate, t.rate)
	t.last = now
	t.avail -= float64(n)
	var d time.Duration
	if t.avail < 0 {
		d = time.Duration(-t.avail / t.rate * float64(time.Second))
	}
	t.mu.Unlock()
	if d <= 0 {
		return
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-stop:
	}
}
