package main

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/internal/cli"
)

type getOffsetsOpts struct {
	bootstrap       string
	topic           string
	partitions      string
	topicPartitions string
	time            string
	excludeInternal bool
}

func newGetOffsetsCmd(g *globals) *cobra.Command {
	o := &getOffsetsOpts{}
	cmd := &cobra.Command{
		Use:   "get-offsets",
		Short: "Print partition offsets as topic:partition:offset (kafka-get-offsets.sh)",
		Long: `Print one topic:partition:offset line per partition, as GetOffsetShell does.
--time selects which offset:
  -1 or latest         the log end offset (default)
  -2 or earliest       the log start offset
  -3 or max-timestamp  the offset of the record with the largest timestamp
  <ms>                 the first offset whose timestamp is >= ms
Partitions with no such offset are left out, as Kafka's tool does.`,
		Example: `  gregor get-offsets --bootstrap-server 127.0.0.1:9092 --topic orders
  gregor get-offsets --bootstrap-server 127.0.0.1:9092 --topic 'orders.*' --time -2
  gregor get-offsets --bootstrap-server 127.0.0.1:9092 --topic orders --partitions 0,1 --time 1767225600000
  gregor get-offsets --bootstrap-server 127.0.0.1:9092 --topic-partitions 'orders:0-2,audit.*'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runGetOffsets(cmd, g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.bootstrap, "bootstrap-server", "", "REQUIRED: the broker(s) to connect to, host:port[,host:port]")
	f.StringVar(&o.topic, "topic", "", "topic name or regular expression (all topics if unset)")
	f.StringVar(&o.partitions, "partitions", "", "comma-separated partition ids (all if unset)")
	f.StringVar(&o.topicPartitions, "topic-partitions", "", "instead of --topic/--partitions: 'topic1:1,topic2:0-3,topic3,topic4:5-,topic5:-3' (topics are regular expressions; N-M excludes M)")
	f.StringVar(&o.time, "time", "-1", "-1/latest, -2/earliest, -3/max-timestamp or a timestamp in ms")
	f.BoolVar(&o.excludeInternal, "exclude-internal-topics", false, "leave internal topics out")
	return cmd
}

// offsetLine is one line of output, and its --format json shape.
type offsetLine struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

func runGetOffsets(cmd *cobra.Command, g *globals, o *getOffsetsOpts) error {
	var ts int64
	switch o.time {
	case "-1", "latest":
		ts = -1
	case "-2", "earliest":
		ts = -2
	case "-3", "max-timestamp":
		ts = -3
	default:
		n, err := strconv.ParseInt(o.time, 10, 64)
		if err != nil || n < 0 {
			return cli.Usagef("Malformed time argument %s. Please use -1 or latest / -2 or earliest / -3 or max-timestamp, or a specified long format timestamp", o.time)
		}
		ts = n
	}
	var (
		parts map[int32]bool
		rules []tpRule
	)
	if o.topicPartitions != "" {
		if o.topic != "" || o.partitions != "" {
			return cli.Usagef("--topic-partitions cannot be used with --topic or --partitions")
		}
		var err error
		if rules, err = parseTopicPartitions(o.topicPartitions); err != nil {
			return cli.Usagef("%v", err)
		}
	}
	if o.partitions != "" {
		ps, err := splitCommaInts(o.partitions)
		if err != nil {
			return cli.Usagef("--partitions: %v", err)
		}
		parts = map[int32]bool{}
		for _, p := range ps {
			parts[p] = true
		}
	}
	// allowed decides for one partition, from either kind of filter.
	allowed := func(topic string, p int32) bool {
		if rules == nil {
			return parts == nil || parts[p]
		}
		for _, r := range rules {
			if r.matches(topic, p) {
				return true
			}
		}
		return false
	}
	adm, cl, err := admin(cmd, g, o.bootstrap)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := opCtx(cmd, g)
	defer cancel()
	md, err := adm.Metadata(ctx)
	if err != nil {
		return fmt.Errorf("reading metadata: %w", err)
	}
	topics, err := matchTopics(md, o.topic, o.excludeInternal)
	if err != nil {
		return err
	}
	if rules != nil {
		var kept []string
		for _, t := range topics {
			for _, r := range rules {
				if r.topic.MatchString(t) {
					kept = append(kept, t)
					break
				}
			}
		}
		topics = kept
	}
	if len(topics) == 0 {
		return fmt.Errorf("Could not match any topic-partitions with the specified filters")
	}
	// Ask the partition leaders directly (kgo shards the request): unlike
	// kadm's helpers this keeps the broker's -1 ("no such offset"), and
	// GetOffsetShell leaves those partitions out.
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	for _, name := range topics {
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = name
		for _, pd := range md.Topics[name].Partitions.Sorted() {
			if !allowed(name, pd.Partition) {
				continue
			}
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition = pd.Partition
			rp.CurrentLeaderEpoch = -1
			rp.Timestamp = ts
			rt.Partitions = append(rt.Partitions, rp)
		}
		if len(rt.Partitions) > 0 {
			req.Topics = append(req.Topics, rt)
		}
	}
	if len(req.Topics) == 0 {
		return fmt.Errorf("Could not match any topic-partitions with the specified filters")
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("listing offsets: %w", err)
	}
	lines := []offsetLine{}
	errw := cmd.ErrOrStderr()
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				fmt.Fprintf(errw, "Skip getting offsets for topic-partition %s-%d due to error: %s\n", rt.Topic, rp.Partition, brokerError(err, ""))
				continue
			}
			if rp.Offset < 0 {
				continue
			}
			lines = append(lines, offsetLine{rt.Topic, rp.Partition, rp.Offset})
		}
	}
	// GetOffsetShell sorts by TopicPartition.toString(), "topic-partition".
	sort.Slice(lines, func(i, j int) bool {
		return fmt.Sprintf("%s-%d", lines[i].Topic, lines[i].Partition) < fmt.Sprintf("%s-%d", lines[j].Topic, lines[j].Partition)
	})
	out := cmd.OutOrStdout()
	if g.format == cli.FormatJSON {
		return cli.WriteJSON(out, map[string]any{"offsets": lines})
	}
	for _, l := range lines {
		fmt.Fprintf(out, "%s:%d:%d\n", l.Topic, l.Partition, l.Offset)
	}
	return nil
}

// tpRule is one element of --topic-partitions: a topic regular expression
// and a partition range [lo, hi); hi < 0 means no upper bound.
type tpRule struct {
	topic  *regexp.Regexp
	lo, hi int32
}

func (r tpRule) matches(topic string, p int32) bool {
	return r.topic.MatchString(topic) && p >= r.lo && (r.hi < 0 || p < r.hi)
}

// parseTopicPartitions parses GetOffsetShell's --topic-partitions list:
// TopicPattern(:PartitionPattern)? | :PartitionPattern, where a partition
// pattern is N, N-M (M excluded), N- or -M.
func parseTopicPartitions(spec string) ([]tpRule, error) {
	var rules []tpRule
	for _, item := range strings.Split(spec, ",") {
		topic, part, hasPart := strings.Cut(item, ":")
		if topic == "" && !hasPart {
			return nil, fmt.Errorf("Invalid rule specification: %s", item)
		}
		if topic == "" {
			topic = ".*"
		}
		re, err := regexp.Compile("^(?:" + topic + ")$")
		if err != nil {
			return nil, fmt.Errorf("Invalid rule specification: %s: %v", item, err)
		}
		r := tpRule{topic: re, lo: 0, hi: -1}
		num := func(s string) (int32, error) {
			n, err := strconv.ParseInt(s, 10, 32)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("Invalid rule specification: %s", item)
			}
			return int32(n), nil
		}
		if hasPart {
			lo, hi, isRange := strings.Cut(part, "-")
			switch {
			case !isRange:
				n, err := num(part)
				if err != nil {
					return nil, err
				}
				r.lo, r.hi = n, n+1
			case lo == "" && hi == "":
				return nil, fmt.Errorf("Invalid rule specification: %s", item)
			default:
				if lo != "" {
					if r.lo, err = num(lo); err != nil {
						return nil, err
					}
				}
				if hi != "" {
					if r.hi, err = num(hi); err != nil {
						return nil, err
					}
				}
			}
		}
		rules = append(rules, r)
	}
	return rules, nil
}
