package broker

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gregorlog/gregor/internal/testutil"
)

// confluentScript produces with confluent-kafka-python (librdkafka), reads
// the records back from the beginning and uses its AdminClient.
const confluentScript = `
import sys
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, ConfigResource
bs = sys.argv[1]
admin = AdminClient({"bootstrap.servers": bs})
fs = admin.create_topics([NewTopic("py", num_partitions=2, replication_factor=1, config={"retention.ms": "60000"})])
for f in fs.values():
    f.result(timeout=30)
md = admin.list_topics(timeout=30)
assert len(md.topics["py"].partitions) == 2, md.topics
p = Producer({"bootstrap.servers": bs, "compression.type": "gzip"})
errs = []
def cb(err, msg):
    if err is not None:
        errs.append(err)
for i in range(50):
    p.produce("py", value=("m%d" % i).encode(), partition=i % 2, on_delivery=cb)
assert p.flush(30) == 0
assert not errs, errs
c = Consumer({"bootstrap.servers": bs, "group.id": "unused", "enable.auto.commit": False})
seen = set()
for part in (0, 1):
    c.assign([TopicPartition("py", part, 0)])
    lo, hi = c.get_watermark_offsets(TopicPartition("py", part), timeout=30)
    assert (lo, hi) == (0, 25), (part, lo, hi)
    while len([s for s in seen if int(s[1:]) % 2 == part]) < 25:
        m = c.poll(10)
        assert m is not None, "poll timed out"
        assert m.error() is None, m.error()
        seen.add(m.value().decode())
c.close()
res = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "py")])
for f in res.values():
    cfg = f.result(timeout=30)
    assert cfg["retention.ms"].value == "60000", cfg["retention.ms"]
fs = admin.delete_topics(["py"])
for f in fs.values():
    f.result(timeout=30)
print("ok", len(seen))
`

func TestConfluentKafkaPython(t *testing.T) {
	py := testutil.DebianPython(t, "confluent_kafka")
	b := startBroker(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", confluentScript, b.Addr()).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok 50") {
		t.Fatalf("confluent-kafka-python: %v\n%s", err, out)
	}
}
