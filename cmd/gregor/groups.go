package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorlog/gregor/internal/cli"
)

// missing is Kafka's MISSING_COLUMN_VALUE, printed in empty cells.
const missing = "-"

type groupsOpts struct {
	bootstrap                       string
	list, describe, del, reset      bool
	members, state, offsets         bool
	group                           string // the single group given, if one
	groups                          []string
	allGroups                       bool
	topics                          []string
	allTopics                       bool
	toEarliest, toLatest, toCurrent bool
	toOffset, shiftBy               int64
	toDatetime                      string
	dryRun, execute                 bool
	toOffsetSet, shiftBySet         bool
}

func newGroupsCmd(g *globals) *cobra.Command {
	o := &groupsOpts{}
	cmd := &cobra.Command{
		Use:   "consumer-groups",
		Short: "List, describe, reset and delete consumer groups (kafka-consumer-groups.sh)",
		Long: `Manage consumer groups with kafka-consumer-groups.sh's actions and columns.

--describe prints GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG
CONSUMER-ID HOST CLIENT-ID, with '-' in empty cells; --members and --state
select the other views. --reset-offsets needs one of --to-earliest,
--to-latest, --to-current, --to-offset, --shift-by, --to-datetime, and
--topic (topic or topic:0,1,2; repeatable) or --all-topics; it only shows
the plan unless --execute is given (--dry-run is the default).`,
		Example: `  gregor consumer-groups --bootstrap-server 127.0.0.1:9092 --list
  gregor consumer-groups --bootstrap-server 127.0.0.1:9092 --describe --group g
  gregor consumer-groups --bootstrap-server 127.0.0.1:9092 --describe --group g --members
  gregor consumer-groups --bootstrap-server 127.0.0.1:9092 --reset-offsets --group g --topic t --to-earliest --execute
  gregor consumer-groups --bootstrap-server 127.0.0.1:9092 --reset-offsets --group g --all-topics --to-datetime 2026-01-01T00:00:00.000 --dry-run
  gregor consumer-groups --bootstrap-server 127.0.0.1:9092 --delete --group g`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.toOffsetSet = cmd.Flags().Changed("to-offset")
			o.shiftBySet = cmd.Flags().Changed("shift-by")
			return runGroups(cmd, g, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.bootstrap, "bootstrap-server", "", "REQUIRED: the broker(s) to connect to, host:port[,host:port]")
	f.BoolVar(&o.list, "list", false, "list all consumer groups")
	f.BoolVar(&o.describe, "describe", false, "describe a consumer group")
	f.BoolVar(&o.del, "delete", false, "delete a consumer group (it must have no members)")
	f.BoolVar(&o.reset, "reset-offsets", false, "reset a group's committed offsets")
	f.BoolVar(&o.members, "members", false, "with --describe: show members")
	f.BoolVar(&o.state, "state", false, "with --describe: show the group's state")
	f.BoolVar(&o.offsets, "offsets", false, "with --describe: show offsets and lag (the default view)")
	f.StringArrayVar(&o.groups, "group", nil, "the consumer group (repeatable for --describe and --delete)")
	f.BoolVar(&o.allGroups, "all-groups", false, "with --describe or --delete: every consumer group")
	f.StringArrayVar(&o.topics, "topic", nil, "with --reset-offsets: topic or topic:p1,p2 (repeatable)")
	f.BoolVar(&o.allTopics, "all-topics", false, "with --reset-offsets: every topic the group has offsets for")
	f.BoolVar(&o.toEarliest, "to-earliest", false, "reset to the earliest offset")
	f.BoolVar(&o.toLatest, "to-latest", false, "reset to the latest offset")
	f.BoolVar(&o.toCurrent, "to-current", false, "reset to the current committed offset")
	f.Int64Var(&o.toOffset, "to-offset", 0, "reset to this offset (clamped to the log's range)")
	f.Int64Var(&o.shiftBy, "shift-by", 0, "move the committed offset by N (may be negative)")
	f.StringVar(&o.toDatetime, "to-datetime", "", "reset to the first offset at or after YYYY-MM-DDTHH:mm:SS.sss (local time unless a zone is given)")
	f.BoolVar(&o.dryRun, "dry-run", false, "only show the result (the default)")
	f.BoolVar(&o.execute, "execute", false, "apply the reset")
	return cmd
}

func runGroups(cmd *cobra.Command, g *globals, o *groupsOpts) error {
	n := 0
	for _, b := range []bool{o.list, o.describe, o.del, o.reset} {
		if b {
			n++
		}
	}
	if n != 1 {
		return cli.Usagef("Command must include exactly one action: --list, --describe, --delete, --reset-offsets")
	}
	switch {
	case o.list:
		if len(o.groups) > 0 || o.allGroups {
			return cli.Usagef("--group and --all-groups are not valid with --list")
		}
	case o.allGroups && len(o.groups) > 0:
		return cli.Usagef("Options --group and --all-groups cannot be used together")
	case o.reset && (o.allGroups || len(o.groups) != 1):
		return cli.Usagef("Option --reset-offsets takes exactly one --group")
	case !o.allGroups && len(o.groups) == 0:
		return cli.Usagef("Option --group (or --all-groups) is required with --describe, --delete and --reset-offsets")
	}
	if len(o.groups) == 1 {
		o.group = o.groups[0]
	}
	views := 0
	for _, b := range []bool{o.members, o.state, o.offsets} {
		if b {
			views++
		}
	}
	if views > 0 && !o.describe {
		return cli.Usagef("--members, --state and --offsets are only valid with --describe")
	}
	if views > 1 {
		return cli.Usagef("Option --describe takes at most one of these options: --members, --state, --offsets")
	}
	if o.reset {
		if err := checkResetFlags(o); err != nil {
			return err
		}
	} else if len(o.topics) > 0 || o.allTopics || o.execute || o.dryRun {
		return cli.Usagef("--topic, --all-topics, --dry-run and --execute are only valid with --reset-offsets")
	}

	adm, cl, err := admin(cmd, g, o.bootstrap)
	if err != nil {
		return err
	}
	defer cl.Close()
	switch {
	case o.list:
		ctx, cancel := opCtx(cmd, g)
		defer cancel()
		lg, err := adm.ListGroups(ctx)
		if err != nil {
			return fmt.Errorf("listing groups: %w", err)
		}
		names := []string{}
		for _, l := range lg.Sorted() {
			names = append(names, l.Group)
		}
		if g.format == cli.FormatJSON {
			return cli.WriteJSON(cmd.OutOrStdout(), map[string]any{"groups": names})
		}
		for _, n := range names {
			fmt.Fprintln(cmd.OutOrStdout(), n)
		}
		return nil
	case o.reset:
		return resetOffsets(cmd, g, adm, o)
	}
	groups := o.groups
	if o.allGroups {
		ctx, cancel := opCtx(cmd, g)
		lg, err := adm.ListGroups(ctx)
		cancel()
		if err != nil {
			return fmt.Errorf("listing groups: %w", err)
		}
		groups = nil
		for _, l := range lg.Sorted() {
			groups = append(groups, l.Group)
		}
	}
	if o.del {
		return deleteGroups(cmd, g, adm, groups)
	}
	return describeGroups(cmd, g, adm, o, groups)
}

// describeGroups describes each group in turn, as Kafka does for several
// --group flags or --all-groups; a group that fails is reported and the
// rest still described. With --format json and more than one group (or
// --all-groups) the per-group objects are wrapped in {"groups": [...]}.
func describeGroups(cmd *cobra.Command, g *globals, adm *kadm.Client, o *groupsOpts, groups []string) error {
	multi := o.allGroups || len(groups) > 1
	if !multi {
		return describeGroup(cmd, g, adm, o, groups[0], cmd.OutOrStdout())
	}
	var (
		failed  int
		objects = []json.RawMessage{}
	)
	for _, grp := range groups {
		var buf bytes.Buffer
		err := describeGroup(cmd, g, adm, o, grp, &buf)
		if err != nil {
			failed++
			fmt.Fprintf(cmd.ErrOrStderr(), "Error: %v\n", err)
			continue
		}
		if g.format == cli.FormatJSON {
			objects = append(objects, json.RawMessage(bytes.TrimSpace(buf.Bytes())))
		} else {
			cmd.OutOrStdout().Write(buf.Bytes()) //nolint:errcheck // stdout errors end the run elsewhere
		}
	}
	if g.format == cli.FormatJSON {
		if err := cli.WriteJSON(cmd.OutOrStdout(), map[string]any{"groups": objects}); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &cli.Silent{Err: fmt.Errorf("%d of %d groups could not be described", failed, len(groups))}
	}
	return nil
}

func checkResetFlags(o *groupsOpts) error {
	scen := 0
	for _, b := range []bool{o.toEarliest, o.toLatest, o.toCurrent, o.toOffsetSet, o.shiftBySet, o.toDatetime != ""} {
		if b {
			scen++
		}
	}
	if scen != 1 {
		return cli.Usagef("Option --reset-offsets needs exactly one of: --to-earliest, --to-latest, --to-current, --to-offset, --shift-by, --to-datetime")
	}
	if len(o.topics) == 0 && !o.allTopics {
		return cli.Usagef("Option --reset-offsets needs --topic or --all-topics")
	}
	if len(o.topics) > 0 && o.allTopics {
		return cli.Usagef("Options --topic and --all-topics cannot be used together")
	}
	if o.dryRun && o.execute {
		return cli.Usagef("Options --dry-run and --execute cannot be used together")
	}
	return nil
}

// describeGroupData fetches a group's description, and fails with Kafka's
// wording when the group does not exist.
func describeGroupData(cmd *cobra.Command, g *globals, adm *kadm.Client, group string) (kadm.DescribedGroup, error) {
	ctx, cancel := opCtx(cmd, g)
	defer cancel()
	dgs, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return kadm.DescribedGroup{}, fmt.Errorf("describing group %q: %w", group, err)
	}
	dg, ok := dgs[group]
	if !ok || dg.State == "Dead" || errors.Is(dg.Err, kerr.GroupIDNotFound) {
		return dg, fmt.Errorf("Consumer group '%s' does not exist.", group)
	}
	if dg.Err != nil {
		return dg, fmt.Errorf("describing group %q: %s", group, brokerError(dg.Err, dg.ErrMessage))
	}
	return dg, nil
}

// offsetRow is one line of the offsets view, and its --format json shape.
type offsetRow struct {
	Group         string `json:"group"`
	Topic         string `json:"topic"`
	Partition     int32  `json:"partition"`
	CurrentOffset *int64 `json:"current_offset"`
	LogEndOffset  *int64 `json:"log_end_offset"`
	Lag           *int64 `json:"lag"`
	ConsumerID    string `json:"consumer_id"`
	Host          string `json:"host"`
	ClientID      string `json:"client_id"`
}

func cell(p *int64) string {
	if p == nil {
		return missing
	}
	return strconv.FormatInt(*p, 10)
}

func orMissing(s string) string {
	if s == "" {
		return missing
	}
	return s
}

// groupState prints Kafka's status line for a group's state on stderr.
func groupState(w io.Writer, dg kadm.DescribedGroup) {
	switch dg.State {
	case "Empty":
		fmt.Fprintf(w, "\nConsumer group '%s' has no active members.\n", dg.Group)
	case "PreparingRebalance", "CompletingRebalance", "Assigning", "Reconciling":
		fmt.Fprintf(w, "\nWarning: Consumer group '%s' is rebalancing.\n", dg.Group)
	}
}

func describeGroup(cmd *cobra.Command, g *globals, adm *kadm.Client, o *groupsOpts, group string, out io.Writer) error {
	dg, err := describeGroupData(cmd, g, adm, group)
	if err != nil {
		return err
	}
	errw := cmd.ErrOrStderr()
	switch {
	case o.members:
		return printMembers(out, errw, g, dg)
	case o.state:
		return printState(out, errw, g, dg)
	}

	ctx, cancel := opCtx(cmd, g)
	defer cancel()
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return fmt.Errorf("fetching offsets of group %q: %w", group, err)
	}
	type tp struct {
		t string
		p int32
	}
	rows := map[tp]*offsetRow{}
	for _, m := range dg.Members {
		ca, ok := m.Assigned.AsConsumer()
		if !ok {
			continue
		}
		for _, t := range ca.Topics {
			for _, p := range t.Partitions {
				rows[tp{t.Topic, p}] = &offsetRow{Group: group, Topic: t.Topic, Partition: p,
					ConsumerID: m.MemberID, Host: m.ClientHost, ClientID: m.ClientID}
			}
		}
	}
	for t, ps := range committed {
		for p, r := range ps {
			if r.Err != nil || r.At < 0 {
				continue
			}
			row, ok := rows[tp{t, p}]
			if !ok {
				row = &offsetRow{Group: group, Topic: t, Partition: p, ConsumerID: missing, Host: missing, ClientID: missing}
				rows[tp{t, p}] = row
			}
			at := r.At
			row.CurrentOffset = &at
		}
	}
	topicSet := map[string]bool{}
	for k := range rows {
		topicSet[k.t] = true
	}
	var topics []string
	for t := range topicSet {
		topics = append(topics, t)
	}
	if len(topics) > 0 {
		ends, err := adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			return fmt.Errorf("listing end offsets: %w", err)
		}
		for k, row := range rows {
			if lo, ok := ends.Lookup(k.t, k.p); ok && lo.Err == nil && lo.Offset >= 0 {
				end := lo.Offset
				row.LogEndOffset = &end
				if row.CurrentOffset != nil {
					lag := max(end-*row.CurrentOffset, 0)
					row.Lag = &lag
				}
			}
		}
	}
	sorted := make([]offsetRow, 0, len(rows))
	for _, r := range rows {
		sorted = append(sorted, *r)
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Topic != sorted[j].Topic {
			return sorted[i].Topic < sorted[j].Topic
		}
		return sorted[i].Partition < sorted[j].Partition
	})
	if g.format == cli.FormatJSON {
		return cli.WriteJSON(out, map[string]any{"group": group, "state": dg.State, "offsets": sorted})
	}
	groupState(errw, dg)
	if len(sorted) == 0 {
		if dg.State == "Empty" {
			return nil
		}
		// A stable group with no assignment yet still shows its members.
		for _, m := range dg.Members {
			sorted = append(sorted, offsetRow{Group: group, Topic: missing, Partition: -1,
				ConsumerID: m.MemberID, Host: m.ClientHost, ClientID: m.ClientID})
		}
	}
	gw, tw, cw, hw := 15, 15, 15, 15
	for _, r := range sorted {
		gw, tw = max(gw, len(r.Group)), max(tw, len(r.Topic))
		cw, hw = max(cw, len(orMissing(r.ConsumerID))), max(hw, len(orMissing(r.Host)))
	}
	format := fmt.Sprintf("\n%%-%ds %%-%ds %%-10s %%-15s %%-15s %%-15s %%-%ds %%-%ds %%s", gw, tw, cw, hw)
	fmt.Fprintf(out, format, "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID")
	for _, r := range sorted {
		part := missing
		if r.Partition >= 0 {
			part = strconv.Itoa(int(r.Partition))
		}
		fmt.Fprintf(out, format, r.Group, r.Topic, part, cell(r.CurrentOffset), cell(r.LogEndOffset), cell(r.Lag),
			orMissing(r.ConsumerID), orMissing(r.Host), orMissing(r.ClientID))
	}
	fmt.Fprintln(out)
	return nil
}

// memberRow is the --members view of one member, and its JSON shape.
type memberRow struct {
	Group           string `json:"group"`
	ConsumerID      string `json:"consumer_id"`
	GroupInstanceID string `json:"group_instance_id,omitempty"`
	Host            string `json:"host"`
	ClientID        string `json:"client_id"`
	Partitions      int    `json:"partitions"`
}

func printMembers(out, errw io.Writer, g *globals, dg kadm.DescribedGroup) error {
	rows := []memberRow{}
	withInstance := false
	for _, m := range dg.Members {
		r := memberRow{Group: dg.Group, ConsumerID: m.MemberID, Host: m.ClientHost, ClientID: m.ClientID}
		if m.InstanceID != nil && *m.InstanceID != "" {
			r.GroupInstanceID = *m.InstanceID
			withInstance = true
		}
		if ca, ok := m.Assigned.AsConsumer(); ok {
			for _, t := range ca.Topics {
				r.Partitions += len(t.Partitions)
			}
		}
		rows = append(rows, r)
	}
	if g.format == cli.FormatJSON {
		return cli.WriteJSON(out, map[string]any{"group": dg.Group, "state": dg.State, "members": rows})
	}
	groupState(errw, dg)
	gw, cw, iw, hw, clw := 15, 15, 17, 15, 15
	for _, r := range rows {
		gw, cw, iw = max(gw, len(r.Group)), max(cw, len(r.ConsumerID)), max(iw, len(r.GroupInstanceID))
		hw, clw = max(hw, len(r.Host)), max(clw, len(r.ClientID))
	}
	if withInstance {
		format := fmt.Sprintf("%%-%ds %%-%ds %%-%ds %%-%ds %%-%ds %%-15s \n", gw, cw, iw, hw, clw)
		fmt.Fprintf(out, "\n"+format, "GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS")
		for _, r := range rows {
			fmt.Fprintf(out, format, r.Group, r.ConsumerID, orMissing(r.GroupInstanceID), r.Host, r.ClientID, strconv.Itoa(r.Partitions))
		}
		return nil
	}
	format := fmt.Sprintf("%%-%ds %%-%ds %%-%ds %%-%ds %%-15s \n", gw, cw, hw, clw)
	fmt.Fprintf(out, "\n"+format, "GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS")
	for _, r := range rows {
		fmt.Fprintf(out, format, r.Group, r.ConsumerID, r.Host, r.ClientID, strconv.Itoa(r.Partitions))
	}
	return nil
}

func printState(out, errw io.Writer, g *globals, dg kadm.DescribedGroup) error {
	coord := fmt.Sprintf("%s:%d  (%d)", dg.Coordinator.Host, dg.Coordinator.Port, dg.Coordinator.NodeID)
	strategy := orMissing(dg.Protocol)
	if g.format == cli.FormatJSON {
		return cli.WriteJSON(out, map[string]any{
			"group": dg.Group, "coordinator": map[string]any{"host": dg.Coordinator.Host, "port": dg.Coordinator.Port, "id": dg.Coordinator.NodeID},
			"assignment_strategy": strategy, "state": dg.State, "members": len(dg.Members),
		})
	}
	groupState(errw, dg)
	format := fmt.Sprintf("\n%%-%ds %%-%ds %%-20s %%-20s %%s", max(15, len(dg.Group)), max(25, len(coord)))
	fmt.Fprintf(out, format, "GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS")
	fmt.Fprintf(out, format, dg.Group, coord, strategy, dg.State, strconv.Itoa(len(dg.Members)))
	fmt.Fprintln(out)
	return nil
}

func deleteGroups(cmd *cobra.Command, g *globals, adm *kadm.Client, groups []string) error {
	if len(groups) == 0 {
		return errors.New("There are no consumer groups to delete.")
	}
	ctx, cancel := opCtx(cmd, g)
	defer cancel()
	resps, err := adm.DeleteGroups(ctx, groups...)
	if err != nil {
		return fmt.Errorf("deleting groups: %w", err)
	}
	var ok, failed []string
	for _, grp := range groups {
		r := resps[grp]
		if r.Err == nil {
			ok = append(ok, grp)
			continue
		}
		why := brokerError(r.Err, r.ErrMessage)
		if errors.Is(r.Err, kerr.GroupIDNotFound) {
			why = "Consumer group '" + grp + "' does not exist."
		}
		failed = append(failed, fmt.Sprintf("* Group '%s' could not be deleted due to: %s", grp, why))
	}
	out := cmd.OutOrStdout()
	if g.format == cli.FormatJSON {
		if ok == nil {
			ok = []string{}
		}
		if err := cli.WriteJSON(out, map[string]any{"deleted": ok, "failed": len(failed)}); err != nil {
			return err
		}
	} else if len(ok) > 0 {
		fmt.Fprintf(out, "Deletion of requested consumer groups ('%s') was successful.\n", strings.Join(ok, "', '"))
	}
	if len(failed) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "Error: Deletion of some consumer groups failed:\n%s\n", strings.Join(failed, "\n"))
		return &cli.Silent{Err: fmt.Errorf("%d groups could not be deleted", len(failed))}
	}
	return nil
}

// parseDatetime accepts kafka-consumer-groups' --to-datetime formats.
func parseDatetime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05.000Z0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, cli.Usagef("--to-datetime %q: want YYYY-MM-DDTHH:mm:SS.sss, optionally with a zone such as Z or +01:00", s)
}

// resetRow is one planned reset, and its --format json shape.
type resetRow struct {
	Group     string `json:"group"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	NewOffset int64  `json:"new_offset"`
}

func resetOffsets(cmd *cobra.Command, g *globals, adm *kadm.Client, o *groupsOpts) error {
	var at time.Time
	if o.toDatetime != "" {
		var err error
		if at, err = parseDatetime(o.toDatetime); err != nil {
			return err
		}
	}
	ctx, cancel := opCtx(cmd, g)
	defer cancel()
	dgs, err := adm.DescribeGroups(ctx, o.group)
	if err != nil {
		return fmt.Errorf("describing group %q: %w", o.group, err)
	}
	state := dgs[o.group].State
	if o.execute && state != "" && state != "Empty" && state != "Dead" {
		return fmt.Errorf("Assignments can only be reset if the group '%s' is inactive, but the current state is %s.", o.group, state)
	}
	committed, err := adm.FetchOffsets(ctx, o.group)
	if err != nil {
		return fmt.Errorf("fetching offsets of group %q: %w", o.group, err)
	}
	// Which partitions: the named topics (all or some partitions), or every
	// partition the group has committed offsets for.
	want := map[string]map[int32]bool{} // nil inner map: all partitions
	if o.allTopics {
		for t, ps := range committed {
			want[t] = map[int32]bool{}
			for p := range ps {
				want[t][p] = true
			}
		}
	}
	for _, spec := range o.topics {
		t, plist, hasParts := strings.Cut(spec, ":")
		if t == "" {
			return cli.Usagef("--topic %q: empty topic name", spec)
		}
		if !hasParts {
			want[t] = nil
			continue
		}
		ps, err := splitCommaInts(plist)
		if err != nil {
			return cli.Usagef("--topic %q: %v", spec, err)
		}
		if want[t] == nil {
			want[t] = map[int32]bool{}
		}
		for _, p := range ps {
			want[t][p] = true
		}
	}
	var topics []string
	for t := range want {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	if len(topics) == 0 {
		return fmt.Errorf("Consumer group '%s' has no committed offsets to reset.", o.group)
	}
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("listing start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("listing end offsets: %w", err)
	}
	var times kadm.ListedOffsets
	if o.toDatetime != "" {
		if times, err = adm.ListOffsetsAfterMilli(ctx, at.UnixMilli(), topics...); err != nil {
			return fmt.Errorf("listing offsets by time: %w", err)
		}
	}
	var rows []resetRow
	for _, t := range topics {
		ps, ok := ends[t]
		if !ok || len(ps) == 0 {
			return fmt.Errorf("Topic '%s' does not exist.", t)
		}
		for p, end := range ps {
			if end.Err != nil {
				if errors.Is(end.Err, kerr.UnknownTopicOrPartition) {
					return fmt.Errorf("Topic '%s' does not exist.", t)
				}
				return fmt.Errorf("listing offsets of %s[%d]: %w", t, p, end.Err)
			}
			if want[t] != nil && !want[t][p] {
				continue
			}
			lo := int64(0)
			if s, ok := starts.Lookup(t, p); ok && s.Err == nil {
				lo = s.Offset
			}
			hi := end.Offset
			clamp := func(x int64) int64 { return min(max(x, lo), hi) }
			cur, hasCur := committed.Lookup(t, p)
			hasCur = hasCur && cur.Err == nil && cur.At >= 0
			var n int64
			switch {
			case o.toEarliest:
				n = lo
			case o.toLatest:
				n = hi
			case o.toCurrent:
				if !hasCur {
					return fmt.Errorf("Partition %s-%d has no committed offset to reset to.", t, p)
				}
				n = cur.At
			case o.toOffsetSet:
				n = clamp(o.toOffset)
			case o.shiftBySet:
				if !hasCur {
					return fmt.Errorf("Partition %s-%d has no committed offset to shift.", t, p)
				}
				n = clamp(cur.At + o.shiftBy)
			default: // --to-datetime
				n = hi
				if x, ok := times.Lookup(t, p); ok && x.Err == nil && x.Offset >= 0 {
					n = clamp(x.Offset)
				}
			}
			rows = append(rows, resetRow{Group: o.group, Topic: t, Partition: p, NewOffset: n})
		}
		for p := range want[t] {
			if _, ok := ps[p]; !ok {
				return fmt.Errorf("Partition %s-%d does not exist.", t, p)
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Topic != rows[j].Topic {
			return rows[i].Topic < rows[j].Topic
		}
		return rows[i].Partition < rows[j].Partition
	})
	if o.execute {
		var os kadm.Offsets
		for _, r := range rows {
			os.Add(kadm.Offset{Topic: r.Topic, Partition: r.Partition, At: r.NewOffset, LeaderEpoch: -1})
		}
		resps, err := adm.CommitOffsets(ctx, o.group, os)
		if err != nil {
			return fmt.Errorf("committing offsets for group %q: %w", o.group, err)
		}
		if err := resps.Error(); err != nil {
			return fmt.Errorf("committing offsets for group %q: %w", o.group, err)
		}
	}
	out := cmd.OutOrStdout()
	if g.format == cli.FormatJSON {
		if rows == nil {
			rows = []resetRow{}
		}
		return cli.WriteJSON(out, map[string]any{"group": o.group, "executed": o.execute, "offsets": rows})
	}
	gw, tw := max(15, len(o.group)), 15
	for _, r := range rows {
		tw = max(tw, len(r.Topic))
	}
	format := fmt.Sprintf("\n%%-%ds %%-%ds %%-10s %%s", gw, tw)
	if len(rows) > 0 { // like Kafka: no header for an empty plan
		fmt.Fprintf(out, format, "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET")
	}
	for _, r := range rows {
		fmt.Fprintf(out, format, r.Group, r.Topic, strconv.Itoa(int(r.Partition)), strconv.FormatInt(r.NewOffset, 10))
	}
	fmt.Fprintln(out)
	return nil
}
