package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/gregorlog/gregor/engine/batch"
	"github.com/gregorlog/gregor/internal/invariants"
)

// Special timestamps for OffsetForTimestamp (ListOffsets).
const (
	LatestTimestamp   int64 = -1
	EarliestTimestamp int64 = -2
	MaxTimestamp      int64 = -3
)

// AppendOptions qualify one append.
type AppendOptions struct {
	// LeaderEpoch is written into bytes 12-15 of the batch.
	LeaderEpoch int32
}

// AppendResult is what a Produce response reports for one partition.
type AppendResult struct {
	BaseOffset     int64
	LastOffset     int64
	LogAppendTime  int64 // -1 unless the topic uses LogAppendTime
	LogStartOffset int64
	// Durable is true when an fdatasync covering the batch completed
	// before the result was delivered (flush.messages=1 or flush.ms=0).
	Durable bool
}

// Pending is an append in flight. Done closes when the append may be
// acknowledged under the topic's flush policy: after the write to the page
// cache by default, after the covering fdatasync when the policy requires
// durability before acknowledgement. A pipelined connection can keep
// several Pendings outstanding instead of blocking on each fsync.
type Pending struct {
	mpscNode[Pending]
	b    []byte
	h    batch.Header
	opts AppendOptions
	sync bool // wait for the covering fsync before done

	res     AppendResult
	err     error
	done    chan struct{}
	written bool // set under Log.mu once the batch has been handled
}

func (p *Pending) link() **Pending { return &p.next }

// Done closes when Result is ready.
func (p *Pending) Done() <-chan struct{} { return p.done }

// Result returns the outcome; call it after Done has closed.
func (p *Pending) Result() (AppendResult, error) {
	<-p.done
	return p.res, p.err
}

// Wait blocks until Done or ctx ends. A ctx error does not cancel the
// append: it may still be written.
func (p *Pending) Wait(ctx context.Context) (AppendResult, error) {
	select {
	case <-p.done:
		return p.res, p.err
	case <-ctx.Done():
		return AppendResult{}, ctx.Err()
	}
}

func (p *Pending) finish(err error) {
	if err != nil {
		p.err = err
	}
	close(p.done)
}

// Log is one partition's log.
//
// Lock order: Log.mu, then flushMu; segment.mu, then openCache.mu;
// index.mu is innermost. Readers take no Log lock.
type Log struct {
	topic     string
	partition int32
	dir       string // partition directory
	ld        *logDir
	deleter   *deleter // unlinks .deleted files after file.delete.delay.ms
	vfs       FS
	clock     Clock
	cache     *openCache
	manualHW  bool

	cfg atomic.Pointer[logConfig]
	// configured is false while a log loaded with Options.DeferRetention
	// waits for SetTopicConfig; time and size retention skip it.
	configured atomic.Bool

	// segs is the copy-on-write segment list, sorted by base offset; the
	// last is the active segment. Replaced only under mu.
	// Invariant: len(*segs) >= 1.
	segs atomic.Pointer[[]*segment]

	// Offsets, readable without locks.
	// Invariant: logStart <= hw <= leo, and recoveryPoint <= leo.
	logStart      atomic.Int64
	hw            atomic.Int64
	leo           atomic.Int64
	recoveryPoint atomic.Int64 // every offset below is fdatasync'd

	// hwCh is closed and replaced whenever hw advances (fetch long poll).
	hwCh atomic.Pointer[chan struct{}]

	q        mpscQueue[Pending, *Pending]
	draining atomic.Bool

	sticky atomic.Pointer[error] // first write/fsync error; never cleared
	closed atomic.Bool

	lastFlushMs   atomic.Int64
	unflushedMsgs atomic.Int64

	mu sync.Mutex // the writer lock: appender, roll, truncate, delete, close
	// drainBuf is the appender's scratch space; guarded by mu.
	drainBuf []*Pending

	flushMu      sync.Mutex // guards the following
	flushTarget  int64      // 0: nothing requested beyond the waiters
	flushWaiters []*Pending
	flushRunning bool
	flushIdle    *sync.Cond
}

// Topic returns the log's topic.
func (l *Log) Topic() string { return l.topic }

// Partition returns the log's partition.
func (l *Log) Partition() int32 { return l.partition }

// Dir returns the partition directory.
func (l *Log) Dir() string { return l.dir }

// LogDir returns the log dir (one of Config.Dirs) holding this log.
func (l *Log) LogDir() string { return l.ld.path }

// LogStartOffset is the first offset readable.
func (l *Log) LogStartOffset() int64 { return l.logStart.Load() }

// LogEndOffset is one past the last written offset.
func (l *Log) LogEndOffset() int64 { return l.leo.Load() }

// HighWatermark is the offset below which data is committed (readable by
// consumers).
func (l *Log) HighWatermark() int64 { return l.hw.Load() }

// RecoveryPoint is the offset below which everything is fsync'd.
func (l *Log) RecoveryPoint() int64 { return l.recoveryPoint.Load() }

// Err returns the sticky error that took the log offline, or nil.
func (l *Log) Err() error {
	if e := l.sticky.Load(); e != nil {
		return *e
	}
	return nil
}

// Offline reports whether the log has failed.
func (l *Log) Offline() bool { return l.sticky.Load() != nil }

// SetHighWatermark moves the high watermark, clamped to [logStart, leo].
// With Options.ManualHighWatermark unset, every append advances it to the
// log end offset (single node); replication sets it itself.
func (l *Log) SetHighWatermark(hw int64) {
	l.setHW(hw)
}

func (l *Log) setHW(hw int64) {
	if leo := l.leo.Load(); hw > leo {
		hw = leo
	}
	if ls := l.logStart.Load(); hw < ls {
		hw = ls
	}
	old := l.hw.Swap(hw)
	if hw > old {
		l.notify()
	}
}

func (l *Log) notify() {
	ch := make(chan struct{})
	old := l.hwCh.Swap(&ch)
	close(*old)
}

// WaitPast returns a channel that is closed once the high watermark
// exceeds offset, or the log fails or closes. Fetch long polling selects
// on it together with its own timer; nothing polls.
func (l *Log) WaitPast(offset int64) <-chan struct{} {
	ch := *l.hwCh.Load()
	if l.hw.Load() > offset || l.sticky.Load() != nil || l.closed.Load() {
		c := make(chan struct{})
		close(c)
		return c
	}
	return ch
}

// fail takes the log offline with a sticky error (fsyncgate: never retry a
// failed write or fsync) and wakes waiters.
func (l *Log) fail(err error) error {
	wrapped := fmt.Errorf("%w: %s-%d: %w", ErrOffline, l.topic, l.partition, err)
	if l.sticky.CompareAndSwap(nil, &wrapped) {
		l.notify()
		if l.ld != nil {
			l.ld.fail(err)
		}
	}
	return *l.sticky.Load()
}

// failFromDir marks the log offline because its dir failed.
func (l *Log) failFromDir(err error) {
	wrapped := fmt.Errorf("%w: %s-%d: log dir offline: %w", ErrOffline, l.topic, l.partition, err)
	if l.sticky.CompareAndSwap(nil, &wrapped) {
		l.notify()
	}
}

func (l *Log) segments() []*segment { return *l.segs.Load() }

func (l *Log) active() *segment {
	s := l.segments()
	return s[len(s)-1]
}

// Append validates b (one magic-2 record batch from a producer) outside
// any lock, queues it for the partition's appender and waits until it may
// be acknowledged (see Pending). On success the batch is stored with its
// assigned base offset and opts.LeaderEpoch.
//
// b is owned by the engine until the call returns (or, for AppendAsync,
// until Done closes): its offset fields are rewritten in place.
func (l *Log) Append(ctx context.Context, b []byte, opts AppendOptions) (AppendResult, error) {
	cfg := l.cfg.Load()
	h, err := validateAppend(b, cfg)
	if err != nil {
		return AppendResult{}, err
	}
	p := l.enqueue(b, h, opts, cfg, true)
	return p.Wait(ctx)
}

// AppendAsync is Append without waiting. A validation error is returned
// at once; anything later is reported by the Pending.
func (l *Log) AppendAsync(b []byte, opts AppendOptions) (*Pending, error) {
	cfg := l.cfg.Load()
	h, err := validateAppend(b, cfg)
	if err != nil {
		return nil, err
	}
	return l.enqueue(b, h, opts, cfg, false), nil
}

// enqueue pushes a validated batch on the partition's queue and makes sure
// an appender runs. A synchronous caller that finds no appender running
// becomes the appender itself (flat combining): it drains the queue on its
// own goroutine until its batch is written, then hands the rest to a new
// goroutine. That saves two goroutine switches per append for a lone
// producer; an asynchronous caller always starts a goroutine so it never
// blocks.
func (l *Log) enqueue(b []byte, h batch.Header, opts AppendOptions, cfg *logConfig, inline bool) *Pending {
	p := &Pending{b: b, h: h, opts: opts, sync: cfg.syncBeforeAck(), done: make(chan struct{})}
	l.q.push(p)
	if l.draining.CompareAndSwap(false, true) {
		if inline {
			l.appendLoop(p)
		} else {
			go l.appendLoop(nil)
		}
	}
	return p
}

// appendLoop is the partition's single appender: the draining flag makes
// sure exactly one runs, and that no push is left behind when it stops.
// With self set it runs on a producer's goroutine and hands off once self
// has been written.
func (l *Log) appendLoop(self *Pending) {
	for {
		l.mu.Lock()
		if self != nil && self.written && !l.q.empty() {
			// Our batch is in; let a fresh goroutine serve the others
			// (draining stays true across the handoff).
			l.mu.Unlock()
			go l.appendLoop(nil)
			return
		}
		l.drainBuf = l.q.drain(l.drainBuf)
		if len(l.drainBuf) == 0 {
			l.mu.Unlock()
			l.draining.Store(false)
			if l.q.empty() || !l.draining.CompareAndSwap(false, true) {
				return
			}
			continue
		}
		l.writeGroupLocked(l.drainBuf)
		for _, p := range l.drainBuf {
			p.written = true
		}
		clear(l.drainBuf)
		if invariants.Enabled {
			l.checkInvariants()
		}
		l.mu.Unlock()
	}
}

// writeGroupLocked assigns offsets to a drained group and writes it with
// as few vectored writes as possible (one, unless the group spans a roll).
// l.mu must be held.
func (l *Log) writeGroupLocked(group []*Pending) {
	if err := l.writeErr(); err != nil {
		for _, p := range group {
			p.finish(err)
		}
		return
	}
	cfg := l.cfg.Load()
	nowMs := l.clock.Now().UnixMilli()
	next := l.leo.Load()
	seg := l.active()
	segSize := seg.size.Load()
	var bufs [][]byte
	var hdrs []batch.Header
	var part []*Pending
	flushPart := func() bool {
		if len(part) == 0 {
			return true
		}
		err := seg.writeBatches(bufs, hdrs, cfg.indexIntervalBytes, nowMs)
		if err != nil {
			err = l.fail(err)
			for _, p := range part {
				p.finish(err)
			}
			return false
		}
		l.published(next, part, cfg)
		bufs, hdrs, part = bufs[:0], hdrs[:0], part[:0]
		return true
	}
	for i, p := range group {
		size := int64(len(p.b))
		msgTs := p.h.MaxTimestamp
		if cfg.logAppendTime {
			msgTs = nowMs
		}
		if l.shouldRoll(seg, segSize, size, next+int64(p.h.LastOffsetDelta), msgTs, nowMs, cfg) {
			if !flushPart() {
				failRest(group[i:], l.writeErr())
				return
			}
			ns, err := l.rollLocked(next, nowMs, cfg)
			if err != nil {
				failRest(group[i:], err)
				return
			}
			seg, segSize = ns, 0
		}
		batch.SetBaseOffset(p.b, next)
		batch.SetPartitionLeaderEpoch(p.b, p.opts.LeaderEpoch)
		p.h.BaseOffset = next
		p.h.PartitionLeaderEpoch = p.opts.LeaderEpoch
		p.res.LogAppendTime = -1
		if cfg.logAppendTime {
			batch.SetLogAppendTime(p.b, nowMs)
			p.h.MaxTimestamp = nowMs
			p.h.Attributes |= 0x08
			p.res.LogAppendTime = nowMs
		}
		p.res.BaseOffset = next
		p.res.LastOffset = p.h.LastOffset()
		next = p.res.LastOffset + 1
		segSize += size
		bufs = append(bufs, p.b)
		hdrs = append(hdrs, p.h)
		part = append(part, p)
	}
	flushPart()
}

func failRest(ps []*Pending, err error) {
	for _, p := range ps {
		p.finish(err)
	}
}

// published runs after a part of a group reached the page cache: publish
// the new end offset, then acknowledge or hand the waiters to the flusher.
func (l *Log) published(next int64, part []*Pending, cfg *logConfig) {
	l.leo.Store(next)
	if !l.manualHW {
		l.setHW(next)
	}
	ls := l.logStart.Load()
	var msgs int64
	for _, p := range part {
		p.res.LogStartOffset = ls
		msgs += int64(p.h.NumRecords)
	}
	unflushed := l.unflushedMsgs.Add(msgs)
	if part[0].sync {
		// Group commit: the flusher covers every waiter queued while the
		// previous fdatasync ran with a single new one.
		l.requestFlush(next, part)
		return
	}
	for _, p := range part {
		p.finish(nil)
	}
	if unflushed >= cfg.flushMessages {
		l.requestFlush(next, nil)
	}
}

// writeErr is the error that stops writes: sticky failure or close.
func (l *Log) writeErr() error {
	if e := l.sticky.Load(); e != nil {
		return *e
	}
	if l.closed.Load() {
		return fmt.Errorf("%w: log %s-%d", ErrClosed, l.topic, l.partition)
	}
	return nil
}

// shouldRoll is Kafka's LogSegment.shouldRoll for an incoming batch. Age
// is measured like Kafka's timeWaitedForRoll: the incoming batch's
// timestamp minus the segment's first batch timestamp, or wall time since
// the segment's first append when the first batch carries no timestamp.
func (l *Log) shouldRoll(seg *segment, segSize, incoming, lastOffset, msgTs, nowMs int64, cfg *logConfig) bool {
	if segSize == 0 {
		return false
	}
	waited := int64(-1)
	switch {
	case seg.rollBaseTs >= 0:
		waited = msgTs - seg.rollBaseTs
	case seg.createdMs > 0:
		waited = nowMs - seg.createdMs
	}
	switch {
	case segSize > cfg.segmentBytes-incoming:
		return true
	case waited > cfg.segmentMs-seg.rollJitterMs:
		return true
	case seg.indexFull():
		return true
	case lastOffset-seg.base > 1<<31-1:
		return true
	}
	return false
}

// rollLocked seals the active segment and starts a new one at next.
// Kafka flushes the rolled segment asynchronously, which advances the
// recovery point past it. l.mu must be held.
func (l *Log) rollLocked(next, nowMs int64, cfg *logConfig) (*segment, error) {
	old := l.active()
	if err := old.seal(); err != nil {
		return nil, l.fail(err)
	}
	var jitter int64
	if cfg.segmentJitterMs > 0 {
		jitter = rand.Int64N(cfg.segmentJitterMs)
	}
	ns, err := createSegment(l.dir, next, l.vfs, l.cache, cfg.indexMaxBytes, nowMs, jitter)
	if err != nil {
		return nil, l.fail(err)
	}
	ns.createdMs = 0 // set on first append
	segs := append(append([]*segment(nil), l.segments()...), ns)
	l.segs.Store(&segs)
	l.requestFlush(next, nil)
	return ns, nil
}

// requestFlush asks the flusher to make every offset below upTo durable
// and to finish ws once it has. One fdatasync runs at a time per log; the
// waiters that arrive meanwhile share the next one (group commit).
func (l *Log) requestFlush(upTo int64, ws []*Pending) {
	l.flushMu.Lock()
	if upTo > l.flushTarget {
		l.flushTarget = upTo
	}
	l.flushWaiters = append(l.flushWaiters, ws...)
	if !l.flushRunning {
		l.flushRunning = true
		go l.flushLoop()
	}
	l.flushMu.Unlock()
}

func (l *Log) flushLoop() {
	for {
		l.flushMu.Lock()
		ws := l.flushWaiters
		if len(ws) == 0 && l.flushTarget == 0 {
			l.flushRunning = false
			l.flushIdle.Broadcast()
			l.flushMu.Unlock()
			return
		}
		l.flushWaiters = nil
		l.flushTarget = 0 // flushTo covers everything written so far
		l.flushMu.Unlock()
		err := l.flushTo(l.leo.Load())
		for _, p := range ws {
			if err == nil {
				p.res.Durable = true
			}
			p.finish(err)
		}
	}
}

// flushTo fdatasyncs every segment holding offsets in
// [recoveryPoint, upTo) and advances the recovery point. Everything below
// upTo is already in the page cache when this is called.
func (l *Log) flushTo(upTo int64) error {
	if err := l.Err(); err != nil {
		return err
	}
	rp := l.recoveryPoint.Load()
	if upTo <= rp {
		return nil
	}
	segs := l.segments()
	for i, s := range segs {
		end := s.next.Load()
		if i+1 < len(segs) {
			end = max(end, segs[i+1].base)
		}
		if end <= rp || s.base >= upTo {
			continue
		}
		if err := s.sync(); err != nil {
			return l.fail(err)
		}
		if s.needsDirSync.Load() {
			if err := l.vfs.SyncDir(l.dir); err != nil {
				return l.fail(err)
			}
			s.needsDirSync.Store(false)
		}
	}
	l.unflushedMsgs.Store(0)
	l.lastFlushMs.Store(l.clock.Now().UnixMilli())
	for {
		cur := l.recoveryPoint.Load()
		if upTo <= cur || l.recoveryPoint.CompareAndSwap(cur, upTo) {
			break
		}
	}
	return nil
}

// Flush makes everything appended so far durable and returns after the
// fdatasync.
func (l *Log) Flush() error {
	if err := l.Err(); err != nil {
		return err
	}
	p := &Pending{done: make(chan struct{})}
	l.requestFlush(l.leo.Load(), []*Pending{p})
	<-p.done
	return p.err
}

// waitFlushIdle blocks until no flush is running.
func (l *Log) waitFlushIdle() {
	l.flushMu.Lock()
	for l.flushRunning {
		l.flushIdle.Wait()
	}
	l.flushMu.Unlock()
}

// Region is a byte range of a segment file, for sendfile. It holds a
// reference to the open file: the range stays readable even if the segment
// is evicted from the open-file cache or deleted meanwhile. Call Release
// exactly once. A zero Region (Len 0, File nil) means "no data".
type Region struct {
	File *os.File
	Pos  int64
	Len  int64
	// BaseOffset is the offset of the first batch in the region.
	BaseOffset int64
	ref        *fileRef
}

// Release drops the file reference.
func (r Region) Release() {
	if r.ref != nil {
		r.ref.release()
	}
}

// testHookRead, set only by tests, runs inside Read after the log start
// check (stage 0) and after loading the segment list (stage 1), so a test
// can interleave a retention pass deterministically.
var testHookRead func(stage int)

// Read finds offset and returns the file region to send for a fetch, from
// the start of the batch holding offset, within one segment, capped at
// upper (the high watermark or last stable offset) and at maxBytes. With
// minOneBatch the first batch is returned whole even if larger than
// maxBytes (KIP-74). The region may end mid-batch when maxBytes cuts it;
// clients drop the partial tail.
//
// An offset below the log start or past the log end is
// ErrOffsetOutOfRange; an offset at or past upper gives an empty Region.
func (l *Log) Read(offset int64, maxBytes int, upper int64, minOneBatch bool) (Region, error) {
	if err := l.Err(); err != nil {
		return Region{}, err
	}
	ls, leo := l.logStart.Load(), l.leo.Load()
	if offset < ls || offset > leo {
		return Region{}, fmt.Errorf("%w: offset %d, log %s-%d holds [%d, %d)", ErrOffsetOutOfRange, offset, l.topic, l.partition, ls, leo)
	}
	if upper > leo {
		upper = leo
	}
	if offset >= upper {
		return Region{}, nil
	}
	// A segment replaced by the log cleaner meanwhile is closed; the
	// cleaned one is already in the new list, so look again (bounded).
	for attempt := 0; ; attempt++ {
		if testHookRead != nil {
			testHookRead(0)
		}
		sp := l.segs.Load()
		if testHookRead != nil {
			testHookRead(1)
		}
		r, err := l.readSegments(*sp, offset, maxBytes, upper, minOneBatch)
		if err != nil && errors.Is(err, ErrClosed) && l.segs.Load() != sp && attempt < 8 {
			continue
		}
		return r, err
	}
}

func (l *Log) readSegments(segs []*segment, offset int64, maxBytes int, upper int64, minOneBatch bool) (Region, error) {
	i := sort.Search(len(segs), func(i int) bool { return segs[i].base > offset }) - 1
	if i < 0 {
		i = 0
	}
	for ; i < len(segs); i++ {
		s := segs[i]
		if s.base >= upper {
			break
		}
		r, ok, err := l.readSegment(s, offset, maxBytes, upper, minOneBatch)
		if err != nil {
			// Deleted by retention after we loaded the segment list: the
			// offset is gone, which is a clean out-of-range, never an
			// I/O error or stale bytes.
			if (errors.Is(err, ErrClosed) || s.isDeleted()) && l.logStart.Load() > offset {
				return Region{}, fmt.Errorf("%w: offset %d deleted meanwhile", ErrOffsetOutOfRange, offset)
			}
			return Region{}, err
		}
		if ok {
			if l.logStart.Load() > offset {
				// Retention moved the log start past offset while we
				// looked (we may have found a later batch in the new
				// first segment): the offset is gone.
				r.Release()
				return Region{}, fmt.Errorf("%w: offset %d deleted meanwhile", ErrOffsetOutOfRange, offset)
			}
			return r, nil
		}
	}
	return Region{}, nil
}

func (l *Log) readSegment(s *segment, offset int64, maxBytes int, upper int64, minOneBatch bool) (Region, bool, error) {
	ref, err := s.acquire()
	if err != nil {
		return Region{}, false, err
	}
	size := s.size.Load()
	start, found, err := s.translate(ref.f, offset, size)
	if err != nil || !found {
		ref.release()
		return Region{}, false, err
	}
	maxPos := size
	if upper < s.next.Load() {
		bp, found, err := s.translate(ref.f, upper, size)
		if err != nil {
			ref.release()
			return Region{}, false, err
		}
		if found {
			maxPos = bp.pos
		}
	}
	if start.pos >= maxPos {
		ref.release()
		return Region{}, false, nil
	}
	n := int64(maxBytes)
	if n < 0 {
		n = 0
	}
	if minOneBatch && n < start.size {
		n = start.size
	}
	if n > maxPos-start.pos {
		n = maxPos - start.pos
	}
	if n == 0 {
		ref.release()
		return Region{}, true, nil
	}
	return Region{File: ref.f.OS(), Pos: start.pos, Len: n, BaseOffset: start.h.BaseOffset, ref: ref}, true, nil
}

// ReadCopy is Read into memory, for TLS and tests.
func (l *Log) ReadCopy(offset int64, maxBytes int, upper int64, minOneBatch bool) ([]byte, error) {
	r, err := l.Read(offset, maxBytes, upper, minOneBatch)
	if err != nil || r.Len == 0 {
		return nil, err
	}
	defer r.Release()
	buf := make([]byte, r.Len)
	n, err := r.ref.f.ReadAt(buf, r.Pos)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	// Short only if a concurrent Truncate cut the file: return what is
	// there, never zeros.
	return buf[:n], nil
}

// OffsetForTimestamp answers ListOffsets. ts is LatestTimestamp (-1: the
// high watermark), EarliestTimestamp (-2: the log start offset),
// MaxTimestamp (-3: the batch holding the largest timestamp, KIP-734) or a
// time in ms: the first record whose timestamp is >= ts. When no record is
// that late it returns offset -1 and timestamp -1, as Kafka does.
func (l *Log) OffsetForTimestamp(ts int64) (offset, timestamp int64, err error) {
	if err := l.Err(); err != nil {
		return -1, -1, err
	}
	switch ts {
	case LatestTimestamp:
		return l.hw.Load(), -1, nil
	case EarliestTimestamp:
		return l.logStart.Load(), -1, nil
	case MaxTimestamp:
		best, bestOff := int64(-1), int64(-1)
		for _, s := range l.segments() {
			t, o, err := s.maxTimestamp()
			if err != nil {
				if s.isDeleted() {
					continue // removed by retention meanwhile
				}
				return -1, -1, err
			}
			if t > best && o >= l.logStart.Load() {
				best, bestOff = t, o
			}
		}
		return bestOff, best, nil
	}
	ls, hw := l.logStart.Load(), l.hw.Load()
	for _, s := range l.segments() {
		t, _, err := s.maxTimestamp()
		if err != nil {
			if s.isDeleted() {
				continue // removed by retention meanwhile
			}
			return -1, -1, err
		}
		if t < ts || s.next.Load() <= ls {
			continue
		}
		off, rts, found, err := l.searchTimestamp(s, ts, max(ls, s.base), hw)
		if err != nil {
			if s.isDeleted() {
				continue
			}
			return -1, -1, err
		}
		if found {
			return off, rts, nil
		}
	}
	return -1, -1, nil
}

// searchTimestamp is Kafka's LogSegment.findOffsetByTimestamp: time index
// lookup, offset index lookup, then a scan for the first batch whose max
// timestamp reaches ts and, inside it, the first such record.
func (l *Log) searchTimestamp(s *segment, ts, startOffset, upper int64) (int64, int64, bool, error) {
	ref, err := s.acquire()
	if err != nil {
		return 0, 0, false, err
	}
	defer ref.release()
	if err := s.ensureIndexes(); err != nil {
		return 0, 0, false, err
	}
	from := startOffset
	var rel int32
	var ok bool
	if err := s.withIndexes(func() (err error) { _, rel, ok, err = s.timeIdx.lookup(ts); return err }); err != nil {
		return 0, 0, false, err
	}
	if ok {
		from = max(from, s.base+int64(rel))
	}
	size := s.size.Load()
	start, found, err := s.translate(ref.f, from, size)
	if err != nil || !found {
		return 0, 0, false, err
	}
	var hit *batchPos
	err = scanFrom(ref.f, start.pos, size, func(bp batchPos) bool {
		if bp.h.BaseOffset >= upper {
			return false
		}
		if bp.h.MaxTimestamp >= ts && bp.h.LastOffset() >= startOffset {
			hit = &bp
			return false
		}
		return true
	})
	if err != nil || hit == nil {
		return 0, 0, false, err
	}
	buf := make([]byte, hit.size)
	if _, err := ref.f.ReadAt(buf, hit.pos); err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, false, err
	}
	recs, err := batch.Records(buf, batch.DecompressLimit(l.cfg.Load().maxMessageBytes))
	if err != nil {
		// Fall back to batch granularity for a batch we cannot decode.
		return max(hit.h.BaseOffset, startOffset), hit.h.MaxTimestamp, true, nil
	}
	for _, r := range recs {
		rts := hit.h.BaseTimestamp + r.TimestampDelta
		if hit.h.LogAppendTime() {
			rts = hit.h.MaxTimestamp
		}
		off := hit.h.BaseOffset + int64(r.OffsetDelta)
		if rts >= ts && off >= startOffset {
			return off, rts, true, nil
		}
	}
	return max(hit.h.BaseOffset, startOffset), hit.h.MaxTimestamp, true, nil
}

// Size is the total bytes of the log's segments.
func (l *Log) Size() int64 {
	var n int64
	for _, s := range l.segments() {
		n += s.size.Load()
	}
	return n
}

// SegmentInfo describes one segment, for retention and DescribeLogDirs.
type SegmentInfo struct {
	BaseOffset   int64
	NextOffset   int64
	Size         int64
	MaxTimestamp int64 // -1 if unknown or empty
	Active       bool
}

// Segments lists the segments in offset order (the seam for retention).
func (l *Log) Segments() []SegmentInfo {
	segs := l.segments()
	out := make([]SegmentInfo, len(segs))
	for i, s := range segs {
		ts, _, err := s.maxTimestamp()
		if err != nil {
			ts = -1
		}
		out[i] = SegmentInfo{BaseOffset: s.base, NextOffset: s.next.Load(), Size: s.size.Load(), MaxTimestamp: ts, Active: i == len(segs)-1}
	}
	return out
}

// DeleteRecordsBefore advances the log start offset to offset (Kafka's
// DeleteRecords), deletes the segments wholly below it, and checkpoints
// the new start. offset may not pass the high watermark.
func (l *Log) DeleteRecordsBefore(offset int64) (int64, error) {
	if err := l.writeErr(); err != nil {
		return 0, err
	}
	if offset > l.hw.Load() || offset < 0 {
		return 0, fmt.Errorf("%w: delete before %d, high watermark %d", ErrOffsetOutOfRange, offset, l.hw.Load())
	}
	l.mu.Lock()
	if err := l.writeErr(); err != nil {
		l.mu.Unlock()
		return 0, err
	}
	if offset > l.logStart.Load() {
		l.logStart.Store(offset)
	}
	ls := l.logStart.Load()
	_, err := l.deleteWhileLocked(nil, ReasonLogStart, l.clock.Now().UnixMilli(), func(s *segment, upper int64, last bool) (bool, error) {
		return !last && upper <= ls, nil
	})
	ls = l.logStart.Load()
	l.mu.Unlock()
	if err != nil {
		return ls, err
	}
	if l.ld != nil {
		if err := l.ld.checkpointLogStart(); err != nil {
			return ls, err
		}
	}
	return ls, nil
}

// DeleteSegments deletes the oldest segments while pred holds (never the
// active one, never one reaching past the high watermark), advancing the
// log start offset past them. Retention passes use DeleteOldSegments.
func (l *Log) DeleteSegments(pred func(SegmentInfo) bool) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writeErr(); err != nil {
		return 0, err
	}
	del, err := l.deleteWhileLocked(nil, "", l.clock.Now().UnixMilli(), func(s *segment, upper int64, last bool) (bool, error) {
		ts, _, _ := s.maxTimestamp()
		return !last && pred(SegmentInfo{BaseOffset: s.base, NextOffset: upper, Size: s.size.Load(), MaxTimestamp: ts}), nil
	})
	return len(del), err
}

// Truncate removes every offset >= offset (follower truncation after a
// leader change). The batch holding offset is removed whole.
func (l *Log) Truncate(offset int64) error {
	if err := l.writeErr(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if offset >= l.leo.Load() {
		return nil
	}
	if offset < l.logStart.Load() {
		offset = l.logStart.Load()
	}
	segs := l.segments()
	k := len(segs)
	for k > 1 && segs[k-1].base >= offset {
		k--
	}
	keep := segs[:k]
	for _, s := range segs[k:] {
		if err := s.markDeleted(); err != nil {
			return l.fail(err)
		}
		s.removeDeleted()
	}
	act := keep[len(keep)-1]
	if !act.writable.Load() {
		act.writable.Store(true)
		// Reopen the log file read-write and the indexes preallocated.
		act.cache.remove(act)
		act.closeFiles()
	}
	next, err := act.truncateTo(offset)
	if err != nil {
		return l.fail(err)
	}
	if act.createdMs == 0 {
		act.createdMs = l.clock.Now().UnixMilli()
	}
	ks := append([]*segment(nil), keep...)
	l.segs.Store(&ks)
	l.leo.Store(next)
	if l.hw.Load() > next {
		l.hw.Store(next)
	}
	if l.recoveryPoint.Load() > next {
		l.recoveryPoint.Store(next)
	}
	if invariants.Enabled {
		l.checkInvariants()
	}
	return nil
}

func (l *Log) checkInvariants() {
	ls, hw, leo := l.logStart.Load(), l.hw.Load(), l.leo.Load()
	if ls > hw || hw > leo {
		panic(fmt.Sprintf("engine: %s-%d: logStart %d, hw %d, leo %d", l.topic, l.partition, ls, hw, leo))
	}
	segs := l.segments()
	for i := 1; i < len(segs); i++ {
		if segs[i].base <= segs[i-1].base || segs[i].base < segs[i-1].next.Load() {
			panic(fmt.Sprintf("engine: %s-%d: segments out of order or overlapping", l.topic, l.partition))
		}
	}
	if act := segs[len(segs)-1]; act.next.Load() != leo {
		panic(fmt.Sprintf("engine: %s-%d: active segment ends at %d, leo %d", l.topic, l.partition, act.next.Load(), leo))
	}
}

// close flushes (if online), seals the active segment's indexes and
// closes every file. Queued appends fail with ErrClosed.
func (l *Log) close() error {
	if !l.closed.CompareAndSwap(false, true) {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notify()
	var err error
	if l.Err() == nil {
		err = l.flushTo(l.leo.Load())
	}
	l.waitFlushIdle()
	if l.Err() == nil && err == nil {
		// Trim the active indexes so the next start can trust their
		// length; the segment stays the active one on reload.
		act := l.active()
		if e := act.offIdx.trim(l.vfs); e != nil {
			err = e
		} else if e := act.timeIdx.trim(l.vfs); e != nil {
			err = e
		} else {
			act.offIdx.sync(l.vfs)
			act.timeIdx.sync(l.vfs)
		}
	}
	for _, s := range l.segments() {
		l.cache.remove(s)
		s.closeFiles()
	}
	return err
}
