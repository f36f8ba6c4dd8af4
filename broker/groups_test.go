package broker

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gregorlog/gregor/internal/testutil"
)

// groupBrokerConfig: short session timeouts and no initial rebalance
// delay, so group tests take seconds.
var groupBrokerConfig = map[string]string{
	"group.initial.rebalance.delay.ms": "0",
	"group.min.session.timeout.ms":     "500",
	"offsets.topic.num.partitions":     "4",
}

func groupBroker(t testing.TB, extra map[string]string) *Broker {
	m := map[string]string{}
	for k, v := range groupBrokerConfig {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return startBroker(t, m)
}

// produceN writes n records round-robin over topic's partitions, values
// "0".."n-1".
func produceN(t testing.TB, b *Broker, topic string, from, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := newClient(t, b, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	for i := from; i < from+n; i++ {
		p.Produce(ctx, kgo.StringRecord(fmt.Sprint(i)), func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// tally counts how often each record (partition/offset) was consumed.
type tally struct {
	mu   sync.Mutex
	seen map[string]int
}

func newTally() *tally { return &tally{seen: map[string]int{}} }

func (ta *tally) add(partition int32, offset int64) {
	ta.mu.Lock()
	ta.seen[fmt.Sprintf("%d/%d", partition, offset)]++
	ta.mu.Unlock()
}

func (ta *tally) distinct() int {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	return len(ta.seen)
}

func (ta *tally) dups() []string {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	var d []string
	for k, n := range ta.seen {
		if n > 1 {
			d = append(d, fmt.Sprintf("%s x%d", k, n))
		}
	}
	sort.Strings(d)
	return d
}

// waitAssigned waits until group is Stable with members members whose
// assignments cover topic's partitions exactly once each.
func waitAssigned(t testing.TB, adm *kadm.Client, groupID, topic string, partitions, members int) kadm.DescribedGroup {
	t.Helper()
	var last kadm.DescribedGroup
	testutil.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		dg, err := adm.DescribeGroups(ctx, groupID)
		if err != nil {
			return err
		}
		g := dg[groupID]
		last = g
		if g.Err != nil {
			return g.Err
		}
		if g.State != "Stable" || len(g.Members) != members {
			return fmt.Errorf("group %s: state %s with %d members, want Stable with %d", groupID, g.State, len(g.Members), members)
		}
		owner := map[int32]string{}
		for _, m := range g.Members {
			ca, ok := m.Assigned.AsConsumer()
			if !ok {
				return fmt.Errorf("member %s: assignment is not a consumer assignment", m.MemberID)
			}
			for _, tp := range ca.Topics {
				if tp.Topic != topic {
					return fmt.Errorf("member %s assigned foreign topic %s", m.MemberID, tp.Topic)
				}
				for _, p := range tp.Partitions {
					if o, dup := owner[p]; dup {
						return fmt.Errorf("partition %d assigned to %s and %s", p, o, m.MemberID)
					}
					owner[p] = m.MemberID
				}
			}
		}
		if len(owner) != partitions {
			return fmt.Errorf("%d of %d partitions assigned: %v", len(owner), partitions, owner)
		}
		return nil
	})
	return last
}

// kgoMember is one franz-go group consumer that counts what it polls and
// commits what it polled before any revocation (exactly once across clean
// rebalances).
type kgoMember struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
}

func startKgoMember(t testing.TB, b *Broker, groupID, topic string, ta *tally, opts ...kgo.Opt) *kgoMember {
	t.Helper()
	return startKgoMemberAt(t, b.Addr(), groupID, topic, ta, false, opts...)
}

// startKgoMemberAt starts a member against addr; with commitEachPoll it
// commits synchronously after every poll.
func startKgoMemberAt(t testing.TB, addr, groupID, topic string, ta *tally, commitEachPoll bool, opts ...kgo.Opt) *kgoMember {
	t.Helper()
	m := &kgoMember{done: make(chan struct{})}
	base := []kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.ConsumerGroup(groupID),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(3 * time.Second),
		kgo.HeartbeatInterval(200 * time.Millisecond),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, _ map[string][]int32) {
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				t.Logf("commit on revoke: %v", err)
			}
		}),
		kgo.FetchMaxWait(200 * time.Millisecond),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.cl = cl
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) { ta.add(r.Partition, r.Offset) })
			if commitEachPoll && fs.NumRecords() > 0 {
				if err := cl.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil {
					t.Logf("commit: %v", err)
				}
			}
			cl.AllowRebalance()
		}
	}()
	t.Cleanup(func() { m.close(false) })
	return m
}

// close stops polling; with leave, it commits and leaves the group.
func (m *kgoMember) close(leave bool) {
	if m.cancel == nil {
		return
	}
	m.cancel()
	<-m.done
	m.cancel = nil
	if leave {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = m.cl.CommitUncommittedOffsets(ctx)
		cancel()
	}
	m.cl.Close()
}

func TestGroupKgo(t *testing.T) {
	for _, bal := range []struct {
		name string
		opt  kgo.Opt
	}{
		{"cooperative-sticky", kgo.Balancers(kgo.CooperativeStickyBalancer())},
		{"range", kgo.Balancers(kgo.RangeBalancer())},
	} {
		t.Run(bal.name, func(t *testing.T) {
			b := groupBroker(t, nil)
			adm := newAdmin(t, b)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			const parts = 6
			if _, err := adm.CreateTopic(ctx, parts, 1, nil, "gk"); err != nil {
				t.Fatal(err)
			}
			ta := newTally()
			produceN(t, b, "gk", 0, 300)
			m1 := startKgoMember(t, b, "g", "gk", ta, bal.opt)
			waitAssigned(t, adm, "g", "gk", parts, 1)
			m2 := startKgoMember(t, b, "g", "gk", ta, bal.opt)
			m3 := startKgoMember(t, b, "g", "gk", ta, bal.opt)
			waitAssigned(t, adm, "g", "gk", parts, 3)
			produceN(t, b, "gk", 300, 300)
			testutil.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
				if n := ta.distinct(); n != 600 {
					return fmt.Errorf("consumed %d of 600", n)
				}
				return nil
			})
			m3.close(true) // clean leave
			waitAssigned(t, adm, "g", "gk", parts, 2)
			produceN(t, b, "gk", 600, 300)
			testutil.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
				if n := ta.distinct(); n != 900 {
					return fmt.Errorf("consumed %d of 900", n)
				}
				return nil
			})
			if d := ta.dups(); len(d) > 0 {
				t.Fatalf("records consumed more than once: %v", d)
			}
			_ = m1
			_ = m2
		})
	}
}
