package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/internal/kafkatest"
)

func TestConsoleProducerConsumer(t *testing.T) {
	bs := kafkatest.Start(t)
	b := []string{"--bootstrap-server", bs}
	mustRun(t, "", append([]string{"topics", "--create", "--topic", "lines", "--partitions", "1"}, b...)...)

	// Keys split at the first separator; CRLF line ends are stripped.
	in := "k1:v1\nk2:v2:with:colons\r\n:empty-key\nk4:\n"
	r := gregor(t, in, append([]string{"console-producer", "--topic", "lines",
		"--property", "parse.key=true", "--property", "key.separator=:",
		"--compression-codec", "gzip", "--request-required-acks", "1",
		"--producer-property", "linger.ms=1"}, b...)...)
	if r.code != 0 || r.stdout != "" || strings.Contains(r.stderr, ">") {
		t.Fatalf("producer: %+v (no prompt expected on a pipe)", r)
	}
	// Unkeyed lines, zstd, acks=all, synchronous sends.
	mustRun(t, "plain\n", append([]string{"console-producer", "--topic", "lines", "--compression-codec", "zstd", "--sync"}, b...)...)

	cons := func(args ...string) result {
		return gregor(t, "", append(append([]string{"console-consumer", "--topic", "lines"}, b...), args...)...)
	}
	r = cons("--from-beginning", "--max-messages", "5",
		"--property", "print.key=true", "--property", "print.partition=true", "--property", "print.offset=true")
	if r.code != 0 {
		t.Fatalf("consumer: %+v", r)
	}
	golden(t, "console_consumer_keys.golden", r.stdout)
	if !strings.Contains(r.stderr, "Processed a total of 5 messages") {
		t.Errorf("stderr lacks the processed count: %q", r.stderr)
	}

	// Default format: values only; a custom separator and timestamps.
	r = cons("--from-beginning", "--max-messages", "2")
	if r.stdout != "v1\nv2:with:colons\n" {
		t.Errorf("value-only output: %q", r.stdout)
	}
	r = cons("--from-beginning", "--max-messages", "1", "--property", "print.timestamp=true", "--property", "print.key=true", "--property", "key.separator= | ")
	if !regexp.MustCompile(`^CreateTime:\d{13} \| k1 \| v1\n$`).MatchString(r.stdout) {
		t.Errorf("timestamp output: %q", r.stdout)
	}
	// A partition and offset; the timeout ends the run once caught up.
	r = cons("--partition", "0", "--offset", "3", "--timeout-ms", "1500", "--property", "print.offset=true")
	if r.code != 0 || r.stdout != "Offset:3\t\nOffset:4\tplain\n" {
		t.Errorf("--partition 0 --offset 3: %+v", r)
	}
	if !strings.Contains(r.stderr, "Processed a total of 2 messages") {
		t.Errorf("stderr: %q", r.stderr)
	}
	r = cons("--from-beginning", "--max-messages", "1", "--isolation-level", "read_committed")
	if r.code != 0 || r.stdout != "v1\n" {
		t.Errorf("read_committed: %+v", r)
	}
	wantExit(t, cons("--isolation-level", "dirty"), 2, "--isolation-level must be read_uncommitted or read_committed")
	r = cons("--from-beginning", "--max-messages", "1", "--format", "json")
	var rec jsonRecord
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || rec.Offset != 0 || *rec.Key != "k1" || *rec.Value != "v1" {
		t.Errorf("json record: %v %q", err, r.stdout)
	}

	// Error paths: a missing topic, a line without a key separator.
	wantExit(t, gregor(t, "", append([]string{"console-consumer", "--topic", "nope", "--max-messages", "1"}, b...)...), 1,
		`Error: topic "nope" does not exist`)
	wantExit(t, gregor(t, "a\n", append([]string{"console-producer", "--topic", "nope"}, b...)...), 1,
		`Error: topic "nope" does not exist`)
	wantExit(t, gregor(t, "ok:1\nbroken\n", append([]string{"console-producer", "--topic", "lines", "--property", "parse.key=true", "--property", "key.separator=:"}, b...)...), 1,
		"Error: No key separator found on line number 2: 'broken'")
	// ignore.error keeps the whole line as the value.
	mustRun(t, "broken2\n", append([]string{"console-producer", "--topic", "lines", "--property", "parse.key=true", "--property", "ignore.error=true"}, b...)...)
	r = cons("--partition", "0", "--offset", "6", "--max-messages", "1", "--property", "print.key=true")
	if r.stdout != "null\tbroken2\n" {
		t.Errorf("ignore.error record: %q", r.stdout)
	}

	// Headers round trip.
	mustRun(t, "h1:a,h2:b\tkey\tval\n", append([]string{"console-producer", "--topic", "lines", "--property", "parse.headers=true", "--property", "parse.key=true"}, b...)...)
	r = cons("--partition", "0", "--offset", "7", "--max-messages", "1", "--property", "print.headers=true", "--property", "print.key=true")
	if r.stdout != "h1:a,h2:b\tkey\tval\n" {
		t.Errorf("headers record: %q", r.stdout)
	}
}

// TestFormatter pins DefaultMessageFormatter's field order and markers.
func TestFormatter(t *testing.T) {
	f, err := parseFormatter([]string{"print.timestamp=true", "print.partition=true", "print.offset=true",
		"print.headers=true", "print.key=true", "key.separator=|", "null.literal=<null>"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	f.write(&b, &kgo.Record{Partition: 2, Offset: 7, Timestamp: time.UnixMilli(1700000000123), Key: []byte("k"), Value: []byte("v"),
		Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("1")}}})
	f.write(&b, &kgo.Record{Timestamp: time.UnixMilli(-1), Value: nil})
	want := "CreateTime:1700000000123|Partition:2|Offset:7|h:1|k|v\nNO_TIMESTAMP|Partition:0|Offset:0|NO_HEADERS|<null>|<null>\n"
	if b.String() != want {
		t.Errorf("got %q\nwant %q", b.String(), want)
	}
}
