package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/internal/cli"
)

type consumerOpts struct {
	bootstrap      string
	topic          string
	group          string
	fromBeginning  bool
	partition      int32
	offset         string
	maxMessages    int64
	timeoutMs      int64
	isolationLevel string
	properties     []string
}

// formatter holds DefaultMessageFormatter's --property settings.
type formatter struct {
	printTimestamp, printKey, printValue bool
	printOffset, printPartition          bool
	printHeaders                         bool
	keySep, lineSep, headersSep          string
	nullLiteral                          string
}

func newConsumerCmd(g *globals) *cobra.Command {
	o := &consumerOpts{}
	cmd := &cobra.Command{
		Use:   "console-consumer",
		Short: "Print records from a topic (kafka-console-consumer.sh)",
		Long: `Consume records and print one per line, as kafka-console-consumer.sh does.
Without --from-beginning it starts at the end of the log. It stops after
--max-messages records or after --timeout-ms without a record, and on exit
prints "Processed a total of N messages" to stderr.

Formatter properties (--property): print.key, print.value (default true),
print.timestamp, print.offset, print.partition, print.headers,
key.separator (default a tab), line.separator, headers.separator,
null.literal. Fields appear in Kafka's order: CreateTime:<ms>,
Partition:<p>, Offset:<o>, headers, key, value.

--format json prints one JSON object per record instead.`,
		Example: `  gregor console-consumer --bootstrap-server 127.0.0.1:9092 --topic t --from-beginning --max-messages 10
  gregor console-consumer --bootstrap-server 127.0.0.1:9092 --topic t --group g --property print.key=true --property key.separator=:
  gregor console-consumer --bootstrap-server 127.0.0.1:9092 --topic t --partition 0 --offset 42 --timeout-ms 5000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runConsumer(cmd, g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.bootstrap, "bootstrap-server", "", "REQUIRED: the broker(s) to connect to, host:port[,host:port]")
	f.StringVar(&o.topic, "topic", "", "REQUIRED: the topic to consume")
	f.StringVar(&o.group, "group", "", "consume as this consumer group, committing offsets")
	f.BoolVar(&o.fromBeginning, "from-beginning", false, "start at the earliest offset when there is no committed offset")
	f.Int32Var(&o.partition, "partition", -1, "consume only this partition")
	f.StringVar(&o.offset, "offset", "", "with --partition: earliest, latest or an offset number")
	f.Int64Var(&o.maxMessages, "max-messages", 0, "exit after this many records (0: no limit)")
	f.Int64Var(&o.timeoutMs, "timeout-ms", 0, "exit if no record arrives for this many milliseconds (0: wait forever)")
	f.StringVar(&o.isolationLevel, "isolation-level", "read_uncommitted", "read_uncommitted or read_committed")
	f.StringArrayVar(&o.properties, "property", nil, "a formatter property key=value (repeatable)")
	return cmd
}

func parseFormatter(props []string) (*formatter, error) {
	f := &formatter{printValue: true, keySep: "\t", lineSep: "\n", headersSep: ",", nullLiteral: "null"}
	for _, kv := range props {
		k, v, err := cli.ParseKV(kv)
		if err != nil {
			return nil, err
		}
		b := strings.EqualFold(v, "true")
		switch k {
		case "print.timestamp":
			f.printTimestamp = b
		case "print.key":
			f.printKey = b
		case "print.value":
			f.printValue = b
		case "print.offset":
			f.printOffset = b
		case "print.partition":
			f.printPartition = b
		case "print.headers":
			f.printHeaders = b
		case "key.separator":
			f.keySep = v
		case "line.separator":
			f.lineSep = v
		case "headers.separator":
			f.headersSep = v
		case "null.literal":
			f.nullLiteral = v
		default:
			return nil, fmt.Errorf("unknown formatter property %q", k)
		}
	}
	return f, nil
}

// write prints r the way Kafka's DefaultMessageFormatter does.
func (f *formatter) write(w io.Writer, r *kgo.Record) {
	b := make([]byte, 0, 64+len(r.Key)+len(r.Value))
	str := func(v []byte) []byte {
		if v == nil {
			return append(b, f.nullLiteral...)
		}
		return append(b, v...)
	}
	if f.printTimestamp {
		switch ms := r.Timestamp.UnixMilli(); {
		case ms < 0: // Kafka's NO_TIMESTAMP (-1)
			b = append(b, "NO_TIMESTAMP"...)
		case r.Attrs.TimestampType() == 1:
			b = append(b, "LogAppendTime:"...)
			b = strconv.AppendInt(b, ms, 10)
		default:
			b = append(b, "CreateTime:"...)
			b = strconv.AppendInt(b, ms, 10)
		}
		b = append(b, f.keySep...)
	}
	if f.printPartition {
		b = append(b, "Partition:"...)
		b = strconv.AppendInt(b, int64(r.Partition), 10)
		b = append(b, f.keySep...)
	}
	if f.printOffset {
		b = append(b, "Offset:"...)
		b = strconv.AppendInt(b, r.Offset, 10)
		b = append(b, f.keySep...)
	}
	if f.printHeaders {
		if len(r.Headers) == 0 {
			b = append(b, "NO_HEADERS"...)
		}
		for i, h := range r.Headers {
			if i > 0 {
				b = append(b, f.headersSep...)
			}
			b = append(b, h.Key...)
			b = append(b, ':')
			b = str(h.Value)
		}
		b = append(b, f.keySep...)
	}
	if f.printKey {
		b = str(r.Key)
		b = append(b, f.keySep...)
	}
	if f.printValue {
		b = str(r.Value)
	}
	b = append(b, f.lineSep...)
	w.Write(b) //nolint:errcheck // a closed stdout ends the run through the next write
}

// jsonRecord is the stable --format json shape of one consumed record.
type jsonRecord struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Timestamp int64             `json:"timestamp"`
	Key       *string           `json:"key"`
	Value     *string           `json:"value"`
	Headers   map[string]string `json:"headers,omitempty"`
}

func bytesPtr(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

func runConsumer(cmd *cobra.Command, g *globals, o *consumerOpts) error {
	if o.topic == "" {
		return cli.Usagef("missing required option --topic")
	}
	f, err := parseFormatter(o.properties)
	if err != nil {
		return cli.Usagef("--property: %v", err)
	}
	if o.offset != "" && o.partition < 0 {
		return cli.Usagef("The partition is required when offset is specified.")
	}
	if o.offset != "" && o.fromBeginning {
		return cli.Usagef("Options from-beginning and offset cannot be specified together.")
	}
	if o.partition >= 0 && o.group != "" {
		return cli.Usagef("Options group and partition cannot be specified together.")
	}
	if o.maxMessages < 0 || o.timeoutMs < 0 {
		return cli.Usagef("--max-messages and --timeout-ms must not be negative")
	}
	start := kgo.NewOffset().AtEnd()
	if o.fromBeginning {
		start = kgo.NewOffset().AtStart()
	}
	switch o.offset {
	case "":
	case "earliest":
		start = kgo.NewOffset().AtStart()
	case "latest":
		start = kgo.NewOffset().AtEnd()
	default:
		n, err := strconv.ParseInt(o.offset, 10, 64)
		if err != nil || n < 0 {
			return cli.Usagef("--offset must be earliest, latest or a non-negative number, not %q", o.offset)
		}
		start = kgo.NewOffset().At(n)
	}
	var iso kgo.IsolationLevel
	switch o.isolationLevel {
	case "read_uncommitted":
		iso = kgo.ReadUncommitted()
	case "read_committed":
		iso = kgo.ReadCommitted()
	default:
		return cli.Usagef("--isolation-level must be read_uncommitted or read_committed")
	}

	opts := []kgo.Opt{kgo.FetchIsolationLevel(iso), kgo.ConsumeResetOffset(start)}
	switch {
	case o.partition >= 0:
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.topic: {o.partition: start}}))
	case o.group != "":
		opts = append(opts, kgo.ConsumerGroup(o.group), kgo.ConsumeTopics(o.topic),
			kgo.AutoCommitMarks(), kgo.AutoCommitInterval(time.Second))
	default:
		opts = append(opts, kgo.ConsumeTopics(o.topic))
	}
	timeout := time.Duration(g.timeout)
	cl, err := cli.KafkaClient(cmd.Context(), o.bootstrap, timeout, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx := cmd.Context()
	mctx, cancel := context.WithTimeout(ctx, timeout)
	err = ensureTopic(mctx, cl, o.topic, false)
	cancel()
	if err != nil {
		return err
	}

	out := bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	var count int64
	runErr := func() error {
		for o.maxMessages == 0 || count < o.maxMessages {
			pctx, pcancel := ctx, context.CancelFunc(func() {})
			if o.timeoutMs > 0 {
				pctx, pcancel = context.WithTimeout(ctx, time.Duration(o.timeoutMs)*time.Millisecond)
			}
			fetches := cl.PollRecords(pctx, 10000)
			timedOut := pctx.Err() != nil && ctx.Err() == nil
			pcancel()
			if ctx.Err() != nil {
				return nil // interrupted: a normal way to stop
			}
			var ferr error
			fetches.EachError(func(t string, p int32, err error) {
				if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
					return
				}
				if ferr == nil && t == "" { // a client-wide error, e.g. joining the group
					ferr = fmt.Errorf("consuming: %w", err)
				} else if ferr == nil {
					ferr = fmt.Errorf("fetching %s[%d]: %w", t, p, err)
				}
			})
			if ferr != nil {
				return ferr
			}
			var marks []*kgo.Record
			fetches.EachRecord(func(r *kgo.Record) {
				if o.maxMessages > 0 && count >= o.maxMessages {
					return
				}
				count++
				marks = append(marks, r)
				if g.format == cli.FormatJSON {
					jr := jsonRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
						Timestamp: r.Timestamp.UnixMilli(), Key: bytesPtr(r.Key), Value: bytesPtr(r.Value)}
					if len(r.Headers) > 0 {
						jr.Headers = map[string]string{}
						for _, h := range r.Headers {
							jr.Headers[h.Key] = string(h.Value)
						}
					}
					enc.Encode(jr) //nolint:errcheck // see formatter.write
				} else {
					f.write(out, r)
				}
			})
			if err := out.Flush(); err != nil {
				return fmt.Errorf("writing output: %w", err)
			}
			if o.group != "" && len(marks) > 0 {
				cl.MarkCommitRecords(marks...)
			}
			if timedOut && len(marks) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "No message received within %d ms; exiting.\n", o.timeoutMs)
				return nil
			}
		}
		return nil
	}()
	if o.group != "" {
		cctx, ccancel := context.WithTimeout(context.Background(), timeout)
		if err := cl.CommitMarkedOffsets(cctx); err != nil && runErr == nil {
			runErr = fmt.Errorf("committing offsets for group %q: %w", o.group, err)
		}
		ccancel()
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "Processed a total of %d messages\n", count)
	return runErr
}
