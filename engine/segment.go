package engine

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gregorlog/gregor/engine/batch"
	"github.com/gregorlog/gregor/internal/invariants"
)

// File name suffixes (Kafka's LogFileUtils). Part of the on-disk format.
const (
	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"
	deletedSuffix   = ".deleted"
	cleanedSuffix   = ".cleaned"
	swapSuffix      = ".swap"
	snapshotSuffix  = ".snapshot" // producer state, written by the broker
)

// segmentName is the 20-digit zero-padded base offset.
func segmentName(base int64) string { return fmt.Sprintf("%020d", base) }

func parseSegmentName(name, suffix string) (int64, bool) {
	s, ok := strings.CutSuffix(name, suffix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// fileRef is a reference-counted open .log file. The segment holds one
// reference while it is in the open-file cache; every Region and every
// in-flight read or write holds another. The file closes when the count
// reaches zero, so a Region stays valid even after its segment is evicted
// from the cache or deleted (the unlinked inode lives on until then).
type fileRef struct {
	f    File
	seg  *segment
	refs atomic.Int32
}

// tryAcquire adds a reference unless the file is already closed.
func (r *fileRef) tryAcquire() bool {
	for {
		n := r.refs.Load()
		if n <= 0 {
			return false
		}
		if r.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (r *fileRef) release() {
	n := r.refs.Add(-1)
	if n == 0 {
		r.f.Close()
		// Index mappings live as long as any handle of the segment does
		// (an evicted handle can outlive its successor's eviction), so
		// the open-file bound covers them too; they reopen lazily.
		s := r.seg
		s.mu.Lock()
		s.liveHandles--
		if s.liveHandles == 0 {
			s.offIdx.close()
			s.timeIdx.close()
		}
		s.mu.Unlock()
	}
	if invariants.Enabled && n < 0 {
		panic(fmt.Sprintf("engine: %s released more often than acquired", r.seg.logPath))
	}
}

// segment is one .log file with its .index and .timeindex.
//
// Writes (append, recover, truncate, roll) happen only from the owning
// Log's writer, which holds Log.mu. Readers use the atomics and take file
// references; they never block the writer except for the short index
// read lock.
type segment struct {
	base    int64
	dir     string
	logPath string
	vfs     FS
	cache   *openCache
	offIdx  offsetIndex
	timeIdx timeIndex

	// size is the byte length of the valid batches in .log.
	// Invariant: the file's bytes [0, size) are whole, CRC-valid batches
	// with increasing offsets in [base, next).
	size atomic.Int64
	// next is one past the last offset in the segment (base if empty).
	next atomic.Int64
	// maxTs and offMaxTs are the segment's largest batch max timestamp
	// and the last offset of that batch; maxTs is -1 while empty.
	// maxTsKnown is false for segments loaded from disk until the time
	// index has been read.
	maxTs      atomic.Int64
	offMaxTs   atomic.Int64
	maxTsKnown atomic.Bool

	// writable: the active segment; its indexes are preallocated.
	writable atomic.Bool

	// Writer-only state.
	bytesSinceIndex int64
	createdMs       int64 // wall time of the first append, for segment.ms
	rollBaseTs      int64 // max timestamp of the first batch, -1 if none (Kafka's rollingBasedTimestamp)
	rollJitterMs    int64
	needsDirSync    atomic.Bool // the file was created and its dir not yet fsynced

	mu  sync.Mutex // guards the following
	ref *fileRef   // the open file, nil when closed
	// liveHandles counts fileRefs whose count is above zero; the index
	// mappings are closed when it drops to zero.
	liveHandles int
	cached      bool     // in the open-file cache's LRU
	deleted     bool     // renamed to .deleted; never reopened
	lruPrev     *segment // LRU links, guarded by cache.mu
	lruNext     *segment
}

func newSegment(dir string, base int64, vfs FS, cache *openCache, indexMaxBytes int32) *segment {
	name := filepath.Join(dir, segmentName(base))
	s := &segment{
		base:    base,
		dir:     dir,
		logPath: name + logSuffix,
		vfs:     vfs,
		cache:   cache,
		offIdx:  offsetIndex{newIndex(name+indexSuffix, offsetEntrySize, indexMaxBytes)},
		timeIdx: timeIndex{newIndex(name+timeIndexSuffix, timeEntrySize, indexMaxBytes)},
	}
	s.next.Store(base)
	s.rollBaseTs = -1
	s.maxTs.Store(-1)
	s.offMaxTs.Store(-1)
	return s
}

// createSegment makes a fresh, empty active segment (truncating leftovers
// of a previous incarnation at the same base offset).
func createSegment(dir string, base int64, vfs FS, cache *openCache, indexMaxBytes int32, nowMs, jitterMs int64) (*segment, error) {
	s := newSegment(dir, base, vfs, cache, indexMaxBytes)
	f, err := vfs.OpenFile(s.logPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	f.Close()
	for _, ix := range []*index{s.offIdx.index, s.timeIdx.index} {
		f, err := vfs.OpenFile(ix.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, err
		}
		f.Close()
	}
	s.writable.Store(true)
	s.maxTsKnown.Store(true)
	s.createdMs = nowMs
	s.rollJitterMs = jitterMs
	s.needsDirSync.Store(true)
	return s, nil
}

// acquire returns a reference to the open .log file, opening it (and
// admitting the segment to the bounded open-file cache) if needed.
func (s *segment) acquire() (*fileRef, error) {
	s.mu.Lock()
	if s.deleted {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: segment %s deleted", ErrClosed, s.logPath)
	}
	if s.ref != nil && s.ref.tryAcquire() {
		r := s.ref
		s.mu.Unlock()
		s.cache.touch(s)
		return r, nil
	}
	flag := os.O_RDONLY
	if s.writable.Load() {
		flag = os.O_RDWR
	}
	f, err := s.vfs.OpenFile(s.logPath, flag, 0o644)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	r := &fileRef{f: f, seg: s}
	r.refs.Store(2) // the cache's and the caller's
	s.ref = r
	s.liveHandles++
	s.mu.Unlock()
	s.cache.admit(s)
	return r, nil
}

// closeFiles drops the cache's reference; the file closes once the last
// Region or reader releases it.
func (s *segment) closeFiles() {
	s.mu.Lock()
	r := s.ref
	s.ref = nil
	s.mu.Unlock()
	if r != nil {
		r.release()
	}
}

// ensureIndexes opens the two index files for the current role: writable
// and preallocated for the active segment, read-only otherwise.
func (s *segment) ensureIndexes() error {
	w := s.writable.Load()
	for _, ix := range []*index{s.offIdx.index, s.timeIdx.index} {
		ix.mu.RLock()
		ok := ix.f != nil && (ix.writable || !w)
		ix.mu.RUnlock()
		if ok {
			continue
		}
		ix.mu.Lock()
		// Re-read the role under the lock: seal clears writable before it
		// trims (under this lock), so a reader racing a roll can never
		// re-extend a trimmed index.
		err := ix.openLocked(s.vfs, s.writable.Load())
		ix.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// writeBatches appends already offset-assigned batches at the end of the
// segment with one vectored write, then adds sparse index entries and
// publishes the new size. Writer only. hdrs[i] describes bufs[i].
func (s *segment) writeBatches(bufs [][]byte, hdrs []batch.Header, indexInterval int32, nowMs int64) error {
	ref, err := s.acquire()
	if err != nil {
		return err
	}
	defer ref.release()
	pos := s.size.Load()
	n, err := ref.f.WritevAt(bufs, pos)
	if err != nil {
		// A partial write leaves garbage after size; recovery truncates it.
		return err
	}
	if err := s.ensureIndexes(); err != nil {
		return err
	}
	if s.size.Load() == 0 {
		if s.createdMs == 0 {
			s.createdMs = nowMs
		}
		s.rollBaseTs = hdrs[0].MaxTimestamp
	}
	maxTs, offMaxTs := s.maxTs.Load(), s.offMaxTs.Load()
	for i, h := range hdrs {
		if h.MaxTimestamp > maxTs {
			maxTs, offMaxTs = h.MaxTimestamp, h.LastOffset()
		}
		// A full index only stops new entries (lookups scan further); the
		// log rolls before the next group.
		if s.bytesSinceIndex > int64(indexInterval) && !s.indexFull() {
			if err := s.offIdx.append(int32(h.LastOffset()-s.base), int32(pos)); err != nil {
				return err
			}
			if err := s.timeIdx.maybeAppend(maxTs, int32(offMaxTs-s.base)); err != nil {
				return err
			}
			s.bytesSinceIndex = 0
		}
		sz := int64(len(bufs[i]))
		pos += sz
		s.bytesSinceIndex += sz
	}
	if invariants.Enabled && pos != s.size.Load()+int64(n) {
		panic(fmt.Sprintf("engine: %s wrote %d bytes, batches hold %d", s.logPath, n, pos-s.size.Load()))
	}
	s.maxTs.Store(maxTs)
	s.offMaxTs.Store(offMaxTs)
	s.next.Store(hdrs[len(hdrs)-1].LastOffset() + 1)
	s.size.Store(pos)
	return nil
}

// withIndexes runs an index read, reopening the indexes if a roll's trim
// or an eviction closed them in between (a reader holds no lock across
// the two steps).
func (s *segment) withIndexes(fn func() error) error {
	for i := 0; ; i++ {
		if err := s.ensureIndexes(); err != nil {
			return err
		}
		err := fn()
		if !errors.Is(err, errIndexClosed) || i == 3 {
			return err
		}
	}
}

// indexFull reports whether either index has no room for another entry.
func (s *segment) indexFull() bool { return s.offIdx.isFull() || s.timeIdx.isFull() }

// seal makes the segment inactive on roll: a final time-index entry, both
// indexes trimmed to their valid length (unmapped first; a mapped file is
// never truncated). Writer only.
func (s *segment) seal() error {
	if s.size.Load() > 0 {
		if err := s.ensureIndexes(); err != nil {
			return err
		}
		if ts := s.maxTs.Load(); ts >= 0 {
			if err := s.timeIdx.maybeAppend(ts, int32(s.offMaxTs.Load()-s.base)); err != nil && !s.timeIdx.isFull() {
				return err
			}
		}
	}
	s.writable.Store(false)
	if err := s.offIdx.trim(s.vfs); err != nil {
		return err
	}
	return s.timeIdx.trim(s.vfs)
}

// sync fdatasyncs the .log (and the indexes of an inactive segment, and
// the partition dir for a new file).
func (s *segment) sync() error {
	ref, err := s.acquire()
	if err != nil {
		if errors.Is(err, ErrClosed) {
			return nil // deleted meanwhile: nothing left to make durable
		}
		return err
	}
	defer ref.release()
	if err := ref.f.Datasync(); err != nil {
		return err
	}
	if !s.writable.Load() {
		if err := s.offIdx.sync(s.vfs); err != nil {
			return err
		}
		if err := s.timeIdx.sync(s.vfs); err != nil {
			return err
		}
	}
	return nil
}

// headerScanBuf is how much of the .log the header scan reads per pread:
// twice the default index interval, so a lookup usually costs one small
// pread (a 32 KiB read made it 20x slower than a raw pread).
const headerScanBuf = 8 << 10

var scanBufPool = sync.Pool{New: func() any { b := make([]byte, headerScanBuf); return &b }}

// batchPos is where one batch lies in a segment.
type batchPos struct {
	pos  int64
	size int64
	h    batch.Header
}

// scanFrom walks batch headers from pos (a batch boundary) up to limit and
// calls fn for each until fn returns false. It reads headers only, in
// headerScanBuf chunks, and does not verify CRCs: data below size was
// validated when appended or recovered.
func scanFrom(f File, pos, limit int64, fn func(bp batchPos) bool) error {
	bp := scanBufPool.Get().(*[]byte)
	defer scanBufPool.Put(bp)
	buf := *bp
	var chunkPos int64 = -1
	var chunk []byte
	for pos < limit {
		if chunkPos < 0 || pos < chunkPos || pos+batch.HeaderSize > chunkPos+int64(len(chunk)) {
			n := int64(len(buf))
			if limit-pos < n {
				n = limit - pos
			}
			if n < batch.HeaderSize {
				return fmt.Errorf("%w: %d bytes at %d cannot hold a batch header", ErrCorruptLog, n, pos)
			}
			m, err := f.ReadAt(buf[:n], pos)
			if err != nil && !(errors.Is(err, io.EOF) && int64(m) == n) {
				if errors.Is(err, io.EOF) {
					return fmt.Errorf("%w: file ends at %d", ErrCorruptLog, pos+int64(m))
				}
				return err
			}
			chunkPos, chunk = pos, buf[:n]
		}
		h, err := batch.ParseHeader(chunk[pos-chunkPos:])
		if err != nil {
			return fmt.Errorf("%w: at %d: %v", ErrCorruptLog, pos, err)
		}
		bp := batchPos{pos: pos, size: int64(h.Size()), h: h}
		if pos+bp.size > limit {
			return fmt.Errorf("%w: batch at %d of %d bytes passes %d", ErrCorruptLog, pos, bp.size, limit)
		}
		if !fn(bp) {
			return nil
		}
		pos += bp.size
	}
	return nil
}

// translate finds the first batch whose last offset is >= offset, using
// the index then a forward scan, within the first limit bytes. found is
// false when every batch below limit ends before offset.
func (s *segment) translate(f File, offset int64, limit int64) (bp batchPos, found bool, err error) {
	start := int64(0)
	expect := int64(-1) // the last offset the index claims for the batch at start
	rel := offset - s.base
	if rel > 0 {
		if rel > math.MaxInt32 {
			rel = math.MaxInt32
		}
		if err := s.ensureIndexes(); err != nil {
			return bp, false, err
		}
		var gotRel, p int32
		err := s.withIndexes(func() (err error) { gotRel, p, err = s.offIdx.lookup(int32(rel)); return err })
		if err != nil && !errors.Is(err, errIndexClosed) {
			return bp, false, err
		}
		// A damaged index may answer with an entry past the target or a
		// negative one; then it is ignored and the scan starts at 0.
		if p > 0 && int64(p) < limit && gotRel >= 0 && int64(gotRel) <= rel {
			start, expect = int64(p), s.base+int64(gotRel)
		}
	}
	mismatch := false
	scan := func(from int64) error {
		first := true
		return scanFrom(f, from, limit, func(b batchPos) bool {
			if first && expect >= 0 && b.h.LastOffset() != expect {
				// The index entry does not point at the batch it names: a
				// damaged index. Fall back to a scan from the start
				// rather than serve bytes from the middle of a batch.
				mismatch = true
				return false
			}
			first = false
			if b.h.LastOffset() >= offset {
				bp, found = b, true
				return false
			}
			return true
		})
	}
	err = scan(start)
	if start > 0 && (mismatch || err != nil) {
		expect, found = -1, false
		err = scan(0)
	}
	return bp, found, err
}

// maxTimestamp returns the segment's largest timestamp and its offset,
// reading the time index of a segment loaded from disk the first time.
func (s *segment) maxTimestamp() (ts, off int64, err error) {
	if s.maxTsKnown.Load() {
		return s.maxTs.Load(), s.offMaxTs.Load(), nil
	}
	ref, err := s.acquire()
	if err != nil {
		return -1, -1, err
	}
	defer ref.release()
	if err := s.ensureIndexes(); err != nil {
		return -1, -1, err
	}
	var t int64
	var rel int32
	var ok bool
	err = s.withIndexes(func() (err error) { t, rel, ok, err = s.timeIdx.last(); return err })
	if err != nil {
		return -1, -1, err
	}
	if !ok {
		t, rel = -1, -1
	}
	// Batches after the last entry (if any) may carry a later timestamp.
	var start int64
	if ok {
		if bp, found, err := s.translate(ref.f, s.base+int64(rel), s.size.Load()); err == nil && found {
			start = bp.pos
		}
	}
	offMax := int64(-1)
	if ok {
		offMax = s.base + int64(rel)
	}
	err = scanFrom(ref.f, start, s.size.Load(), func(bp batchPos) bool {
		if bp.h.MaxTimestamp > t {
			t, offMax = bp.h.MaxTimestamp, bp.h.LastOffset()
		}
		return true
	})
	if err != nil {
		return -1, -1, err
	}
	s.maxTs.Store(t)
	s.offMaxTs.Store(offMax)
	s.maxTsKnown.Store(true)
	return t, offMax, nil
}

// recoverResult describes what recovery found in a segment.
type recoverResult struct {
	validBytes     int64
	truncatedBytes int64
	batches        int
}

// recover re-reads the whole segment, validating every batch (lengths,
// magic, CRC-32C, offsets increasing and within the segment, record count
// matching the offset range), rebuilds both indexes, and truncates a torn
// or corrupt tail. Writer only (or load time, before the log is shared).
func (s *segment) recover(indexInterval int32) (recoverResult, error) {
	var res recoverResult
	f, err := s.vfs.OpenFile(s.logPath, os.O_RDWR, 0o644)
	if err != nil {
		return res, err
	}
	defer f.Close()
	fileSize, err := f.Size()
	if err != nil {
		return res, err
	}
	// Reopen the indexes writable from scratch: they are rebuilt.
	for _, ix := range []*index{s.offIdx.index, s.timeIdx.index} {
		ix.mu.Lock()
		ix.closeLocked()
		ix.reset()
		err := ix.openLocked(s.vfs, true)
		ix.mu.Unlock()
		if err != nil {
			return res, err
		}
	}
	s.writable.Store(true)
	s.bytesSinceIndex = 0
	s.rollBaseTs = -1
	maxTs, offMaxTs := int64(-1), int64(-1)
	next := s.base
	var pos int64
	buf := make([]byte, 0, 1<<20)
	r := &segReader{f: f, size: fileSize}
scan:
	for pos < fileSize {
		// Read the 12-byte prefix to learn the batch size.
		b, err := r.read(&buf, pos, batch.LogOverhead)
		if err != nil {
			break
		}
		_, _, nerr := batch.Next(b)
		if nerr != nil && !errors.Is(nerr, batch.ErrTruncated) {
			break
		}
		length := int64(int32(be32(b[8:12])))
		total := length + batch.LogOverhead
		if length < batch.HeaderSize-batch.LogOverhead || pos+total > fileSize {
			break
		}
		b, err = r.read(&buf, pos, int(total))
		if err != nil {
			break
		}
		h, n, err := batch.Next(b)
		switch {
		case err != nil, int64(n) != total:
			break scan
		case batch.CheckCRC(b) != nil:
			break scan
		case h.LastOffsetDelta < 0, h.BaseOffset < next, h.LastOffset()-s.base > math.MaxInt32:
			break scan
		case h.NumRecords < 0, int64(h.NumRecords) > int64(h.LastOffsetDelta)+1:
			// Compaction can leave fewer records than the offset range,
			// never more.
			break scan
		}
		if h.MaxTimestamp > maxTs {
			maxTs, offMaxTs = h.MaxTimestamp, h.LastOffset()
		}
		if s.bytesSinceIndex > int64(indexInterval) && !s.indexFull() {
			if err := s.offIdx.append(int32(h.LastOffset()-s.base), int32(pos)); err != nil {
				return res, err
			}
			if err := s.timeIdx.maybeAppend(maxTs, int32(offMaxTs-s.base)); err != nil {
				return res, err
			}
			s.bytesSinceIndex = 0
		}
		if res.batches == 0 {
			s.rollBaseTs = h.MaxTimestamp
		}
		s.bytesSinceIndex += total
		pos += total
		next = h.LastOffset() + 1
		res.batches++
	}
	res.validBytes = pos
	res.truncatedBytes = fileSize - pos
	if res.truncatedBytes > 0 {
		if err := f.Truncate(pos); err != nil {
			return res, err
		}
	}
	s.size.Store(pos)
	s.next.Store(next)
	s.maxTs.Store(maxTs)
	s.offMaxTs.Store(offMaxTs)
	s.maxTsKnown.Store(true)
	return res, nil
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// segReader reads ranges of a file through one growing buffer, reading
// ahead in 1 MiB chunks for the many-small-batches case.
type segReader struct {
	f        File
	size     int64
	bufStart int64
	bufLen   int
}

func (r *segReader) read(buf *[]byte, pos int64, n int) ([]byte, error) {
	if pos >= r.bufStart && pos+int64(n) <= r.bufStart+int64(r.bufLen) {
		off := int(pos - r.bufStart)
		return (*buf)[off : off+n], nil
	}
	want := max(n, 1<<20)
	if rem := r.size - pos; int64(want) > rem {
		want = int(rem)
	}
	if want < n {
		return nil, io.ErrUnexpectedEOF
	}
	if cap(*buf) < want {
		*buf = make([]byte, want)
	}
	*buf = (*buf)[:want]
	m, err := r.f.ReadAt(*buf, pos)
	if m < n {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	r.bufStart, r.bufLen = pos, m
	return (*buf)[:n], nil
}

// loadActiveState completes the active segment after a clean shutdown:
// the next offset by scanning forward from the last index entry (which must
// point at its batch), the roll timestamp and the max timestamp.
func (s *segment) loadActiveState() error {
	ref, err := s.acquire()
	if err != nil {
		return err
	}
	defer ref.release()
	if err := s.ensureIndexes(); err != nil {
		return err
	}
	size := s.size.Load()
	if err := s.offIdx.check(int64(s.offIdx.entries.Load())*offsetEntrySize, max(size, 1)); err != nil {
		return err
	}
	var start int64
	n := int(s.offIdx.entries.Load())
	if n > 0 {
		_, p, err := s.offIdx.entryAt(n - 1)
		if err != nil {
			return err
		}
		start = int64(p)
	}
	next := s.base
	if n > 0 {
		rel, _, _ := s.offIdx.entryAt(n - 1)
		next = s.base + int64(rel) + 1
	}
	var since int64
	first, bad := n > 0, false
	err = scanFrom(ref.f, start, size, func(bp batchPos) bool {
		if first && bp.h.LastOffset() != next-1 {
			bad = true
			return false
		}
		first = false
		next = bp.h.LastOffset() + 1
		since += bp.size
		return true
	})
	if err != nil {
		return err
	}
	if bad {
		return fmt.Errorf("%w: %s: last entry does not point at its batch", ErrCorruptIndex, s.offIdx.path)
	}
	s.next.Store(next)
	s.bytesSinceIndex = since
	if size > 0 {
		if err := scanFrom(ref.f, 0, size, func(bp batchPos) bool { s.rollBaseTs = bp.h.MaxTimestamp; return false }); err != nil {
			return err
		}
	}
	if _, _, err := s.maxTimestamp(); err != nil {
		return err
	}
	return nil
}

// truncateTo is Kafka's LogSegment.truncateTo: it removes the batch
// holding offset and every later one, and returns the new next offset.
// Writer only.
func (s *segment) truncateTo(offset int64) (int64, error) {
	ref, err := s.acquire()
	if err != nil {
		return 0, err
	}
	defer ref.release()
	bp, found, err := s.translate(ref.f, offset, s.size.Load())
	if err != nil {
		return 0, err
	}
	if !found {
		return s.next.Load(), nil
	}
	// Drop index entries at or past the cut; the file keeps its length
	// (preallocated) and is never truncated while mapped.
	if err := s.ensureIndexes(); err != nil {
		return 0, err
	}
	if err := s.offIdx.truncateTo(int32(bp.h.BaseOffset - s.base)); err != nil {
		return 0, err
	}
	if err := s.timeIdx.truncateTo(int32(bp.h.BaseOffset - s.base)); err != nil {
		return 0, err
	}
	if err := ref.f.Truncate(bp.pos); err != nil {
		return 0, err
	}
	s.size.Store(bp.pos)
	s.next.Store(bp.h.BaseOffset)
	s.bytesSinceIndex = 0
	if bp.pos == 0 {
		s.rollBaseTs = -1
	}
	// Recompute the max timestamp from what is left.
	s.maxTsKnown.Store(false)
	s.maxTs.Store(-1)
	s.offMaxTs.Store(-1)
	if _, _, err := s.maxTimestamp(); err != nil {
		return 0, err
	}
	return bp.h.BaseOffset, nil
}

// markDeleted renames the segment's files (and the producer snapshot at
// its base offset, if any) to *.deleted (Kafka's async delete) so a crash
// before removal cannot resurrect them, and stops new opens. Open Regions
// keep reading the unlinked inode.
func (s *segment) markDeleted() error {
	s.mu.Lock()
	s.deleted = true
	s.mu.Unlock()
	s.cache.remove(s)
	s.closeFiles()
	var first error
	for _, p := range s.filePaths() {
		if err := s.vfs.Rename(p, p+deletedSuffix); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = err
		}
	}
	return first
}

// removeDeleted unlinks the *.deleted files.
func (s *segment) removeDeleted() {
	for _, p := range s.filePaths() {
		s.vfs.Remove(p + deletedSuffix)
	}
}

// filePaths lists the files that belong to the segment.
func (s *segment) filePaths() []string {
	return []string{s.logPath, s.offIdx.path, s.timeIdx.path, filepath.Join(s.dir, segmentName(s.base)+snapshotSuffix)}
}

// isDeleted reports whether markDeleted ran.
func (s *segment) isDeleted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleted
}
