package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Limits that must grow with the record size (io-and-performance.md §7.5).
const (
	kafkaDefaultMaxMessageBytes = 1048588   // broker message.max.bytes default
	kgoDefaultBatchMaxBytes     = 1000012   // kgo's ProducerBatchMaxBytes default
	kgoDefaultBrokerMaxBytes    = 100 << 20 // kgo's BrokerMaxWrite/ReadBytes default
	batchSlack                  = 4096      // room above one record in a batch bench sizes itself
	// recordOverhead bounds a batch holding one keyless record beyond its
	// value: the 61-byte v2 batch header plus the record's varint framing.
	recordOverhead = 128
)

// limits are the client and topic sizes that fit one record of a size.
type limits struct {
	batchMax        int32 // kgo ProducerBatchMaxBytes; the topic's max.message.bytes must be >= this
	brokerMaxBytes  int32 // kgo BrokerMaxWriteBytes and BrokerMaxReadBytes
	fetchMaxBytes   int32 // kgo FetchMaxBytes
	fetchPartMax    int32 // kgo FetchMaxPartitionBytes
	maxMessageBytes int   // max.message.bytes for a topic bench creates
}

func limitsFor(recordSize int64) limits {
	batch := max(int64(kgoDefaultBatchMaxBytes), recordSize+batchSlack)
	l := limits{
		batchMax:        int32(batch),
		maxMessageBytes: int(max(int64(kafkaDefaultMaxMessageBytes), batch)),
		fetchPartMax:    int32(max(1<<20, batch)),
		fetchMaxBytes:   int32(max(50<<20, 2*batch)),
	}
	l.brokerMaxBytes = int32(max(int64(kgoDefaultBrokerMaxBytes), 2*batch+(1<<20)))
	return l
}

func (l limits) producerOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.ProducerBatchMaxBytes(l.batchMax),
		kgo.BrokerMaxWriteBytes(l.brokerMaxBytes),
	}
}

func (l limits) consumerOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.FetchMaxBytes(l.fetchMaxBytes),
		kgo.FetchMaxPartitionBytes(l.fetchPartMax),
		kgo.BrokerMaxReadBytes(max(l.brokerMaxBytes, l.fetchMaxBytes+(1<<20))),
	}
}

// prepareTopic creates topic when it is missing, with partitions partitions
// (1 if <= 0) and max.message.bytes raised to fit recordSize. For an
// existing topic it reads max.message.bytes, fails clearly if one record
// cannot fit (every send would fail; bench does not alter a topic it did
// not create), and lowers l.batchMax to it so batches are never rejected.
// It returns the topic's partition count, whether bench created it, and a
// warning for stderr, if any.
func prepareTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32, recordSize int64, l *limits) (nparts int, created bool, warn string, err error) {
	adm := kadm.NewClient(cl)
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return 0, false, "", fmt.Errorf("reading metadata: %w", err)
	}
	td, ok := md.Topics[topic]
	if ok && td.Err == nil {
		rcs, err := adm.DescribeTopicConfigs(ctx, topic)
		if err != nil {
			return 0, false, "", fmt.Errorf("describing topic %q: %w", topic, err)
		}
		rc, err := rcs.On(topic, nil)
		if err == nil && rc.Err == nil {
			for _, c := range rc.Configs {
				if c.Key != "max.message.bytes" || c.Value == nil {
					continue
				}
				n, err := strconv.ParseInt(*c.Value, 10, 32)
				if err != nil {
					continue
				}
				if n >= recordSize+recordOverhead {
					l.batchMax = min(l.batchMax, int32(n))
					continue
				}
				// An explicit limit (topic override or broker setting) is
				// authoritative. A value reported as the built-in default may
				// not reflect the broker's message.max.bytes on every broker
				// (kfake reports it so), so then warn and let the broker decide.
				if c.Source != kmsg.ConfigSourceDefaultConfig {
					return 0, false, "", fmt.Errorf("topic %q has max.message.bytes=%d, too small for %d-byte records; %s",
						topic, n, recordSize, tooLargeHint(topic, l))
				}
				warn = fmt.Sprintf("warning: topic %q reports the default max.message.bytes=%d, below the %d-byte records; trying anyway", topic, n, recordSize)
			}
		}
		return len(td.Partitions), false, warn, nil
	}
	if ok && td.Err != nil && !errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		return 0, false, "", fmt.Errorf("topic %q: %w", topic, td.Err)
	}
	if partitions <= 0 {
		partitions = 1
	}
	configs := map[string]*string{}
	if l.maxMessageBytes > kafkaDefaultMaxMessageBytes {
		v := strconv.Itoa(l.maxMessageBytes)
		configs["max.message.bytes"] = &v
	}
	resp, err := adm.CreateTopic(ctx, partitions, -1, configs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		msg := ""
		if resp.ErrMessage != "" {
			msg = " (" + resp.ErrMessage + ")"
		}
		return 0, false, "", fmt.Errorf("creating topic %q: %w%s", topic, err, msg)
	}
	// Wait until every partition has a leader, so the first sends do not
	// race the topic's creation. A raw Metadata request: kadm's answer may
	// come from kgo's metadata cache, which still says "no such topic".
	deadline := time.Now().Add(30 * time.Second)
	for {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err == nil && len(resp.Topics) == 1 && resp.Topics[0].ErrorCode == 0 {
			parts := resp.Topics[0].Partitions
			ready := len(parts) >= int(partitions)
			for _, p := range parts {
				ready = ready && p.ErrorCode == 0 && p.Leader >= 0
			}
			if ready {
				return len(parts), true, "", nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return 0, true, "", fmt.Errorf("topic %q was created but its partitions have no leader yet", topic)
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// payloads returns a pool of distinct random payloads of size bytes. The
// pool spans at least two maximum batches, so no batch repeats a payload
// and compression (if enabled) sees incompressible data, as io-and-
// performance.md §2 asks; it never needs more than count payloads.
func payloads(size int64, count int64, l limits, seed uint64) [][]byte {
	n := max(int64(1), (2*int64(l.batchMax)+size-1)/max(size, 1))
	if count > 0 {
		n = min(n, count)
	}
	n = min(n, 1<<20)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	buf := make([]byte, n*size)
	rng.Read(buf) //nolint:errcheck // ChaCha8.Read never fails
	out := make([][]byte, n)
	for i := range out {
		out[i] = buf[int64(i)*size : int64(i+1)*size : int64(i+1)*size]
	}
	return out
}

// tooLargeHint tells how to make a topic accept the records.
func tooLargeHint(topic string, l *limits) string {
	return fmt.Sprintf("raise it (gregor configs --alter --topic %s --add-config max.message.bytes=%d) or use a new topic", topic, l.maxMessageBytes)
}

func compressionCodec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("unknown compression %q (want none, gzip, snappy, lz4 or zstd)", name)
}

// maxInflight is Kafka's producer default max.in.flight.requests.per.connection.
// kgo allows 5 with idempotence (acks=all) but only 1 without unless told,
// which would serialize acks=0/1 producers (one 15 MB request at a time)
// where Kafka's own perf tool pipelines five.
const maxInflight = 5

// acksOpts maps --acks to kgo options; idempotence needs acks=all.
func acksOpts(acks string) ([]kgo.Opt, error) {
	switch acks {
	case "all", "-1":
		return []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks())}, nil
	case "1":
		return []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(maxInflight)}, nil
	case "0":
		return []kgo.Opt{kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(maxInflight)}, nil
	}
	return nil, fmt.Errorf("invalid --acks %q (want 0, 1 or all)", acks)
}
