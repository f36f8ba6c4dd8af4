package broker

// Committed offsets and groups survive a broker restart and a kill -9:
// the coordinator reloads __consumer_offsets and consumers resume from
// their committed offsets.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/internal/testutil"
)

const groupChildEnv = "GREGOR_GROUP_BROKER_DIR"

// committedSum is the sum of group's committed offsets of topic.
func committedSum(ctx context.Context, adm *kadm.Client, groupID string) (int64, error) {
	os, err := adm.FetchOffsets(ctx, groupID)
	if err != nil {
		return 0, err
	}
	if err := os.Error(); err != nil {
		return 0, err
	}
	var sum int64
	os.Each(func(o kadm.OffsetResponse) { sum += o.At })
	return sum, nil
}

func waitCommitted(t testing.TB, adm *kadm.Client, groupID string, want int64) {
	t.Helper()
	testutil.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sum, err := committedSum(ctx, adm, groupID)
		if err != nil {
			return err
		}
		if sum != want {
			return fmt.Errorf("committed offsets sum to %d, want %d", sum, want)
		}
		return nil
	})
}

// TestGroupRestart: close and reopen the broker on the same dirs and
// port; the running member rejoins and goes on from its committed
// offsets, a new member of another group starts where that group
// committed.
func TestGroupRestart(t *testing.T) {
	dir := t.TempDir()
	port := testutil.FreePort(t)
	// A tiny load buffer: reloading takes many reads, most ending mid-batch.
	extra := map[string]string{"listeners": fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", port), "offsets.load.buffer.size": "200"}
	for k, v := range groupBrokerConfig {
		extra[k] = v
	}
	b, err := startBrokerIn(t, dir, extra)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	adm := newAdmin(t, b)
	const parts = 4
	if _, err := adm.CreateTopic(ctx, parts, 1, nil, "gr"); err != nil {
		t.Fatal(err)
	}
	produceN(t, b, "gr", 0, 100)
	// Group "once" consumes 100 and leaves (Empty group with offsets).
	ta1 := newTally()
	m1 := startKgoMemberAt(t, b.Addr(), "once", "gr", ta1, true)
	waitConsumed(t, ta1, 100)
	waitCommitted(t, adm, "once", 100)
	m1.close(true)
	// Group "live" keeps a member through the restart.
	ta := newTally()
	startKgoMemberAt(t, b.Addr(), "live", "gr", ta, true)
	waitConsumed(t, ta, 100)
	waitCommitted(t, adm, "live", 100)

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2, err := startBrokerIn(t, dir, extra)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	adm2 := newAdmin(t, b2)
	waitCommitted(t, adm2, "once", 100)
	produceN(t, b2, "gr", 100, 50)
	waitConsumed(t, ta, 150)
	checkNoDups(t, ta)
	waitAssigned(t, adm2, "live", "gr", parts, 1)
	// "once" resumes at its committed offsets: only the 50 new records.
	ta1b := newTally()
	startKgoMemberAt(t, b2.Addr(), "once", "gr", ta1b, true)
	waitConsumed(t, ta1b, 50)
	for k := range ta1.seen {
		if ta1b.seen[k] > 0 {
			t.Fatalf("group once re-consumed %s after the restart", k)
		}
	}
	lag := b2.GroupLag("live")
	if len(lag) != parts {
		t.Fatalf("lag of %d partitions: %+v", len(lag), lag)
	}
}

// TestHelperGroupBroker is the child of TestGroupKill9: a broker on the
// given dir and port that runs until killed.
func TestHelperGroupBroker(t *testing.T) {
	dir := os.Getenv(groupChildEnv)
	if dir == "" {
		return
	}
	// A short ZooKeeper session: the restarted broker waits for the
	// killed one's registration to expire.
	extra := map[string]string{"listeners": "PLAINTEXT://127.0.0.1:" + os.Getenv("GREGOR_GROUP_BROKER_PORT"),
		"zookeeper.session.timeout.ms": "4000"}
	for k, v := range groupBrokerConfig {
		extra[k] = v
	}
	b, err := startBrokerIn(t, dir, extra)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready", b.Addr())
	time.Sleep(3 * time.Minute) // killed long before
}

func startGroupChild(t *testing.T, dir string, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperGroupBroker$", "-test.count=1")
	cmd.Env = append(os.Environ(), groupChildEnv+"="+dir, fmt.Sprintf("GREGOR_GROUP_BROKER_PORT=%d", port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ready ") && !ok {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("child broker exited before it was ready")
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("child broker not ready after 60 s")
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// TestGroupKill9: kill -9 the broker (in a child process) while a member
// is in the group; after the restart on the same dirs and port the
// member rejoins and consumes on from its committed offsets, without
// seeing a committed record again.
func TestGroupKill9(t *testing.T) {
	if os.Getenv(groupChildEnv) != "" {
		return
	}
	dir := filepath.Join(t.TempDir(), "b")
	port := testutil.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	child := startGroupChild(t, dir, port)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("gk9"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	const parts = 4
	if _, err := adm.CreateTopic(ctx, parts, 1, nil, "gk9"); err != nil {
		t.Fatal(err)
	}
	produce := func(from, n int) {
		for i := from; i < from+n; i++ {
			if err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprint(i))).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
		}
	}
	produce(0, 80)
	ta := newTally()
	startKgoMemberAt(t, addr, "k9", "gk9", ta, true)
	waitConsumed(t, ta, 80)
	waitCommitted(t, adm, "k9", 80)

	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	startGroupChild(t, dir, port)
	waitCommitted(t, adm, "k9", 80)
	produce(80, 40)
	waitConsumed(t, ta, 120)
	checkNoDups(t, ta)
	waitCommitted(t, adm, "k9", 120)
	waitAssigned(t, adm, "k9", "gk9", parts, 1)
}
