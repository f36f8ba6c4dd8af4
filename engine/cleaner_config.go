package engine

import (
	"math"

	"github.com/gregorlog/gregor/engine/batch"
)

// CleanerConfig is the broker-wide log cleaner configuration. Field
// comments give the server.properties name and Kafka's default;
// DefaultCleanerConfig fills them in. The ratio, lags and delete retention
// can be overridden per topic (TopicConfig).
type CleanerConfig struct {
	// Enable is log.cleaner.enable (true).
	Enable bool
	// Threads is log.cleaner.threads (1).
	Threads int
	// DedupeBufferSize is log.cleaner.dedupe.buffer.size (128 MiB), the
	// memory for the key maps of all cleaner threads together.
	DedupeBufferSize int64
	// IOMaxBytesPerSecond is log.cleaner.io.max.bytes.per.second
	// (Double.MAX_VALUE: unlimited), read plus write bytes of all threads.
	IOMaxBytesPerSecond float64
	// MinCleanableRatio is log.cleaner.min.cleanable.ratio (0.5); topic
	// min.cleanable.dirty.ratio.
	MinCleanableRatio float64
	// MinCompactionLagMs is log.cleaner.min.compaction.lag.ms (0); topic
	// min.compaction.lag.ms.
	MinCompactionLagMs int64
	// MaxCompactionLagMs is log.cleaner.max.compaction.lag.ms (Long.MAX);
	// topic max.compaction.lag.ms.
	MaxCompactionLagMs int64
	// DeleteRetentionMs is log.cleaner.delete.retention.ms (86400000);
	// topic delete.retention.ms.
	DeleteRetentionMs int64
	// BackoffMs is log.cleaner.backoff.ms (15000): how long an idle
	// cleaner thread sleeps before looking for work again.
	BackoffMs int64
}

// DefaultCleanerConfig returns Kafka's cleaner defaults.
func DefaultCleanerConfig() CleanerConfig {
	return CleanerConfig{
		Enable:              true,
		Threads:             1,
		DedupeBufferSize:    128 << 20,
		IOMaxBytesPerSecond: math.MaxFloat64,
		MinCleanableRatio:   0.5,
		MinCompactionLagMs:  0,
		MaxCompactionLagMs:  NoLimit,
		DeleteRetentionMs:   86400000,
		BackoffMs:           15000,
	}
}

// compactEnabled reports whether the log's cleanup.policy (or the broker's
// log.cleanup.policy when the topic sets none) contains "compact"; resolve
// parsed it.
func (lc logConfig) compactEnabled() bool { return lc.policyCompact }

func (lc logConfig) minCleanableRatio() float64 {
	return pick(lc.topic.MinCleanableRatio, lc.cleaner.MinCleanableRatio)
}

func (lc logConfig) minCompactionLagMs() int64 {
	return max(pick(lc.topic.MinCompactionLag, lc.cleaner.MinCompactionLagMs), 0)
}

func (lc logConfig) maxCompactionLagMs() int64 {
	return max(pick(lc.topic.MaxCompactionLag, lc.cleaner.MaxCompactionLagMs), 0)
}

func (lc logConfig) deleteRetentionMs() int64 {
	return max(pick(lc.topic.DeleteRetentionM, lc.cleaner.DeleteRetentionMs), 0)
}

// validateAppend is batch.ValidateProduce plus, on a compacted log,
// Kafka's LogValidator rule that every record has a key ("Compacted topic
// cannot accept message without key": INVALID_RECORD).
func validateAppend(b []byte, cfg *logConfig) (batch.Header, error) {
	return batch.ValidateProduceKeyed(b, cfg.maxMessageBytes, cfg.compactEnabled())
}
