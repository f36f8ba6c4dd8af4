package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/internal/cli"
)

type producerOpts struct {
	bootstrap     string
	topic         string
	compression   string
	acks          string
	sync          bool
	properties    []string
	producerProps []string
}

// lineReader holds LineMessageReader's --property settings.
type lineReader struct {
	parseKey, parseHeaders, ignoreError bool
	keySep, headersDelim, headersSep    string
	headerKeySep, nullMarker            string
}

func newProducerCmd(g *globals) *cobra.Command {
	o := &producerOpts{}
	cmd := &cobra.Command{
		Use:   "console-producer",
		Short: "Produce lines from stdin as records (kafka-console-producer.sh)",
		Long: `Read lines from stdin and send each as one record, as
kafka-console-producer.sh does. A '>' prompt is shown only when stdin is a
terminal. Line-reader properties (--property):
  parse.key=true       split each line into key and value at key.separator
  key.separator=SEP    default a tab
  parse.headers=true   lines start with headers: h1:v1,h2:v2<TAB>...
  headers.delimiter, headers.separator, headers.key.separator, null.marker,
  ignore.error=true    keep going past a line without a key separator`,
		Example: `  printf 'a\nb\n' | gregor console-producer --bootstrap-server 127.0.0.1:9092 --topic t
  gregor console-producer --bootstrap-server 127.0.0.1:9092 --topic t --property parse.key=true --property key.separator=:
  gregor console-producer --bootstrap-server 127.0.0.1:9092 --topic t --compression-codec zstd --request-required-acks 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runProducer(cmd, g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.bootstrap, "bootstrap-server", "", "REQUIRED: the broker(s) to connect to, host:port[,host:port]")
	f.StringVar(&o.topic, "topic", "", "REQUIRED: the topic to produce to")
	f.StringVar(&o.compression, "compression-codec", "none", "none, gzip, snappy, lz4 or zstd")
	f.StringVar(&o.acks, "request-required-acks", "-1", "acks: -1 (all), 1 or 0")
	f.BoolVar(&o.sync, "sync", false, "send each record synchronously")
	f.StringArrayVar(&o.properties, "property", nil, "a line-reader property key=value (repeatable)")
	f.StringArrayVar(&o.producerProps, "producer-property", nil, "a producer property key=value (repeatable)")
	return cmd
}

func compressionCodec(name string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(name) {
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
	return kgo.CompressionCodec{}, fmt.Errorf("unknown compression codec %q (want none, gzip, snappy, lz4 or zstd)", name)
}

// acksOpts maps Kafka's acks values to kgo options. Idempotence needs
// acks=all, so weaker acks turn it off, as the Java producer requires.
func acksOpts(acks string) ([]kgo.Opt, error) {
	switch acks {
	case "-1", "all":
		return []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks())}, nil
	case "1":
		return []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}, nil
	case "0":
		return []kgo.Opt{kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite()}, nil
	}
	return nil, fmt.Errorf("invalid acks %q (want -1, all, 1 or 0)", acks)
}

// producerPropertyOpts translates the Java producer properties people pass
// with --producer-property into kgo options. Unknown keys are rejected
// rather than silently ignored.
func producerPropertyOpts(props []string, acks, compression *string) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	for _, kv := range props {
		k, v, err := cli.ParseKV(kv)
		if err != nil {
			return nil, err
		}
		num := func() (int64, error) {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("producer property %s: %q is not a non-negative integer", k, v)
			}
			return n, nil
		}
		switch k {
		case "acks":
			*acks = v
		case "compression.type":
			*compression = v
		case "bootstrap.servers":
			// --bootstrap-server wins, as in Kafka's tool.
		case "client.id":
			opts = append(opts, kgo.ClientID(v))
		case "linger.ms":
			n, err := num()
			if err != nil {
				return nil, err
			}
			opts = append(opts, kgo.ProducerLinger(time.Duration(n)*time.Millisecond))
		case "batch.size", "max.request.size":
			n, err := num()
			if err != nil {
				return nil, err
			}
			opts = append(opts, kgo.ProducerBatchMaxBytes(int32(min(n, 1<<30))))
		case "request.timeout.ms":
			n, err := num()
			if err != nil {
				return nil, err
			}
			opts = append(opts, kgo.ProduceRequestTimeout(time.Duration(n)*time.Millisecond))
		case "delivery.timeout.ms":
			n, err := num()
			if err != nil {
				return nil, err
			}
			opts = append(opts, kgo.RecordDeliveryTimeout(time.Duration(n)*time.Millisecond))
		case "retries":
			n, err := num()
			if err != nil {
				return nil, err
			}
			opts = append(opts, kgo.RecordRetries(int(min(n, 1<<31-1))))
		case "max.in.flight.requests.per.connection":
			n, err := num()
			if err != nil || n < 1 {
				return nil, fmt.Errorf("producer property %s: %q must be at least 1", k, v)
			}
			opts = append(opts, kgo.MaxProduceRequestsInflightPerBroker(int(n)))
		case "enable.idempotence":
			if v == "false" {
				opts = append(opts, kgo.DisableIdempotentWrite())
			}
		default:
			return nil, fmt.Errorf("unsupported producer property %q", k)
		}
	}
	return opts, nil
}

func parseLineReader(props []string) (*lineReader, error) {
	lr := &lineReader{keySep: "\t", headersDelim: "\t", headersSep: ",", headerKeySep: ":"}
	for _, kv := range props {
		k, v, err := cli.ParseKV(kv)
		if err != nil {
			return nil, err
		}
		b := strings.EqualFold(v, "true")
		switch k {
		case "parse.key":
			lr.parseKey = b
		case "parse.headers":
			lr.parseHeaders = b
		case "ignore.error":
			lr.ignoreError = b
		case "key.separator":
			lr.keySep = v
		case "headers.delimiter":
			lr.headersDelim = v
		case "headers.separator":
			lr.headersSep = v
		case "headers.key.separator":
			lr.headerKeySep = v
		case "null.marker":
			lr.nullMarker = v
		default:
			return nil, fmt.Errorf("unknown line-reader property %q", k)
		}
	}
	if lr.parseKey && lr.keySep == "" {
		return nil, errors.New("key.separator must not be empty")
	}
	return lr, nil
}

// record turns one input line (without its line terminator) into a record.
func (lr *lineReader) record(line string, lineNo int) (*kgo.Record, error) {
	r := &kgo.Record{}
	rest := line
	if lr.parseHeaders {
		h, after, ok := strings.Cut(rest, lr.headersDelim)
		if !ok {
			if !lr.ignoreError {
				return nil, fmt.Errorf("No headers delimiter found on line number %d: '%s'", lineNo, line)
			}
		} else {
			rest = after
			if h != lr.nullMarker || lr.nullMarker == "" {
				for _, kv := range strings.Split(h, lr.headersSep) {
					if kv == "" {
						continue
					}
					hk, hv, found := strings.Cut(kv, lr.headerKeySep)
					hdr := kgo.RecordHeader{Key: hk}
					if found && (lr.nullMarker == "" || hv != lr.nullMarker) {
						hdr.Value = []byte(hv)
					}
					r.Headers = append(r.Headers, hdr)
				}
			}
		}
	}
	if lr.parseKey {
		k, v, ok := strings.Cut(rest, lr.keySep)
		if !ok {
			if !lr.ignoreError {
				return nil, fmt.Errorf("No key separator found on line number %d: '%s'", lineNo, line)
			}
			v = rest
		} else if lr.nullMarker == "" || k != lr.nullMarker {
			r.Key = []byte(k)
		}
		rest = v
	}
	if lr.nullMarker == "" || rest != lr.nullMarker {
		r.Value = []byte(rest)
	}
	return r, nil
}

// ensureTopic asks the broker for topic's metadata, allowing it to
// auto-create the topic if its configuration says so (as a Java producer
// does), and fails clearly when the topic does not exist.
func ensureTopic(ctx context.Context, cl *kgo.Client, topic string, autoCreate bool) error {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	req.AllowAutoTopicCreation = autoCreate
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("reading metadata for topic %q: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if t.Topic == nil || *t.Topic != topic {
			continue
		}
		switch err := kerr.ErrorForCode(t.ErrorCode); {
		case err == nil, errors.Is(err, kerr.LeaderNotAvailable):
			return nil
		case errors.Is(err, kerr.UnknownTopicOrPartition):
			return fmt.Errorf("topic %q does not exist", topic)
		default:
			return fmt.Errorf("topic %q: %s", topic, brokerError(err, ""))
		}
	}
	return fmt.Errorf("topic %q does not exist", topic)
}

func runProducer(cmd *cobra.Command, g *globals, o *producerOpts) error {
	if o.topic == "" {
		return cli.Usagef("missing required option --topic")
	}
	lr, err := parseLineReader(o.properties)
	if err != nil {
		return cli.Usagef("--property: %v", err)
	}
	acks, compression := o.acks, o.compression
	propOpts, err := producerPropertyOpts(o.producerProps, &acks, &compression)
	if err != nil {
		return cli.Usagef("--producer-property: %v", err)
	}
	codec, err := compressionCodec(compression)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	aOpts, err := acksOpts(acks)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	timeout := time.Duration(g.timeout)
	opts := append([]kgo.Opt{
		kgo.DefaultProduceTopic(o.topic),
		kgo.ProducerBatchCompression(codec),
		kgo.RecordDeliveryTimeout(timeout),
		kgo.ProducerLinger(5 * time.Millisecond),
	}, aOpts...)
	opts = append(opts, propOpts...)
	cl, err := cli.KafkaClient(cmd.Context(), o.bootstrap, timeout, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx := cmd.Context()
	mctx, cancel := context.WithTimeout(ctx, timeout)
	err = ensureTopic(mctx, cl, o.topic, true)
	cancel()
	if err != nil {
		return err
	}

	in := cmd.InOrStdin()
	errw := cmd.ErrOrStderr()
	prompt := cli.IsTerminal(in)
	br := bufio.NewReaderSize(in, 64<<10)

	var (
		mu       sync.Mutex
		firstErr error
		sent     int64
	)
	fail := func(r *kgo.Record, err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			key := "null"
			if r.Key != nil {
				key = string(r.Key)
			}
			fmt.Fprintf(errw, "Error when sending message to topic %s with key: %s, value: %d bytes with error: %v\n", o.topic, key, len(r.Value), err)
		}
	}
	lineNo := 0
	for {
		if prompt {
			fmt.Fprint(errw, ">")
		}
		line, rerr := br.ReadString('\n')
		if rerr != nil && rerr != io.EOF {
			return fmt.Errorf("reading stdin: %w", rerr)
		}
		if line == "" && rerr == io.EOF {
			break
		}
		lineNo++
		line = strings.TrimSuffix(line, "\n")
		line = strings.TrimSuffix(line, "\r")
		rec, perr := lr.record(line, lineNo)
		if perr != nil {
			cl.Flush(ctx) //nolint:errcheck // the parse error is what we report
			return perr
		}
		if o.sync {
			if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
				fail(rec, err)
				return &cli.Silent{Err: err}
			}
			sent++
		} else {
			cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
				if err != nil {
					fail(r, err)
				}
			})
			sent++
		}
		mu.Lock()
		stop := firstErr != nil
		mu.Unlock()
		if stop || rerr == io.EOF {
			break
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("flushing: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if firstErr != nil {
		return &cli.Silent{Err: firstErr}
	}
	if g.format == cli.FormatJSON {
		return cli.WriteJSON(cmd.OutOrStdout(), map[string]any{"topic": o.topic, "records": sent})
	}
	return nil
}
