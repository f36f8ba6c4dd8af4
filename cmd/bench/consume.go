package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/internal/cli"
)

// consumeFetchLimit sizes fetches for records up to 15 MB (the largest the
// bench produces by design); a broker still returns one larger batch whole.
const consumeFetchLimit = 15 << 20

type consumeOpts struct {
	bootstrap string
	topic     string
	group     string
	count     int64
}

func newConsumeCmd(c *common) *cobra.Command {
	o := &consumeOpts{}
	cmd := &cobra.Command{
		Use:   "consume",
		Short: "Measure consume throughput from the beginning of a topic (kafka-consumer-perf-test.sh)",
		Long: `Consume a topic from its first offset and report records/s and MB/s.

By default it reads every record that is in the topic when it starts; --count
stops earlier (or waits for more). Without --group it reads the partitions
directly; with --group it joins that consumer group (a new group starts at
the beginning; an existing one resumes from its committed offsets).
It fails if no record arrives for --timeout.

The result is Kafka's consumer-perf-test CSV (MB = 1024*1024 bytes):
  start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
rebalance.time.ms is the time until the first record arrived (joining the
group, finding leaders); fetch.* cover the rest.`,
		Example: `  bench consume --bootstrap-server 127.0.0.1:9092 --topic t
  bench consume --bootstrap-server 127.0.0.1:9092 --topic t --group bench-g --count 1000000 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runConsume(cmd, c, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.bootstrap, "bootstrap-server", "", "REQUIRED: the broker(s) to connect to, host:port[,host:port]")
	f.StringVar(&o.topic, "topic", "", "REQUIRED: the topic to read")
	f.StringVar(&o.group, "group", "", "consume as this consumer group (default: read partitions directly)")
	f.Int64Var(&o.count, "count", 0, "records to read (default: all records present at the start)")
	return cmd
}

// consumeResult is the --json shape of `bench consume`.
type consumeResult struct {
	Mode          string  `json:"mode"`
	Topic         string  `json:"topic"`
	Group         string  `json:"group,omitempty"`
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	ElapsedSec    float64 `json:"elapsed_sec"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	RebalanceMs   int64   `json:"rebalance_ms"`
	FetchMs       int64   `json:"fetch_ms"`
	FetchMBPerSec float64 `json:"fetch_mb_per_sec"`
	FetchRecsSec  float64 `json:"fetch_records_per_sec"`
}

// kafkaTime is ConsumerPerformance's date format, yyyy-MM-dd HH:mm:ss:SSS.
// Go's layouts only take fractional seconds after '.' or ',', hence the
// milliseconds by hand.
func kafkaTime(t time.Time) string {
	return fmt.Sprintf("%s:%03d", t.Format("2006-01-02 15:04:05"), t.Nanosecond()/int(time.Millisecond))
}

func runConsume(cmd *cobra.Command, c *common, o *consumeOpts) error {
	if o.topic == "" {
		return cli.Usagef("missing required option --topic")
	}
	if o.count < 0 {
		return cli.Usagef("--count must not be negative")
	}
	timeout := time.Duration(c.timeout)
	ctx := cmd.Context()
	lim := limitsFor(consumeFetchLimit)
	admCl, err := cli.KafkaClient(ctx, o.bootstrap, timeout)
	if err != nil {
		return err
	}
	adm := kadm.NewClient(admCl)
	actx, cancel := context.WithTimeout(ctx, timeout)
	starts, err := adm.ListStartOffsets(actx, o.topic)
	var ends kadm.ListedOffsets
	if err == nil {
		ends, err = adm.ListEndOffsets(actx, o.topic)
	}
	cancel()
	admCl.Close()
	if err != nil {
		return fmt.Errorf("listing offsets of %q: %w", o.topic, err)
	}
	if err := ends.Error(); err != nil {
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("topic %q does not exist", o.topic)
		}
		return fmt.Errorf("listing offsets of %q: %w", o.topic, err)
	}
	if len(ends[o.topic]) == 0 {
		return fmt.Errorf("topic %q does not exist", o.topic)
	}
	var available int64
	from := map[int32]kgo.Offset{}
	for p, e := range ends[o.topic] {
		s, _ := starts.Lookup(o.topic, p)
		available += e.Offset - s.Offset
		from[p] = kgo.NewOffset().At(s.Offset)
	}
	want := o.count
	if want == 0 {
		want = available
	}
	if want == 0 {
		return fmt.Errorf("topic %q has no records to consume", o.topic)
	}

	opts := append([]kgo.Opt{}, lim.consumerOpts()...)
	if o.group != "" {
		opts = append(opts, kgo.ConsumerGroup(o.group), kgo.ConsumeTopics(o.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	} else {
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.topic: from}))
	}
	start := time.Now()
	cl, err := cli.KafkaClient(ctx, o.bootstrap, timeout, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	rec := newRecorder()
	errw := cmd.ErrOrStderr()
	prog := startProgress(errw, cli.IsTerminal(errw), time.Duration(c.reportInterval), rec, want, start, time.Time{}, rec.windowConsumeLine)
	var first, last time.Time
	var runErr error
	for rec.done() < want {
		pctx, pcancel := context.WithTimeout(ctx, timeout)
		fetches := cl.PollRecords(pctx, 100000)
		idle := pctx.Err() != nil && ctx.Err() == nil
		pcancel()
		if ctx.Err() != nil {
			runErr = errors.New("interrupted")
			break
		}
		fetches.EachError(func(t string, p int32, err error) {
			switch {
			case runErr != nil || errors.Is(err, context.DeadlineExceeded):
			case t == "": // a client-wide error, e.g. joining the group
				runErr = fmt.Errorf("consuming: %w", err)
			default:
				runErr = fmt.Errorf("fetching %s[%d]: %w", t, p, err)
			}
		})
		if runErr != nil {
			break
		}
		now := time.Now()
		n := 0
		fetches.EachRecord(func(r *kgo.Record) {
			if rec.done() >= want {
				return
			}
			rec.record(0, len(r.Key)+len(r.Value), now)
			n++
		})
		if n > 0 {
			if first.IsZero() {
				first = now
			}
			last = now
		} else if idle {
			runErr = fmt.Errorf("no record arrived for %v; read %d of %d records", timeout, rec.done(), want)
			break
		}
	}
	prog.close()
	if first.IsZero() {
		first, last = time.Now(), time.Now()
	}
	s := rec.summarize(last.Sub(start))
	mb := float64(s.Bytes) / mib
	elapsed := max(last.Sub(start).Seconds(), 1e-9)
	fetchMs := last.Sub(first).Milliseconds()
	fetchSec := max(float64(fetchMs)/1000, 1e-9)
	res := consumeResult{Mode: "consume", Topic: o.topic, Group: o.group, Records: s.Records, Bytes: s.Bytes,
		ElapsedSec: elapsed, RecordsPerSec: float64(s.Records) / elapsed, MBPerSec: mb / elapsed,
		RebalanceMs: first.Sub(start).Milliseconds(), FetchMs: fetchMs,
		FetchMBPerSec: mb / fetchSec, FetchRecsSec: float64(s.Records) / fetchSec}
	out := cmd.OutOrStdout()
	if c.jsonOut() {
		if err := cli.WriteJSON(out, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(out, "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")
		fmt.Fprintf(out, "%s, %s, %.4f, %.4f, %d, %.4f, %d, %d, %.4f, %.4f\n",
			kafkaTime(start), kafkaTime(last), mb, res.MBPerSec, res.Records, res.RecordsPerSec,
			res.RebalanceMs, res.FetchMs, res.FetchMBPerSec, res.FetchRecsSec)
	}
	return runErr
}
