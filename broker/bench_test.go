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
// into a buffer, then write). Two brokers hold the same 64 MiB partition,
// one serving by sendfile and one by copy. Each benchmark iteration is one
// round per path, in ABBA order across iterations so neither path always
// runs first: a raw client in a child process (TestHelperFetchClient)
// fetches the whole partition fetchesPerRound times over loopback and
// discards it, while only that path's broker is busy. The figures are the
// test process's CPU-seconds (user + system, from getrusage; the client is
// not in it) per GB sent, per path, and their ratio copy/sendfile, all
// from the same run so load from elsewhere on a shared machine lands on
// both sides. Run with
//
//	go test -run '^$' -bench FetchPath -benchtime 20x -count 5 ./broker
func BenchmarkFetchPath(b *testing.B) {
	const batchSize, batches, fetchesPerRound = 1 << 20, 64, 4
	type path struct {
		name  string
		br    *Broker
		cpu   time.Duration
		bytes int64
	}
	paths := []*path{{name: "sendfile"}, {name: "copy"}}
	ctx := context.Background()
	for _, p := range paths {
		br, err := startBrokerWith(b, b.TempDir(), map[string]string{"message.max.bytes": "2000000"}, Options{ZeroCopyOff: p.name == "copy"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := br.createTopic(ctx, "bench", 1, 1, nil, nil, false); err != nil {
			b.Fatal(err)
		}
		l, _ := br.Engine().Log("bench", 0)
		for range batches {
			if _, err := l.Append(ctx, benchBatch(b, batchSize), engine.AppendOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		p.br = br
	}
	round := func(p *path) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperFetchClient$")
		cmd.Env = append(os.Environ(), "GREGOR_FETCH_CLIENT="+p.br.Addr(), fmt.Sprintf("GREGOR_FETCH_N=%d", fetchesPerRound))
		start := cpuTime()
		out, err := cmd.Output()
		p.cpu += cpuTime() - start
		if err != nil {
			b.Fatalf("%s client: %v", p.name, err)
		}
		var n int64
		if _, err := fmt.Sscan(strings.TrimSpace(strings.Split(string(out), "\n")[0]), &n); err != nil || n == 0 {
			b.Fatalf("%s client output %q", p.name, out)
		}
		p.bytes += n
	}
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			round(paths[0])
			round(paths[1])
		} else {
			round(paths[1])
			round(paths[0])
		}
	}
	b.StopTimer()
	b.SetBytes((paths[0].bytes + paths[1].bytes) / int64(b.N))
	perGB := func(p *path) float64 { return p.cpu.Seconds() / (float64(p.bytes) / 1e9) }
	b.ReportMetric(perGB(paths[0]), "sendfile-cpu-s/GB")
	b.ReportMetric(perGB(paths[1]), "copy-cpu-s/GB")
	b.ReportMetric(perGB(paths[1])/perGB(paths[0]), "copy/sendfile")
	for _, p := range paths {
		m := p.br.Metrics()
		if p.name == "copy" && m.SendfileBytes.Load() != 0 || p.name == "sendfile" && m.CopyBytes.Load() != 0 {
			b.Fatalf("%s broker took the wrong path: sendfile %d, copy %d bytes", p.name, m.SendfileBytes.Load(), m.CopyBytes.Load())
		}
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
