package engine

import (
	"errors"

	"github.com/gregorlog/gregor/engine/batch"
)

// Sentinel errors. The broker maps them to Kafka error codes at its
// boundary; every error the engine returns wraps one of them or one of the
// batch package's sentinels (which map to CORRUPT_MESSAGE, INVALID_RECORD
// and MESSAGE_TOO_LARGE).
var (
	// ErrOffline: a write or fsync failed on this log or its dir, or the
	// dir is offline. Sticky: the log refuses every later write and never
	// retries. Maps to KAFKA_STORAGE_ERROR (56).
	ErrOffline = errors.New("engine: log offline after an I/O error")
	// ErrOffsetOutOfRange: below the log start offset or past the log end
	// offset. Maps to OFFSET_OUT_OF_RANGE (1).
	ErrOffsetOutOfRange = errors.New("engine: offset out of range")
	// ErrClosed: the log or manager was closed or the log deleted.
	ErrClosed = errors.New("engine: closed")
	// ErrLogExists: CreateLog of a partition that already exists.
	ErrLogExists = errors.New("engine: log already exists")
	// ErrUnknownLog: no such partition. Maps to UNKNOWN_TOPIC_OR_PARTITION (3).
	ErrUnknownLog = errors.New("engine: unknown log")
	// ErrNoOnlineDir: every log dir is offline. Maps to KAFKA_STORAGE_ERROR.
	ErrNoOnlineDir = errors.New("engine: no online log dir")
	// ErrDirLocked: another process holds the log dir's .lock.
	ErrDirLocked = errors.New("engine: log dir locked")
	// ErrCorruptIndex: an index file failed its sanity check; it is
	// rebuilt from the segment.
	ErrCorruptIndex = errors.New("engine: corrupt index")
	// ErrCorruptLog: the segment data is not a valid sequence of batches
	// where it must be (a mid-log corruption found while reading). Maps to
	// CORRUPT_MESSAGE / KAFKA_STORAGE_ERROR depending on the caller.
	ErrCorruptLog = errors.New("engine: corrupt log segment")
	// ErrInvalidConfig: a configuration value is out of range.
	ErrInvalidConfig = errors.New("engine: invalid config")

	// Re-exported batch validation sentinels, so callers can test
	// errors.Is(err, engine.ErrCorruptMessage) without importing batch.
	ErrCorruptMessage = batch.ErrCorrupt       // CORRUPT_MESSAGE (2)
	ErrInvalidRecord  = batch.ErrInvalidRecord // INVALID_RECORD (87)
	ErrTooLarge       = batch.ErrTooLarge      // MESSAGE_TOO_LARGE (10)
)
