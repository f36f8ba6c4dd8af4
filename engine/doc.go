// Package engine is Gregor's storage engine: one append-only log per
// partition, stored exactly in Apache Kafka's on-disk format so that a
// Kafka log dir and a Gregor log dir are interchangeable.
//
// # Layout
//
//	<log.dir>/
//	  meta.properties                    version=0, broker.id, cluster.id (engine/checkpoint)
//	  .lock                              flock(LOCK_EX) while a Manager has the dir open
//	  .kafka_cleanshutdown               present only after a clean Close; removed at Open
//	  recovery-point-offset-checkpoint   per partition: every offset below is fdatasync'd
//	  log-start-offset-checkpoint        partitions whose log start is past their first segment
//	  replication-offset-checkpoint      per partition: high watermark
//	  cleaner-offset-checkpoint          compacted partitions: first dirty offset (log cleaner)
//	  <topic>-<partition>/
//	    00000000000000000000.log         record batches
//	    00000000000000000000.index       sparse offset index
//	    00000000000000000000.timeindex   sparse time index
//	    00000000000000012345.log ...     next segment: named by its base offset, 20 digits
//	    *.deleted                        segments being deleted (unlinked after file.delete.delay.ms)
//	    <base>.log.cleaned (.index, .timeindex)  log cleaner output being written
//	    <base>.log.swap (.index, .timeindex)     cleaner output complete, not yet swapped in
//	  <topic>-<partition>.<uuid>-delete/ a deleted partition awaiting removal
//
// Checkpoint files are Kafka's text format, written atomically (temp file,
// fsync, rename, directory fsync) by engine/checkpoint:
//
//	0                      version
//	2                      entry count
//	my-topic 0 1234        topic SP partition SP offset
//	my-topic 1 987
//
// # .log: record batches
//
// A segment is a concatenation of RecordBatch v2 (magic 2) exactly as the
// producer sent them, except bytes 0-7 (base offset) and 12-15 (partition
// leader epoch), which the appender fills in; both lie outside the CRC, so
// the CRC is never recomputed (except for LogAppendTime topics, whose
// attributes and max timestamp change). Big-endian throughout:
//
//	 0        8      12      16 17     21    23         27        35        43     51  53      57    61
//	+--------+------+-------+--+------+-----+----------+---------+---------+------+---+-------+-----+---------+
//	|baseOff |length|leader |m | crc  |attr |lastOff   |baseTs   |maxTs    |prodId|pEp|baseSeq|count| records |
//	| int64  |int32 |epoch  |=2|uint32|int16|Delta i32 |int64    |int64    |int64 |i16|int32  |int32|         |
//	+--------+------+-------+--+------+-----+----------+---------+---------+------+---+-------+-----+---------+
//	                         CRC-32C (Castagnoli) covers byte 21 to the end of the batch
//
// A batch occupies length+12 bytes. Invariant: the first size bytes of a
// segment are whole, CRC-valid batches with strictly increasing offsets,
// all >= the segment's base offset and < base+2^31.
//
// # .index: offset index (8-byte entries, Kafka's OffsetIndex)
//
//	 0               4               8
//	+---------------+---------------+
//	| relOffset i32 | position i32  |   relOffset = last offset of the batch at position - segment base
//	+---------------+---------------+
//
// One entry is added when more than log.index.interval.bytes (4096) of
// batches were written since the previous one (so the first batch of a
// segment never has one; lookups then start at position 0). Entries are
// strictly increasing in both fields. Lookup: binary search for the greatest
// relOffset <= target, then scan batch headers forward to the first batch
// whose last offset >= target.
//
// # .timeindex: time index (12-byte entries, Kafka's TimeIndex)
//
//	 0                               8               12
//	+-------------------------------+---------------+
//	| timestamp i64                 | relOffset i32 |   max timestamp so far, last offset of the batch holding it
//	+-------------------------------+---------------+
//
// Appended alongside offset-index entries only when the timestamp exceeds
// the previous entry's (monotonic); a final entry is forced when a segment
// is sealed at roll.
//
// Both index files are preallocated (sparse ftruncate) to
// log.index.size.max.bytes (10 MiB) while their segment is active and
// trimmed to their valid length when the segment rolls and at clean
// shutdown, so the length of a sealed index is its entry count (Kafka
// trusts it the same way). They are mapped read-only with mmap-go and
// written through the file descriptor, so every write error comes back from
// the VFS (never as SIGBUS or a lost msync). A mapped file is never
// truncated: trim unmaps first, under the index's write lock, which every
// mapped read holds shared. Mapped reads also run with
// debug.SetPanicOnFault so an I/O fault under the mapping becomes an error.
//
// # Append path
//
// Log.Append validates the batch (magic, lengths, CRC-32C, record count
// against lastOffsetDelta, size against max.message.bytes) outside any lock
// and returns batch.ErrCorrupt, batch.ErrInvalidRecord or batch.ErrTooLarge
// (CORRUPT_MESSAGE, INVALID_RECORD, MESSAGE_TOO_LARGE). It then pushes the
// batch on the partition's lock-free MPSC queue (a Treiber stack drained
// with one atomic swap). One appender goroutine per partition, started when
// the queue becomes non-empty and gone when it is drained, takes the whole
// queue, assigns offsets, rolls if needed, writes the group with one
// pwritev, adds index entries, publishes the new log end offset atomically
// and wakes fetchers (WaitPast).
//
// # Flush policies and durability
//
// The default is Kafka's: never fsync on the append path; the OS writes
// back, the recovery point advances when rolled segments are flushed
// asynchronously, and an unclean restart re-validates everything after it.
// flush.messages=N (log.flush.interval.messages) fsyncs once N messages are
// unflushed; flush.ms (log.flush.interval.ms) fsyncs logs dirty for longer,
// checked every log.flush.scheduler.interval.ms (at least every second when
// a topic sets flush.ms). With flush.messages=1 or flush.ms=0 an append is
// acknowledged only after an fdatasync that covers it; one flusher per log
// runs one fdatasync at a time and every append that arrived while it ran
// shares the next one (group commit), so 64 producers cost far fewer than
// 64 fsyncs. A failed write or fsync takes the log, and its whole log dir,
// offline with a sticky ErrOffline; nothing is retried (fsyncgate).
//
// # Recovery
//
// Open loads each dir with num.recovery.threads.per.data.dir workers.
// Without the clean-shutdown marker every segment from the one holding the
// checkpointed recovery point to the end is re-read: each batch is checked
// (lengths, magic, CRC-32C, increasing offsets, record count), both indexes
// are rebuilt, and the segment is truncated at the first invalid byte; any
// later segments are deleted (Kafka's LogLoader). Indexes that fail their
// sanity check are rebuilt the same way even after a clean shutdown.
//
// # Open files
//
// Segments hold their .log descriptor and index mappings only while in a
// bounded LRU (Config.MaxOpenSegments); cold segments are closed and
// reopened on demand, so ten thousand partitions do not exhaust
// descriptors or vm.max_map_count. A Region returned by Log.Read holds a
// reference on the descriptor, so it stays readable after eviction or
// deletion until Released.
//
// # Retention
//
// Every log.retention.check.interval.ms the Manager runs a retention pass
// over every log (Manager.RunRetention; Log.DeleteOldSegments for one
// log), Kafka's UnifiedLog.deleteOldSegments. Each step deletes a prefix
// of the log and stops at the first segment that does not qualify:
// segments wholly below the log start offset (left by DeleteRecords), then,
// only when cleanup.policy contains delete, the oldest segments while the
// partition stays at least retention.bytes big without them, then the
// segments whose largest timestamp (the .log mtime if no batch has one) is
// more than retention.ms old (-1: forever). Only segments wholly below
// the high watermark qualify. A non-empty active segment qualifies too:
// the log then rolls an empty segment at its end first, so it always
// keeps one. Deleted segments leave the segment list at once, are renamed
// to *.deleted (with the producer snapshot at their base offset) and are
// unlinked file.delete.delay.ms later on the Manager's clock (Options.Clock;
// leftovers are removed at the next Open); a Region or reader holding the
// file keeps reading it, and a reader that comes too late gets
// ErrOffsetOutOfRange. The log start offset moves to the new first segment
// and log-start-offset-checkpoint is rewritten after the pass. With
// Options.DeferRetention (the broker's setting) a log loaded by Open gets
// time and size retention only after SetTopicConfig, so a compacted topic
// is never judged by the broker-wide delete default first.
//
// # Log cleaner (compaction)
//
// Logs whose cleanup.policy contains "compact" are cleaned by
// log.cleaner.threads workers (Kafka's LogCleaner). cleaner-offset-checkpoint
// has the checkpoint format above; its offset is the partition's first
// dirty offset: every segment below it has been cleaned at least once. A
// cleaning maps the dirty section, [first dirty, first uncleanable) where
// first uncleanable is the lowest of the active segment's base, the high
// watermark and the first segment younger than min.compaction.lag.ms,
// rounded down to a segment base, as key -> latest offset (64-bit xxhash
// keys, 16 bytes per slot, at most 90% of log.cleaner.dedupe.buffer.size
// split across threads; when it fills, only the part that fit is cleaned).
// It then rewrites every sealed segment from the log start to the end of
// the mapped section. A record survives if its offset is at least its
// key's mapped offset; keyless records are dropped; a tombstone survives
// until its batch's delete horizon. Offsets never change (gaps appear).
// A batch whose records all survive is copied byte for byte; otherwise it
// is rebuilt with the same codec, base offset, lastOffsetDelta, producer
// id, epoch and base sequence, max timestamp, attributes and partition
// leader epoch, and a new CRC. A batch left with no records is dropped,
// except that an empty batch (header only, the original offset range, as
// Kafka writes) is kept for the last batch of each idempotent producer and
// for the last batch of each group whose own records all went, so that a
// .swap always reaches into the last segment it replaces.
//
// Tombstones follow KIP-534 (Kafka 2.8+ for magic 2): the first cleaning
// that keeps a tombstone rewrites its batch with attribute bit 6
// (0x40, "delete horizon") set and baseTimestamp = cleaning time +
// delete.retention.ms (record timestamp deltas are rebased, so record
// timestamps are unchanged); a later cleaning at or past that time drops
// the batch's tombstones. Kafka's pre-KIP-534 rule (segment last-modified
// time) applies only to magic 0/1 batches, which Gregor never stores.
//
// Consecutive cleaned segments are grouped into one output segment while
// their input sizes fit segment.bytes and their indexes segment.index.bytes
// (Kafka's groupSegmentsBySize); the output is named by the group's first
// base offset. The swap, per group, is Kafka's:
//
//  1. write <base>.log.cleaned, .index.cleaned, .timeindex.cleaned; fdatasync
//  2. rename each to <base>.<ext>.swap; fsync the dir
//  3. under Log.mu: replace the group in the segment list, rename each old
//     segment's files to .deleted, rename each .swap to its final name
//     (no dir fsync needed: any subset of these renames recovers, below);
//     the .deleted files go after file.delete.delay.ms
//
// At load, *.cleaned and *.deleted files are deleted; a <base>.log.swap is
// complete, so every segment whose base lies in [base, the swap's next
// offset) is deleted and the swap renamed to <base>.log (index .swap files
// are dropped and rebuilt). A crash at any step therefore yields the
// pre-clean or the post-clean group. Readers take no lock: a Region of an
// old segment keeps its (renamed, later unlinked) file open; a Read that
// finds a replaced segment closed retries on the new list.
//
// # Seams for later issues
//
//   - Compaction and retention share the segment list under Log.mu: a
//     retention pass may delete segments of a compact,delete log between
//     two cleanings, and the cleaner's swap re-checks the list it replaces.
//   - Idempotent producers: the validated batch.Header (ProducerID,
//     ProducerEpoch, BaseSequence) reaches Log.enqueue, and the appender
//     assigns offsets in one ordered critical section, which is where
//     per-producer sequence windows and .snapshot files plug in.
//   - Replication: Options.ManualHighWatermark, SetHighWatermark, Truncate.
//
// Lock order: Log.mu (writer) before Log.flushMu; segment.mu before
// openCache.mu; index.mu innermost. Readers take no Log lock.
package engine
