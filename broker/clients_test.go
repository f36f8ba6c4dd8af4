package broker

// Other Go clients: IBM/sarama and segmentio/kafka-go (added to go.mod
// for these tests only; each negotiates versions its own way, see
// kafka-protocol.md §3.4-3.5).

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	kafkago "github.com/segmentio/kafka-go"
)

func TestSarama(t *testing.T) {
	for _, v := range []sarama.KafkaVersion{sarama.V2_1_0_0, sarama.V2_8_0_0} {
		t.Run(v.String(), func(t *testing.T) {
			b := startBroker(t, nil)
			cfg := sarama.NewConfig()
			cfg.Version = v
			cfg.Producer.Return.Successes = true
			cfg.Producer.RequiredAcks = sarama.WaitForAll
			cfg.Producer.Compression = sarama.CompressionSnappy
			cfg.Producer.Partitioner = sarama.NewManualPartitioner
			adm, err := sarama.NewClusterAdmin([]string{b.Addr()}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer adm.Close()
			retention := "3600000"
			if err := adm.CreateTopic("s", &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1, ConfigEntries: map[string]*string{"retention.ms": &retention}}, false); err != nil {
				t.Fatal(err)
			}
			if err := adm.CreateTopic("s", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err == nil {
				t.Error("creating s twice succeeded")
			}
			entries, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: "s"})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range entries {
				found = found || (e.Name == "retention.ms" && e.Value == retention)
			}
			if !found {
				t.Error("sarama does not see retention.ms")
			}
			prod, err := sarama.NewSyncProducer([]string{b.Addr()}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer prod.Close()
			for i := range 20 {
				if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "s", Partition: int32(i % 2), Value: sarama.StringEncoder(fmt.Sprint(i))}); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
			}
			client, err := sarama.NewClient([]string{b.Addr()}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			n := 0
			for p := int32(0); p < 2; p++ {
				newest, err := client.GetOffset("s", p, sarama.OffsetNewest)
				if err != nil {
					t.Fatal(err)
				}
				n += int(newest)
			}
			if n != 20 {
				t.Fatalf("newest offsets sum %d, want 20", n)
			}
			cons, err := sarama.NewConsumerFromClient(client)
			if err != nil {
				t.Fatal(err)
			}
			defer cons.Close()
			got := 0
			for p := int32(0); p < 2; p++ {
				pc, err := cons.ConsumePartition("s", p, sarama.OffsetOldest)
				if err != nil {
					t.Fatal(err)
				}
				for range 10 {
					select {
					case <-pc.Messages():
						got++
					case err := <-pc.Errors():
						t.Fatal(err)
					case <-time.After(30 * time.Second):
						t.Fatalf("partition %d: timed out after %d messages", p, got)
					}
				}
				pc.Close()
			}
			if err := adm.DeleteTopic("s"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestKafkaGo(t *testing.T) {
	b := startBroker(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := &kafkago.Client{Addr: kafkago.TCP(b.Addr())}
	cres, err := client.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{Topic: "kg", NumPartitions: 1, ReplicationFactor: 1}}})
	if err != nil || cres.Errors["kg"] != nil {
		t.Fatalf("create: %v %v", err, cres.Errors)
	}
	w := &kafkago.Writer{Addr: kafkago.TCP(b.Addr()), Topic: "kg", RequiredAcks: kafkago.RequireAll, Compression: kafkago.Gzip, BatchTimeout: 10 * time.Millisecond}
	defer w.Close()
	var msgs []kafkago.Message
	for i := range 30 {
		msgs = append(msgs, kafkago.Message{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprint("value-", i))})
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, Topic: "kg", Partition: 0, MaxWait: 200 * time.Millisecond})
	defer r.Close()
	for i := range 30 {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if string(m.Value) != fmt.Sprint("value-", i) || m.Offset != int64(i) {
			t.Fatalf("message %d: offset %d value %q", i, m.Offset, m.Value)
		}
	}
	conn, err := kafkago.DialLeader(ctx, "tcp", b.Addr(), "kg", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	last, err := conn.ReadLastOffset()
	if err != nil || last != 30 {
		t.Fatalf("last offset %d, %v", last, err)
	}
	dres, err := client.DeleteTopics(ctx, &kafkago.DeleteTopicsRequest{Topics: []string{"kg"}})
	if err != nil || dres.Errors["kg"] != nil {
		t.Fatalf("delete: %v %v", err, dres.Errors)
	}
}
