// Package zkmetatest is the behaviour suite of broker/zkmeta, written
// against any ZooKeeper-compatible server: zkmeta's own tests run it
// against Apache ZooKeeper 3.8 (internal/zkref); zkstore can run the same
// bodies against itself by passing its own server factory.
package zkmetatest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/gregorlog/gregor/broker/config"
	"github.com/gregorlog/gregor/broker/zkmeta"
	"github.com/gregorlog/gregor/internal/testutil"
)

// ServerFactory starts a ZooKeeper-compatible server (stopping it at
// cleanup) and returns its "127.0.0.1:port". Run calls it once; every
// subtest works under its own base path, so the tests do not see each
// other.
type ServerFactory func(t *testing.T) (addr string)

// env is one subtest's server and base path; every client the subtest
// makes is chrooted under base, and tree inspects paths under it.
type env struct {
	addr string
	base string
}

// SessionTimeout is what the suite asks for. Servers must allow it
// (Apache ZooKeeper with tickTime <= 2000 does).
const SessionTimeout = 4 * time.Second

// Run runs every behaviour test as a subtest.
func Run(t *testing.T, newServer ServerFactory) {
	addr := newServer(t)
	tests := []struct {
		name string
		f    func(t *testing.T, e env)
	}{
		{"StartupPathsAndClusterID", testStartupPathsAndClusterID},
		{"RegisterBrokerJSON", testRegisterBrokerJSON},
		{"BrokerIDClash", testBrokerIDClash},
		{"StaleRegistrationExpires", testStaleRegistrationExpires},
		{"GenerateBrokerID", testGenerateBrokerID},
		{"ElectionAndFencing", testElectionAndFencing},
		{"SessionExpiryReelection", testSessionExpiryReelection},
		{"ReregistrationClash", testReregistrationClash},
		{"FenceDiesWithSession", testFenceDiesWithSession},
		{"ClosedClientErrors", testClosedClientErrors},
		{"ChrootIsolation", testChrootIsolation},
		{"TopicLifecycle", testTopicLifecycle},
		{"ProducerIDBlocks", testProducerIDBlocks},
		{"Watches", testWatches},
		{"WatchPreexisting", testWatchPreexisting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.f(t, env{addr: addr, base: "/" + tt.name}) })
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type opt func(e env, o *zkmeta.Options)

// withChroot roots the client at a path below the subtest's base.
func withChroot(c string) opt { return func(e env, o *zkmeta.Options) { o.Chroot = e.base + c } }

func withDialer(d zk.Dialer) opt { return func(_ env, o *zkmeta.Options) { o.Dialer = d } }

func withOnReregister(f func(int32, int64, error)) opt {
	return func(_ env, o *zkmeta.Options) { o.OnReregister = f }
}

func withStaleWait(d time.Duration) opt {
	return func(_ env, o *zkmeta.Options) { o.StaleRegistrationWait = d }
}

func connect(t *testing.T, e env, opts ...opt) *zkmeta.Client {
	t.Helper()
	o := zkmeta.Options{
		Servers:           []string{e.addr},
		Chroot:            e.base,
		SessionTimeout:    SessionTimeout,
		ConnectionTimeout: 20 * time.Second,
		Logger:            slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	for _, f := range opts {
		f(e, &o)
	}
	c, err := zkmeta.Connect(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// tree is an independent plain client for inspecting the subtest's paths.
type tree struct {
	c    *zk.Conn
	base string
}

func (r *tree) Get(p string) ([]byte, *zk.Stat, error)        { return r.c.Get(r.base + p) }
func (r *tree) Exists(p string) (bool, *zk.Stat, error)       { return r.c.Exists(r.base + p) }
func (r *tree) Children(p string) ([]string, *zk.Stat, error) { return r.c.Children(r.base + p) }

func raw(t *testing.T, e env) *tree {
	t.Helper()
	c, _, err := zk.Connect([]string{e.addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	testutil.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		_, _, err := c.Exists("/")
		return err
	})
	return &tree{c: c, base: e.base}
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func getJSON(t *testing.T, c *tree, p string) (map[string]any, *zk.Stat) {
	t.Helper()
	data, st, err := c.Get(p)
	if err != nil {
		t.Fatalf("get %s: %v", p, err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s holds %q: %v", p, data, err)
	}
	return m, st
}

// jsonEq compares a decoded JSON value with the expectation given as JSON
// text (so key order never matters).
func jsonEq(t *testing.T, what string, got any, wantJSON string) {
	t.Helper()
	var want any
	if err := json.Unmarshal([]byte(wantJSON), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		t.Errorf("%s = %s, want %s", what, g, wantJSON)
	}
}

func mustExist(t *testing.T, c *tree, p string, want bool) {
	t.Helper()
	ok, _, err := c.Exists(p)
	if err != nil {
		t.Fatal(err)
	}
	if ok != want {
		t.Errorf("exists(%s) = %v, want %v", p, ok, want)
	}
}

func plaintext(host string, port int) []config.Listener {
	return []config.Listener{{Name: "PLAINTEXT", Host: host, Port: port, SecurityProtocol: "PLAINTEXT"}}
}

// cutDialer lets a test sever a client's connection and keep it away from
// the server so its session expires.
type cutDialer struct {
	mu      sync.Mutex
	blocked bool
	conns   []net.Conn
}

func (d *cutDialer) Dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.blocked {
		return nil, errors.New("cutDialer: blocked")
	}
	c, err := net.DialTimeout(network, addr, timeout)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *cutDialer) Cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.blocked = true
	for _, c := range d.conns {
		c.Close()
	}
	d.conns = nil
}

func (d *cutDialer) Restore() {
	d.mu.Lock()
	d.blocked = false
	d.mu.Unlock()
}

func nextLeadership(t *testing.T, ch <-chan zkmeta.Leadership, match func(zkmeta.Leadership) bool) zkmeta.Leadership {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for i := 0; i < 100; i++ {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatal("campaign ended")
			}
			if match(l) {
				return l
			}
			t.Logf("leadership %+v (waiting for another)", l)
		case <-deadline:
			t.Fatal("no matching leadership within 30s")
		}
	}
	t.Fatal("too many leadership changes")
	return zkmeta.Leadership{}
}

func elect(t *testing.T, c *zkmeta.Client, id int32) (zkmeta.Fence, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l := nextLeadership(t, c.Campaign(ctx, id), func(l zkmeta.Leadership) bool { return l.Self })
	return l.Fence, cancel
}

func testStartupPathsAndClusterID(t *testing.T, e env) {
	ctx := testCtx(t)
	const chroot = "/edge/kafka"
	c := connect(t, e, withChroot(chroot))
	r := raw(t, e)
	mustExist(t, r, chroot, true) // created by Connect (r is rooted at the subtest's base)
	if err := c.EnsurePaths(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range zkmeta.PersistentPaths {
		mustExist(t, r, chroot+p, true)
	}
	mustExist(t, r, "/brokers", false) // nothing outside the chroot
	id, err := c.ClusterID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 22 {
		t.Errorf("cluster id %q is not a 22-character Kafka Uuid", id)
	}
	m, _ := getJSON(t, r, chroot+"/cluster/id")
	jsonEq(t, "/cluster/id", m, fmt.Sprintf(`{"version":"1","id":%q}`, id))
	// A second broker reads the same id; EnsurePaths is idempotent.
	c2 := connect(t, e, withChroot(chroot))
	if err := c2.EnsurePaths(ctx); err != nil {
		t.Fatal(err)
	}
	if id2, err := c2.ClusterID(ctx); err != nil || id2 != id {
		t.Errorf("second ClusterID = %q, %v; want %q", id2, err, id)
	}
}

func testRegisterBrokerJSON(t *testing.T, e env) {
	ctx := testCtx(t)
	c := connect(t, e)
	r := raw(t, e)
	if err := c.EnsurePaths(ctx); err != nil {
		t.Fatal(err)
	}
	info := zkmeta.BrokerInfo{ID: 1, Endpoints: plaintext("127.0.0.1", 9092), Rack: "r1", Timestamp: 1700000000000}
	epoch, err := c.RegisterBroker(ctx, info)
	if err != nil {
		t.Fatal(err)
	}
	m, st := getJSON(t, r, "/brokers/ids/1")
	jsonEq(t, "/brokers/ids/1", m, `{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},
		"endpoints":["PLAINTEXT://127.0.0.1:9092"],"jmx_port":-1,"port":9092,"host":"127.0.0.1",
		"version":5,"timestamp":"1700000000000","rack":"r1"}`)
	if st.EphemeralOwner != c.SessionID() || st.EphemeralOwner == 0 {
		t.Errorf("ephemeralOwner 0x%x, session 0x%x", st.EphemeralOwner, c.SessionID())
	}
	if epoch != st.Czxid {
		t.Errorf("broker epoch %d, czxid %d", epoch, st.Czxid)
	}
	// Registering again in the same session is accepted.
	if _, err := c.RegisterBroker(ctx, info); err != nil {
		t.Errorf("re-register in same session: %v", err)
	}
	// No rack, no PLAINTEXT endpoint: host null, port -1, no "rack" key.
	c2 := connect(t, e)
	info2 := zkmeta.BrokerInfo{ID: 2, Timestamp: 5, Endpoints: []config.Listener{
		{Name: "INTERNAL", Host: "10.0.0.1", Port: 9093, SecurityProtocol: "SSL"},
		{Name: "EXTERNAL", Host: "::1", Port: 9094, SecurityProtocol: "SASL_SSL"}}}
	if _, err := c2.RegisterBroker(ctx, info2); err != nil {
		t.Fatal(err)
	}
	m, _ = getJSON(t, r, "/brokers/ids/2")
	jsonEq(t, "/brokers/ids/2", m, `{"features":{},"listener_security_protocol_map":{"INTERNAL":"SSL","EXTERNAL":"SASL_SSL"},
		"endpoints":["INTERNAL://10.0.0.1:9093","EXTERNAL://[::1]:9094"],"jmx_port":-1,"port":-1,"host":null,
		"version":5,"timestamp":"5"}`)
	bs, err := c.Brokers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || bs[0].ID != 1 || bs[1].ID != 2 || !slices.Equal(bs[0].Endpoints, info.Endpoints) ||
		!slices.Equal(bs[1].Endpoints, info2.Endpoints) || bs[0].Rack != "r1" || bs[0].Version != 5 || bs[0].Epoch != epoch {
		t.Errorf("Brokers() = %+v", bs)
	}
	// A controlled shutdown removes the registration.
	if err := c2.DeregisterBroker(ctx, 2); err != nil {
		t.Fatal(err)
	}
	mustExist(t, r, "/brokers/ids/2", false)
	// Closing the session removes the ephemeral at once.
	c.Close()
	testutil.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if ok, _, _ := r.Exists("/brokers/ids/1"); ok {
			return errors.New("registration still present after Close")
		}
		return nil
	})
}

func testBrokerIDClash(t *testing.T, e env) {
	ctx := testCtx(t)
	c1 := connect(t, e)
	c2 := connect(t, e)
	if _, err := c1.RegisterBroker(ctx, zkmeta.BrokerInfo{ID: 1, Endpoints: plaintext("127.0.0.1", 9092)}); err != nil {
		t.Fatal(err)
	}
	_, err := c2.RegisterBroker(ctx, zkmeta.BrokerInfo{ID: 1, Endpoints: plaintext("127.0.0.1", 9093)})
	if !errors.Is(err, zkmeta.ErrBrokerIDClash) || !strings.Contains(err.Error(), "broker.id 1") {
		t.Fatalf("got %v, want ErrBrokerIDClash naming broker.id 1", err)
	}
	t.Logf("clash message: %v", err)
	b, err := c2.Broker(ctx, 1)
	if err != nil || b.Endpoints[0].Port != 9092 {
		t.Errorf("first registration disturbed: %+v %v", b, err)
	}
}

func testStaleRegistrationExpires(t *testing.T, e env) {
	ctx := testCtx(t)
	r := raw(t, e)
	d := &cutDialer{}
	old := connect(t, e, withDialer(d.Dial))
	eps := plaintext("127.0.0.1", 9092)
	if _, err := old.RegisterBroker(ctx, zkmeta.BrokerInfo{ID: 3, Endpoints: eps}); err != nil {
		t.Fatal(err)
	}
	oldSession := old.SessionID()
	d.Cut() // the old process is gone but its session lives until it expires
	fresh := connect(t, e, withStaleWait(30*time.Second))
	if _, err := fresh.RegisterBroker(ctx, zkmeta.BrokerInfo{ID: 3, Endpoints: eps}); err != nil {
		t.Fatalf("registration after the stale session expired: %v", err)
	}
	_, st, err := r.Get("/brokers/ids/3")
	if err != nil {
		t.Fatal(err)
	}
	if st.EphemeralOwner != fresh.SessionID() || st.EphemeralOwner == oldSession {
		t.Errorf("owner 0x%x, want fresh session 0x%x", st.EphemeralOwner, fresh.SessionID())
	}
}

func testGenerateBrokerID(t *testing.T, e env) {
	ctx := testCtx(t)
	c := connect(t, e)
	if err := c.EnsurePaths(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := c.GenerateBrokerID(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.GenerateBrokerID(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if a != 1001 || b != 1002 {
		t.Errorf("generated %d, %d; want 1001, 1002 (Kafka's first generated id is reserved.broker.max.id+1)", a, b)
	}
}

func testElectionAndFencing(t *testing.T, e env) {
	ctx := testCtx(t)
	r := raw(t, e)
	c1, c2 := connect(t, e), connect(t, e)
	ctx1, cancel1 := context.WithCancel(ctx)
	ctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	ch1, ch2 := c1.Campaign(ctx1, 1), c2.Campaign(ctx2, 2)
	anyL := func(zkmeta.Leadership) bool { return true }
	l1, l2 := nextLeadership(t, ch1, anyL), nextLeadership(t, ch2, anyL)
	// One winner, seen by both; a loser may first see the moment before.
	for (l1.Self == l2.Self) || (!l1.Self && l1.Controller != 2) || (!l2.Self && l2.Controller != 1) {
		select {
		case l1 = <-ch1:
		case l2 = <-ch2:
		case <-time.After(20 * time.Second):
			t.Fatalf("no agreement: %+v %+v", l1, l2)
		}
	}
	winner, loser := c1, c2
	wl, wcancel, lch := l1, cancel1, ch2
	winnerID := int32(1)
	if l2.Self {
		winner, loser, wl, wcancel, lch, winnerID = c2, c1, l2, cancel2, ch1, 2
	}
	if wl.Fence.Epoch != 1 {
		t.Errorf("first epoch %d, want 1", wl.Fence.Epoch)
	}
	m, st := getJSON(t, r, "/controller")
	delete(m, "timestamp")
	jsonEq(t, "/controller", m, fmt.Sprintf(`{"version":2,"brokerid":%d,"kraftControllerEpoch":-1}`, winnerID))
	if st.EphemeralOwner != winner.SessionID() {
		t.Error("/controller is not the winner's ephemeral")
	}
	data, st, err := r.Get("/controller_epoch")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "1" || st.Version != wl.Fence.EpochZkVersion {
		t.Errorf("/controller_epoch = %q v%d, fence %+v", data, st.Version, wl.Fence)
	}
	spec := zkmeta.TopicSpec{Name: "a", Assignment: map[int32][]int32{0: {1}}}
	if _, err := winner.CreateTopic(ctx, wl.Fence, spec); err != nil {
		t.Fatalf("controller write: %v", err)
	}
	// The loser holds no valid fence: its guess at one is rejected.
	if err := loser.MarkTopicForDeletion(ctx, zkmeta.Fence{Epoch: 1, EpochZkVersion: wl.Fence.EpochZkVersion - 1}, "a"); !errors.Is(err, zkmeta.ErrFenced) {
		t.Errorf("write with a wrong fence: %v, want ErrFenced", err)
	}
	// The winner steps down; the other broker takes over with epoch 2.
	wcancel()
	if err := winner.Resign(ctx); err != nil {
		t.Fatal(err)
	}
	nl := nextLeadership(t, lch, func(l zkmeta.Leadership) bool { return l.Self })
	if nl.Fence.Epoch != 2 {
		t.Errorf("second epoch %d, want 2", nl.Fence.Epoch)
	}
	// The old controller's writes are now fenced and change nothing.
	spec.Name = "b"
	if _, err := winner.CreateTopic(ctx, wl.Fence, spec); !errors.Is(err, zkmeta.ErrFenced) {
		t.Fatalf("stale controller write: %v, want ErrFenced", err)
	}
	mustExist(t, r, "/brokers/topics/b", false)
	mustExist(t, r, "/config/topics/b", false)
	for name, f := range map[string]func() error{
		"AlterTopicConfig": func() error {
			return winner.AlterTopicConfig(ctx, wl.Fence, "a", map[string]string{"retention.ms": "1"})
		},
		"MarkTopicForDeletion":  func() error { return winner.MarkTopicForDeletion(ctx, wl.Fence, "a") },
		"CompleteTopicDeletion": func() error { return winner.CompleteTopicDeletion(ctx, wl.Fence, "a") },
		"UpdatePartitionState": func() error {
			_, err := winner.UpdatePartitionState(ctx, wl.Fence, "a", 0, zkmeta.PartitionState{Leader: 1, ISR: []int32{1}})
			return err
		},
		"AddPartitions": func() error {
			_, err := winner.AddPartitions(ctx, wl.Fence, "a", map[int32][]int32{1: {1}})
			return err
		},
		"AlterBrokerConfig": func() error {
			return winner.AlterBrokerConfig(ctx, wl.Fence, zkmeta.DefaultBrokerEntity, map[string]string{"num.io.threads": "2"})
		},
	} {
		if err := f(); !errors.Is(err, zkmeta.ErrFenced) {
			t.Errorf("stale %s: %v, want ErrFenced", name, err)
		}
	}
	if _, err := loser.CreateTopic(ctx, nl.Fence, spec); err != nil {
		t.Errorf("new controller write: %v", err)
	}
}

func testSessionExpiryReelection(t *testing.T, e env) {
	ctx := testCtx(t)
	r := raw(t, e)
	d := &cutDialer{}
	c1 := connect(t, e, withDialer(d.Dial))
	c2 := connect(t, e)
	if _, err := c1.RegisterBroker(ctx, zkmeta.BrokerInfo{ID: 1, Endpoints: plaintext("127.0.0.1", 9092)}); err != nil {
		t.Fatal(err)
	}
	ch1 := c1.Campaign(ctx, 1)
	l1 := nextLeadership(t, ch1, func(l zkmeta.Leadership) bool { return l.Self })
	ch2 := c2.Campaign(ctx, 2)
	nextLeadership(t, ch2, func(l zkmeta.Leadership) bool { return l.Controller == 1 && !l.Self })
	oldSession := c1.SessionID()

	d.Cut() // c1 loses its connection; its session expires on the server
	l2 := nextLeadership(t, ch2, func(l zkmeta.Leadership) bool { return l.Self })
	if l2.Fence.Epoch != l1.Fence.Epoch+1 {
		t.Errorf("epoch after failover %d, want %d", l2.Fence.Epoch, l1.Fence.Epoch+1)
	}
	mustExist(t, r, "/brokers/ids/1", false)

	d.Restore() // c1 comes back, learns its session expired, opens a new one
	nextLeadership(t, ch1, func(l zkmeta.Leadership) bool { return l.Controller == 2 && !l.Self })
	testutil.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		_, st, err := r.Get("/brokers/ids/1")
		if err != nil {
			return fmt.Errorf("registration not re-created: %v", err)
		}
		if st.EphemeralOwner == oldSession || st.EphemeralOwner != c1.SessionID() {
			return fmt.Errorf("registration owned by 0x%x, want new session 0x%x", st.EphemeralOwner, c1.SessionID())
		}
		return nil
	})
	// The deposed controller's fence is dead.
	if _, err := c1.CreateTopic(ctx, l1.Fence, zkmeta.TopicSpec{Name: "x", Assignment: map[int32][]int32{0: {1}}}); !errors.Is(err, zkmeta.ErrFenced) {
		t.Errorf("write with the pre-expiry fence: %v, want ErrFenced", err)
	}
}

// testReregistrationClash: a broker whose session expired finds its id
// taken by another live broker when it comes back; it reports the clash
// instead of fighting over the id.
func testReregistrationClash(t *testing.T, e env) {
	ctx := testCtx(t)
	r := raw(t, e)
	d := &cutDialer{}
	results := make(chan error, 1)
	c1 := connect(t, e, withDialer(d.Dial), withOnReregister(func(id int32, epoch int64, err error) {
		if id == 4 {
			results <- err
		}
	}))
	if _, err := c1.RegisterBroker(ctx, zkmeta.BrokerInfo{ID: 4, Endpoints: plaintext("127.0.0.1", 9092)}); err != nil {
		t.Fatal(err)
	}
	d.Cut()
	testutil.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if ok, _, _ := r.Exists("/brokers/ids/4"); ok {
			return errors.New("old registration has not expired yet")
		}
		return nil
	})
	c2 := connect(t, e)
	if _, err := c2.RegisterBroker(ctx, zkmeta.BrokerInfo{ID: 4, Endpoints: plaintext("127.0.0.1", 9093)}); err != nil {
		t.Fatal(err)
	}
	d.Restore()
	select {
	case err := <-results:
		if !errors.Is(err, zkmeta.ErrBrokerIDClash) {
			t.Fatalf("re-registration: %v, want ErrBrokerIDClash", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no re-registration result within 30s")
	}
	_, st, err := r.Get("/brokers/ids/4")
	if err != nil {
		t.Fatal(err)
	}
	if st.EphemeralOwner != c2.SessionID() {
		t.Errorf("registration owner 0x%x, want the live broker 0x%x", st.EphemeralOwner, c2.SessionID())
	}
}

// testFenceDiesWithSession: a controller whose session expired may not
// write even before another broker has bumped the epoch.
func testFenceDiesWithSession(t *testing.T, e env) {
	ctx := testCtx(t)
	r := raw(t, e)
	d := &cutDialer{}
	c := connect(t, e, withDialer(d.Dial))
	l, err := c.TryElect(ctx, 1)
	if err != nil || !l.Self {
		t.Fatalf("TryElect = %+v, %v", l, err)
	}
	oldSession := c.SessionID()
	d.Cut()
	testutil.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if ok, _, _ := r.Exists("/controller"); ok {
			return errors.New("/controller still held by the old session")
		}
		return nil
	})
	d.Restore()
	testutil.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if s := c.SessionID(); s == 0 || s == oldSession {
			return fmt.Errorf("no new session yet (0x%x)", s)
		}
		if _, _, err := c.Conn().Exists("/"); err != nil {
			return err
		}
		return nil
	})
	// /controller_epoch is untouched, yet the old fence is dead.
	_, err = c.CreateTopic(ctx, l.Fence, zkmeta.TopicSpec{Name: "late", Assignment: map[int32][]int32{0: {1}}})
	if !errors.Is(err, zkmeta.ErrFenced) {
		t.Fatalf("write with the expired session's fence: %v, want ErrFenced", err)
	}
	mustExist(t, r, "/brokers/topics/late", false)
}

// testClosedClientErrors: after Close every operation fails promptly with
// one of the package's sentinels.
func testClosedClientErrors(t *testing.T, e env) {
	ctx := testCtx(t)
	c := connect(t, e)
	f, _ := elect(t, c, 1)
	c.Close()
	sentinel := func(err error) bool {
		for _, s := range []error{zkmeta.ErrClosed, zkmeta.ErrZooKeeper, zkmeta.ErrFenced} {
			if errors.Is(err, s) {
				return true
			}
		}
		return false
	}
	ops := map[string]func() error{
		"EnsurePaths": func() error { return c.EnsurePaths(ctx) },
		"ClusterID":   func() error { _, err := c.ClusterID(ctx); return err },
		"Register": func() error {
			_, err := c.RegisterBroker(ctx, zkmeta.BrokerInfo{ID: 1, Endpoints: plaintext("127.0.0.1", 1)})
			return err
		},
		"Topics":       func() error { _, err := c.Topics(ctx); return err },
		"Topic":        func() error { _, err := c.Topic(ctx, "t"); return err },
		"ControllerID": func() error { _, err := c.ControllerID(ctx); return err },
		"CreateTopic": func() error {
			_, err := c.CreateTopic(ctx, f, zkmeta.TopicSpec{Name: "t", Assignment: map[int32][]int32{0: {1}}})
			return err
		},
		"AlterTopicConfig": func() error { return c.AlterTopicConfig(ctx, f, "t", nil) },
		"TryElect":         func() error { _, err := c.TryElect(ctx, 1); return err },
	}
	for name, op := range ops {
		done := make(chan error, 1)
		go func() { done <- op() }()
		select {
		case err := <-done:
			if err == nil || !sentinel(err) {
				t.Errorf("%s after Close: %v, want a zkmeta sentinel", name, err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s after Close hangs", name)
		}
	}
	if _, ok := <-c.Campaign(ctx, 1); ok {
		t.Error("Campaign after Close delivered a leadership")
	}
}

func testChrootIsolation(t *testing.T, e env) {
	ctx := testCtx(t)
	r := raw(t, e)
	a := connect(t, e, withChroot("/a"))
	b := connect(t, e, withChroot("/b"))
	fa, _ := elect(t, a, 1)
	fb, _ := elect(t, b, 1)
	if fa.Epoch != 1 || fb.Epoch != 1 {
		t.Errorf("epochs %d %d, want 1 in each cluster", fa.Epoch, fb.Epoch)
	}
	if _, err := a.CreateTopic(ctx, fa, zkmeta.TopicSpec{Name: "only-a", Assignment: map[int32][]int32{0: {1}}}); err != nil {
		t.Fatal(err)
	}
	mustExist(t, r, "/a/brokers/topics/only-a", true)
	mustExist(t, r, "/a/controller", true)
	mustExist(t, r, "/controller", false)
	if ts, err := b.Topics(ctx); err != nil || len(ts) != 0 {
		t.Errorf("chroot /b sees topics %v, %v", ts, err)
	}
	if ts, err := a.Topics(ctx); err != nil || !slices.Equal(ts, []string{"only-a"}) {
		t.Errorf("chroot /a topics %v, %v", ts, err)
	}
}

func testTopicLifecycle(t *testing.T, e env) {
	ctx := testCtx(t)
	r := raw(t, e)
	c := connect(t, e)
	if err := c.EnsurePaths(ctx); err != nil {
		t.Fatal(err)
	}
	f, _ := elect(t, c, 1)
	spec := zkmeta.TopicSpec{
		Name:       "orders",
		Assignment: map[int32][]int32{0: {1, 2}, 1: {2, 1}},
		Configs:    map[string]string{"retention.ms": "86400000", "cleanup.policy": "compact"},
	}
	a, err := c.CreateTopic(ctx, f, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.TopicID) != 22 {
		t.Errorf("topic id %q", a.TopicID)
	}
	m, _ := getJSON(t, r, "/brokers/topics/orders")
	jsonEq(t, "assignment", m, fmt.Sprintf(`{"version":3,"partitions":{"0":[1,2],"1":[2,1]},"adding_replicas":{},"removing_replicas":{},"topic_id":%q}`, a.TopicID))
	m, _ = getJSON(t, r, "/brokers/topics/orders/partitions/0/state")
	jsonEq(t, "state 0", m, fmt.Sprintf(`{"controller_epoch":%d,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2]}`, f.Epoch))
	m, _ = getJSON(t, r, "/brokers/topics/orders/partitions/1/state")
	jsonEq(t, "state 1", m, fmt.Sprintf(`{"controller_epoch":%d,"leader":2,"version":1,"leader_epoch":0,"isr":[2,1]}`, f.Epoch))
	m, _ = getJSON(t, r, "/config/topics/orders")
	jsonEq(t, "topic config", m, `{"version":1,"config":{"retention.ms":"86400000","cleanup.policy":"compact"}}`)
	changes, _, err := r.Children("/config/changes")
	if err != nil || len(changes) != 1 || !strings.HasPrefix(changes[0], "config_change_") || len(changes[0]) != len("config_change_")+10 {
		t.Fatalf("/config/changes = %v, %v", changes, err)
	}
	m, _ = getJSON(t, r, "/config/changes/"+changes[0])
	jsonEq(t, "notification", m, `{"version":2,"entity_path":"topics/orders"}`)

	// Refusals write nothing.
	if _, err := c.CreateTopic(ctx, f, spec); !errors.Is(err, zkmeta.ErrTopicExists) {
		t.Errorf("create twice: %v", err)
	}
	if _, err := c.CreateTopic(ctx, f, zkmeta.TopicSpec{Name: "bad/name", Assignment: map[int32][]int32{0: {1}}}); !errors.Is(err, zkmeta.ErrInvalidTopic) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := c.CreateTopic(ctx, f, zkmeta.TopicSpec{Name: "c", Assignment: map[int32][]int32{0: {1}}, Configs: map[string]string{"retention.ms": "soon"}}); !errors.Is(err, zkmeta.ErrInvalidConfig) || !strings.Contains(err.Error(), "retention.ms") {
		t.Errorf("bad config: %v", err)
	}
	if _, err := c.CreateTopic(ctx, f, zkmeta.TopicSpec{Name: "c", Assignment: map[int32][]int32{0: {1}, 2: {1}}}); !errors.Is(err, zkmeta.ErrInvalidAssignment) {
		t.Errorf("gap in partitions: %v", err)
	}
	mustExist(t, r, "/brokers/topics/c", false)
	mustExist(t, r, "/config/topics/c", false)

	// Reads.
	if ts, err := c.Topics(ctx); err != nil || !slices.Equal(ts, []string{"orders"}) {
		t.Errorf("Topics = %v, %v", ts, err)
	}
	got, err := c.Topic(ctx, "orders")
	if err != nil || got.TopicID != a.TopicID || !reflect.DeepEqual(got.Partitions, spec.Assignment) {
		t.Errorf("Topic = %+v, %v", got, err)
	}
	if _, err := c.Topic(ctx, "nope"); !errors.Is(err, zkmeta.ErrNoTopic) {
		t.Errorf("missing topic: %v", err)
	}
	states, err := c.PartitionStates(ctx, "orders")
	if err != nil || len(states) != 2 || states[1].Leader != 2 || states[0].ZkVersion != 0 {
		t.Errorf("states = %+v, %v", states, err)
	}

	// Leader/ISR change, conditional on the partition's zkVersion.
	s := states[0]
	s.Leader, s.LeaderEpoch, s.ISR = 2, 1, []int32{2}
	v, err := c.UpdatePartitionState(ctx, f, "orders", 0, s)
	if err != nil || v != 1 {
		t.Fatalf("UpdatePartitionState = %d, %v", v, err)
	}
	if _, err := c.UpdatePartitionState(ctx, f, "orders", 0, s); !errors.Is(err, zkmeta.ErrConflict) {
		t.Errorf("stale partition zkVersion: %v", err)
	}
	m, _ = getJSON(t, r, "/brokers/topics/orders/partitions/0/state")
	jsonEq(t, "state after update", m, fmt.Sprintf(`{"controller_epoch":%d,"leader":2,"version":1,"leader_epoch":1,"isr":[2]}`, f.Epoch))

	// More partitions; the topic id is stable.
	a2, err := c.AddPartitions(ctx, f, "orders", map[int32][]int32{2: {1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	m, _ = getJSON(t, r, "/brokers/topics/orders")
	jsonEq(t, "assignment after add", m, fmt.Sprintf(`{"version":3,"partitions":{"0":[1,2],"1":[2,1],"2":[1,2]},"adding_replicas":{},"removing_replicas":{},"topic_id":%q}`, a.TopicID))
	if a2.TopicID != a.TopicID || len(a2.Partitions) != 3 {
		t.Errorf("AddPartitions = %+v", a2)
	}
	mustExist(t, r, "/brokers/topics/orders/partitions/2/state", true)
	if _, err := c.AddPartitions(ctx, f, "orders", map[int32][]int32{5: {1}}); !errors.Is(err, zkmeta.ErrInvalidAssignment) {
		t.Errorf("add with a gap: %v", err)
	}

	// Topic and broker configs, each with a notification.
	if err := c.AlterTopicConfig(ctx, f, "orders", map[string]string{"retention.ms": "1000"}); err != nil {
		t.Fatal(err)
	}
	m, _ = getJSON(t, r, "/config/topics/orders")
	jsonEq(t, "altered topic config", m, `{"version":1,"config":{"retention.ms":"1000"}}`)
	if cfg, err := c.TopicConfig(ctx, "orders"); err != nil || !reflect.DeepEqual(cfg, map[string]string{"retention.ms": "1000"}) {
		t.Errorf("TopicConfig = %v, %v", cfg, err)
	}
	if err := c.AlterTopicConfig(ctx, f, "orders", map[string]string{"log.retention.ms": "1"}); !errors.Is(err, zkmeta.ErrInvalidConfig) {
		t.Errorf("broker key on a topic: %v", err)
	}
	if err := c.AlterTopicConfig(ctx, f, "nope", nil); !errors.Is(err, zkmeta.ErrNoTopic) {
		t.Errorf("config of a missing topic: %v", err)
	}
	if err := c.AlterBrokerConfig(ctx, f, zkmeta.DefaultBrokerEntity, map[string]string{"log.retention.ms": "5000"}); err != nil {
		t.Fatal(err)
	}
	if err := c.AlterBrokerConfig(ctx, f, "1", map[string]string{"num.io.threads": "4"}); err != nil {
		t.Fatal(err)
	}
	m, _ = getJSON(t, r, "/config/brokers/<default>")
	jsonEq(t, "cluster default config", m, `{"version":1,"config":{"log.retention.ms":"5000"}}`)
	m, _ = getJSON(t, r, "/config/brokers/1")
	jsonEq(t, "broker 1 config", m, `{"version":1,"config":{"num.io.threads":"4"}}`)
	if cfg, err := c.BrokerConfig(ctx, "2"); err != nil || len(cfg) != 0 {
		t.Errorf("absent broker config = %v, %v", cfg, err)
	}
	if err := c.AlterBrokerConfig(ctx, f, "1", map[string]string{"broker.id": "4"}); !errors.Is(err, zkmeta.ErrInvalidConfig) {
		t.Errorf("static key changed dynamically: %v", err)
	}
	changes, _, _ = r.Children("/config/changes")
	sort.Strings(changes)
	var entities []string
	for _, ch := range changes {
		m, _ := getJSON(t, r, "/config/changes/"+ch)
		entities = append(entities, fmt.Sprint(m["entity_path"]))
	}
	if want := []string{"topics/orders", "topics/orders", "brokers/<default>", "brokers/1"}; !slices.Equal(entities, want) {
		t.Errorf("notifications %v, want %v", entities, want)
	}
	// Young notifications are kept; expired ones purged.
	if n, err := c.PurgeNotifications(ctx, zkmeta.NotificationExpiry); err != nil || n != 0 {
		t.Errorf("purge of young notifications: %d, %v", n, err)
	}
	if n, err := c.PurgeNotifications(ctx, 0); err != nil || n != 4 {
		t.Errorf("purge of all notifications: %d, %v", n, err)
	}
	if left, _, _ := r.Children("/config/changes"); len(left) != 0 {
		t.Errorf("notifications left after purge: %v", left)
	}

	// Deletion: marker, then the controller completes it.
	if err := c.MarkTopicForDeletion(ctx, f, "orders"); err != nil {
		t.Fatal(err)
	}
	cl, err := c.ReadCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	om := cl.Topics["orders"]
	if cl.Controller != 1 || len(cl.Topics) != 1 || !om.MarkedForDeletion || om.Assignment.TopicID != a.TopicID ||
		len(om.States) != 3 || om.States[0].Leader != 2 || om.Configs["retention.ms"] != "1000" {
		t.Errorf("ReadCluster = %+v", cl)
	}
	if err := c.MarkTopicForDeletion(ctx, f, "orders"); err != nil {
		t.Errorf("marking twice: %v", err)
	}
	if data, _, err := r.Get("/admin/delete_topics/orders"); err != nil || len(data) != 0 {
		t.Errorf("marker %q, %v", data, err)
	}
	if ts, err := c.TopicsMarkedForDeletion(ctx); err != nil || !slices.Equal(ts, []string{"orders"}) {
		t.Errorf("marked = %v, %v", ts, err)
	}
	if _, err := c.AddPartitions(ctx, f, "orders", map[int32][]int32{3: {1}}); err == nil {
		t.Error("added partitions to a topic being deleted")
	}
	if err := c.CompleteTopicDeletion(ctx, f, "orders"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/brokers/topics/orders", "/config/topics/orders", "/admin/delete_topics/orders"} {
		mustExist(t, r, p, false)
	}
	if err := c.MarkTopicForDeletion(ctx, f, "orders"); !errors.Is(err, zkmeta.ErrNoTopic) {
		t.Errorf("delete a missing topic: %v", err)
	}
	// The name is free again.
	if _, err := c.CreateTopic(ctx, f, zkmeta.TopicSpec{Name: "orders", Assignment: map[int32][]int32{0: {1}}}); err != nil {
		t.Errorf("re-create after deletion: %v", err)
	}
}

// eventWaiter reads a Watch channel until an event matches.
type eventWaiter struct {
	t  *testing.T
	ch <-chan zkmeta.Event
}

// wait reads events until every predicate has matched one; other events
// are dropped (they are stale states of the sets being watched).
func (w eventWaiter) wait(what string, preds ...func(zkmeta.Event) bool) {
	w.t.Helper()
	deadline := time.After(30 * time.Second)
	done := make([]bool, len(preds))
	left := len(preds)
	for i := 0; i < 1000 && left > 0; i++ {
		select {
		case ev, ok := <-w.ch:
			if !ok {
				w.t.Fatalf("watch ended while waiting for %s", what)
			}
			for j, p := range preds {
				if !done[j] && p(ev) {
					done[j] = true
					left--
					break
				}
			}
		case <-deadline:
			w.t.Fatalf("no %s event within 30s", what)
		}
	}
	if left > 0 {
		w.t.Fatalf("no %s event within 1000 events", what)
	}
}

func testWatches(t *testing.T, e env) {
	ctx := testCtx(t)
	watcher := connect(t, e)
	if err := watcher.EnsurePaths(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	w := eventWaiter{t, watcher.Watch(wctx)}
	is := func(k zkmeta.EventKind, names ...string) func(zkmeta.Event) bool {
		return func(ev zkmeta.Event) bool {
			return ev.Kind == k && (ev.Names == nil && len(names) == 0 || slices.Equal(ev.Names, names))
		}
	}
	// The initial state of each watched set.
	w.wait("initial brokers", is(zkmeta.BrokersChanged))
	other := connect(t, e)
	if _, err := other.RegisterBroker(ctx, zkmeta.BrokerInfo{ID: 7, Endpoints: plaintext("127.0.0.1", 9092)}); err != nil {
		t.Fatal(err)
	}
	w.wait("broker 7 registered", is(zkmeta.BrokersChanged, "7"))
	f, _ := elect(t, other, 7)
	w.wait("controller 7", func(ev zkmeta.Event) bool { return ev.Kind == zkmeta.ControllerChanged && ev.Controller == 7 })
	if _, err := other.CreateTopic(ctx, f, zkmeta.TopicSpec{Name: "t", Assignment: map[int32][]int32{0: {7}}}); err != nil {
		t.Fatal(err)
	}
	w.wait("topic t created and its config notification", is(zkmeta.TopicsChanged, "t"),
		func(ev zkmeta.Event) bool { return ev.Kind == zkmeta.ConfigChanged && ev.Name == "topics/t" })
	if _, err := other.AddPartitions(ctx, f, "t", map[int32][]int32{1: {7}}); err != nil {
		t.Fatal(err)
	}
	w.wait("t's assignment changed", func(ev zkmeta.Event) bool { return ev.Kind == zkmeta.TopicChanged && ev.Name == "t" })
	if err := other.AlterBrokerConfig(ctx, f, zkmeta.DefaultBrokerEntity, map[string]string{"log.retention.ms": "1"}); err != nil {
		t.Fatal(err)
	}
	w.wait("cluster default config", func(ev zkmeta.Event) bool { return ev.Kind == zkmeta.ConfigChanged && ev.Name == "brokers/<default>" })
	if err := other.MarkTopicForDeletion(ctx, f, "t"); err != nil {
		t.Fatal(err)
	}
	w.wait("t marked for deletion", is(zkmeta.DeletionsChanged, "t"))
	if err := other.CompleteTopicDeletion(ctx, f, "t"); err != nil {
		t.Fatal(err)
	}
	w.wait("t and its marker gone", is(zkmeta.TopicsChanged), is(zkmeta.DeletionsChanged))
	other.Close() // broker 7 and controller 7 vanish with the session
	w.wait("broker 7 and controller 7 gone", is(zkmeta.BrokersChanged),
		func(ev zkmeta.Event) bool { return ev.Kind == zkmeta.ControllerChanged && ev.Controller == -1 })
	cancel()
	for i := 0; i < 10000; i++ { // the channel closes after ctx ends
		if _, ok := <-w.ch; !ok {
			return
		}
	}
	t.Error("watch channel not closed after cancel")
}

// testWatchPreexisting: Watch started on a populated cluster reports the
// current sets first, then changes to topics that existed before it.
func testWatchPreexisting(t *testing.T, e env) {
	ctx := testCtx(t)
	c := connect(t, e)
	f, _ := elect(t, c, 1)
	if _, err := c.RegisterBroker(ctx, zkmeta.BrokerInfo{ID: 1, Endpoints: plaintext("127.0.0.1", 9092)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pre-a", "pre-b"} {
		if _, err := c.CreateTopic(ctx, f, zkmeta.TopicSpec{Name: name, Assignment: map[int32][]int32{0: {1}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.AlterTopicConfig(ctx, f, "pre-a", map[string]string{"retention.ms": "1"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := eventWaiter{t, c.Watch(wctx)}
	w.wait("initial state",
		func(ev zkmeta.Event) bool {
			return ev.Kind == zkmeta.BrokersChanged && slices.Equal(ev.Names, []string{"1"})
		},
		func(ev zkmeta.Event) bool {
			return ev.Kind == zkmeta.TopicsChanged && slices.Equal(ev.Names, []string{"pre-a", "pre-b"})
		},
		func(ev zkmeta.Event) bool { return ev.Kind == zkmeta.ControllerChanged && ev.Controller == 1 },
		func(ev zkmeta.Event) bool { return ev.Kind == zkmeta.DeletionsChanged && len(ev.Names) == 0 })
	// Old notifications are not replayed; new changes are reported.
	if _, err := c.AddPartitions(ctx, f, "pre-b", map[int32][]int32{1: {1}}); err != nil {
		t.Fatal(err)
	}
	if err := c.AlterTopicConfig(ctx, f, "pre-b", map[string]string{"retention.ms": "2"}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	w.wait("pre-b's partitions and config",
		func(ev zkmeta.Event) bool {
			if ev.Kind == zkmeta.ConfigChanged {
				seen = append(seen, ev.Name)
			}
			return ev.Kind == zkmeta.TopicChanged && ev.Name == "pre-b"
		},
		func(ev zkmeta.Event) bool { return ev.Kind == zkmeta.ConfigChanged && ev.Name == "topics/pre-b" })
	if slices.Contains(seen, "topics/pre-a") {
		t.Errorf("a notification from before Watch was replayed: %v", seen)
	}
}

// testProducerIDBlocks: brokers racing for producer id blocks get disjoint,
// consecutive blocks of 1000, and the znode holds Kafka's JSON.
func testProducerIDBlocks(t *testing.T, e env) {
	ctx := testCtx(t)
	r := raw(t, e)
	a, b := connect(t, e), connect(t, e)
	if err := a.EnsurePaths(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := a.AllocateProducerIDs(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	if first != (zkmeta.ProducerIDBlock{Broker: 3, Start: 0, End: 999}) {
		t.Errorf("first block %+v", first)
	}
	m, _ := getJSON(t, r, "/latest_producer_id_block")
	jsonEq(t, "/latest_producer_id_block", m, `{"version":1,"broker":3,"block_start":"0","block_end":"999"}`)
	const per = 15
	var mu sync.Mutex
	var blocks []zkmeta.ProducerIDBlock
	var wg sync.WaitGroup
	for i, c := range []*zkmeta.Client{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < per; j++ {
				blk, err := c.AllocateProducerIDs(ctx, int32(i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				blocks = append(blocks, blk)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(blocks, func(i, j int) bool { return blocks[i].Start < blocks[j].Start })
	if len(blocks) != 2*per {
		t.Fatalf("%d blocks", len(blocks))
	}
	for i, blk := range blocks {
		if want := int64(i+1) * 1000; blk.Start != want || blk.End != want+999 {
			t.Fatalf("block %d = %+v, want [%d, %d] (blocks must be disjoint and consecutive)", i, blk, want, want+999)
		}
	}
}
