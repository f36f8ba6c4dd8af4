package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/internal/cli"
)

type produceOpts struct {
	bootstrap   string
	topic       string
	size        cli.SizeFlag
	count       int64
	duration    time.Duration
	rate        float64
	producers   int
	acks        string
	compression string
	partitions  int32
	linger      time.Duration
	bufMemory   cli.SizeFlag
}

func newProduceCmd(c *common) *cobra.Command {
	o := &produceOpts{size: 100}
	cmd := &cobra.Command{
		Use:   "produce",
		Short: "Measure produce throughput and ack latency (kafka-producer-perf-test.sh)",
		Long: `Produce --count records (or for --duration) of --size random bytes and
report throughput and produce-ack latency. The topic is created (with
--partitions) if missing, with max.message.bytes raised to fit the record,
and the client's batch, request and fetch limits grow with --size, so
--size 15MB (15,000,000 bytes) just works, also on an existing topic that
allows 15 MiB messages as the sample server.properties does. An existing
topic whose max.message.bytes is too small for one record is an error
(up front when the topic or broker sets it explicitly, otherwise from the
broker's MESSAGE_TOO_LARGE), with the command that raises the limit.

Without --rate, producers send as fast as the client's buffer allows.
With --rate R (records/s over all producers) sends follow a fixed
schedule (open loop) and latency is measured from each record's scheduled
time, so a slow broker shows up as latency instead of a lower send rate.

Every --report-interval a line like Kafka's goes to stderr:
  N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency.
At the end Kafka's summary line goes to stdout (MB = 1024*1024 bytes):
  N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency, P50 ms 50th, P95 ms 95th, P99 ms 99th, P999 ms 99.9th.`,
		Example: `  bench produce --bootstrap-server 127.0.0.1:9092 --topic big --size 15MB --count 50
  bench produce --bootstrap-server 127.0.0.1:9092 --topic t --size 1KB --count 1000000 --linger 5ms
  bench produce --bootstrap-server 127.0.0.1:9092 --topic t --size 1KB --duration 60s --rate 20000 --producers 4 --acks 1 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runProduce(cmd, c, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.bootstrap, "bootstrap-server", "", "REQUIRED: the broker(s) to connect to, host:port[,host:port]")
	f.StringVar(&o.topic, "topic", "", "REQUIRED: the topic (created if missing)")
	f.Var(&o.size, "size", "record size: 100, 1KB, 15MB (KB/MB = 10^3/10^6 bytes; KiB/MiB = 2^10/2^20)")
	f.Int64Var(&o.count, "count", 0, "number of records to send (this or --duration)")
	f.DurationVar(&o.duration, "duration", 0, "how long to send (this or --count)")
	f.Float64Var(&o.rate, "rate", 0, "records per second over all producers, open loop (0: as fast as possible)")
	f.IntVar(&o.producers, "producers", 1, "number of producer clients, each with its own connections")
	f.StringVar(&o.acks, "acks", "all", "0, 1 or all")
	f.StringVar(&o.compression, "compression", "none", "none, gzip, snappy, lz4 or zstd")
	f.Int32Var(&o.partitions, "partitions", 1, "partitions for a topic bench creates")
	f.DurationVar(&o.linger, "linger", 5*time.Millisecond, "how long the client waits to fill a batch")
	f.Var(&o.bufMemory, "buffer-memory", "bytes each producer may buffer unsent (Kafka's buffer.memory; default max(64MiB, 4 records)); bounds how long a --duration run takes to drain")
	return cmd
}

// produceResult is the --json shape of `bench produce`.
type produceResult struct {
	Mode string `json:"mode"`
	summary
	Config produceConfig `json:"config"`
}

type produceConfig struct {
	Topic        string  `json:"topic"`
	RecordSize   int64   `json:"record_size"`
	Count        int64   `json:"count,omitempty"`
	DurationSec  float64 `json:"duration_sec,omitempty"`
	Rate         float64 `json:"rate"`
	Producers    int     `json:"producers"`
	Acks         string  `json:"acks"`
	Compression  string  `json:"compression"`
	Partitions   int     `json:"partitions"`
	LingerMs     float64 `json:"linger_ms"`
	TopicCreated bool    `json:"topic_created"`
}

func checkRunLength(count int64, duration time.Duration) error {
	switch {
	case count < 0 || duration < 0:
		return cli.Usagef("--count and --duration must not be negative")
	case count > 0 && duration > 0:
		return cli.Usagef("give --count or --duration, not both")
	case count == 0 && duration == 0:
		return cli.Usagef("give --count N or --duration D")
	}
	return nil
}

func runProduce(cmd *cobra.Command, c *common, o *produceOpts) error {
	if o.topic == "" {
		return cli.Usagef("missing required option --topic")
	}
	if err := checkRunLength(o.count, o.duration); err != nil {
		return err
	}
	size := int64(o.size)
	switch {
	case size <= 0:
		return cli.Usagef("--size must be at least 1 byte")
	case size > 512<<20:
		return cli.Usagef("--size above 512MB is not supported")
	case o.producers < 1:
		return cli.Usagef("--producers must be at least 1")
	case o.rate < 0:
		return cli.Usagef("--rate must not be negative")
	case o.linger < 0:
		return cli.Usagef("--linger must not be negative")
	}
	codec, err := compressionCodec(o.compression)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	aOpts, err := acksOpts(o.acks)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	lim := limitsFor(size)
	timeout := time.Duration(c.timeout)
	ctx := cmd.Context()

	admCl, err := cli.KafkaClient(ctx, o.bootstrap, timeout, lim.producerOpts()...)
	if err != nil {
		return err
	}
	defer admCl.Close()
	actx, cancel := context.WithTimeout(ctx, timeout)
	nparts, created, warn, err := prepareTopic(actx, admCl, o.topic, o.partitions, size, &lim)
	cancel()
	if err != nil {
		return err
	}
	if warn != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), warn)
	}

	opts := append([]kgo.Opt{
		kgo.DefaultProduceTopic(o.topic),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerLinger(o.linger),
		kgo.RecordDeliveryTimeout(timeout),
		kgo.MaxBufferedBytes(bufferBytes(int64(o.bufMemory), size)),
	}, aOpts...)
	opts = append(opts, lim.producerOpts()...)
	clients := make([]*kgo.Client, o.producers)
	for i := range clients {
		cl, err := cli.KafkaClient(ctx, o.bootstrap, timeout, opts...)
		if err != nil {
			for _, c := range clients[:i] {
				c.Close()
			}
			return err
		}
		clients[i] = cl
	}
	defer func() {
		for _, cl := range clients {
			cl.Close()
		}
	}()
	pool := payloads(size, o.count, lim, 1)

	rec := newRecorder()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	var deadline time.Time
	if o.duration > 0 {
		deadline = start.Add(o.duration)
	}
	errw := cmd.ErrOrStderr()
	prog := startProgress(errw, cli.IsTerminal(errw), time.Duration(c.reportInterval), rec, o.count, start, deadline, nil)

	var wg sync.WaitGroup
	for i, cl := range clients {
		share := int64(0)
		if o.count > 0 {
			share = o.count / int64(o.producers)
			if int64(i) < o.count%int64(o.producers) {
				share++
			}
		}
		var interval time.Duration
		if o.rate > 0 {
			interval = time.Duration(float64(time.Second) * float64(o.producers) / o.rate)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			produceLoop(runCtx, cl, rec, stop, pool, i, o.producers, share, start, deadline, interval)
		}()
	}
	wg.Wait()
	for _, cl := range clients {
		fctx, fcancel := context.WithTimeout(context.Background(), timeout+5*time.Second)
		if err := cl.Flush(fctx); err != nil && !errors.Is(err, context.Canceled) {
			rec.fail(fmt.Errorf("flushing: %w", err))
		}
		fcancel()
	}
	elapsed := time.Since(start)
	prog.close()

	sum := rec.summarize(elapsed)
	out := cmd.OutOrStdout()
	if c.jsonOut() {
		res := produceResult{Mode: "produce", summary: sum, Config: produceConfig{
			Topic: o.topic, RecordSize: size, Count: o.count, DurationSec: o.duration.Seconds(), Rate: o.rate,
			Producers: o.producers, Acks: o.acks, Compression: o.compression, Partitions: nparts,
			LingerMs: ms(o.linger), TopicCreated: created,
		}}
		if err := cli.WriteJSON(out, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(out, sum.kafkaLine())
	}
	if n, first := rec.failures(); n > 0 {
		if errors.Is(first, kerr.MessageTooLarge) {
			return fmt.Errorf("%d records failed; first error: %v; the topic's max.message.bytes is too small: %s", n, first, tooLargeHint(o.topic, &lim))
		}
		return fmt.Errorf("%d records failed; first error: %v", n, first)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted")
	}
	return nil
}

// produceLoop sends one producer's records. With interval > 0 it follows a
// fixed schedule (open loop): record j is due at start + j*interval, and
// its latency is measured from that time even if the sender fell behind.
// The first failure stops the run.
func produceLoop(ctx context.Context, cl *kgo.Client, rec *recorder, stop func(), pool [][]byte, id, producers int, share int64,
	start, deadline time.Time, interval time.Duration) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	// Offset the schedules of producers so they do not send in lockstep.
	phase := interval * time.Duration(id) / time.Duration(producers)
	for j := int64(0); share == 0 || j < share; j++ {
		if ctx.Err() != nil {
			return
		}
		var intended time.Time
		if interval > 0 {
			intended = start.Add(phase + time.Duration(j)*interval)
			if !deadline.IsZero() && !intended.Before(deadline) {
				return
			}
			if d := time.Until(intended); d > 0 {
				timer.Reset(d)
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
			}
		} else {
			intended = time.Now()
			if !deadline.IsZero() && !intended.Before(deadline) {
				return
			}
		}
		v := pool[(int64(id)*7919+j)%int64(len(pool))]
		cl.Produce(ctx, &kgo.Record{Value: v}, func(r *kgo.Record, err error) {
			now := time.Now()
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					rec.fail(err)
					stop()
				}
				return
			}
			rec.record(now.Sub(intended), len(r.Value)+len(r.Key), now)
		})
	}
}

// bufferBytes is each producer's unsent-bytes limit: --buffer-memory, at
// least one record, or max(64 MiB, 4 records) by default.
func bufferBytes(flag, size int64) int {
	if flag <= 0 {
		return int(max(64<<20, 4*size))
	}
	return int(max(flag, size))
}
