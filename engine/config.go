package engine

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// NoLimit is Kafka's Long.MAX_VALUE default for "never" settings.
const NoLimit int64 = math.MaxInt64

// Config is the broker-wide storage configuration. Field comments give the
// Kafka server.properties name and Kafka's default; DefaultConfig fills
// them in.
//
// DURABILITY HAZARD: with the defaults (FlushIntervalMessages and
// FlushIntervalMs unlimited) the engine never fsyncs on the append path, as
// Kafka does: an acknowledged append sits in the OS page cache and is lost
// if the machine (not just the process) crashes before writeback. Kafka
// relies on replication for durability. Set log.flush.interval.messages=1
// (or topic flush.messages=1) to acknowledge only after fdatasync.
type Config struct {
	// Dirs is log.dirs: one directory per disk. New partitions go to the
	// online dir holding the fewest partitions.
	Dirs []string
	// BrokerID and ClusterID are written to meta.properties (broker.id).
	BrokerID  int32
	ClusterID string

	// SegmentBytes is log.segment.bytes (1073741824).
	SegmentBytes int64
	// RollMs is log.roll.ms, or log.roll.hours*3600000 (168 h).
	RollMs int64
	// RollJitterMs is log.roll.jitter.ms (0): each segment's roll time is
	// shortened by a random amount below this, so partitions do not all roll
	// at once.
	RollJitterMs int64
	// IndexSizeMaxBytes is log.index.size.max.bytes (10485760).
	IndexSizeMaxBytes int32
	// IndexIntervalBytes is log.index.interval.bytes (4096).
	IndexIntervalBytes int32
	// MessageMaxBytes is message.max.bytes (1048588), the largest batch.
	MessageMaxBytes int32
	// MessageTimestampType is log.message.timestamp.type: "CreateTime"
	// (default) or "LogAppendTime".
	MessageTimestampType string

	// FlushIntervalMessages is log.flush.interval.messages (Long.MAX):
	// fsync a log once this many messages are unflushed. 1 means every
	// append is acknowledged only after the fdatasync that covers it.
	FlushIntervalMessages int64
	// FlushIntervalMs is log.flush.interval.ms (unset, -1: falls back to
	// FlushSchedulerIntervalMs): fsync a log that has been dirty this long.
	FlushIntervalMs int64
	// FlushSchedulerIntervalMs is log.flush.scheduler.interval.ms
	// (Long.MAX): how often the time-based flusher looks at the logs.
	FlushSchedulerIntervalMs int64
	// FlushOffsetCheckpointIntervalMs is
	// log.flush.offset.checkpoint.interval.ms (60000): how often
	// recovery-point-offset-checkpoint is written.
	FlushOffsetCheckpointIntervalMs int64
	// FlushStartOffsetCheckpointIntervalMs is
	// log.flush.start.offset.checkpoint.interval.ms (60000).
	FlushStartOffsetCheckpointIntervalMs int64
	// HighWatermarkCheckpointIntervalMs is
	// replica.high.watermark.checkpoint.interval.ms (5000).
	HighWatermarkCheckpointIntervalMs int64
	// RecoveryThreadsPerDataDir is num.recovery.threads.per.data.dir (1,
	// Kafka's server.properties ships 1; we default to 2).
	RecoveryThreadsPerDataDir int
	// RetentionMs is log.retention.ms, else log.retention.minutes*60000,
	// else log.retention.hours*3600000 (168 h): a sealed segment whose
	// largest timestamp is older than this is deleted. -1 keeps forever.
	RetentionMs int64
	// RetentionBytes is log.retention.bytes (-1, unlimited): the oldest
	// segments of a partition are deleted while it stays at least this big
	// without them.
	RetentionBytes int64
	// RetentionCheckIntervalMs is log.retention.check.interval.ms (300000):
	// how often the retention pass runs over every log.
	RetentionCheckIntervalMs int64
	// CleanupPolicy is log.cleanup.policy: "delete" (default), "compact"
	// or "compact,delete" (either order). Time and size retention apply
	// only when it contains delete.
	CleanupPolicy string
	// FileDeleteDelayMs is file.delete.delay.ms (60000): how long deleted
	// segments and partition dirs stay on disk (renamed) before removal.
	FileDeleteDelayMs int64
	// MaxOpenSegments bounds how many segments keep their files open and
	// indexes mapped at once (Gregor-specific; Kafka relies on a huge fd
	// limit). Each open segment costs up to 3 fds and 2 mappings; cold
	// segments are closed and reopened on demand. Default 1024.
	MaxOpenSegments int

	// Cleaner configures the log cleaner (compaction); see cleaner_config.go.
	Cleaner CleanerConfig
}

// DefaultConfig returns Kafka's defaults for dirs.
func DefaultConfig(dirs ...string) Config {
	return Config{
		Dirs:                                 dirs,
		SegmentBytes:                         1 << 30,
		RollMs:                               168 * 3600 * 1000,
		IndexSizeMaxBytes:                    10 << 20,
		IndexIntervalBytes:                   4096,
		MessageMaxBytes:                      1048588,
		MessageTimestampType:                 "CreateTime",
		FlushIntervalMessages:                NoLimit,
		FlushIntervalMs:                      -1,
		FlushSchedulerIntervalMs:             NoLimit,
		FlushOffsetCheckpointIntervalMs:      60000,
		FlushStartOffsetCheckpointIntervalMs: 60000,
		HighWatermarkCheckpointIntervalMs:    5000,
		RecoveryThreadsPerDataDir:            2,
		RetentionMs:                          168 * 3600 * 1000,
		RetentionBytes:                       -1,
		RetentionCheckIntervalMs:             300000,
		CleanupPolicy:                        "delete",
		FileDeleteDelayMs:                    60000,
		MaxOpenSegments:                      1024,
		Cleaner:                              DefaultCleanerConfig(),
	}
}

func (c *Config) validate() error {
	switch {
	case len(c.Dirs) == 0:
		return fmt.Errorf("%w: log.dirs is empty", ErrInvalidConfig)
	case c.SegmentBytes < 14:
		return fmt.Errorf("%w: log.segment.bytes %d", ErrInvalidConfig, c.SegmentBytes)
	case c.IndexSizeMaxBytes < timeEntrySize:
		return fmt.Errorf("%w: log.index.size.max.bytes %d", ErrInvalidConfig, c.IndexSizeMaxBytes)
	case c.IndexIntervalBytes < 0:
		return fmt.Errorf("%w: log.index.interval.bytes %d", ErrInvalidConfig, c.IndexIntervalBytes)
	case c.MessageMaxBytes <= 0:
		return fmt.Errorf("%w: message.max.bytes %d", ErrInvalidConfig, c.MessageMaxBytes)
	case c.FlushIntervalMessages < 1:
		return fmt.Errorf("%w: log.flush.interval.messages %d", ErrInvalidConfig, c.FlushIntervalMessages)
	case c.RollMs <= 0:
		return fmt.Errorf("%w: log.roll.ms %d", ErrInvalidConfig, c.RollMs)
	case c.MessageTimestampType != "" && c.MessageTimestampType != "CreateTime" && c.MessageTimestampType != "LogAppendTime":
		return fmt.Errorf("%w: log.message.timestamp.type %q", ErrInvalidConfig, c.MessageTimestampType)
	case c.RetentionMs < -1:
		return fmt.Errorf("%w: log.retention.ms %d", ErrInvalidConfig, c.RetentionMs)
	case c.RetentionCheckIntervalMs < 1:
		return fmt.Errorf("%w: log.retention.check.interval.ms %d", ErrInvalidConfig, c.RetentionCheckIntervalMs)
	case c.FileDeleteDelayMs < 0:
		return fmt.Errorf("%w: file.delete.delay.ms %d", ErrInvalidConfig, c.FileDeleteDelayMs)
	}
	if _, _, err := parseCleanupPolicy(c.CleanupPolicy, "log.cleanup.policy"); err != nil {
		return err
	}
	if c.RecoveryThreadsPerDataDir < 1 {
		c.RecoveryThreadsPerDataDir = 1
	}
	if c.MaxOpenSegments < 16 {
		c.MaxOpenSegments = 16
	}
	return nil
}

// TopicConfig holds per-topic overrides; nil means "use the broker
// default". A change applied with Manager.SetTopicConfig takes effect at
// the next retention pass.
//
// DURABILITY HAZARD: unset FlushMessages/FlushMs inherit the broker
// defaults, which never fsync on the append path (see Config).
type TopicConfig struct {
	SegmentBytes     *int64 // segment.bytes
	SegmentMs        *int64 // segment.ms
	SegmentJitterMs  *int64 // segment.jitter.ms
	FlushMessages    *int64 // flush.messages
	FlushMs          *int64 // flush.ms
	MaxMessageBytes  *int32 // max.message.bytes
	IndexIntervalB   *int32 // index.interval.bytes
	SegmentIndexB    *int32 // segment.index.bytes
	TimestampType    string // message.timestamp.type ("" = broker default)
	RetentionMs      *int64 // retention.ms (-1: forever)
	RetentionBytes   *int64 // retention.bytes (-1: unlimited)
	CleanupPolicy    string // cleanup.policy: "delete", "compact", "compact,delete" ("" = broker default)
	DeleteRetentionM *int64 // delete.retention.ms (later issue)
	MinCompactionLag *int64 // min.compaction.lag.ms (later issue)
	FileDeleteDelay  *int64 // file.delete.delay.ms
	// MinCleanableRatio is min.cleanable.dirty.ratio, MaxCompactionLag is
	// max.compaction.lag.ms (log cleaner, cleaner_config.go).
	MinCleanableRatio *float64
	MaxCompactionLag  *int64
}

// Ptr returns &v, for filling TopicConfig.
func Ptr[T any](v T) *T { return &v }

// logConfig is a TopicConfig resolved against the broker Config.
type logConfig struct {
	segmentBytes       int64
	segmentMs          int64
	segmentJitterMs    int64
	flushMessages      int64
	flushMs            int64 // NoLimit when unset everywhere
	maxMessageBytes    int
	indexIntervalBytes int32
	indexMaxBytes      int32
	logAppendTime      bool
	fileDeleteDelayMs  int64
	retentionMs        int64         // -1: forever
	retentionBytes     int64         // < 0: unlimited
	policyDelete       bool          // cleanup.policy contains delete
	policyCompact      bool          // cleanup.policy contains compact
	cleaner            CleanerConfig // broker-wide cleaner defaults
	topic              TopicConfig
}

func pick[T any](p *T, def T) T {
	if p != nil {
		return *p
	}
	return def
}

func resolve(c *Config, t TopicConfig) (logConfig, error) {
	lc := logConfig{
		segmentBytes:       pick(t.SegmentBytes, c.SegmentBytes),
		segmentMs:          pick(t.SegmentMs, c.RollMs),
		segmentJitterMs:    pick(t.SegmentJitterMs, c.RollJitterMs),
		flushMessages:      pick(t.FlushMessages, c.FlushIntervalMessages),
		maxMessageBytes:    int(pick(t.MaxMessageBytes, c.MessageMaxBytes)),
		indexIntervalBytes: pick(t.IndexIntervalB, c.IndexIntervalBytes),
		indexMaxBytes:      pick(t.SegmentIndexB, c.IndexSizeMaxBytes),
		fileDeleteDelayMs:  pick(t.FileDeleteDelay, c.FileDeleteDelayMs),
		retentionMs:        pick(t.RetentionMs, c.RetentionMs),
		retentionBytes:     pick(t.RetentionBytes, c.RetentionBytes),
		cleaner:            c.Cleaner,
		topic:              t,
	}
	var err error
	if t.CleanupPolicy != "" {
		lc.policyDelete, lc.policyCompact, err = parseCleanupPolicy(t.CleanupPolicy, "cleanup.policy")
	} else {
		lc.policyDelete, lc.policyCompact, err = parseCleanupPolicy(c.CleanupPolicy, "log.cleanup.policy")
	}
	if err != nil {
		return lc, err
	}
	ms := c.FlushIntervalMs
	if ms < 0 {
		ms = c.FlushSchedulerIntervalMs
	}
	lc.flushMs = pick(t.FlushMs, ms)
	// Kafka's LogConfig.maxSegmentMs: a compacted log rolls at least every
	// max.compaction.lag.ms, so the cleaner can reach its records.
	if lc.compactEnabled() {
		if lag := lc.maxCompactionLagMs(); lag > 0 && lag < lc.segmentMs {
			lc.segmentMs = lag
		}
	}
	tt := t.TimestampType
	if tt == "" {
		tt = c.MessageTimestampType
	}
	switch tt {
	case "", "CreateTime":
	case "LogAppendTime":
		lc.logAppendTime = true
	default:
		return lc, fmt.Errorf("%w: message.timestamp.type %q", ErrInvalidConfig, tt)
	}
	switch {
	case lc.segmentBytes < 14:
		return lc, fmt.Errorf("%w: segment.bytes %d", ErrInvalidConfig, lc.segmentBytes)
	case lc.segmentMs <= 0:
		return lc, fmt.Errorf("%w: segment.ms %d", ErrInvalidConfig, lc.segmentMs)
	case lc.flushMessages < 1:
		return lc, fmt.Errorf("%w: flush.messages %d", ErrInvalidConfig, lc.flushMessages)
	case lc.flushMs < 0:
		return lc, fmt.Errorf("%w: flush.ms %d", ErrInvalidConfig, lc.flushMs)
	case lc.maxMessageBytes <= 0:
		return lc, fmt.Errorf("%w: max.message.bytes %d", ErrInvalidConfig, lc.maxMessageBytes)
	case lc.indexMaxBytes < timeEntrySize:
		return lc, fmt.Errorf("%w: segment.index.bytes %d", ErrInvalidConfig, lc.indexMaxBytes)
	case lc.retentionMs < -1:
		return lc, fmt.Errorf("%w: retention.ms %d", ErrInvalidConfig, lc.retentionMs)
	case lc.fileDeleteDelayMs < 0:
		return lc, fmt.Errorf("%w: file.delete.delay.ms %d", ErrInvalidConfig, lc.fileDeleteDelayMs)
	}
	return lc, nil
}

// parseCleanupPolicy parses a cleanup.policy list: "delete", "compact" or
// both, comma-separated in any order ("" is Kafka's default, delete). key
// names the setting in the error.
func parseCleanupPolicy(s, key string) (del, compact bool, err error) {
	if strings.TrimSpace(s) == "" {
		return true, false, nil
	}
	for _, p := range strings.Split(s, ",") {
		switch strings.TrimSpace(p) {
		case "delete":
			del = true
		case "compact":
			compact = true
		default:
			return false, false, fmt.Errorf("%w: %s %q: want delete, compact or compact,delete", ErrInvalidConfig, key, s)
		}
	}
	return del, compact, nil
}

// retentionEnabled reports whether time and size retention apply: the
// cleanup policy contains delete. (Deleting segments below the log start
// offset, after DeleteRecords, applies under every policy.)
func (lc *logConfig) retentionEnabled() bool { return lc.policyDelete }

// syncBeforeAck reports whether every append must be covered by an
// fdatasync before it is acknowledged: flush.messages=1 or flush.ms=0
// (Confluent's "fsync every message" setting is both).
func (lc *logConfig) syncBeforeAck() bool { return lc.flushMessages <= 1 || lc.flushMs == 0 }

// Clock is the engine's time source; tests inject a fake one.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
