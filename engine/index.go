package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"

	mmap "github.com/edsrzf/mmap-go"

	"github.com/gregorlog/gregor/internal/invariants"
)

// Index entry sizes. Part of Kafka's on-disk format; never change.
const (
	offsetEntrySize = 8  // int32 relativeOffset, int32 position
	timeEntrySize   = 12 // int64 timestamp, int32 relativeOffset
)

// index is one sparse index file (.index or .timeindex). The file is
// preallocated to the maximum size while its segment is active and mapped
// read-only; entries are written through the file descriptor with pwrite,
// which the shared mapping observes through the page cache. Because the
// mapping is never writable, every write error surfaces as an error from
// the VFS rather than as SIGBUS or a silently lost msync.
//
// The file is never truncated while mapped: trim unmaps first.
type index struct {
	path      string
	entrySize int
	// maxEntries is roundDown(log.index.size.max.bytes, entrySize)/entrySize.
	maxEntries int

	// entries is the number of valid entries. Written only by the
	// segment's single writer (appender, recovery, truncation); read by
	// anyone. Invariant: 0 <= entries <= maxEntries, and while the index is
	// mapped, entries*entrySize <= len(m).
	entries atomic.Int32

	// Appender-only state: the last entry's key (relative offset for the
	// offset index, timestamp for the time index), valid if entries > 0.
	lastKey int64

	mu sync.RWMutex // guards the following. RLock to read m or write through f; Lock to open, close or trim.
	f  File
	m  mmap.MMap
	// writable: f is open read-write and preallocated to maxEntries.
	writable bool
}

var errIndexClosed = errors.New("engine: index not open")

func newIndex(path string, entrySize int, maxBytes int32) *index {
	n := int(maxBytes) / entrySize
	if n < 1 {
		n = 1
	}
	return &index{path: path, entrySize: entrySize, maxEntries: n}
}

func (ix *index) isFull() bool { return int(ix.entries.Load()) >= ix.maxEntries }

func (ix *index) isOpen() bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.f != nil
}

// openLocked opens and maps the file. With writable, the file is created
// if needed and preallocated to the maximum size; otherwise it is mapped at
// its current length, which must already be trimmed. ix.mu must be held.
func (ix *index) openLocked(vfs FS, writable bool) error {
	if ix.f != nil {
		if ix.writable == writable || !writable {
			return nil
		}
		ix.closeLocked()
	}
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR | os.O_CREATE
	}
	f, err := vfs.OpenFile(ix.path, flag, 0o644)
	if err != nil {
		return err
	}
	size := int64(ix.maxEntries * ix.entrySize)
	if writable {
		// Sparse preallocation (Kafka's model): no blocks are written.
		if err := f.Truncate(size); err != nil {
			f.Close()
			return err
		}
	} else {
		size, err = f.Size()
		if err != nil {
			f.Close()
			return err
		}
	}
	var m mmap.MMap
	if size > 0 {
		m, err = mmap.MapRegion(f.OS(), int(size), mmap.RDONLY, 0, 0)
		if err != nil {
			f.Close()
			return fmt.Errorf("engine: mmap %s: %w", ix.path, err)
		}
	}
	ix.f, ix.m, ix.writable = f, m, writable
	return nil
}

// closeLocked unmaps and closes. ix.mu must be held.
func (ix *index) closeLocked() error {
	var err error
	if ix.m != nil {
		err = ix.m.Unmap()
		ix.m = nil
	}
	if ix.f != nil {
		if cerr := ix.f.Close(); err == nil {
			err = cerr
		}
		ix.f = nil
	}
	ix.writable = false
	return err
}

func (ix *index) close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	return ix.closeLocked()
}

// trim unmaps the index, cuts the file to its valid entries and leaves it
// closed; the next reader maps it read-only at the trimmed length.
func (ix *index) trim(vfs FS) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if err := ix.closeLocked(); err != nil {
		return err
	}
	f, err := vfs.OpenFile(ix.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	err = f.Truncate(int64(int(ix.entries.Load()) * ix.entrySize))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// sync fdatasyncs the index file.
func (ix *index) sync(vfs FS) error {
	f, err := vfs.OpenFile(ix.path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	err = f.Datasync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// reset drops every entry (recovery and truncation rebuild from scratch).
// Writer only.
func (ix *index) reset() {
	ix.entries.Store(0)
	ix.lastKey = 0
}

// truncateEntries keeps the first n entries. Writer only; the file is
// not touched, later appends overwrite.
func (ix *index) truncateEntries(n int) {
	ix.entries.Store(int32(n))
	if n > 0 {
		ix.mu.RLock()
		defer ix.mu.RUnlock()
		if ix.m != nil {
			ix.lastKey = ix.keyLocked(n - 1)
		}
	}
}

func (ix *index) keyLocked(i int) int64 {
	e := ix.m[i*ix.entrySize:]
	if ix.entrySize == offsetEntrySize {
		return int64(int32(binary.BigEndian.Uint32(e)))
	}
	return int64(binary.BigEndian.Uint64(e))
}

// appendEntry writes one entry at the tail. Writer only; the index must be
// open writable. It publishes the new count only after the bytes are in the
// page cache, so lock-free readers never see a half-written entry.
func (ix *index) appendEntry(entry []byte, key int64) error {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.f == nil || !ix.writable {
		return errIndexClosed
	}
	n := int(ix.entries.Load())
	if n >= ix.maxEntries {
		return fmt.Errorf("engine: index %s is full", ix.path)
	}
	if _, err := ix.f.WriteAt(entry, int64(n*ix.entrySize)); err != nil {
		return err
	}
	ix.lastKey = key
	ix.entries.Store(int32(n + 1))
	return nil
}

// withMapping runs fn with the mapping read-locked and converts a memory
// fault (SIGBUS from an I/O error under the mapping) into an error.
func (ix *index) withMapping(fn func(m []byte, n int)) (err error) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	if ix.f == nil {
		return errIndexClosed
	}
	n := int(ix.entries.Load())
	if max := len(ix.m) / ix.entrySize; n > max {
		n = max
	}
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: fault reading %s: %v", ErrCorruptIndex, ix.path, r)
		}
	}()
	fn(ix.m, n)
	return nil
}

// offsetIndex is a segment's .index: entry i says the batch at byte
// position pos of the .log has last offset base+rel.
type offsetIndex struct{ *index }

func (o offsetIndex) append(rel int32, pos int32) error {
	if invariants.Enabled && o.entries.Load() > 0 && int64(rel) <= o.lastKey {
		panic(fmt.Sprintf("engine: offset index %s not increasing: %d after %d", o.path, rel, o.lastKey))
	}
	var e [offsetEntrySize]byte
	binary.BigEndian.PutUint32(e[0:], uint32(rel))
	binary.BigEndian.PutUint32(e[4:], uint32(pos))
	return o.appendEntry(e[:], int64(rel))
}

func decodeOffsetEntry(m []byte, i int) (rel, pos int32) {
	e := m[i*offsetEntrySize:]
	return int32(binary.BigEndian.Uint32(e)), int32(binary.BigEndian.Uint32(e[4:]))
}

// lookup returns the greatest entry whose relative offset is <= rel, or
// (0, 0) when there is none (scan from the segment start).
func (o offsetIndex) lookup(rel int32) (gotRel, pos int32, err error) {
	err = o.withMapping(func(m []byte, n int) {
		i := searchEntries(n, func(i int) bool { r, _ := decodeOffsetEntry(m, i); return r > rel })
		if i > 0 {
			gotRel, pos = decodeOffsetEntry(m, i-1)
		}
	})
	return gotRel, pos, err
}

// entryAt returns entry i (test and truncation helper).
func (o offsetIndex) entryAt(i int) (rel, pos int32, err error) {
	err = o.withMapping(func(m []byte, n int) {
		if i < n {
			rel, pos = decodeOffsetEntry(m, i)
		}
	})
	return rel, pos, err
}

// truncateTo drops entries whose relative offset is >= rel.
func (o offsetIndex) truncateTo(rel int32) error {
	keep := 0
	err := o.withMapping(func(m []byte, n int) {
		keep = searchEntries(n, func(i int) bool { r, _ := decodeOffsetEntry(m, i); return r >= rel })
	})
	if err != nil {
		return err
	}
	o.truncateEntries(keep)
	return nil
}

// check is Kafka's sanityCheck plus bounds: whole entries, increasing
// relative offsets (the last and, under invariants, every pair), positions
// within the log.
func (o offsetIndex) check(fileLen int64, logSize int64) error {
	if fileLen%offsetEntrySize != 0 {
		return fmt.Errorf("%w: %s length %d is not a multiple of %d", ErrCorruptIndex, o.path, fileLen, offsetEntrySize)
	}
	var bad error
	err := o.withMapping(func(m []byte, n int) {
		prevRel, prevPos := int32(-1), int32(-1)
		for i := 0; i < n; i++ {
			if !invariants.Enabled && i > 0 && i < n-1 {
				i = n - 1
				prevRel, prevPos = decodeOffsetEntry(m, i-1)
			}
			rel, pos := decodeOffsetEntry(m, i)
			if rel <= prevRel || pos <= prevPos || rel < 0 || int64(pos) >= logSize {
				bad = fmt.Errorf("%w: %s entry %d (%d,%d) after (%d,%d), log size %d", ErrCorruptIndex, o.path, i, rel, pos, prevRel, prevPos, logSize)
				return
			}
			prevRel, prevPos = rel, pos
		}
	})
	if err != nil {
		return err
	}
	return bad
}

// timeIndex is a segment's .timeindex: entry i says the greatest
// timestamp in the segment up to relative offset rel is ts.
type timeIndex struct{ *index }

// maybeAppend adds (ts, rel) if ts exceeds the last entry's timestamp
// (Kafka keeps the time index monotonic).
func (t timeIndex) maybeAppend(ts int64, rel int32) error {
	if t.entries.Load() > 0 && ts <= t.lastKey {
		return nil
	}
	var e [timeEntrySize]byte
	binary.BigEndian.PutUint64(e[0:], uint64(ts))
	binary.BigEndian.PutUint32(e[8:], uint32(rel))
	return t.appendEntry(e[:], ts)
}

func decodeTimeEntry(m []byte, i int) (ts int64, rel int32) {
	e := m[i*timeEntrySize:]
	return int64(binary.BigEndian.Uint64(e)), int32(binary.BigEndian.Uint32(e[8:]))
}

// lookup returns the greatest entry whose timestamp is <= ts, or
// found=false when every entry is later.
func (t timeIndex) lookup(ts int64) (gotTs int64, rel int32, found bool, err error) {
	err = t.withMapping(func(m []byte, n int) {
		i := searchEntries(n, func(i int) bool { e, _ := decodeTimeEntry(m, i); return e > ts })
		if i > 0 {
			gotTs, rel = decodeTimeEntry(m, i-1)
			found = true
		}
	})
	return gotTs, rel, found, err
}

// last returns the last entry.
func (t timeIndex) last() (ts int64, rel int32, ok bool, err error) {
	err = t.withMapping(func(m []byte, n int) {
		if n > 0 {
			ts, rel = decodeTimeEntry(m, n-1)
			ok = true
		}
	})
	return ts, rel, ok, err
}

// truncateTo drops entries whose relative offset is >= rel.
func (t timeIndex) truncateTo(rel int32) error {
	keep := 0
	err := t.withMapping(func(m []byte, n int) {
		keep = searchEntries(n, func(i int) bool { _, r := decodeTimeEntry(m, i); return r >= rel })
	})
	if err != nil {
		return err
	}
	t.truncateEntries(keep)
	return nil
}

func (t timeIndex) check(fileLen int64, maxRel int64) error {
	if fileLen%timeEntrySize != 0 {
		return fmt.Errorf("%w: %s length %d is not a multiple of %d", ErrCorruptIndex, t.path, fileLen, timeEntrySize)
	}
	var bad error
	err := t.withMapping(func(m []byte, n int) {
		prevTs, prevRel := int64(-1<<63), int32(-1)
		for i := 0; i < n; i++ {
			if !invariants.Enabled && i > 0 && i < n-1 {
				i = n - 1
				prevTs, prevRel = decodeTimeEntry(m, i-1)
			}
			ts, rel := decodeTimeEntry(m, i)
			if ts <= prevTs || rel < prevRel || rel < 0 || int64(rel) > maxRel {
				bad = fmt.Errorf("%w: %s entry %d (%d,%d) after (%d,%d)", ErrCorruptIndex, t.path, i, ts, rel, prevTs, prevRel)
				return
			}
			prevTs, prevRel = ts, rel
		}
	})
	if err != nil {
		return err
	}
	return bad
}

// searchEntries is sort.Search over n entries. Kafka searches a warm tail
// section first to stay in cached pages; a plain binary search over a
// mapping touches log2(n) pages, which is the same order for 10 MiB
// indexes, so we keep it simple.
func searchEntries(n int, f func(int) bool) int {
	lo, hi := 0, n
	for lo < hi {
		h := int(uint(lo+hi) >> 1)
		if !f(h) {
			lo = h + 1
		} else {
			hi = h
		}
	}
	return lo
}
