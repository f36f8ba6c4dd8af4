package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/internal/cli"
)

// e2eHeader is the prefix bench e2e writes into every value:
//
//	0      8      16     24
//	+------+------+------+---- random fill ----+
//	| run  | seq  | due  |                      |
//	+------+------+------+----------------------+
//
// run identifies this run (records of others are skipped), seq numbers the
// record, due is its scheduled send time in Unix nanoseconds, all
// big-endian uint64. The end-to-end latency is receive time minus due.
const e2eHeader = 24

type e2eOpts struct {
	bootstrap  string
	topic      string
	size       cli.SizeFlag
	count      int64
	duration   time.Duration
	rate       float64
	acks       string
	partitions int32
	linger     time.Duration
}

func newE2ECmd(c *common) *cobra.Command {
	o := &e2eOpts{size: 100}
	cmd := &cobra.Command{
		Use:   "e2e",
		Short: "Measure end-to-end latency at a fixed rate (kafka-e2e-latency.sh)",
		Long: `Produce records at a fixed --rate (open loop) while a consumer tails the
topic, and report the latency from each record's scheduled send time to its
arrival at the consumer, plus the produce-ack latency. Both clients run in
this process, so one clock measures both ends.

The output starts with Kafka's EndToEndLatency lines:
  Avg latency: A ms
  Percentiles: 50th = P50, 99th = P99, 99.9th = P999
then one summary line with both latencies. Records not received within
--timeout after the last send make the run fail.`,
		Example: `  bench e2e --bootstrap-server 127.0.0.1:9092 --topic lat --rate 1000 --duration 30s
  bench e2e --bootstrap-server 127.0.0.1:9092 --topic lat --rate 200 --count 5000 --size 1KB --acks 1 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runE2E(cmd, c, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.bootstrap, "bootstrap-server", "", "REQUIRED: the broker(s) to connect to, host:port[,host:port]")
	f.StringVar(&o.topic, "topic", "", "REQUIRED: the topic (created if missing)")
	f.Var(&o.size, "size", "record size, at least 24 bytes: 100, 1KB, 1MiB")
	f.Int64Var(&o.count, "count", 0, "number of records (this or --duration)")
	f.DurationVar(&o.duration, "duration", 0, "how long to send (this or --count)")
	f.Float64Var(&o.rate, "rate", 1000, "records per second (open loop)")
	f.StringVar(&o.acks, "acks", "all", "0, 1 or all")
	f.Int32Var(&o.partitions, "partitions", 1, "partitions for a topic bench creates")
	f.DurationVar(&o.linger, "linger", 0, "how long the producer waits to fill a batch")
	return cmd
}

// e2eResult is the --json shape of `bench e2e`.
type e2eResult struct {
	Mode          string    `json:"mode"`
	Topic         string    `json:"topic"`
	RecordSize    int64     `json:"record_size"`
	Rate          float64   `json:"rate"`
	Sent          int64     `json:"sent"`
	Received      int64     `json:"received"`
	ElapsedSec    float64   `json:"elapsed_sec"`
	RecordsPerSec float64   `json:"records_per_sec"`
	EndToEnd      latencyMs `json:"end_to_end_latency_ms"`
	ProduceAck    latencyMs `json:"produce_ack_latency_ms"`
}

func runE2E(cmd *cobra.Command, c *common, o *e2eOpts) error {
	if o.topic == "" {
		return cli.Usagef("missing required option --topic")
	}
	if err := checkRunLength(o.count, o.duration); err != nil {
		return err
	}
	size := int64(o.size)
	switch {
	case size < e2eHeader:
		return cli.Usagef("--size must be at least %d bytes (the timestamp header)", e2eHeader)
	case size > 64<<20:
		return cli.Usagef("--size above 64MB is not supported by e2e")
	case o.rate <= 0:
		return cli.Usagef("--rate must be positive: e2e measures latency at a fixed rate")
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
	adm := kadm.NewClient(admCl)
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, _, warn, err := prepareTopic(actx, admCl, o.topic, o.partitions, size, &lim)
	if err != nil {
		return err
	}
	if warn != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), warn)
	}
	ends, err := adm.ListEndOffsets(actx, o.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("listing end offsets of %q: %w", o.topic, err)
	}
	from := map[int32]kgo.Offset{}
	for p, e := range ends[o.topic] {
		from[p] = kgo.NewOffset().At(e.Offset)
	}
	cons, err := cli.KafkaClient(ctx, o.bootstrap, timeout, append(lim.consumerOpts(),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.topic: from}),
		kgo.FetchMaxWait(100*time.Millisecond))...)
	if err != nil {
		return err
	}
	defer cons.Close()
	prod, err := cli.KafkaClient(ctx, o.bootstrap, timeout, append(append(lim.producerOpts(), aOpts...),
		kgo.DefaultProduceTopic(o.topic), kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerLinger(o.linger), kgo.RecordDeliveryTimeout(timeout))...)
	if err != nil {
		return err
	}
	defer prod.Close()

	runID := rand.Uint64()
	fill := payloads(size, o.count, lim, runID)
	e2e, acks := newRecorder(), newRecorder()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()

	var (
		sentMu   sync.Mutex
		sent     int64
		sendDone = make(chan struct{})
	)
	start := time.Now()
	var deadline time.Time
	if o.duration > 0 {
		deadline = start.Add(o.duration)
	}
	errw := cmd.ErrOrStderr()
	total := o.count
	prog := startProgress(errw, cli.IsTerminal(errw), time.Duration(c.reportInterval), e2e, total, start, deadline, e2e.windowConsumeLine)

	go func() {
		defer close(sendDone)
		interval := time.Duration(float64(time.Second) / o.rate)
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		for j := int64(0); o.count == 0 || j < o.count; j++ {
			due := start.Add(time.Duration(j) * interval)
			if !deadline.IsZero() && !due.Before(deadline) {
				return
			}
			if d := time.Until(due); d > 0 {
				timer.Reset(d)
				select {
				case <-runCtx.Done():
					return
				case <-timer.C:
				}
			}
			if runCtx.Err() != nil {
				return
			}
			v := make([]byte, size)
			copy(v, fill[j%int64(len(fill))])
			binary.BigEndian.PutUint64(v[0:], runID)
			binary.BigEndian.PutUint64(v[8:], uint64(j))
			binary.BigEndian.PutUint64(v[16:], uint64(due.UnixNano()))
			sentMu.Lock()
			sent++
			sentMu.Unlock()
			prod.Produce(runCtx, &kgo.Record{Value: v}, func(r *kgo.Record, err error) {
				now := time.Now()
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						acks.fail(err)
						stop()
					}
					return
				}
				acks.record(now.Sub(due), len(r.Value), now)
			})
		}
	}()

	// Consume until every sent record arrived, or nothing arrives for
	// --timeout after the sender finished.
	var runErr error
	seen := map[uint64]bool{}
	var lastArrival time.Time
	sendFinished := false
	for {
		sentMu.Lock()
		s := sent
		sentMu.Unlock()
		if sendFinished && int64(len(seen)) >= s {
			break
		}
		if !sendFinished {
			select {
			case <-sendDone:
				sendFinished = true
				continue
			default:
			}
		}
		pctx, pcancel := context.WithTimeout(runCtx, 250*time.Millisecond)
		fetches := cons.PollFetches(pctx)
		pcancel()
		if ctx.Err() != nil {
			runErr = errors.New("interrupted")
			break
		}
		if n, first := acks.failures(); n > 0 {
			runErr = fmt.Errorf("%d records failed to produce; first error: %v", n, first)
			break
		}
		fetches.EachError(func(t string, p int32, err error) {
			if runErr == nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				runErr = fmt.Errorf("fetching %s[%d]: %w", t, p, err)
			}
		})
		if runErr != nil {
			break
		}
		now := time.Now()
		fetches.EachRecord(func(r *kgo.Record) {
			if len(r.Value) < e2eHeader || binary.BigEndian.Uint64(r.Value) != runID {
				return // another writer's record
			}
			seq := binary.BigEndian.Uint64(r.Value[8:])
			if seen[seq] {
				return
			}
			seen[seq] = true
			due := time.Unix(0, int64(binary.BigEndian.Uint64(r.Value[16:])))
			e2e.record(now.Sub(due), len(r.Value), now)
			lastArrival = now
		})
		if sendFinished {
			if lastArrival.IsZero() {
				lastArrival = now
			}
			if now.Sub(lastArrival) > timeout {
				runErr = fmt.Errorf("%d of %d records not received within %v", s-int64(len(seen)), s, timeout)
				break
			}
		}
	}
	stop()
	<-sendDone
	prog.close()

	elapsed := time.Since(start)
	es, as := e2e.summarize(elapsed), acks.summarize(elapsed)
	sentMu.Lock()
	res := e2eResult{Mode: "e2e", Topic: o.topic, RecordSize: size, Rate: o.rate, Sent: sent, Received: es.Records,
		ElapsedSec: elapsed.Seconds(), RecordsPerSec: es.RecordsPerSec, EndToEnd: es.Latency, ProduceAck: as.Latency}
	sentMu.Unlock()
	out := cmd.OutOrStdout()
	if c.jsonOut() {
		if err := cli.WriteJSON(out, res); err != nil {
			return err
		}
	} else {
		p := es.latencyMicros
		fmt.Fprintf(out, "Avg latency: %.4f ms\n", es.Latency.Avg)
		fmt.Fprintf(out, "Percentiles: 50th = %d, 99th = %d, 99.9th = %d\n", p[0]/1000, p[2]/1000, p[3]/1000)
		fmt.Fprintf(out, "%d records received of %d sent, %.1f records/sec, end-to-end %.2f ms avg, %.2f ms max, %.3f ms 50th, %.3f ms 95th, %.3f ms 99th, %.3f ms 99.9th; produce-ack %.2f ms avg, %.3f ms 50th, %.3f ms 99th, %.3f ms 99.9th.\n",
			res.Received, res.Sent, res.RecordsPerSec, es.Latency.Avg, es.Latency.Max, es.Latency.P50, es.Latency.P95, es.Latency.P99, es.Latency.P999,
			as.Latency.Avg, as.Latency.P50, as.Latency.P99, as.Latency.P999)
	}
	return runErr
}
