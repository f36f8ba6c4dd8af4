package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/internal/kafkatest"
	"github.com/gregorlog/gregor/internal/testutil"
)

// produceLines writes n records "m0".."m<n-1>" round-robin over partitions.
func produceLines(t *testing.T, bs, topic string, n int) {
	t.Helper()
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, "m%d\n", i)
	}
	mustRun(t, sb.String(), "console-producer", "--bootstrap-server", bs, "--topic", topic)
}

func TestConsumerGroups(t *testing.T) {
	bs := kafkatest.Start(t)
	b := []string{"--bootstrap-server", bs}
	groups := func(args ...string) result {
		return gregor(t, "", append(append([]string{"consumer-groups"}, b...), args...)...)
	}
	mustRun(t, "", append([]string{"topics", "--create", "--topic", "events", "--partitions", "1"}, b...)...)
	produceLines(t, bs, "events", 10)

	// A console consumer in group g reads 4 records and commits them.
	r := gregor(t, "", append([]string{"console-consumer", "--topic", "events", "--group", "g", "--from-beginning", "--max-messages", "4"}, b...)...)
	if r.code != 0 || r.stdout != "m0\nm1\nm2\nm3\n" {
		t.Fatalf("group consumer: %+v", r)
	}

	if r := groups("--list"); r.code != 0 || r.stdout != "g\n" {
		t.Fatalf("list: %+v", r)
	}
	// The group has left: Kafka's note on stderr, '-' for the member cells.
	r = groups("--describe", "--group", "g")
	if r.code != 0 {
		t.Fatalf("describe: %+v", r)
	}
	golden(t, "groups_describe_empty.golden", r.stdout)
	if r.stderr != "\nConsumer group 'g' has no active members.\n" {
		t.Errorf("describe stderr: %q", r.stderr)
	}
	r = groups("--describe", "--group", "g", "--format", "json")
	var dj struct {
		State   string
		Offsets []offsetRow
	}
	if err := json.Unmarshal([]byte(r.stdout), &dj); err != nil || dj.State != "Empty" || len(dj.Offsets) != 1 ||
		*dj.Offsets[0].CurrentOffset != 4 || *dj.Offsets[0].Lag != 6 {
		t.Fatalf("describe json: %v %s", err, r.stdout)
	}

	// Reset: the dry run (the default) prints the plan and changes nothing.
	r = groups("--reset-offsets", "--group", "g", "--topic", "events", "--to-earliest")
	golden(t, "groups_reset_earliest.golden", r.stdout)
	if r := groups("--describe", "--group", "g"); !strings.Contains(r.stdout, "events          0          4               10              6") {
		t.Fatalf("dry run changed offsets:\n%s", r.stdout)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--to-offset", "7"}, "7"},
		{[]string{"--shift-by", "-2"}, "5"},
		{[]string{"--shift-by", "100"}, "10"}, // clamped to the log end
		{[]string{"--to-earliest"}, "0"},
		{[]string{"--to-latest"}, "10"},
		{[]string{"--to-datetime", "2000-01-01T00:00:00.000"}, "0"},
		{[]string{"--to-datetime", time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z07:00")}, "10"},
		{[]string{"--to-current"}, "10"},
	} {
		args := append([]string{"--reset-offsets", "--group", "g", "--topic", "events:0", "--execute", "--format", "json"}, c.args...)
		r := groups(args...)
		if r.code != 0 || !strings.Contains(r.stdout, `"new_offset": `+c.want) {
			t.Fatalf("reset %v: %+v", c.args, r)
		}
		r = groups("--describe", "--group", "g", "--format", "json")
		if !strings.Contains(r.stdout, `"current_offset": `+c.want) {
			t.Fatalf("after reset %v the committed offset is not %s:\n%s", c.args, c.want, r.stdout)
		}
	}
	r = groups("--reset-offsets", "--group", "g", "--all-topics", "--to-offset", "3", "--execute")
	if r.code != 0 || !regexp.MustCompile(`\ng\s+events\s+0\s+3\n`).MatchString(r.stdout) {
		t.Fatalf("reset --all-topics: %+v", r)
	}
	wantExit(t, groups("--reset-offsets", "--group", "g", "--topic", "nope", "--to-earliest"), 1, "Topic 'nope' does not exist.")

	// An active member: describe shows it, --members and --state too, and
	// the reset and delete refuse to touch a live group.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bs), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("events"),
		kgo.ClientID("member-client"), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx)
		}
	}()
	defer func() { cancel(); <-done }()
	testutil.CheckFor(t, 20*time.Second, 100*time.Millisecond, func() error {
		r := gregor(t, "", append([]string{"consumer-groups", "--describe", "--group", "g", "--state"}, b...)...)
		if !strings.Contains(r.stdout, "Stable") {
			return fmt.Errorf("group not stable yet: %q", r.stdout)
		}
		return nil
	})
	r = groups("--describe", "--group", "g")
	re := regexp.MustCompile(`^\nGROUP\s+TOPIC\s+PARTITION\s+CURRENT-OFFSET\s+LOG-END-OFFSET\s+LAG\s+CONSUMER-ID\s+HOST\s+CLIENT-ID\n` +
		`g\s+events\s+0\s+3\s+10\s+7\s+\S+\s+\S+\s+member-client\n$`)
	if !re.MatchString(r.stdout) || r.stderr != "" {
		t.Errorf("describe of an active group:\n%q\nstderr %q", r.stdout, r.stderr)
	}
	r = groups("--describe", "--group", "g", "--members")
	if !regexp.MustCompile(`^\nGROUP\s+CONSUMER-ID\s+HOST\s+CLIENT-ID\s+#PARTITIONS\s*\ng\s+\S+\s+\S+\s+member-client\s+1\s*\n$`).MatchString(r.stdout) {
		t.Errorf("members view:\n%q", r.stdout)
	}
	r = groups("--describe", "--group", "g", "--state")
	if !regexp.MustCompile(`^\nGROUP\s+COORDINATOR \(ID\)\s+ASSIGNMENT-STRATEGY\s+STATE\s+#MEMBERS\ng\s+127\.0\.0\.1:\d+  \(\d+\)\s+\S+\s+Stable\s+1\n$`).MatchString(r.stdout) {
		t.Errorf("state view:\n%q", r.stdout)
	}
	wantExit(t, groups("--reset-offsets", "--group", "g", "--topic", "events", "--to-earliest", "--execute"), 1,
		"Assignments can only be reset if the group 'g' is inactive, but the current state is Stable.")
	wantExit(t, groups("--delete", "--group", "g"), 1, "Group 'g' could not be deleted due to: NON_EMPTY_GROUP")
	cancel()
	<-done
	cl.Close()

	// Several groups at once: a second, empty group h, then --all-groups.
	mustRun(t, "", append([]string{"console-consumer", "--topic", "events", "--group", "h", "--from-beginning", "--max-messages", "1"}, b...)...)
	r = groups("--describe", "--all-groups", "--format", "json")
	var all struct {
		Groups []struct {
			Group string
			State string
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil || len(all.Groups) != 2 || all.Groups[0].Group != "g" || all.Groups[1].Group != "h" {
		t.Fatalf("--all-groups json: %v %q", err, r.stdout)
	}
	r = groups("--describe", "--group", "h", "--group", "nope")
	if r.code != 1 || !strings.Contains(r.stdout, "\nh               events") || !strings.Contains(r.stderr, "Error: Consumer group 'nope' does not exist.") {
		t.Fatalf("two groups, one missing: %+v", r)
	}
	if r := groups("--delete", "--group", "h"); r.code != 0 {
		t.Fatalf("delete h: %+v", r)
	}

	testutil.CheckFor(t, 20*time.Second, 100*time.Millisecond, func() error {
		r := gregor(t, "", append([]string{"consumer-groups", "--delete", "--group", "g"}, b...)...)
		if r.code != 0 {
			return fmt.Errorf("delete: %+v", r)
		}
		if r.stdout != "Deletion of requested consumer groups ('g') was successful.\n" {
			t.Fatalf("delete output: %q", r.stdout)
		}
		return nil
	})
	wantExit(t, groups("--describe", "--group", "g"), 1, "Error: Consumer group 'g' does not exist.")
	wantExit(t, groups("--delete", "--group", "g"), 1, "Group 'g' could not be deleted due to:")
}

func TestGetOffsets(t *testing.T) {
	bs := kafkatest.Start(t)
	b := []string{"--bootstrap-server", bs}
	mustRun(t, "", append([]string{"topics", "--create", "--topic", "a", "--partitions", "2"}, b...)...)
	mustRun(t, "", append([]string{"topics", "--create", "--topic", "b", "--partitions", "1"}, b...)...)
	// Keys pin records to partitions: the same key always hashes the same.
	mustRun(t, "x:1\nx:2\nx:3\n", append([]string{"console-producer", "--topic", "a", "--property", "parse.key=true", "--property", "key.separator=:"}, b...)...)
	produceLines(t, bs, "b", 4)
	get := func(args ...string) result {
		return gregor(t, "", append(append([]string{"get-offsets"}, b...), args...)...)
	}
	r := get("--topic", "a|b")
	if r.code != 0 {
		t.Fatalf("get-offsets: %+v", r)
	}
	golden(t, "get_offsets_latest.golden", normalizeKeyed(r.stdout))
	golden(t, "get_offsets_earliest.golden", get("--topic", "a|b", "--time", "-2").stdout)
	if r := get("--topic", "b", "--time", "0"); r.stdout != "b:0:0\n" {
		t.Errorf("--time 0: %q", r.stdout)
	}
	if r := get("--topic", "b", "--time", fmt.Sprint(time.Now().Add(time.Hour).UnixMilli())); r.code != 0 || r.stdout != "" {
		t.Errorf("--time in the future (no such offset): %+v", r)
	}
	// Records of one batch share a timestamp; the earliest of them wins.
	if r := get("--topic", "b", "--time", "-3"); !regexp.MustCompile(`^b:0:[0-3]\n$`).MatchString(r.stdout) {
		t.Errorf("--time -3: %q", r.stdout)
	}
	if r := get("--topic", "b", "--partitions", "0", "--format", "json"); !strings.Contains(r.stdout, `"offset": 4`) {
		t.Errorf("json: %q", r.stdout)
	}
	// --topic-partitions: topic regexes with N, N-M (M excluded), N- and -M.
	for spec, want := range map[string]string{
		"a:1":       "a:1:",
		"a:0-1,b":   "a:0:,b:0:",
		"a:1-":      "a:1:",
		"a:-1":      "a:0:",
		"[ab]":      "a:0:,a:1:,b:0:",
		":0":        "a:0:,b:0:",
		"b:0,b:0-5": "b:0:",
	} {
		r := get("--topic-partitions", spec, "--time", "-2")
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			got = append(got, strings.TrimSuffix(l, "0"))
		}
		if r.code != 0 || strings.Join(got, ",") != want {
			t.Errorf("--topic-partitions %s: got %q (exit %d), want %s", spec, r.stdout, r.code, want)
		}
	}
	wantExit(t, get("--topic-partitions", "a:x"), 2, "Invalid rule specification: a:x")
	wantExit(t, get("--topic-partitions", "a", "--topic", "a"), 2, "--topic-partitions cannot be used with --topic or --partitions")
	wantExit(t, get("--topic-partitions", "zzz"), 1, "Could not match any topic-partitions")
	wantExit(t, get("--topic", "missing"), 1, "Error: Could not match any topic-partitions with the specified filters")
	wantExit(t, get("--topic", "b", "--partitions", "7"), 1, "Could not match any topic-partitions")
}

// normalizeKeyed sorts out which partition of "a" the keyed records hit, so
// the golden file does not depend on the partitioner's hash.
func normalizeKeyed(s string) string {
	return strings.NewReplacer("a:0:3\na:1:0\n", "a:K:3\na:L:0\n", "a:0:0\na:1:3\n", "a:L:0\na:K:3\n").Replace(s)
}

func TestConfigs(t *testing.T) {
	bs := kafkatest.Start(t)
	b := []string{"--bootstrap-server", bs}
	mustRun(t, "", append([]string{"topics", "--create", "--topic", "c", "--config", "retention.ms=1000"}, b...)...)
	cfg := func(args ...string) result {
		return gregor(t, "", append(append([]string{"configs"}, b...), args...)...)
	}
	r := cfg("--alter", "--entity-type", "topics", "--entity-name", "c", "--add-config", "cleanup.policy=[compact,delete],max.message.bytes=2000000")
	if r.code != 0 || r.stdout != "Completed updating config for topic c.\n" {
		t.Fatalf("alter: %+v", r)
	}
	r = cfg("--describe", "--entity-type", "topics", "--entity-name", "c")
	if r.code != 0 {
		t.Fatalf("describe: %+v", r)
	}
	// Brokers differ in the synonyms they report (kfake leaves out the
	// config itself and uses topic names), so this golden file is per broker.
	golden(t, "configs_describe_topic."+kafkatest.Name()+".golden", r.stdout)
	if r := cfg("--alter", "--topic", "c", "--delete-config", "retention.ms,max.message.bytes"); r.code != 0 {
		t.Fatalf("delete-config: %+v", r)
	}
	r = cfg("--describe", "--topic", "c", "--format", "json")
	var cj struct{ Configs []configLine }
	if err := json.Unmarshal([]byte(r.stdout), &cj); err != nil || len(cj.Configs) != 1 || cj.Configs[0].Name != "cleanup.policy" ||
		*cj.Configs[0].Value != "compact,delete" {
		t.Fatalf("after delete-config: %v %s", err, r.stdout)
	}
	if r := cfg("--describe", "--topic", "c", "--all"); !strings.Contains(r.stdout, "All configs for topic c are:\n") ||
		!strings.Contains(r.stdout, "  segment.bytes=") {
		t.Errorf("--all: %q", r.stdout)
	}

	r = cfg("--alter", "--entity-type", "brokers", "--entity-name", "0", "--add-config", "log.retention.ms=3600000")
	if r.code != 0 || r.stdout != "Completed updating config for broker 0.\n" {
		t.Fatalf("alter broker: %+v", r)
	}
	r = cfg("--describe", "--broker", "0")
	if !strings.HasPrefix(r.stdout, "Dynamic configs for broker 0 are:\n  log.retention.ms=3600000 sensitive=false synonyms={") {
		t.Errorf("describe broker: %q", r.stdout)
	}
	wantExit(t, cfg("--describe", "--topic", "missing"), 1, "Error: describing configs of topic missing: UNKNOWN_TOPIC_OR_PARTITION")
	wantExit(t, cfg("--alter", "--topic", "missing", "--add-config", "retention.ms=1"), 1, "Error: altering configs of topic missing: UNKNOWN_TOPIC_OR_PARTITION")
}
