package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gregorlog/gregor/internal/kafkatest"
)

func TestTopics(t *testing.T) {
	bs := kafkatest.Start(t)
	b := []string{"--bootstrap-server", bs}
	topics := func(args ...string) result {
		return gregor(t, "", append(append([]string{"topics"}, b...), args...)...)
	}

	r := topics("--create", "--topic", "orders", "--partitions", "3", "--replication-factor", "1",
		"--config", "retention.ms=86400000", "--config", "cleanup.policy=compact")
	if r.code != 0 || r.stdout != "Created topic orders.\n" {
		t.Fatalf("create: %+v", r)
	}
	r = topics("--create", "--topic", "my_events")
	if r.code != 0 || !strings.Contains(r.stderr, "WARNING: Due to limitations in metric names") {
		t.Fatalf("create with '_' should warn on stderr: %+v", r)
	}
	wantExit(t, topics("--create", "--topic", "orders"), 1,
		"Error while executing topic command : Topic 'orders' already exists.")
	if r := topics("--create", "--topic", "orders", "--if-not-exists"); r.code != 0 || r.stdout != "" {
		t.Fatalf("--if-not-exists on an existing topic: %+v", r)
	}

	r = topics("--list")
	golden(t, "topics_list.golden", r.stdout)

	r = topics("--describe", "--topic", "orders")
	if r.code != 0 {
		t.Fatalf("describe: %+v", r)
	}
	golden(t, "topics_describe.golden", normalize(r.stdout))

	if r := topics("--alter", "--topic", "orders", "--partitions", "5"); r.code != 0 {
		t.Fatalf("alter: %+v", r)
	}
	r = topics("--describe", "--topic", "orders", "--format", "json")
	var desc struct {
		Topics []topicDescription `json:"topics"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &desc); err != nil {
		t.Fatalf("describe json: %v\n%s", err, r.stdout)
	}
	if len(desc.Topics) != 1 || desc.Topics[0].PartitionCount != 5 || desc.Topics[0].Configs["retention.ms"] != "86400000" ||
		len(desc.Topics[0].Partitions) != 5 || desc.Topics[0].Partitions[4].Leader < 0 {
		t.Fatalf("after --alter --partitions 5: %+v", desc)
	}
	wantExit(t, topics("--alter", "--topic", "orders", "--partitions", "2"), 1, "Error while executing topic command : orders: INVALID_PARTITIONS")

	// A regular expression selects several topics.
	r = topics("--describe", "--topic", "ord.*|my_.*")
	if got := strings.Count(r.stdout, "PartitionCount"); got != 2 {
		t.Fatalf("regex describe matched %d topics, want 2:\n%s", got, r.stdout)
	}

	if r := topics("--delete", "--topic", "orders"); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	wantExit(t, topics("--describe", "--topic", "orders"), 1,
		"Error while executing topic command : Topic 'orders' does not exist as expected")
	wantExit(t, topics("--delete", "--topic", "orders"), 1, "Topic 'orders' does not exist as expected")
	wantExit(t, topics("--alter", "--topic", "orders", "--partitions", "9"), 1, "Topic 'orders' does not exist as expected")
	if r := topics("--delete", "--topic", "orders", "--if-exists"); r.code != 0 {
		t.Fatalf("--if-exists on a missing topic: %+v", r)
	}
	r = topics("--list", "--format", "json")
	var list struct{ Topics []string }
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list.Topics) != 1 || list.Topics[0] != "my_events" {
		t.Fatalf("list json after delete: %v %s", err, r.stdout)
	}
}
