package engine

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gregorlog/gregor/engine/batch"
)

const crashChildEnv = "GREGOR_ENGINE_CRASH_CHILD_DIR"

// crashBatch is the batch a child appends for (round, producer, seq); the
// parent rebuilds it from the ACK line to compare bytes.
func crashBatch(t testing.TB, round, producer, seq int) []byte {
	r := rand.New(rand.NewPCG(uint64(round), uint64(producer<<32|seq)))
	sizes := []int{100, 1000, 20_000, 150_000}
	return mkBatch(t, 1+r.IntN(5), sizes[r.IntN(len(sizes))], int64(seq), round*1_000_000+producer*10_000+seq)
}

// TestCrashChild is the child half of TestCrashSIGKILL; it does nothing
// unless started by it. It appends forever from 8 producers under
// flush.messages=1 and prints one ACK line per acknowledged batch.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		return
	}
	round, _ := strconv.Atoi(os.Getenv("GREGOR_ENGINE_CRASH_ROUND"))
	cfg := testConfig(dir)
	cfg.SegmentBytes = 1 << 20
	cfg.IndexIntervalBytes = 1024
	m, err := Open(cfg, Options{})
	if err != nil {
		fmt.Println("OPENERR", err)
		os.Exit(3)
	}
	l, err := m.Log("crash", 0)
	if err != nil {
		if l, err = m.CreateLog("crash", 0, TopicConfig{}); err != nil {
			fmt.Println("CREATEERR", err)
			os.Exit(3)
		}
	}
	// The topic, not the broker, asks for durability; topic configs are
	// re-applied after Open as the broker does.
	durable := os.Getenv("GREGOR_ENGINE_CRASH_POLICY") != "default"
	if durable {
		if _, err := m.SetTopicConfig("crash", TopicConfig{FlushMessages: Ptr[int64](1)}); err != nil {
			fmt.Println("CONFIGERR", err)
			os.Exit(3)
		}
	}
	fmt.Println("READY")
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ; seq++ {
				b := crashBatch(t, round, p, seq)
				r, err := l.Append(context.Background(), b, AppendOptions{LeaderEpoch: int32(round)})
				if err != nil {
					fmt.Println("APPENDERR", err)
					os.Exit(3)
				}
				if r.Durable != durable {
					fmt.Println("NOTDURABLE")
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(out, "ACK %d %d %d %d %d\n", r.BaseOffset, r.LastOffset, round, p, seq)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

type ack struct {
	base, last           int64
	round, producer, seq int
}

// TestCrashSIGKILL runs the engine in a child process, kills it with
// SIGKILL mid-append many times, and checks after each kill that every
// batch acknowledged under flush.messages=1 is readable byte for byte after
// recovery, that offsets are dense, and that no corrupt batch is served.
// The default policy gets the same checks: SIGKILL does not lose the page
// cache, so its acknowledged batches survive a process crash too (a
// machine crash is what it does not cover).
func TestCrashSIGKILL(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		return
	}
	t.Run("flush.messages=1", func(t *testing.T) { crashRounds(t, "flush1", 12) })
	t.Run("default", func(t *testing.T) { crashRounds(t, "default", 4) })
}

func crashRounds(t *testing.T, policy string, rounds int) {
	if testing.Short() {
		rounds = min(rounds, 3)
	} else if raceEnabled {
		rounds = (rounds + 1) / 2 // the race-built child is several times slower
	}
	dir := t.TempDir()
	var acked []ack
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < rounds; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir, "GREGOR_ENGINE_CRASH_ROUND="+strconv.Itoa(round), "GREGOR_ENGINE_CRASH_POLICY="+policy)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill after a random number of acks (or a deadline).
		target := 1 + rng.IntN(150)
		var got []ack
		deadline := time.After(60 * time.Second)
		killed := false
	collect:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break collect
				}
				if strings.HasPrefix(line, "ACK ") {
					var a ack
					if _, err := fmt.Sscanf(line, "ACK %d %d %d %d %d", &a.base, &a.last, &a.round, &a.producer, &a.seq); err != nil {
						t.Fatalf("bad line %q", line)
					}
					got = append(got, a)
				} else if strings.Contains(line, "ERR") || line == "NOTDURABLE" {
					t.Fatalf("child: %s", line)
				}
				if !killed && len(got) >= target {
					cmd.Process.Signal(syscall.SIGKILL)
					killed = true
				}
			case <-deadline:
				if !killed {
					cmd.Process.Signal(syscall.SIGKILL)
					killed = true
				}
			}
		}
		cmd.Wait()
		if len(got) == 0 {
			t.Fatalf("round %d: child acknowledged nothing", round)
		}
		acked = append(acked, got...)

		// Recover in-process and check.
		cfg := testConfig(dir)
		m, err := Open(cfg, Options{})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		l, err := m.Log("crash", 0)
		if err != nil {
			t.Fatal(err)
		}
		all := readAll(t, l) // fails on any CRC-invalid batch served
		var next int64
		for _, b := range all {
			if batchBase(b) != next {
				t.Fatalf("round %d: offsets not dense: batch at %d, expected %d", round, batchBase(b), next)
			}
			h := mustHeader(t, b)
			next = h.LastOffset() + 1
		}
		for _, a := range acked {
			want := stored(crashBatch(t, a.round, a.producer, a.seq), a.base, int32(a.round))
			b, err := l.ReadCopy(a.base, len(want), l.HighWatermark(), true)
			if err != nil {
				t.Fatalf("round %d: acked batch at %d unreadable: %v", round, a.base, err)
			}
			if !bytes.HasPrefix(b, want) {
				t.Fatalf("round %d: acked batch at %d (round %d producer %d seq %d) differs after recovery", round, a.base, a.round, a.producer, a.seq)
			}
		}
		t.Logf("round %d: %d acked this round, %d batches in log, recovery %+v", round, len(got), len(all), m.RecoveryStats)
		if round%3 == 2 {
			m.Close() // sometimes start the next round clean
		} else {
			m.crash()
		}
	}
}

func mustHeader(t *testing.T, b []byte) batch.Header {
	h, err := batch.ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
