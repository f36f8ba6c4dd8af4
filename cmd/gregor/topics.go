package main

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/internal/cli"
)

type topicsOpts struct {
	bootstrap                              string
	create, list, describe, del, alter     bool
	topic                                  string
	partitions                             int32
	replicationFactor                      int16
	configs                                []string
	ifNotExists, ifExists, excludeInternal bool
}

func newTopicsCmd(g *globals) *cobra.Command {
	o := &topicsOpts{}
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Create, list, describe, alter and delete topics (kafka-topics.sh)",
		Long: `Manage topics with kafka-topics.sh's actions and flags. Exactly one action
flag is required. --topic names one topic, or is a regular expression for
--list, --describe, --alter and --delete.

--describe prints Kafka's lines:
  Topic: T	TopicId: ID	PartitionCount: N	ReplicationFactor: R	Configs: k=v,...
  	Topic: T	Partition: P	Leader: L	Replicas: ...	Isr: ...`,
		Example: `  gregor topics --bootstrap-server 127.0.0.1:9092 --create --topic orders --partitions 3 --config retention.ms=86400000
  gregor topics --bootstrap-server 127.0.0.1:9092 --list
  gregor topics --bootstrap-server 127.0.0.1:9092 --describe --topic orders
  gregor topics --bootstrap-server 127.0.0.1:9092 --alter --topic orders --partitions 6
  gregor topics --bootstrap-server 127.0.0.1:9092 --delete --topic orders --if-exists`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTopics(cmd, g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.bootstrap, "bootstrap-server", "", "REQUIRED: the broker(s) to connect to, host:port[,host:port]")
	f.BoolVar(&o.create, "create", false, "create a new topic")
	f.BoolVar(&o.list, "list", false, "list all topics")
	f.BoolVar(&o.describe, "describe", false, "describe topics")
	f.BoolVar(&o.del, "delete", false, "delete topics")
	f.BoolVar(&o.alter, "alter", false, "alter the number of partitions")
	f.StringVar(&o.topic, "topic", "", "the topic (a regular expression except with --create)")
	f.Int32Var(&o.partitions, "partitions", -1, "number of partitions (create: broker default if unset; alter: the new total)")
	f.Int16Var(&o.replicationFactor, "replication-factor", -1, "replication factor for --create (broker default if unset)")
	f.StringArrayVar(&o.configs, "config", nil, "a topic config override for --create, key=value (repeatable)")
	f.BoolVar(&o.ifNotExists, "if-not-exists", false, "with --create: do nothing if the topic exists")
	f.BoolVar(&o.ifExists, "if-exists", false, "with --alter, --describe or --delete: do nothing if the topic does not exist")
	f.BoolVar(&o.excludeInternal, "exclude-internal", false, "leave internal topics out of --list and --describe")
	return cmd
}

// topicError prints Kafka's error line and fails with status 1.
func topicError(w io.Writer, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(w, "Error while executing topic command : %s\n", msg)
	return &cli.Silent{Err: errors.New(msg)}
}

func runTopics(cmd *cobra.Command, g *globals, o *topicsOpts) error {
	n := 0
	for _, b := range []bool{o.create, o.list, o.describe, o.del, o.alter} {
		if b {
			n++
		}
	}
	if n != 1 {
		return cli.Usagef("Command must include exactly one action: --list, --describe, --create, --alter or --delete")
	}
	if (o.create || o.del || o.alter) && o.topic == "" {
		return cli.Usagef("missing required option --topic")
	}
	if o.alter && o.partitions < 1 {
		return cli.Usagef("--alter needs --partitions N (the new total, N >= 1)")
	}
	if o.ifNotExists && !o.create {
		return cli.Usagef("--if-not-exists is only valid with --create")
	}
	if o.ifExists && !(o.alter || o.del || o.describe) {
		return cli.Usagef("--if-exists is only valid with --alter, --describe or --delete")
	}
	if !o.create && (len(o.configs) > 0 || o.replicationFactor != -1) {
		return cli.Usagef("--config and --replication-factor are only valid with --create")
	}
	if o.create && o.partitions == 0 {
		return cli.Usagef("--partitions must be at least 1")
	}
	configs := map[string]*string{}
	for _, kv := range o.configs {
		k, v, err := cli.ParseKV(kv)
		if err != nil {
			return cli.Usagef("--config: %v", err)
		}
		configs[k] = &v
	}

	adm, cl, err := admin(cmd, g, o.bootstrap)
	if err != nil {
		return err
	}
	defer cl.Close()
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	ctx, cancel := opCtx(cmd, g)
	defer cancel()

	if o.create {
		resp, err := adm.CreateTopic(ctx, o.partitions, o.replicationFactor, configs, o.topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			if errors.Is(err, kerr.TopicAlreadyExists) {
				if o.ifNotExists {
					return nil
				}
				return topicError(errw, "Topic '%s' already exists.", o.topic)
			}
			return topicError(errw, "%s", brokerError(err, resp.ErrMessage))
		}
		if strings.ContainsAny(o.topic, "._") {
			fmt.Fprintln(errw, "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.")
		}
		if g.format == cli.FormatJSON {
			return cli.WriteJSON(out, map[string]any{
				"created": o.topic, "topic_id": fmtTopicID(resp.ID),
				"partitions": resp.NumPartitions, "replication_factor": resp.ReplicationFactor,
			})
		}
		fmt.Fprintf(out, "Created topic %s.\n", o.topic)
		return nil
	}

	md, err := adm.Metadata(ctx)
	if err != nil {
		return fmt.Errorf("reading metadata: %w", err)
	}
	names, err := matchTopics(md, o.topic, o.excludeInternal)
	if err != nil {
		return err
	}
	if o.topic != "" && len(names) == 0 && !o.list {
		if o.ifExists {
			return nil
		}
		return topicError(errw, "Topic '%s' does not exist as expected", o.topic)
	}

	switch {
	case o.list:
		if g.format == cli.FormatJSON {
			if names == nil {
				names = []string{}
			}
			return cli.WriteJSON(out, map[string]any{"topics": names})
		}
		for _, n := range names {
			fmt.Fprintln(out, n)
		}
		return nil
	case o.del:
		resps, err := adm.DeleteTopics(ctx, names...)
		if err != nil {
			return topicError(errw, "%s", cli.Explain(err))
		}
		var failed []string
		for _, n := range names {
			if r := resps[n]; r.Err != nil {
				failed = append(failed, fmt.Sprintf("%s: %s", n, brokerError(r.Err, r.ErrMessage)))
			}
		}
		if len(failed) > 0 {
			return topicError(errw, "%s", strings.Join(failed, "; "))
		}
		if g.format == cli.FormatJSON {
			return cli.WriteJSON(out, map[string]any{"deleted": names})
		}
		return nil
	case o.alter:
		resps, err := adm.UpdatePartitions(ctx, int(o.partitions), names...)
		if err != nil {
			return topicError(errw, "%s", cli.Explain(err))
		}
		var failed []string
		for _, n := range names {
			if r := resps[n]; r.Err != nil {
				failed = append(failed, fmt.Sprintf("%s: %s", n, brokerError(r.Err, r.ErrMessage)))
			}
		}
		if len(failed) > 0 {
			return topicError(errw, "%s", strings.Join(failed, "; "))
		}
		if g.format == cli.FormatJSON {
			return cli.WriteJSON(out, map[string]any{"altered": names, "partitions": o.partitions})
		}
		return nil
	default:
		return describeTopics(cmd, g, adm, md, names)
	}
}

// topicDescription is the stable --format json shape of --describe.
type topicDescription struct {
	Topic             string              `json:"topic"`
	TopicID           string              `json:"topic_id"`
	PartitionCount    int                 `json:"partition_count"`
	ReplicationFactor int                 `json:"replication_factor"`
	Configs           map[string]string   `json:"configs"`
	Partitions        []partitionDescribe `json:"partitions"`
}

type partitionDescribe struct {
	Partition int32   `json:"partition"`
	Leader    int32   `json:"leader"` // -1: no leader
	Replicas  []int32 `json:"replicas"`
	ISR       []int32 `json:"isr"`
}

func describeTopics(cmd *cobra.Command, g *globals, adm *kadm.Client, md kadm.Metadata, names []string) error {
	ctx, cancel := opCtx(cmd, g)
	defer cancel()
	cfgs := map[string][]kadm.Config{}
	if len(names) > 0 {
		rcs, err := adm.DescribeTopicConfigs(ctx, names...)
		if err != nil {
			return fmt.Errorf("describing topic configs: %w", err)
		}
		for _, rc := range rcs {
			if rc.Err == nil {
				cfgs[rc.Name] = rc.Configs
			}
		}
	}
	var descs []topicDescription
	for _, name := range names {
		td := md.Topics[name]
		d := topicDescription{Topic: name, TopicID: fmtTopicID(td.ID), PartitionCount: len(td.Partitions), Configs: map[string]string{}}
		parts := td.Partitions.Sorted()
		if len(parts) > 0 {
			d.ReplicationFactor = len(parts[0].Replicas)
		}
		for _, p := range parts {
			d.Partitions = append(d.Partitions, partitionDescribe{Partition: p.Partition, Leader: p.Leader, Replicas: nonNil(p.Replicas), ISR: nonNil(p.ISR)})
		}
		// Like kafka-topics.sh: show every config not at its default value.
		for _, c := range cfgs[name] {
			if c.Source == kmsg.ConfigSourceDefaultConfig || c.Source == kmsg.ConfigSourceUnknown {
				continue
			}
			v := ""
			switch {
			case c.Sensitive:
				v = "<sensitive>"
			case c.Value != nil:
				v = *c.Value
			}
			d.Configs[c.Key] = v
		}
		descs = append(descs, d)
	}
	out := cmd.OutOrStdout()
	if g.format == cli.FormatJSON {
		if descs == nil {
			descs = []topicDescription{}
		}
		return cli.WriteJSON(out, map[string]any{"topics": descs})
	}
	for _, d := range descs {
		keys := make([]string, 0, len(d.Configs))
		for k := range d.Configs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		kvs := make([]string, len(keys))
		for i, k := range keys {
			kvs[i] = k + "=" + d.Configs[k]
		}
		fmt.Fprintf(out, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
			d.Topic, d.TopicID, d.PartitionCount, d.ReplicationFactor, strings.Join(kvs, ","))
		for _, p := range d.Partitions {
			leader := "none"
			if p.Leader >= 0 {
				leader = fmt.Sprint(p.Leader)
			}
			fmt.Fprintf(out, "\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s\n",
				d.Topic, p.Partition, leader, joinInt32(p.Replicas), joinInt32(p.ISR))
		}
	}
	return nil
}

func nonNil(xs []int32) []int32 {
	if xs == nil {
		return []int32{}
	}
	return xs
}
