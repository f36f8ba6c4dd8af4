package broker

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/engine"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFetchPath compares the two ways fetched records leave the
// broker: sendfile(2) from the segment file, and the copy path (pread
// into a buffer, then write). A raw client in a child process fetches the
// same 64 MiB of a partition over loopback N times and discards it; the
// figure is the broker process's CPU-seconds (user + system, from
// getrusage) per GB sent, reported as broker-cpu-s/GB. Run with
//
//	go test -run '^$' -bench FetchPath -benchtime 20x ./broker
func BenchmarkFetchPath(b *testing.B) {
	const batchSize, batches = 1 << 20, 64
	for _, mode := range []struct {
		name string
		off  bool
	}{{"sendfile", false}, {"copy", true}} {
		b.Run(mode.name, func(b *testing.B) {
			br, err := startBrokerWith(b, b.TempDir(), map[string]string{"message.max.bytes": "2000000"}, Options{ZeroCopyOff: mode.off})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if _, err := br.createTopic(ctx, "bench", 1, 1, nil, nil, false); err != nil {
				b.Fatal(err)
			}
			l, _ := br.Engine().Log("bench", 0)
			for range batches {
				rec := benchBatch(b, batchSize)
				if _, err := l.Append(ctx, rec, engine.AppendOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			// The client runs in a child process (TestHelperFetchClient), so
			// the CPU measured here is the broker's alone.
			var total int64
			b.ResetTimer()
			start := cpuTime()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperFetchClient$")
			cmd.Env = append(os.Environ(), "GREGOR_FETCH_CLIENT="+br.Addr(), fmt.Sprintf("GREGOR_FETCH_N=%d", b.N))
			out, err := cmd.Output()
			if err != nil {
				b.Fatalf("client: %v", err)
			}
			cpu := cpuTime() - start
			b.StopTimer()
			if _, err := fmt.Sscan(strings.TrimSpace(strings.Split(string(out), "\n")[0]), &total); err != nil || total == 0 {
				b.Fatalf("client output %q", out)
			}
			b.SetBytes(total / int64(b.N))
			b.ReportMetric(cpu.Seconds()/(float64(total)/1e9), "broker-cpu-s/GB")
			m := br.Metrics()
			if mode.off && m.SendfileBytes.Load() != 0 || !mode.off && m.CopyBytes.Load() != 0 {
				b.Fatalf("wrong path: sendfile %d, copy %d", m.SendfileBytes.Load(), m.CopyBytes.Load())
			}
		})
	}
}

func benchBatch(b *testing.B, size int) []byte {
	return buildBatch(b, strings.Repeat("x", size-200))
}

// TestHelperFetchClient is the benchmark's client process: it fetches the
// whole partition GREGOR_FETCH_N times and prints the bytes received.
func TestHelperFetchClient(t *testing.T) {
	addr := os.Getenv("GREGOR_FETCH_CLIENT")
	if addr == "" {
		t.Skip("helper process for BenchmarkFetchPath")
	}
	n, _ := strconv.Atoi(os.Getenv("GREGOR_FETCH_N"))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rd := bufio.NewReaderSize(c, 1<<20)
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.SessionEpoch = 11, 0, 1, 1<<30, -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "bench"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 30
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	frame := rawFrame(int16(kmsg.Fetch), 11, 1, req.AppendTo(nil))
	var total int64
	for range n {
		if _, err := c.Write(frame); err != nil {
			t.Fatal(err)
		}
		var size [4]byte
		if _, err := io.ReadFull(rd, size[:]); err != nil {
			t.Fatal(err)
		}
		m, err := io.CopyN(io.Discard, rd, int64(binary.BigEndian.Uint32(size[:])))
		if err != nil {
			t.Fatal(err)
		}
		total += m
	}
	fmt.Println(total)
}
