package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/gregorlog/gregor/engine/batch"
)

// errCleanAborted: the log changed under the cleaner (deleted, truncated,
// segments removed by retention) or the manager is stopping. The cleaned
// files are discarded and the log is picked again later.
var errCleanAborted = errors.New("engine: log cleaning aborted")

// errCrashInjected is returned by a test hook to stop the cleaner dead at
// a swap step, leaving the files as a crash would.
var errCrashInjected = errors.New("engine: crash injected")

// Cleaning steps reported to the test hook, in order. A crash after any
// of them must recover to the pre-clean or the post-clean log.
const (
	stepCleanedWritten = "cleaned-written" // .cleaned files written and fsynced
	stepSwapRenamed    = "swap-renamed"    // .cleaned renamed to .swap, dir fsynced
	stepOldDeleted     = "old-deleted"     // one replaced segment renamed to .deleted (once per segment)
	stepSwapFinal      = "swap-final"      // one .swap renamed to its final name (once per file)
	stepSwapDone       = "swap-done"       // the swap is complete in memory and on disk
)

// CleanStats describes one cleaning of one log.
type CleanStats struct {
	Topic          string
	Partition      int32
	FirstDirty     int64 // start of the dirty section cleaned
	EndOffset      int64 // the new first dirty offset (checkpointed)
	BytesRead      int64
	BytesWritten   int64
	RecordsRead    int64
	RecordsKept    int64
	Groups         int // output segments written
	SegmentsBefore int // segments replaced
	MapUtilization float64
}

// cleaner is one cleaner thread's state: its key map and scratch buffers.
// Kafka's LogCleaner.Cleaner.
type cleaner struct {
	m        *Manager
	omap     *offsetMap
	mapBytes int64
	rbuf     []byte
	wbuf     []byte
	dbuf     []byte         // decompressed records
	recs     []batch.Record // decoded records
	kept     []batch.Record
	hook     func(step string) error
}

func (c *cleaner) step(name string) error {
	if c.hook != nil {
		return c.hook(name)
	}
	return nil
}

func (c *cleaner) stopping() bool {
	select {
	case <-c.m.stop:
		return true
	default:
		return false
	}
}

func (c *cleaner) throttle(n int64) {
	if c.m.cleaners != nil {
		c.m.cleaners.throttle.wait(n, c.m.stop)
	}
}

// forEachBatch reads every batch of s in order (verifying each CRC) and
// calls fn with its header and bytes, which alias a scratch buffer valid
// until fn returns. fn returns false to stop.
func (c *cleaner) forEachBatch(s *segment, fn func(h batch.Header, b []byte) (bool, error)) error {
	ref, err := s.acquire()
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return errCleanAborted
		}
		return err
	}
	defer ref.release()
	size := s.size.Load()
	r := &segReader{f: ref.f, size: size}
	var pos int64
	for pos < size {
		if c.stopping() {
			return errCleanAborted
		}
		pre, err := r.read(&c.rbuf, pos, batch.LogOverhead)
		if err != nil {
			return fmt.Errorf("%w: %s at %d: %v", ErrCorruptLog, s.logPath, pos, err)
		}
		total := int64(int32(be32(pre[8:12]))) + batch.LogOverhead
		if total < batch.HeaderSize || pos+total > size {
			return fmt.Errorf("%w: %s: batch of %d bytes at %d", ErrCorruptLog, s.logPath, total, pos)
		}
		b, err := r.read(&c.rbuf, pos, int(total))
		if err != nil {
			return fmt.Errorf("%w: %s at %d: %v", ErrCorruptLog, s.logPath, pos, err)
		}
		h, _, err := batch.Next(b)
		if err == nil {
			err = batch.CheckCRC(b)
		}
		if err != nil {
			return fmt.Errorf("%w: %s at %d: %v", ErrCorruptLog, s.logPath, pos, err)
		}
		c.throttle(total)
		more, err := fn(h, b)
		if err != nil || !more {
			return err
		}
		pos += total
	}
	return nil
}

// records decodes b's records into the cleaner's scratch space (valid
// until the next call); compressed batches are decompressed with the
// batch decompression cap of the log.
func (c *cleaner) records(b []byte, maxMessageBytes int) ([]batch.Record, error) {
	recs, err := batch.AppendRecords(c.recs, &c.dbuf, b, batch.DecompressLimit(maxMessageBytes))
	if err == nil {
		c.recs = recs
	}
	return recs, err
}

// buildOffsetMap fills the map from the dirty section [from, to): key ->
// last offset. It stops before the first batch that might not fit (Kafka
// cleans only up to the last offset that fit) and returns the offset the
// map covers up to (exclusive), plus the last batch offset of every
// idempotent producer seen.
func (c *cleaner) buildOffsetMap(l *Log, segs []*segment, from, to int64, prod map[int64]int64, st *CleanStats) (int64, error) {
	c.omap.clear()
	cfg := l.cfg.Load()
	end := from
	full := false
	for i, s := range segs {
		if s.base >= to || full {
			break
		}
		if i+1 < len(segs) && segs[i+1].base <= from {
			continue
		}
		err := c.forEachBatch(s, func(h batch.Header, b []byte) (bool, error) {
			if h.BaseOffset >= to {
				return false, nil
			}
			st.BytesRead += int64(len(b))
			if h.LastOffset() < from {
				return true, nil
			}
			if h.IsControl() {
				end = h.LastOffset() + 1
				return true, nil
			}
			if c.omap.full(int(h.NumRecords)) {
				full = true
				return false, nil
			}
			recs, err := c.records(b, cfg.maxMessageBytes)
			if err != nil {
				return false, fmt.Errorf("%w: %s batch at offset %d: %v", ErrCorruptLog, s.logPath, h.BaseOffset, err)
			}
			for i := range recs {
				if recs[i].Key != nil {
					c.omap.put(recs[i].Key, h.BaseOffset+int64(recs[i].OffsetDelta))
				}
			}
			if h.HasProducerID() {
				prod[h.ProducerID] = h.LastOffset()
			}
			end = h.LastOffset() + 1
			return true, nil
		})
		if err != nil {
			return 0, err
		}
	}
	if end == from && full {
		return 0, fmt.Errorf("engine: %s-%d: log.cleaner.dedupe.buffer.size (%d bytes per thread) cannot hold the keys of one batch", l.topic, l.partition, c.mapBytes)
	}
	return end, nil
}

// producerTails adds the last batch offset of every idempotent producer in
// the segments outside the dirty section (header scan only), so that the
// last batch of each producer is kept even when all its records are
// superseded (Kafka keeps it as an empty batch so the producer's sequence
// survives). Without producer expiry in the engine every producer in the
// log counts as active.
func (c *cleaner) producerTails(segs []*segment, from, to int64, prod map[int64]int64) error {
	for i, s := range segs {
		next := s.next.Load()
		if i+1 < len(segs) {
			next = segs[i+1].base
		}
		if s.base >= from && next <= to {
			continue // dirty: already seen by buildOffsetMap
		}
		ref, err := s.acquire()
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return errCleanAborted
			}
			return err
		}
		err = scanFrom(ref.f, 0, s.size.Load(), func(bp batchPos) bool {
			if bp.h.HasProducerID() && (bp.h.BaseOffset < from || bp.h.BaseOffset >= to) {
				if bp.h.LastOffset() > prod[bp.h.ProducerID] {
					prod[bp.h.ProducerID] = bp.h.LastOffset()
				}
			}
			return true
		})
		ref.release()
		if err != nil {
			return err
		}
	}
	return nil
}

// groupSegmentsBySize is Kafka's: consecutive segments whose total log
// size fits segment.bytes, whose index sizes fit segment.index.bytes and
// whose offsets fit a relative int32 go into one output segment.
func groupSegmentsBySize(segs []*segment, maxSize int64, maxIndexSize int32, endOf func(i int) int64) [][]*segment {
	var groups [][]*segment
	for i := 0; i < len(segs); {
		g := []*segment{segs[i]}
		size := segs[i].size.Load()
		offIdx := int64(segs[i].offIdx.entries.Load()) * offsetEntrySize
		timeIdx := int64(segs[i].timeIdx.entries.Load()) * timeEntrySize
		j := i + 1
		for j < len(segs) {
			s := segs[j]
			if size+s.size.Load() > maxSize ||
				offIdx+int64(s.offIdx.entries.Load())*offsetEntrySize > int64(maxIndexSize) ||
				timeIdx+int64(s.timeIdx.entries.Load())*timeEntrySize > int64(maxIndexSize) ||
				endOf(j)-1-segs[i].base > math.MaxInt32 {
				break
			}
			g = append(g, s)
			size += s.size.Load()
			offIdx += int64(s.offIdx.entries.Load()) * offsetEntrySize
			timeIdx += int64(s.timeIdx.entries.Load()) * timeEntrySize
			j++
		}
		groups = append(groups, g)
		i = j
	}
	return groups
}

// cleanLog is Kafka's Cleaner.doClean: map the dirty section
// [firstDirty, firstUncleanable), then rewrite every segment from the log
// start up to the end of what the map covers, group by group, each group
// swapped in atomically. It returns the new first dirty offset.
func (c *cleaner) cleanLog(l *Log, firstDirty, firstUncleanable, nowMs int64) (CleanStats, error) {
	st := CleanStats{Topic: l.topic, Partition: l.partition, FirstDirty: firstDirty}
	if c.omap == nil {
		c.omap = newOffsetMap(c.mapBytes)
	}
	segs := l.segments()
	prod := map[int64]int64{}
	end, err := c.buildOffsetMap(l, segs, firstDirty, firstUncleanable, prod, &st)
	if err != nil {
		return st, err
	}
	st.EndOffset = end
	st.MapUtilization = c.omap.utilization()
	if err := c.producerTails(segs, firstDirty, end, prod); err != nil {
		return st, err
	}
	// Sealed segments holding offsets below end.
	var todo []*segment
	for _, s := range segs[:len(segs)-1] {
		if s.base >= end {
			break
		}
		todo = append(todo, s)
	}
	if len(todo) == 0 {
		return st, nil
	}
	// todo is a prefix of segs, followed by at least the active segment.
	segEnd := func(i int) int64 { return segs[i+1].base } // exclusive upper offset of todo[i]
	cfg := l.cfg.Load()
	for _, g := range groupSegmentsBySize(todo, cfg.segmentBytes, cfg.indexMaxBytes, segEnd) {
		if err := c.cleanGroup(l, g, nowMs, prod, &st); err != nil {
			return st, err
		}
		st.Groups++
		st.SegmentsBefore += len(g)
	}
	return st, nil
}

// cleanedWriter writes one output segment: the .log through a buffer and
// both sparse indexes in memory, built with the appender's rules.
type cleanedWriter struct {
	c          *cleaner
	f          File
	base       int64
	pos        int64 // bytes written or buffered
	flushed    int64
	next       int64 // one past the last offset written; base if none
	batches    int
	interval   int32
	maxEntries int
	sinceIndex int64
	offIdx     []byte
	timeIdx    []byte
	lastTimeTs int64
	maxTs      int64
	offMaxTs   int64
}

func (w *cleanedWriter) add(h batch.Header, b []byte) error {
	if h.MaxTimestamp > w.maxTs {
		w.maxTs, w.offMaxTs = h.MaxTimestamp, h.LastOffset()
	}
	if w.sinceIndex > int64(w.interval) && len(w.offIdx)/offsetEntrySize < w.maxEntries && len(w.timeIdx)/timeEntrySize < w.maxEntries {
		w.offIdx = binary.BigEndian.AppendUint32(w.offIdx, uint32(h.LastOffset()-w.base))
		w.offIdx = binary.BigEndian.AppendUint32(w.offIdx, uint32(w.pos))
		w.maybeTime()
		w.sinceIndex = 0
	}
	w.c.wbuf = append(w.c.wbuf, b...)
	w.pos += int64(len(b))
	w.sinceIndex += int64(len(b))
	w.next = h.LastOffset() + 1
	w.batches++
	if len(w.c.wbuf) >= 1<<20 {
		return w.flush()
	}
	return nil
}

func (w *cleanedWriter) maybeTime() {
	if w.maxTs < 0 || (len(w.timeIdx) > 0 && w.maxTs <= w.lastTimeTs) || len(w.timeIdx)/timeEntrySize >= w.maxEntries {
		return
	}
	w.timeIdx = binary.BigEndian.AppendUint64(w.timeIdx, uint64(w.maxTs))
	w.timeIdx = binary.BigEndian.AppendUint32(w.timeIdx, uint32(w.offMaxTs-w.base))
	w.lastTimeTs = w.maxTs
}

func (w *cleanedWriter) flush() error {
	if len(w.c.wbuf) == 0 {
		return nil
	}
	if _, err := w.f.WriteAt(w.c.wbuf, w.flushed); err != nil {
		return err
	}
	w.c.throttle(int64(len(w.c.wbuf)))
	w.flushed += int64(len(w.c.wbuf))
	w.c.wbuf = w.c.wbuf[:0]
	return nil
}

// filterBatch decides one batch's fate: drop it, keep its bytes as they
// are, or rebuild it with the surviving records (same codec, same header
// fields, same offset range). keepEmpty keeps an all-removed batch as an
// empty batch.
func (c *cleaner) filterBatch(h batch.Header, b []byte, maxMessageBytes int, nowMs, deleteRetentionMs int64, keepEmpty bool, st *CleanStats) ([]byte, error) {
	if h.IsControl() {
		return b, nil
	}
	recs, err := c.records(b, maxMessageBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: batch at offset %d: %v", ErrCorruptLog, h.BaseOffset, err)
	}
	st.RecordsRead += int64(len(recs))
	horizon, hasHorizon := h.DeleteHorizonMs()
	retainDeletes := !hasHorizon || nowMs < horizon
	kept := c.kept[:0]
	defer func() { c.kept = kept[:0] }()
	tombstones := false
	for i := range recs {
		r := &recs[i]
		off := h.BaseOffset + int64(r.OffsetDelta)
		keep := false
		switch {
		case off > c.omap.latestOffset:
			keep = true // beyond the mapped section (map filled up)
		case r.Key == nil:
			keep = false // compacted topics need keys; Kafka drops them too
		default:
			keep = off >= c.omap.get(r.Key) && (r.Value != nil || retainDeletes)
		}
		if keep {
			kept = append(kept, *r)
			if r.Value == nil {
				tombstones = true
			}
		}
	}
	st.RecordsKept += int64(len(kept))
	// KIP-534: the first cleaning that keeps a tombstone stamps the batch
	// with its delete horizon; a later cleaning past it drops them.
	setHorizon := tombstones && !hasHorizon
	if len(kept) == len(recs) && !setHorizon {
		return b, nil
	}
	if len(kept) == 0 && !keepEmpty {
		return nil, nil
	}
	opts := batch.BuildOptions{
		Codec:                h.Codec(),
		BaseOffset:           h.BaseOffset,
		PartitionLeaderEpoch: h.PartitionLeaderEpoch,
		BaseTimestamp:        h.BaseTimestamp,
		MaxTimestamp:         h.MaxTimestamp,
		ProducerID:           h.ProducerID,
		ProducerEpoch:        h.ProducerEpoch,
		BaseSequence:         h.BaseSequence,
		Transactional:        h.IsTransactional(),
		LogAppendTime:        h.LogAppendTime(),
		LastOffsetDelta:      h.LastOffsetDelta,
		DeleteHorizon:        hasHorizon || setHorizon,
	}
	if len(kept) == 0 {
		// Kafka's empty batch: header only, the original offset range.
		opts.Codec = batch.CodecNone
		opts.BaseTimestamp = h.MaxTimestamp
		opts.DeleteHorizon = false
	} else if setHorizon {
		newBase := nowMs + deleteRetentionMs
		if deleteRetentionMs > math.MaxInt64-nowMs {
			newBase = math.MaxInt64
		}
		for i := range kept {
			kept[i].TimestampDelta = h.BaseTimestamp + kept[i].TimestampDelta - newBase
		}
		opts.BaseTimestamp = newBase
	}
	out, err := batch.Build(opts, kept)
	if err != nil {
		return nil, err
	}
	if binary.BigEndian.Uint64(out[35:43]) != uint64(h.MaxTimestamp) {
		// Build recomputed a zero max timestamp; restore it exactly.
		binary.BigEndian.PutUint64(out[35:43], uint64(h.MaxTimestamp))
		setBatchCRC(out)
	}
	return out, nil
}

// cleanGroup rewrites one group of segments into <base>.log.cleaned and
// swaps it in (Kafka's cleanSegments + replaceSegments).
func (c *cleaner) cleanGroup(l *Log, group []*segment, nowMs int64, prod map[int64]int64, st *CleanStats) error {
	cfg := l.cfg.Load()
	base := group[0].base
	name := filepath.Join(l.dir, segmentName(base))
	finals := []string{name + logSuffix, name + indexSuffix, name + timeIndexSuffix}
	cleaned := make([]string, 3)
	swaps := make([]string, 3)
	for i, p := range finals {
		cleaned[i], swaps[i] = p+cleanedSuffix, p+swapSuffix
	}
	discard := func(paths []string) {
		for _, p := range paths {
			l.vfs.Remove(p)
		}
	}
	f, err := l.vfs.OpenFile(cleaned[0], os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	w := &cleanedWriter{c: c, f: f, base: base, next: base, interval: cfg.indexIntervalBytes,
		maxEntries: int(cfg.indexMaxBytes) / timeEntrySize, maxTs: -1, offMaxTs: -1}
	c.wbuf = c.wbuf[:0]
	dr := cfg.deleteRetentionMs()
	sizes := make([]int64, len(group))
	var lastH batch.Header
	lastSeen := false
	for gi, s := range group {
		sizes[gi] = s.size.Load()
		lastSeen = false
		err = c.forEachBatch(s, func(h batch.Header, b []byte) (bool, error) {
			st.BytesRead += int64(len(b))
			lastH, lastSeen = h, true
			keepEmpty := h.HasProducerID() && prod[h.ProducerID] == h.LastOffset()
			out, err := c.filterBatch(h, b, cfg.maxMessageBytes, nowMs, dr, keepEmpty, st)
			if err != nil || out == nil {
				return err == nil, err
			}
			return true, w.add(h, out)
		})
		if err != nil {
			break
		}
	}
	if err == nil && lastSeen && w.next <= group[len(group)-1].base {
		// Every record of the group's last segment is gone. Keep its last
		// batch as an empty batch so the cleaned segment still reaches into
		// the last replaced segment's range: recovery of a .swap replaces
		// exactly the segments whose base lies in [swap base, swap next).
		var empty []byte
		empty, err = batch.Build(batch.BuildOptions{
			BaseOffset: lastH.BaseOffset, PartitionLeaderEpoch: lastH.PartitionLeaderEpoch,
			BaseTimestamp: lastH.MaxTimestamp, MaxTimestamp: lastH.MaxTimestamp,
			ProducerID: lastH.ProducerID, ProducerEpoch: lastH.ProducerEpoch, BaseSequence: lastH.BaseSequence,
			Transactional: lastH.IsTransactional(), LastOffsetDelta: lastH.LastOffsetDelta,
		}, nil)
		if err == nil {
			if binary.BigEndian.Uint64(empty[35:43]) != uint64(lastH.MaxTimestamp) {
				binary.BigEndian.PutUint64(empty[35:43], uint64(lastH.MaxTimestamp))
				setBatchCRC(empty)
			}
			eh, _, _ := batch.Next(empty)
			err = w.add(eh, empty)
		}
	}
	if err == nil {
		err = w.flush()
	}
	if err == nil && w.batches > 0 {
		w.maybeTime() // the final entry seal would add
	}
	if err == nil {
		err = f.Datasync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = writeFileSync(l.vfs, cleaned[1], w.offIdx)
	}
	if err == nil {
		err = writeFileSync(l.vfs, cleaned[2], w.timeIdx)
	}
	if err != nil {
		discard(cleaned)
		return err
	}
	st.BytesWritten += w.pos
	if err := c.step(stepCleanedWritten); err != nil {
		return err
	}
	for i := range cleaned {
		if err := l.vfs.Rename(cleaned[i], swaps[i]); err != nil {
			discard(cleaned)
			discard(swaps)
			return err
		}
	}
	if err := l.vfs.SyncDir(l.dir); err != nil {
		discard(swaps)
		return err
	}
	if err := c.step(stepSwapRenamed); err != nil {
		return err
	}

	ns := newSegment(l.dir, base, l.vfs, l.cache, cfg.indexMaxBytes)
	ns.size.Store(w.pos)
	ns.next.Store(w.next)
	ns.maxTs.Store(w.maxTs)
	ns.offMaxTs.Store(w.offMaxTs)
	ns.maxTsKnown.Store(true)
	ns.offIdx.entries.Store(int32(len(w.offIdx) / offsetEntrySize))
	ns.timeIdx.entries.Store(int32(len(w.timeIdx) / timeEntrySize))

	l.mu.Lock()
	replaced, err := c.swapLocked(l, group, sizes, ns, finals, swaps)
	l.mu.Unlock()
	if err != nil {
		if errors.Is(err, errCleanAborted) {
			discard(swaps)
		}
		return err
	}
	remove := func() {
		for _, s := range replaced {
			s.removeDeleted()
		}
	}
	// The same clock-driven deleter as retention's, so .deleted files go
	// after file.delete.delay.ms on the Manager's clock.
	if l.deleter != nil {
		l.deleter.schedule(nowMs, cfg.fileDeleteDelayMs, remove)
	} else {
		remove()
	}
	return nil
}

// swapLocked replaces group by ns in the segment list and on disk, in
// Kafka's order: old segments renamed to .deleted, then the .swap files
// renamed to their final names. l.mu must be held; readers holding Regions
// of the old segments keep reading their (renamed, later unlinked) files.
func (c *cleaner) swapLocked(l *Log, group []*segment, sizes []int64, ns *segment, finals, swaps []string) ([]*segment, error) {
	if l.writeErr() != nil {
		return nil, errCleanAborted
	}
	segs := l.segments()
	at := -1
	for i, s := range segs {
		if s == group[0] {
			at = i
			break
		}
	}
	if at < 0 || at+len(group) >= len(segs) {
		return nil, errCleanAborted
	}
	for j, s := range group {
		if segs[at+j] != s || s.size.Load() != sizes[j] {
			return nil, errCleanAborted
		}
	}
	if end := segs[at+len(group)].base; ns.next.Load() > end {
		return nil, fmt.Errorf("engine: cleaned segment %s ends at %d, past the next segment %d", ns.logPath, ns.next.Load(), end)
	}
	// Readers that pick ns up from the new list before its file has its
	// final name wait in acquire (ns.mu) instead of opening the old file
	// still at that path.
	ns.mu.Lock()
	defer ns.mu.Unlock()
	out := make([]*segment, 0, len(segs)-len(group)+1)
	out = append(out, segs[:at]...)
	out = append(out, ns)
	out = append(out, segs[at+len(group):]...)
	// Pin the old segments' index mappings while they are renamed: a
	// reader still holding one of their files must never reopen an index
	// by path, which now names the cleaned segment's.
	for _, s := range group {
		if ref, err := s.acquire(); err == nil {
			if s.ensureIndexes() == nil {
				defer ref.release()
			} else {
				ref.release()
			}
		}
	}
	l.segs.Store(&out)
	for _, s := range group {
		if err := s.markDeleted(); err != nil {
			return nil, l.fail(err)
		}
		if err := c.step(stepOldDeleted); err != nil {
			return nil, err
		}
	}
	for i := range swaps {
		if err := l.vfs.Rename(swaps[i], finals[i]); err != nil {
			return nil, l.fail(err)
		}
		if err := c.step(stepSwapFinal); err != nil {
			return nil, err
		}
	}
	// No dir fsync here: whichever of these renames reach the disk before
	// a crash, the .swap (made durable above) completes the swap at load,
	// and the next cleaning's dir fsync persists them anyway.
	if err := c.step(stepSwapDone); err != nil {
		return nil, err
	}
	return group, nil
}

// writeFileSync creates path with data and fdatasyncs it.
func writeFileSync(vfs FS, path string, data []byte) error {
	f, err := vfs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if len(data) > 0 {
		if _, err = f.WriteAt(data, 0); err != nil {
			f.Close()
			return err
		}
	}
	if err = f.Datasync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// fixCRC recomputes a batch's CRC-32C after a header field changed.
func setBatchCRC(b []byte) {
	binary.BigEndian.PutUint32(b[17:21], crc32.Checksum(b[21:], castagnoliTable))
}

var castagnoliTable = crc32.MakeTable(crc32.Castagnoli)

// completeSwaps finishes or discards an interrupted cleaning in a
// partition dir before its segments load (Kafka's LogLoader): *.deleted
// and *.cleaned files are removed; a <base>.log.swap is complete (it was
// fsynced before its rename), so every segment whose base offset lies in
// [base, the swap's next offset) is deleted and the swap renamed to
// <base>.log. Index .swap files are removed; the segment's indexes are
// rebuilt by recovery.
func completeSwaps(vfs FS, dir string, logf func(string, ...any)) error {
	entries, err := vfs.ReadDir(dir)
	if err != nil {
		return err
	}
	var swapBases []int64
	var logBases []int64
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, deletedSuffix), strings.HasSuffix(name, cleanedSuffix):
			vfs.Remove(filepath.Join(dir, name))
		case strings.HasSuffix(name, logSuffix+swapSuffix):
			if b, ok := parseSegmentName(strings.TrimSuffix(name, swapSuffix), logSuffix); ok {
				swapBases = append(swapBases, b)
			} else {
				vfs.Remove(filepath.Join(dir, name))
			}
		case strings.HasSuffix(name, swapSuffix):
			vfs.Remove(filepath.Join(dir, name)) // index swaps: rebuilt
		case strings.HasSuffix(name, logSuffix):
			if b, ok := parseSegmentName(name, logSuffix); ok {
				logBases = append(logBases, b)
			}
		}
	}
	for _, sb := range swapBases {
		swapPath := filepath.Join(dir, segmentName(sb)+logSuffix+swapSuffix)
		next, err := scanNextOffset(vfs, swapPath, sb)
		if err != nil {
			return err
		}
		for _, lb := range logBases {
			if lb >= sb && (lb < next || lb == sb) {
				p := filepath.Join(dir, segmentName(lb))
				for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
					if err := vfs.Remove(p + suf); err != nil && !errors.Is(err, os.ErrNotExist) {
						return err
					}
				}
			}
		}
		final := filepath.Join(dir, segmentName(sb))
		vfs.Remove(final + indexSuffix)
		vfs.Remove(final + timeIndexSuffix)
		if err := vfs.Rename(swapPath, final+logSuffix); err != nil {
			return err
		}
		if logf != nil {
			logf("engine: %s: completed an interrupted log cleaner swap at offset %d", dir, sb)
		}
	}
	if len(swapBases) > 0 {
		return vfs.SyncDir(dir)
	}
	return nil
}

// hasLogSwap reports whether a partition dir listing holds a
// <base>.log.swap, i.e. a cleaner swap to complete at load.
func hasLogSwap(entries []fs.DirEntry) bool {
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), logSuffix+swapSuffix) {
			return true
		}
	}
	return false
}

// scanNextOffset reads a segment file's batches and returns one past the
// last offset of the valid prefix (base if none).
func scanNextOffset(vfs FS, path string, base int64) (int64, error) {
	f, err := vfs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return 0, err
	}
	next := base
	err = scanFrom(f, 0, size, func(bp batchPos) bool {
		next = bp.h.LastOffset() + 1
		return true
	})
	if err != nil && !errors.Is(err, ErrCorruptLog) {
		return 0, err
	}
	return next, nil
}
