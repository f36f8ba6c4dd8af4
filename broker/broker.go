package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregorlog/gregor/broker/config"
	"github.com/gregorlog/gregor/broker/zkmeta"
	"github.com/gregorlog/gregor/engine"
	"github.com/gregorlog/gregor/engine/checkpoint"
	"github.com/gregorlog/gregor/netio"
	"github.com/gregorlog/gregor/zkstore"
	zkcfg "github.com/gregorlog/gregor/zkstore/config"
)

// Sentinel errors of the broker's life cycle.
var (
	// ErrStart: the broker could not start; the message says which step
	// failed (and wraps that step's error).
	ErrStart = errors.New("broker: start failed")
	// ErrClosed: the broker is shutting down.
	ErrClosed = errors.New("broker: closed")
)

// Options are the non-Kafka knobs of New.
type Options struct {
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// ZeroCopyOff sends fetched file regions through pread + write instead
	// of sendfile (benchmarks compare the two).
	ZeroCopyOff bool
	// ShutdownGrace bounds how long Close waits for in-flight requests
	// (default 10 s).
	ShutdownGrace time.Duration
	// GroupClock is the group coordinator's clock (default time.Now);
	// tests inject one to step session and rebalance timeouts.
	GroupClock func() time.Time
	// EngineFS is the storage engine's file system (default the real
	// one); tests inject write failures through it.
	EngineFS engine.FS
}

// Broker is one Gregor broker.
type Broker struct {
	// cfg is server.properties as started; cur adds the dynamic broker
	// configs from ZooKeeper (read it with conf()).
	cfg  *config.Config
	cur  atomic.Pointer[config.Config]
	opts Options
	log  *slog.Logger
	id   int32

	embedded  *zkstore.Server // nil with zookeeper.connect
	zk        *zkmeta.Client
	eng       *engine.Manager
	srv       *netio.Server
	clusterID string

	meta metaCache

	// groups drives the consumer-group coordinator (groups.go).
	groups *groupDriver

	// leadership is this broker's view of the controller election.
	leadership atomic.Pointer[zkmeta.Leadership]
	// reconcileMu serialises topic loads and log creation/deletion.
	reconcileMu sync.Mutex
	// deleteMu serialises the controller's topic deletions (DeleteTopics
	// and the /admin/delete_topics watch). Lock order: deleteMu, then
	// reconcileMu.
	deleteMu sync.Mutex

	pmu       sync.Mutex                          // guards producers
	producers map[*engine.Log]*partitionProducers // idempotent producer state per partition
	pidMu     sync.Mutex                          // guards pidNext, pidEnd
	pidNext   int64                               // next producer id of the current block
	pidEnd    int64                               // end (inclusive) of the current block; -1 = none

	// inflight counts requests between Handle and their reply, so Close
	// can let them finish.
	inflight inflightCounter
	closing  atomic.Bool
	// registered is set once /brokers/ids/<id> was created by us.
	registered bool
	draining   chan struct{} // closed when Close starts: long polls answer at once

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
	fatal     chan error
}

// New validates the configuration and prepares a broker; Start runs it.
func New(cfg *config.Config, opts Options) (*Broker, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: nil config", ErrStart)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 10 * time.Second
	}
	if cfg.BrokerID() < 0 && !cfg.Bool("broker.id.generation.enable") {
		return nil, fmt.Errorf("%w: broker.id is %d and broker.id.generation.enable is false", ErrStart, cfg.BrokerID())
	}
	for _, l := range cfg.Listeners() {
		if l.SecurityProtocol != "PLAINTEXT" {
			return nil, fmt.Errorf("%w: listener %s uses %s; only PLAINTEXT is supported", ErrStart, l.Name, l.SecurityProtocol)
		}
	}
	b := &Broker{cfg: cfg, opts: opts, log: opts.Logger, id: cfg.BrokerID(), fatal: make(chan error, 1),
		producers: map[*engine.Log]*partitionProducers{}, pidEnd: -1, draining: make(chan struct{})}
	b.cur.Store(cfg)
	b.meta.init()
	b.groups = newGroupDriver(b, opts.GroupClock)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// ID is broker.id.
func (b *Broker) ID() int32 { return b.id }

// conf is the effective configuration: server.properties with the dynamic
// broker configs (/config/brokers/<id> and <default>) on top.
func (b *Broker) conf() *config.Config { return b.cur.Load() }

// ClusterID is the cluster id read from (or written to) /cluster/id.
func (b *Broker) ClusterID() string { return b.clusterID }

// Addr returns the bound address of the first listener ("127.0.0.1:port").
func (b *Broker) Addr() string {
	if b.srv == nil {
		return ""
	}
	return b.srv.Addrs()[0].String()
}

// ZkAddr is the embedded coordination service's address, "" when the
// broker uses an external ensemble.
func (b *Broker) ZkAddr() string {
	if b.embedded == nil {
		return ""
	}
	return b.embedded.Addr().String()
}

// Metrics exposes the network layer's counters (sendfile bytes etc.).
func (b *Broker) Metrics() *netio.Metrics { return b.srv.Metrics() }

// Engine is the storage engine (tests inspect logs through it).
func (b *Broker) Engine() *engine.Manager { return b.eng }

// Fatal delivers an error that ended the broker behind its back (another
// broker took our broker.id after a session expiry); the daemon exits.
func (b *Broker) Fatal() <-chan error { return b.fatal }

// Start brings the broker up in Kafka's order (see the package doc). On
// error everything started so far is stopped again.
func (b *Broker) Start() error {
	if err := b.start(); err != nil {
		b.Close()
		return err
	}
	return nil
}

func (b *Broker) start() error {
	ctx := b.ctx
	zkOpts := zkmeta.OptionsFromConfig(b.cfg)
	zkOpts.Logger = b.log
	zkOpts.OnReregister = func(id int32, epoch int64, err error) {
		if errors.Is(err, zkmeta.ErrBrokerIDClash) {
			b.log.Error("broker id taken by another broker after a session expiry; shutting down", "err", err)
			select {
			case b.fatal <- err:
			default:
			}
		}
	}
	if b.conf().ZooKeeper().Embedded() {
		addr, err := b.startEmbedded()
		if err != nil {
			return err
		}
		zkOpts.Servers = []string{addr}
		zkOpts.Chroot = ""
	}
	zc, err := zkmeta.Connect(ctx, zkOpts)
	if err != nil {
		return fmt.Errorf("%w: zookeeper.connect=%s: %w", ErrStart, strings.Join(zkOpts.Servers, ","), err)
	}
	b.zk = zc
	if err := zc.EnsurePaths(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	if b.clusterID, err = zc.ClusterID(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	if err := b.resolveBrokerID(ctx); err != nil {
		return err
	}
	b.loadDynamicConfig(ctx)
	if b.eng, err = engine.Open(b.engineConfig(), engine.Options{FS: b.opts.EngineFS, DeferRetention: true, Logf: func(f string, a ...any) { b.log.Info(fmt.Sprintf(f, a...)) }}); err != nil {
		return fmt.Errorf("%w: log.dirs %v: %w", ErrStart, b.conf().LogDirs(), err)
	}
	events := zc.Watch(ctx)
	if err := b.loadAllTopics(ctx); err != nil {
		return fmt.Errorf("%w: reading topics: %w", ErrStart, err)
	}
	b.groups.start()
	ncfg := netio.Config{
		NetworkThreads:      int(b.conf().Int("num.network.threads")),
		IOThreads:           int(b.conf().Int("num.io.threads")),
		SendBufferBytes:     int(b.conf().Int("socket.send.buffer.bytes")),
		ReceiveBufferBytes:  int(b.conf().Int("socket.receive.buffer.bytes")),
		MaxRequestBytes:     b.conf().Int("socket.request.max.bytes"),
		ConnectionsMaxIdle:  b.conf().Duration("connections.max.idle.ms"),
		MaxConnections:      int(b.conf().Int("max.connections")),
		MaxConnectionsPerIP: int(b.conf().Int("max.connections.per.ip")),
		ZeroCopy:            !b.opts.ZeroCopyOff,
		Logger:              b.log,
	}
	if ncfg.SendBufferBytes == 0 {
		ncfg.SendBufferBytes = -1
	}
	if ncfg.ReceiveBufferBytes == 0 {
		ncfg.ReceiveBufferBytes = -1
	}
	for _, l := range b.conf().Listeners() {
		ncfg.Listeners = append(ncfg.Listeners, netio.Listener{Name: l.Name, Protocol: l.SecurityProtocol, Host: l.Host, Port: l.Port})
	}
	if b.srv, err = netio.Listen(ncfg, b); err != nil {
		return fmt.Errorf("%w: listeners %v: %w", ErrStart, b.conf().Listeners(), err)
	}
	info := zkmeta.BrokerInfo{ID: b.id, Endpoints: b.advertised(), Rack: b.conf().String("broker.rack")}
	if _, err := zc.RegisterBroker(ctx, info); err != nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	b.registered = true
	b.meta.setBrokers([]zkmeta.BrokerInfo{info})
	if err := b.refreshBrokers(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	lead := zc.Campaign(ctx, b.id)
	// Wait for the first election outcome so that a single broker is its
	// own controller when Start returns (CreateTopics works at once).
	select {
	case l, ok := <-lead:
		if ok {
			b.onLeadership(ctx, l)
		}
	case <-time.After(b.conf().ZkConnectionTimeout()):
		b.log.Warn("no controller elected yet; continuing")
	}
	b.wg.Add(2)
	go func() {
		defer b.wg.Done()
		for l := range lead {
			b.onLeadership(ctx, l)
		}
	}()
	go func() {
		defer b.wg.Done()
		for ev := range events {
			b.onEvent(ctx, ev)
		}
	}()
	b.log.Info("broker started", "id", b.id, "cluster", b.clusterID, "listeners", b.srv.Addrs(), "zookeeper", strings.Join(zkOpts.Servers, ",")+zkOpts.Chroot)
	return nil
}

// resolveBrokerID settles broker.id=-1 as Kafka does: the id recorded in
// a log dir's meta.properties, else a new one from /brokers/seqid above
// reserved.broker.max.id.
func (b *Broker) resolveBrokerID(ctx context.Context) error {
	if b.id >= 0 {
		return nil
	}
	for _, d := range b.cfg.LogDirs() {
		if m, err := checkpoint.ReadMeta(d); err == nil && m.BrokerID >= 0 {
			b.id = m.BrokerID
			b.log.Info("using the broker id recorded in meta.properties", "id", b.id, "dir", d)
			return nil
		}
	}
	id, err := b.zk.GenerateBrokerID(ctx, b.cfg.Int("reserved.broker.max.id"))
	if err != nil {
		return fmt.Errorf("%w: generating a broker id: %w", ErrStart, err)
	}
	b.id = id
	b.log.Info("generated broker id", "id", id)
	return nil
}

// startEmbedded runs zkstore inside the process on a loopback port, with
// its data under embedded.zookeeper.data.dir.
func (b *Broker) startEmbedded() (string, error) {
	dir, err := filepath.Abs(b.conf().EmbeddedZooKeeperDir())
	if err != nil {
		return "", fmt.Errorf("%w: embedded.zookeeper.data.dir: %w", ErrStart, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("%w: embedded.zookeeper.data.dir: %w", ErrStart, err)
	}
	text := "tickTime=2000\ndataDir=" + dir + "\nclientPort=0\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n"
	zc, _, err := zkcfg.Parse(strings.NewReader(text))
	if err != nil {
		return "", fmt.Errorf("%w: embedded coordination config: %w", ErrStart, err)
	}
	srv, err := zkstore.NewServer(zc)
	if err != nil {
		return "", fmt.Errorf("%w: embedded coordination service in %s: %w", ErrStart, dir, err)
	}
	if err := srv.Start(); err != nil {
		return "", fmt.Errorf("%w: embedded coordination service: %w", ErrStart, err)
	}
	b.embedded = srv
	return srv.Addr().String(), nil
}

// advertised returns advertised.listeners with port 0 replaced by the port
// actually bound by the listener of the same name.
func (b *Broker) advertised() []config.Listener {
	adv := b.conf().AdvertisedListeners()
	for i, l := range adv {
		if a, ok := b.srv.Addr(l.Name).(*net.TCPAddr); ok && a != nil {
			if l.Port == 0 {
				adv[i].Port = a.Port
			}
			if l.Host == "" {
				adv[i].Host = a.IP.String()
			}
		}
	}
	return adv
}

// engineConfig maps server.properties onto the engine's Config.
func (b *Broker) engineConfig() engine.Config {
	c := b.cfg
	ec := engine.DefaultConfig(c.LogDirs()...)
	ec.BrokerID = b.id
	ec.ClusterID = b.clusterID
	ec.SegmentBytes = c.Long("log.segment.bytes")
	ec.RollMs = c.LogRollMs()
	ec.RollJitterMs = c.LogRollJitterMs()
	ec.IndexSizeMaxBytes = int32(c.Long("log.index.size.max.bytes"))
	ec.IndexIntervalBytes = int32(c.Long("log.index.interval.bytes"))
	ec.MessageMaxBytes = int32(c.Long("message.max.bytes"))
	ec.MessageTimestampType = c.String("log.message.timestamp.type")
	ec.FlushIntervalMessages = c.Long("log.flush.interval.messages")
	ec.FlushIntervalMs = -1
	if c.IsSet("log.flush.interval.ms") {
		ec.FlushIntervalMs = c.Long("log.flush.interval.ms")
	}
	ec.FlushSchedulerIntervalMs = c.Long("log.flush.scheduler.interval.ms")
	ec.FlushOffsetCheckpointIntervalMs = c.Long("log.flush.offset.checkpoint.interval.ms")
	ec.RecoveryThreadsPerDataDir = int(c.Long("num.recovery.threads.per.data.dir"))
	ec.FileDeleteDelayMs = c.Long("log.segment.delete.delay.ms")
	if !c.IsSet("log.segment.delete.delay.ms") && c.IsSet("file.delete.delay.ms") {
		ec.FileDeleteDelayMs = c.Long("file.delete.delay.ms")
	}
	ec.RetentionMs = c.LogRetentionMs()
	ec.RetentionBytes = c.Long("log.retention.bytes")
	ec.RetentionCheckIntervalMs = c.Long("log.retention.check.interval.ms")
	ec.CleanupPolicy = strings.Join(c.List("log.cleanup.policy"), ",")
	ec.Cleaner = engineCleanerConfig(c)
	return ec
}

// Close shuts the broker down gracefully: new requests are refused,
// in-flight ones finish (up to Options.ShutdownGrace), the registration is
// removed, the engine flushes and writes its checkpoints and clean-shutdown
// marker, then the ZooKeeper session and the embedded zkstore end.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.closing.Store(true)
		close(b.draining)
		// Parked JoinGroup/SyncGroup requests are answered before the
		// wait for in-flight requests, which would otherwise wait for them.
		b.groups.shutdown()
		select {
		case <-b.inflight.idle():
		case <-time.After(b.opts.ShutdownGrace):
			b.log.Warn("shutdown: in-flight requests still running after the grace period")
		}
		var errs []error
		if b.srv != nil {
			b.quiesce()
			errs = append(errs, b.srv.Close())
		}
		if b.zk != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if l := b.leadership.Load(); l != nil && l.Self {
				b.zk.Resign(ctx)
			}
			// Only our own registration: after a broker.id clash the
			// znode belongs to the other broker (DeregisterBroker deletes
			// whatever is there).
			if b.registered {
				b.zk.DeregisterBroker(ctx, b.id)
			}
			cancel()
		}
		b.cancel()
		if b.eng != nil {
			b.writeSnapshots()
			if err := b.eng.Close(); err != nil {
				errs = append(errs, fmt.Errorf("broker: closing logs: %w", err))
			}
		}
		if b.zk != nil {
			b.zk.Close()
		}
		b.wg.Wait()
		if b.embedded != nil {
			errs = append(errs, b.embedded.Close())
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// quiesce gives the connections' writers a moment to send the responses
// of requests that just finished: netio.Server.Close drops unwritten
// responses and has no drain of its own. It returns once no byte went
// out for 50 ms, after at most 2 s.
func (b *Broker) quiesce() {
	last := b.srv.Metrics().BytesOut.Load()
	for range 40 {
		time.Sleep(50 * time.Millisecond)
		cur := b.srv.Metrics().BytesOut.Load()
		if cur == last {
			return
		}
		last = cur
	}
}

// inflightCounter counts requests in progress. Unlike a WaitGroup it may
// go from zero to one while someone waits for zero.
type inflightCounter struct {
	mu   sync.Mutex
	n    int           // guarded by mu
	zero chan struct{} // guarded by mu; closed when n drops to 0
}

func (c *inflightCounter) Add(d int) {
	c.mu.Lock()
	c.n += d
	if c.n == 0 && c.zero != nil {
		close(c.zero)
		c.zero = nil
	}
	c.mu.Unlock()
}

func (c *inflightCounter) Done() { c.Add(-1) }

// idle returns a channel closed once nothing is in flight.
func (c *inflightCounter) idle() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	if c.zero == nil {
		c.zero = make(chan struct{})
	}
	return c.zero
}
