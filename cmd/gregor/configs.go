package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/internal/cli"
)

type configsOpts struct {
	bootstrap     string
	describe      bool
	alter         bool
	all           bool
	entityType    string
	entityName    string
	topic         string
	broker        string
	addConfigs    []string
	deleteConfigs []string
}

func newConfigsCmd(g *globals) *cobra.Command {
	o := &configsOpts{}
	cmd := &cobra.Command{
		Use:   "configs",
		Short: "Describe and alter topic and broker configs (kafka-configs.sh)",
		Long: `Describe or alter dynamic configs of a topic or broker, as kafka-configs.sh
does. --add-config takes k1=v1,k2=[v1,v2]: square brackets group a value
that contains commas. --delete-config takes k1,k2. Both are repeatable.
--describe lists the dynamic configs; --all lists every config.`,
		Example: `  gregor configs --bootstrap-server 127.0.0.1:9092 --describe --entity-type topics --entity-name orders
  gregor configs --bootstrap-server 127.0.0.1:9092 --alter --entity-type topics --entity-name orders --add-config retention.ms=3600000,cleanup.policy=[compact,delete]
  gregor configs --bootstrap-server 127.0.0.1:9092 --alter --topic orders --delete-config retention.ms
  gregor configs --bootstrap-server 127.0.0.1:9092 --describe --entity-type brokers --entity-name 0 --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runConfigs(cmd, g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.bootstrap, "bootstrap-server", "", "REQUIRED: the broker(s) to connect to, host:port[,host:port]")
	f.BoolVar(&o.describe, "describe", false, "list configs of the entity")
	f.BoolVar(&o.alter, "alter", false, "alter configs of the entity")
	f.BoolVar(&o.all, "all", false, "with --describe: list all configs, not only dynamic ones")
	f.StringVar(&o.entityType, "entity-type", "", "topics or brokers")
	f.StringVar(&o.entityName, "entity-name", "", "the topic name or broker id")
	f.StringVar(&o.topic, "topic", "", "shortcut for --entity-type topics --entity-name NAME")
	f.StringVar(&o.broker, "broker", "", "shortcut for --entity-type brokers --entity-name ID")
	f.StringArrayVar(&o.addConfigs, "add-config", nil, "configs to set: k1=v1,k2=[v1,v2] (repeatable)")
	f.StringArrayVar(&o.deleteConfigs, "delete-config", nil, "configs to remove: k1,k2 (repeatable)")
	return cmd
}

// configLine is one described config, and its --format json shape.
type configLine struct {
	Name      string          `json:"name"`
	Value     *string         `json:"value"`
	Sensitive bool            `json:"sensitive"`
	Source    string          `json:"source"`
	Synonyms  []configSynonym `json:"synonyms"`
}

type configSynonym struct {
	Name   string  `json:"name"`
	Value  *string `json:"value"`
	Source string  `json:"source"`
}

func runConfigs(cmd *cobra.Command, g *globals, o *configsOpts) error {
	if o.describe == o.alter {
		return cli.Usagef("Command must include exactly one action: --describe, --alter")
	}
	switch {
	case o.topic != "" && o.broker != "":
		return cli.Usagef("--topic and --broker cannot be used together")
	case o.topic != "":
		o.entityType, o.entityName = "topics", o.topic
	case o.broker != "":
		o.entityType, o.entityName = "brokers", o.broker
	}
	var kind string
	switch o.entityType {
	case "topics", "topic":
		kind = "topic"
	case "brokers", "broker":
		kind = "broker"
	case "":
		return cli.Usagef("missing required option --entity-type (topics or brokers)")
	default:
		return cli.Usagef("--entity-type %q is not supported (want topics or brokers)", o.entityType)
	}
	if o.entityName == "" {
		return cli.Usagef("missing required option --entity-name")
	}
	var brokerID int32
	if kind == "broker" {
		n, err := strconv.ParseInt(o.entityName, 10, 32)
		if err != nil {
			return cli.Usagef("broker entity name must be a broker id, not %q", o.entityName)
		}
		brokerID = int32(n)
	}
	var alters []kadm.AlterConfig
	if o.alter {
		for _, a := range o.addConfigs {
			kvs, err := cli.SplitConfigList(a)
			if err != nil {
				return cli.Usagef("--add-config: %v", err)
			}
			for _, kv := range kvs {
				v := kv[1]
				alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: kv[0], Value: &v})
			}
		}
		for _, d := range o.deleteConfigs {
			for _, k := range strings.Split(d, ",") {
				if k = strings.TrimSpace(k); k != "" {
					alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
				}
			}
		}
		if len(alters) == 0 {
			return cli.Usagef("--alter needs --add-config or --delete-config")
		}
	} else if len(o.addConfigs) > 0 || len(o.deleteConfigs) > 0 {
		return cli.Usagef("--add-config and --delete-config are only valid with --alter")
	}

	adm, cl, err := admin(cmd, g, o.bootstrap)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := opCtx(cmd, g)
	defer cancel()
	out := cmd.OutOrStdout()

	if o.alter {
		var resps kadm.AlterConfigsResponses
		if kind == "topic" {
			resps, err = adm.AlterTopicConfigs(ctx, alters, o.entityName)
		} else {
			resps, err = adm.AlterBrokerConfigs(ctx, alters, brokerID)
		}
		if err != nil {
			return fmt.Errorf("altering configs of %s %s: %w", kind, o.entityName, err)
		}
		for _, r := range resps {
			if r.Err != nil {
				return fmt.Errorf("altering configs of %s %s: %s", kind, o.entityName, brokerError(r.Err, r.ErrMessage))
			}
		}
		if g.format == cli.FormatJSON {
			return cli.WriteJSON(out, map[string]any{"entity_type": kind + "s", "entity_name": o.entityName, "altered": len(alters)})
		}
		fmt.Fprintf(out, "Completed updating config for %s %s.\n", kind, o.entityName)
		return nil
	}

	var rcs kadm.ResourceConfigs
	if kind == "topic" {
		rcs, err = adm.DescribeTopicConfigs(ctx, o.entityName)
	} else {
		rcs, err = adm.DescribeBrokerConfigs(ctx, brokerID)
	}
	if err != nil {
		return fmt.Errorf("describing configs of %s %s: %w", kind, o.entityName, err)
	}
	if len(rcs) == 0 {
		return fmt.Errorf("no configs returned for %s %s", kind, o.entityName)
	}
	rc := rcs[0]
	if rc.Err != nil {
		return fmt.Errorf("describing configs of %s %s: %s", kind, o.entityName, brokerError(rc.Err, rc.ErrMessage))
	}
	lines := []configLine{}
	for _, c := range rc.Configs {
		if !o.all && !dynamicSource(kind, c.Source) {
			continue
		}
		l := configLine{Name: c.Key, Value: c.Value, Sensitive: c.Sensitive, Source: c.Source.String(), Synonyms: []configSynonym{}}
		for _, s := range c.Synonyms {
			l.Synonyms = append(l.Synonyms, configSynonym{Name: s.Key, Value: s.Value, Source: s.Source.String()})
		}
		lines = append(lines, l)
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i].Name < lines[j].Name })
	if g.format == cli.FormatJSON {
		return cli.WriteJSON(out, map[string]any{"entity_type": kind + "s", "entity_name": o.entityName, "configs": lines})
	}
	which := "Dynamic"
	if o.all {
		which = "All"
	}
	fmt.Fprintf(out, "%s configs for %s %s are:\n", which, kind, o.entityName)
	for _, l := range lines {
		syns := make([]string, len(l.Synonyms))
		for i, s := range l.Synonyms {
			syns[i] = s.Source + ":" + s.Name + "=" + valueOrNull(s.Value, l.Sensitive)
		}
		fmt.Fprintf(out, "  %s=%s sensitive=%t synonyms={%s}\n", l.Name, valueOrNull(l.Value, l.Sensitive), l.Sensitive, strings.Join(syns, ", "))
	}
	return nil
}

// dynamicSource reports whether a config's source is one kafka-configs.sh
// lists without --all.
func dynamicSource(kind string, s kmsg.ConfigSource) bool {
	if kind == "topic" {
		return s == kmsg.ConfigSourceDynamicTopicConfig
	}
	return s == kmsg.ConfigSourceDynamicBrokerConfig || s == kmsg.ConfigSourceDynamicDefaultBrokerConfig
}

func valueOrNull(v *string, sensitive bool) string {
	switch {
	case sensitive:
		return "null"
	case v == nil:
		return "null"
	}
	return *v
}
