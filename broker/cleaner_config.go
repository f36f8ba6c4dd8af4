package broker

import (
	"github.com/gregorlog/gregor/broker/config"
	"github.com/gregorlog/gregor/engine"
)

// engineCleanerConfig maps the log.cleaner.* keys of server.properties
// onto the engine's log cleaner configuration (log.cleanup.policy, the
// default for topics without their own, is engine.Config.CleanupPolicy).
func engineCleanerConfig(c *config.Config) engine.CleanerConfig {
	return engine.CleanerConfig{
		Enable:              c.Bool("log.cleaner.enable"),
		Threads:             int(c.Int("log.cleaner.threads")),
		DedupeBufferSize:    c.Long("log.cleaner.dedupe.buffer.size"),
		IOMaxBytesPerSecond: c.Double("log.cleaner.io.max.bytes.per.second"),
		MinCleanableRatio:   c.Double("log.cleaner.min.cleanable.ratio"),
		MinCompactionLagMs:  c.Long("log.cleaner.min.compaction.lag.ms"),
		MaxCompactionLagMs:  c.Long("log.cleaner.max.compaction.lag.ms"),
		DeleteRetentionMs:   c.Long("log.cleaner.delete.retention.ms"),
		BackoffMs:           c.Long("log.cleaner.backoff.ms"),
	}
}
