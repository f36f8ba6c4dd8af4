package group

// PartitionLag is one partition's consumer lag.
type PartitionLag struct {
	Topic     string
	Partition int32
	Committed int64 // -1: nothing committed
	LogEnd    int64 // -1: unknown partition
	Lag       int64 // LogEnd - Committed; -1 when either is unknown
}

// Lag is the lag of a committed offset against a log end offset, as
// kafka-consumer-groups.sh computes it (never negative; -1 if unknown).
func Lag(committed, logEnd int64) int64 {
	if committed < 0 || logEnd < 0 {
		return -1
	}
	return max(logEnd-committed, 0)
}

// GroupLag returns the lag of every partition group has committed, sorted
// by topic and partition. logEnd gives the partition's log end offset
// (high watermark), false if the partition does not exist.
func (c *Coordinator) GroupLag(group string, logEnd func(topic string, partition int32) (int64, bool)) []PartitionLag {
	g := c.groups[group]
	if g == nil {
		return nil
	}
	var out []PartitionLag
	for _, tp := range sortedTPs(g.offsets) {
		pl := PartitionLag{Topic: tp.topic, Partition: tp.partition, Committed: g.offsets[tp].offset, LogEnd: -1}
		if end, ok := logEnd(tp.topic, tp.partition); ok {
			pl.LogEnd = end
		}
		pl.Lag = Lag(pl.Committed, pl.LogEnd)
		out = append(out, pl)
	}
	return out
}
