package broker

// Idempotent producers: per-partition sequence windows and Kafka's
// producer-state snapshot files.
//
// For every producer id that wrote to a partition the broker keeps the
// epoch and the last 5 batches (first and last sequence, first and last
// offset), as Kafka's ProducerStateManager does. A batch from a known
// producer with the same epoch must continue the last sequence (with
// wrap-around at 2^31-1); an exact repeat of one of the 5 remembered
// batches is a duplicate and is answered with the original offsets
// without being written again; anything else is
// OUT_OF_ORDER_SEQUENCE_NUMBER (45). An older epoch is
// INVALID_PRODUCER_EPOCH (47); a newer one must start at sequence 0. The
// check and the enqueue happen under the partition's producer lock, so
// batches are checked in the order they are appended.
//
// # Snapshot files (Kafka's format, ProducerStateManager, version 1)
//
// At clean shutdown each partition's state is written to
// <partition dir>/<20-digit log end offset>.snapshot (older snapshots are
// removed); at start-up the newest snapshot at or below the log end is
// read and the batches after it are replayed from the log, so a crash
// loses nothing either. Big-endian:
//
//	version int16 = 1
//	crc uint32               CRC-32C of every byte after this field
//	count int32
//	count x { producer_id int64 | producer_epoch int16 | last_sequence int32
//	          | last_offset int64 | offset_delta int32 (last - first offset of the last batch)
//	          | timestamp int64 | coordinator_epoch int32 (-1) | current_txn_first_offset int64 (-1) }
//
// Only the last batch of each producer is in the file (as in Kafka), so
// after a restart duplicates are detected for that batch only.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/gregorlog/gregor/engine"
	"github.com/gregorlog/gregor/engine/batch"
	"github.com/gregorlog/gregor/engine/checkpoint"
)

var (
	errOutOfOrderSequence = errors.New("broker: out of order sequence number")
	errInvalidEpoch       = errors.New("broker: invalid producer epoch")
	errSnapshot           = errors.New("broker: bad producer snapshot")
)

// maxBatchesPerProducer is Kafka's NUM_BATCHES_TO_RETAIN.
const maxBatchesPerProducer = 5

const snapshotSuffix = ".snapshot"

type seqBatch struct {
	firstSeq, lastSeq       int32
	firstOffset, lastOffset int64 // -1 while the append is in flight
	timestamp               int64
	pend                    *engine.Pending // nil once known
}

type producerEntry struct {
	epoch   int16
	batches []*seqBatch // oldest first, at most maxBatchesPerProducer
}

// partitionProducers is one partition's producer state.
type partitionProducers struct {
	mu sync.Mutex
	m  map[int64]*producerEntry // guarded by mu
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// producersFor returns the state of a partition, loading it from its
// snapshot and log the first time.
func (b *Broker) producersFor(l *engine.Log) *partitionProducers {
	key := l
	b.pmu.Lock()
	defer b.pmu.Unlock()
	if pp, ok := b.producers[key]; ok {
		return pp
	}
	pp := &partitionProducers{m: map[int64]*producerEntry{}}
	if err := pp.load(l); err != nil {
		b.log.Warn("producer state: rebuilding from the log start", "partition", l.Dir(), "err", err)
		pp.m = map[int64]*producerEntry{}
		pp.replay(l, l.LogStartOffset())
	}
	b.producers[key] = pp
	return pp
}

func nextSeq(s int32) int32 {
	if s == math.MaxInt32 {
		return 0
	}
	return s + 1
}

// dupOrCheck checks h against the producer's state. It returns the
// remembered batch when h is a duplicate.
func (pp *partitionProducers) checkLocked(h batch.Header) (*seqBatch, error) {
	e := pp.m[h.ProducerID]
	if e == nil {
		return nil, nil // unknown producer (new, or state expired): accepted, as Kafka does
	}
	switch {
	case h.ProducerEpoch < e.epoch:
		return nil, fmt.Errorf("%w: producer %d epoch %d is older than %d", errInvalidEpoch, h.ProducerID, h.ProducerEpoch, e.epoch)
	case h.ProducerEpoch > e.epoch:
		if h.BaseSequence != 0 {
			return nil, fmt.Errorf("%w: producer %d new epoch %d must start at sequence 0, got %d", errOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence)
		}
		return nil, nil
	}
	last := h.BaseSequence + h.LastOffsetDelta
	for _, sb := range e.batches {
		if sb.firstSeq == h.BaseSequence && sb.lastSeq == last {
			return sb, nil
		}
	}
	if n := len(e.batches); n > 0 && h.BaseSequence != nextSeq(e.batches[n-1].lastSeq) {
		return nil, fmt.Errorf("%w: producer %d expected sequence %d, got %d", errOutOfOrderSequence, h.ProducerID, nextSeq(e.batches[n-1].lastSeq), h.BaseSequence)
	}
	return nil, nil
}

// recordLocked remembers an accepted batch.
func (pp *partitionProducers) recordLocked(h batch.Header, sb *seqBatch) {
	e := pp.m[h.ProducerID]
	if e == nil || h.ProducerEpoch != e.epoch {
		e = &producerEntry{epoch: h.ProducerEpoch}
		pp.m[h.ProducerID] = e
	}
	e.batches = append(e.batches, sb)
	if len(e.batches) > maxBatchesPerProducer {
		e.batches = e.batches[len(e.batches)-maxBatchesPerProducer:]
	}
}

// forget drops a batch whose append failed, so the producer's retry is
// checked afresh.
func (pp *partitionProducers) forget(pid int64, sb *seqBatch) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if e := pp.m[pid]; e != nil {
		for i, x := range e.batches {
			if x == sb {
				e.batches = append(e.batches[:i], e.batches[i+1:]...)
				return
			}
		}
	}
}

// settle fills in the offsets of a batch once its append finished.
func (pp *partitionProducers) settle(sb *seqBatch, res engine.AppendResult) {
	pp.mu.Lock()
	sb.firstOffset, sb.lastOffset, sb.pend = res.BaseOffset, res.LastOffset, nil
	pp.mu.Unlock()
}

// replay rebuilds state from the batches in [from, log end).
func (pp *partitionProducers) replay(l *engine.Log, from int64) {
	leo := l.LogEndOffset()
	for off := from; off < leo; {
		data, err := l.ReadCopy(off, 8<<20, leo, true)
		if err != nil || len(data) == 0 {
			return
		}
		next := off
		for rest := data; ; {
			h, n, err := batch.Next(rest)
			if err != nil {
				break
			}
			if h.HasProducerID() && h.BaseSequence >= 0 {
				sb := &seqBatch{firstSeq: h.BaseSequence, lastSeq: h.BaseSequence + h.LastOffsetDelta,
					firstOffset: h.BaseOffset, lastOffset: h.LastOffset(), timestamp: h.MaxTimestamp}
				pp.recordLocked(h, sb)
			}
			next = h.LastOffset() + 1
			rest = rest[n:]
		}
		if next <= off {
			return
		}
		off = next
	}
}

// load reads the newest usable snapshot and replays the log after it.
func (pp *partitionProducers) load(l *engine.Log) error {
	snaps, err := listSnapshots(l.Dir())
	if err != nil {
		return err
	}
	from := l.LogStartOffset()
	leo := l.LogEndOffset()
	for i := len(snaps) - 1; i >= 0; i-- {
		if snaps[i] > leo {
			continue
		}
		m, err := readSnapshot(filepath.Join(l.Dir(), snapshotName(snaps[i])))
		if err != nil {
			return err
		}
		pp.m = m
		from = max(snaps[i], from)
		break
	}
	pp.replay(l, from)
	return nil
}

func snapshotName(off int64) string { return fmt.Sprintf("%020d%s", off, snapshotSuffix) }

func listSnapshots(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), snapshotSuffix)
		if !ok || len(name) != 20 {
			continue
		}
		if off, err := strconv.ParseInt(name, 10, 64); err == nil {
			out = append(out, off)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

func readSnapshot(path string) (map[int64]*producerEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	be := binary.BigEndian
	if len(data) < 10 || be.Uint16(data) != 1 {
		return nil, fmt.Errorf("%w: %s: bad header", errSnapshot, path)
	}
	if crc32.Checksum(data[6:], crcTable) != be.Uint32(data[2:]) {
		return nil, fmt.Errorf("%w: %s: crc mismatch", errSnapshot, path)
	}
	n := int(int32(be.Uint32(data[6:])))
	const entry = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8
	if n < 0 || len(data) != 10+n*entry {
		return nil, fmt.Errorf("%w: %s: %d entries in %d bytes", errSnapshot, path, n, len(data))
	}
	m := make(map[int64]*producerEntry, n)
	for p := data[10:]; len(p) >= entry; p = p[entry:] {
		pid := int64(be.Uint64(p))
		lastSeq := int32(be.Uint32(p[10:]))
		lastOff := int64(be.Uint64(p[14:]))
		delta := int32(be.Uint32(p[22:]))
		e := &producerEntry{epoch: int16(be.Uint16(p[8:]))}
		if lastSeq >= 0 {
			e.batches = []*seqBatch{{firstSeq: lastSeq - delta, lastSeq: lastSeq, firstOffset: lastOff - int64(delta), lastOffset: lastOff, timestamp: int64(be.Uint64(p[26:]))}}
		}
		m[pid] = e
	}
	return m, nil
}

// writeSnapshot writes the partition's state at the log end offset and
// removes older snapshots.
func (pp *partitionProducers) writeSnapshot(l *engine.Log) error {
	pp.mu.Lock()
	be := binary.BigEndian
	out := make([]byte, 10, 10+len(pp.m)*46)
	be.PutUint16(out, 1)
	pids := make([]int64, 0, len(pp.m))
	for pid := range pp.m {
		pids = append(pids, pid)
	}
	sort.Slice(pids, func(i, j int) bool { return pids[i] < pids[j] })
	count := 0
	for _, pid := range pids {
		e := pp.m[pid]
		var last *seqBatch
		for i := len(e.batches) - 1; i >= 0; i-- {
			if e.batches[i].pend == nil && e.batches[i].lastOffset >= 0 {
				last = e.batches[i]
				break
			}
		}
		if last == nil {
			continue
		}
		out = be.AppendUint64(out, uint64(pid))
		out = be.AppendUint16(out, uint16(e.epoch))
		out = be.AppendUint32(out, uint32(last.lastSeq))
		out = be.AppendUint64(out, uint64(last.lastOffset))
		out = be.AppendUint32(out, uint32(last.lastOffset-last.firstOffset))
		out = be.AppendUint64(out, uint64(last.timestamp))
		out = be.AppendUint32(out, 0xffffffff)
		out = be.AppendUint64(out, math.MaxUint64)
		count++
	}
	pp.mu.Unlock()
	be.PutUint32(out[6:], uint32(count))
	be.PutUint32(out[2:], crc32.Checksum(out[6:], crcTable))
	leo := l.LogEndOffset()
	if err := checkpoint.WriteFileAtomic(filepath.Join(l.Dir(), snapshotName(leo)), out); err != nil {
		return err
	}
	old, _ := listSnapshots(l.Dir())
	for _, off := range old {
		if off != leo {
			os.Remove(filepath.Join(l.Dir(), snapshotName(off)))
		}
	}
	return nil
}

// writeSnapshots is called at clean shutdown, after the last append and
// before the engine closes.
func (b *Broker) writeSnapshots() {
	b.pmu.Lock()
	defer b.pmu.Unlock()
	for _, l := range b.eng.Logs() {
		pp, ok := b.producers[l]
		if !ok {
			continue
		}
		if err := pp.writeSnapshot(l); err != nil {
			b.log.Error("writing producer snapshot", "partition", l.Dir(), "err", err)
		}
	}
}

// dropProducersLocked forgets the state of a deleted topic's logs. b.pmu
// must not be held.
func (b *Broker) dropProducers(topic string) {
	b.pmu.Lock()
	defer b.pmu.Unlock()
	for l := range b.producers {
		if l.Topic() == topic {
			delete(b.producers, l)
		}
	}
}
