package broker

// The group coordinator's driver: the I/O around the deterministic state
// machine of broker/group (read broker/group/doc.go first).
//
//   - One mutex (groupDriver.mu) serialises every call into the
//     Coordinator. Records a call returns are queued on the
//     __consumer_offsets log while the mutex is still held, so the log
//     holds them in the order the state machine produced them.
//   - The responses and Deliveries of a call are written only once its
//     records are appended (and acknowledged under the topic's flush
//     policy), waiting at most offsets.commit.timeout.ms. A failed append
//     answers them with Kafka's mapping of the append error
//     (GroupMetadataManager: NOT_LEADER_OR_FOLLOWER and KAFKA_STORAGE_ERROR
//     become NOT_COORDINATOR; UNKNOWN_TOPIC_OR_PARTITION, NOT_ENOUGH_REPLICAS
//     and REQUEST_TIMED_OUT become COORDINATOR_NOT_AVAILABLE; MESSAGE_TOO_LARGE
//     becomes INVALID_COMMIT_OFFSET_SIZE for commits). A failed append is
//     sticky: the partition is unloaded and stays failed, since the state
//     machine already applied what the log does not hold.
//   - JoinGroup and SyncGroup park: their Waiter is a groupWaiter holding
//     the netio.Pending of the request.
//   - A goroutine calls Tick at the coordinator's NextDeadline (at least
//     once a second, and at once after a request that may have moved it).
//   - Every __consumer_offsets partition this broker leads is loaded by
//     reading its log from the start (BeginLoad/LoadRecord/FinishLoad), at
//     start-up and whenever leadership of a partition arrives; meanwhile
//     its groups answer COORDINATOR_LOAD_IN_PROGRESS.
//   - Close unloads every partition, which answers parked requests with
//     NOT_COORDINATOR (clients find the coordinator again), then stops the
//     tick loop and the loaders before the engine closes.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gregorlog/gregor/broker/group"
	"github.com/gregorlog/gregor/broker/zkmeta"
	"github.com/gregorlog/gregor/engine"
	"github.com/gregorlog/gregor/engine/batch"
	"github.com/gregorlog/gregor/netio"
)

// offsetsTopic is Kafka's internal topic of committed offsets and groups.
const offsetsTopic = "__consumer_offsets"

var (
	errOffsetsPartitionFailed = errors.New("broker: __consumer_offsets partition failed")
	errCoordinatorLoad        = errors.New("broker: loading __consumer_offsets")
)

// groupWaiter is the group.Waiter of a parked JoinGroup or SyncGroup.
type groupWaiter struct {
	p *netio.Pending
	r *netio.Request
}

// offsetsPart is a __consumer_offsets partition this broker leads.
type offsetsPart struct {
	log *engine.Log
	// failed is set (sticky) when an append to log failed; the partition
	// is then unloaded from the coordinator and never reloaded while this
	// log object lives.
	failed error
}

// groupDriver owns the Coordinator and everything around it.
type groupDriver struct {
	b    *Broker
	now  func() time.Time
	wake chan struct{} // buffered 1: "NextDeadline may have moved"
	stop chan struct{} // closed by shutdown
	wg   sync.WaitGroup

	createMu sync.Mutex // serialises creating __consumer_offsets

	mu sync.Mutex
	// coord is nil until start. Guarded by mu, like everything below.
	coord *group.Coordinator
	// parts are the partitions this broker leads. Invariant: a partition
	// is loading or owned in coord only if it is in parts with failed nil.
	parts  map[int32]*offsetsPart
	parked map[*groupWaiter]struct{}
	closed bool
}

func newGroupDriver(b *Broker, now func() time.Time) *groupDriver {
	if now == nil {
		now = time.Now
	}
	return &groupDriver{b: b, now: now, wake: make(chan struct{}, 1), stop: make(chan struct{}),
		parts: map[int32]*offsetsPart{}, parked: map[*groupWaiter]struct{}{}}
}

// start creates the coordinator, with the partition count of an existing
// __consumer_offsets (Kafka reads it from ZooKeeper) or else
// offsets.topic.num.partitions, loads the partitions led here and starts
// the tick loop.
func (d *groupDriver) start() {
	c := d.b.conf()
	n := c.Int("offsets.topic.num.partitions")
	t := d.b.meta.topic(offsetsTopic)
	if t != nil && len(t.Partitions) > 0 {
		n = int32(len(t.Partitions))
	}
	cfg := group.Config{
		NumPartitions:          n,
		InitialRebalanceDelay:  c.Duration("group.initial.rebalance.delay.ms"),
		MinSessionTimeout:      c.Duration("group.min.session.timeout.ms"),
		MaxSessionTimeout:      c.Duration("group.max.session.timeout.ms"),
		MaxSize:                int(c.Int("group.max.size")),
		OffsetsRetention:       time.Duration(c.Int("offsets.retention.minutes")) * time.Minute,
		RetentionCheckInterval: c.Duration("offsets.retention.check.interval.ms"),
		OffsetMetadataMaxBytes: int(c.Int("offset.metadata.max.bytes")),
	}
	if cfg.InitialRebalanceDelay == 0 {
		cfg.InitialRebalanceDelay = -1 // group.Config: 0 means "Kafka's default"
	}
	if cfg.MinSessionTimeout == 0 {
		cfg.MinSessionTimeout = time.Nanosecond
	}
	d.mu.Lock()
	d.coord = group.New(cfg)
	d.mu.Unlock()
	if t != nil {
		d.onTopic(t)
	}
	d.wg.Add(1)
	go d.tickLoop()
}

// kick wakes the tick loop to recompute the next deadline.
func (d *groupDriver) kick() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *groupDriver) tickLoop() {
	defer d.wg.Done()
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	for {
		d.mu.Lock()
		next := d.coord.NextDeadline()
		d.mu.Unlock()
		wait := time.Second
		if !next.IsZero() {
			wait = min(max(next.Sub(d.now()), 0), wait)
		}
		timer.Reset(wait)
		select {
		case <-d.stop:
			return
		case <-d.wake:
			if !timer.Stop() {
				<-timer.C
			}
			continue
		case <-timer.C:
		}
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return
		}
		out := d.coord.Tick(d.now())
		w := d.queueLocked(out)
		d.mu.Unlock()
		d.deliver(w.extra, 0)
		if w.empty() {
			d.deliver(out.Deliveries, 0)
			continue
		}
		d.b.inflight.Add(1)
		go func() {
			defer d.b.inflight.Done()
			code := d.await(w)
			d.deliver(out.Deliveries, code)
		}()
	}
}

// appendWait is the queued append of one Out.
type appendWait struct {
	parts []int32
	pends []*engine.Pending
	// code is set when queueing failed already (0: none).
	code int16
	// extra answers requests parked in a partition that failed while
	// queueing (NOT_COORDINATOR); deliver them with code 0.
	extra []group.Delivery
}

func (w *appendWait) empty() bool { return len(w.pends) == 0 && w.code == 0 }

// queueLocked appends o.Records to __consumer_offsets, one batch per
// partition, without waiting.
func (d *groupDriver) queueLocked(o group.Out) *appendWait {
	w := &appendWait{}
	if len(o.Records) == 0 {
		return w
	}
	byPart := map[int32][]batch.Record{}
	var order []int32
	for _, r := range o.Records {
		if _, ok := byPart[r.Partition]; !ok {
			order = append(order, r.Partition)
		}
		byPart[r.Partition] = append(byPart[r.Partition], batch.Record{Key: r.Key, Value: r.Value})
	}
	nowMs := d.now().UnixMilli()
	for _, p := range order {
		part := d.parts[p]
		if part == nil || part.failed != nil {
			// Unloaded meanwhile (leadership moved): the coordinator no
			// longer holds the state these records describe.
			w.code = kerr.NotCoordinator.Code
			continue
		}
		b, err := batch.Build(batch.BuildOptions{BaseTimestamp: nowMs, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, byPart[p])
		if err == nil {
			var pend *engine.Pending
			pend, err = part.log.AppendAsync(b, engine.AppendOptions{LeaderEpoch: d.leaderEpoch(p)})
			if err == nil {
				w.parts = append(w.parts, p)
				w.pends = append(w.pends, pend)
				continue
			}
		}
		w.code = appendErrorCode(err)
		w.extra = append(w.extra, d.failLocked(p, part, err)...)
	}
	return w
}

func (d *groupDriver) leaderEpoch(p int32) int32 {
	if t := d.b.meta.topic(offsetsTopic); t != nil && int(p) < len(t.Partitions) {
		return t.Partitions[p].LeaderEpoch
	}
	return 0
}

// await waits for the appends of w, at most offsets.commit.timeout.ms,
// and returns the error code to answer with (0: all appended).
func (d *groupDriver) await(w *appendWait) int16 {
	code := w.code
	ctx, cancel := context.WithTimeout(context.Background(), d.b.conf().Duration("offsets.commit.timeout.ms"))
	defer cancel()
	for i, pend := range w.pends {
		_, err := pend.Wait(ctx)
		if err == nil {
			continue
		}
		if code == 0 {
			code = appendErrorCode(err)
		}
		if ctx.Err() != nil {
			// Timed out: the append may still land; not a failed log.
			continue
		}
		d.mu.Lock()
		if part := d.parts[w.parts[i]]; part != nil {
			ds := d.failLocked(w.parts[i], part, err)
			d.mu.Unlock()
			d.deliver(ds, 0)
		} else {
			d.mu.Unlock()
		}
	}
	return code
}

// failLocked makes an append failure sticky: the partition's groups are
// unloaded (the state machine holds what the log lacks) and the returned
// Deliveries answer their parked requests with NOT_COORDINATOR.
func (d *groupDriver) failLocked(p int32, part *offsetsPart, err error) []group.Delivery {
	if part.failed != nil {
		return nil
	}
	part.failed = fmt.Errorf("%w: %d: %w", errOffsetsPartitionFailed, p, err)
	d.b.log.Error("appending to __consumer_offsets failed; unloading its groups", "partition", p, "err", err)
	return d.coord.Unload(p).Deliveries
}

// appendErrorCode is Kafka's mapping of a failed __consumer_offsets
// append to a group response code (GroupMetadataManager.storeOffsets).
func appendErrorCode(err error) int16 {
	switch code := errorCode(err); code {
	case kerr.UnknownTopicOrPartition.Code, kerr.NotEnoughReplicas.Code, kerr.NotEnoughReplicasAfterAppend.Code, kerr.RequestTimedOut.Code:
		return kerr.CoordinatorNotAvailable.Code
	case kerr.NotLeaderForPartition.Code, kerr.KafkaStorageError.Code:
		return kerr.NotCoordinator.Code
	case kerr.MessageTooLarge.Code, kerr.RecordListTooLarge.Code, kerr.InvalidFetchSize.Code:
		return kerr.InvalidCommitOffsetSize.Code
	default:
		return code
	}
}

// failResponse rewrites a response whose records could not be stored.
func failResponse(resp kmsg.Response, code int16) {
	switch r := resp.(type) {
	case *kmsg.OffsetCommitResponse:
		for i := range r.Topics {
			for j := range r.Topics[i].Partitions {
				if r.Topics[i].Partitions[j].ErrorCode == 0 {
					r.Topics[i].Partitions[j].ErrorCode = code
				}
			}
		}
	case *kmsg.SyncGroupResponse:
		if code == kerr.InvalidCommitOffsetSize.Code {
			code = kerr.UnknownServerError.Code // storeGroup's mapping
		}
		if r.ErrorCode == 0 {
			r.ErrorCode = code
			r.MemberAssignment = nil
		}
	case *kmsg.DeleteGroupsResponse:
		for i := range r.Groups {
			if r.Groups[i].ErrorCode == 0 {
				r.Groups[i].ErrorCode = code
			}
		}
	case *kmsg.OffsetDeleteResponse:
		if r.ErrorCode == 0 {
			r.ErrorCode = code
		}
	}
}

// deliver writes Deliveries to their waiters; code != 0 means their
// records could not be stored.
func (d *groupDriver) deliver(ds []group.Delivery, code int16) {
	if len(ds) == 0 {
		return
	}
	d.mu.Lock()
	for _, dl := range ds {
		delete(d.parked, dl.To.(*groupWaiter))
	}
	d.mu.Unlock()
	for _, dl := range ds {
		if code != 0 {
			failResponse(dl.Resp, code)
		}
		w := dl.To.(*groupWaiter)
		respondTo(w.p, w.r, dl.Resp)
	}
}

// call runs one request through the coordinator: f is called under the
// mutex; its response (nil for JoinGroup/SyncGroup, which answer through
// Deliveries) goes out once the records are stored.
func (d *groupDriver) call(r *netio.Request, f func(now time.Time, c *group.Coordinator) (kmsg.Response, group.Out)) netio.Reply {
	d.mu.Lock()
	resp, out := f(d.now(), d.coord)
	w := d.queueLocked(out)
	d.mu.Unlock()
	d.deliver(w.extra, 0)
	if w.empty() {
		d.deliver(out.Deliveries, 0)
		if resp == nil {
			return netio.NoResponse()
		}
		return respond(r, resp)
	}
	var reply netio.Reply
	var p *netio.Pending
	if resp != nil {
		reply, p = netio.Defer()
	} else {
		reply = netio.NoResponse()
	}
	d.b.inflight.Add(1)
	go func() {
		defer d.b.inflight.Done()
		code := d.await(w)
		d.deliver(out.Deliveries, code)
		if resp != nil {
			if code != 0 {
				failResponse(resp, code)
			}
			respondTo(p, r, resp)
		}
	}()
	return reply
}

// park runs a JoinGroup or SyncGroup: its answer is a Delivery to a new
// waiter, now or later.
func (d *groupDriver) park(r *netio.Request, f func(now time.Time, c *group.Coordinator, caller group.Caller) group.Out) netio.Reply {
	// The request's byte fields (metadata, assignments) alias its buffer
	// and the coordinator keeps them.
	r.Keep()
	reply, p := netio.Defer()
	w := &groupWaiter{p: p, r: r}
	caller := group.Caller{ClientHost: clientHost(r.RemoteAddr), Waiter: w}
	if r.ClientID != nil {
		caller.ClientID = *r.ClientID
	}
	d.mu.Lock()
	d.parked[w] = struct{}{}
	d.mu.Unlock()
	d.call(r, func(now time.Time, c *group.Coordinator) (kmsg.Response, group.Out) {
		return nil, f(now, c, caller)
	})
	d.kick()
	return reply
}

// clientHost is the client's address as Kafka prints it ("/127.0.0.1").
func clientHost(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return "/" + ta.IP.String()
	}
	if a == nil {
		return ""
	}
	return "/" + a.String()
}

// onTopic follows leadership of __consumer_offsets partitions: a newly
// led partition is loaded, a lost one unloaded. Called with the topic's
// new metadata (reconcileMu held by the caller, or at start).
func (d *groupDriver) onTopic(t *topicMeta) {
	d.mu.Lock()
	if d.coord == nil || d.closed {
		d.mu.Unlock()
		return
	}
	n := d.coord.Config().NumPartitions
	if int32(len(t.Partitions)) != n {
		d.b.log.Error("__consumer_offsets has a different partition count than the coordinator uses; restart the broker",
			"partitions", len(t.Partitions), "coordinator", n)
	}
	var ds []group.Delivery
	var loads []int32
	for p := int32(0); p < n; p++ {
		leads := int(p) < len(t.Partitions) && t.Partitions[p].Leader == d.b.id
		var l *engine.Log
		if leads {
			var err error
			if l, err = d.b.eng.Log(offsetsTopic, p); err != nil {
				leads = false
			}
		}
		part := d.parts[p]
		if part != nil && (!leads || part.log != l) {
			ds = append(ds, d.coord.Unload(p).Deliveries...)
			delete(d.parts, p)
			part = nil
		}
		if leads && part == nil {
			d.parts[p] = &offsetsPart{log: l}
			if err := d.coord.BeginLoad(p); err != nil {
				d.b.log.Error("loading __consumer_offsets", "partition", p, "err", err)
				continue
			}
			loads = append(loads, p)
		}
	}
	if len(loads) > 0 {
		d.wg.Add(1)
		go d.loadAll(loads)
	}
	d.mu.Unlock()
	d.deliver(ds, 0)
}

// onTopicGone unloads everything: __consumer_offsets was deleted.
func (d *groupDriver) onTopicGone() {
	d.mu.Lock()
	var ds []group.Delivery
	if d.coord != nil {
		for p := range d.parts {
			ds = append(ds, d.coord.Unload(p).Deliveries...)
			delete(d.parts, p)
		}
	}
	d.mu.Unlock()
	d.deliver(ds, 0)
}

func (d *groupDriver) loadAll(ps []int32) {
	defer d.wg.Done()
	for _, p := range ps {
		start := time.Now()
		n, err := d.load(p)
		switch {
		case err == nil:
			d.b.log.Debug("loaded __consumer_offsets partition", "partition", p, "records", n, "took", time.Since(start))
		case errors.Is(err, errCoordinatorLoad):
			// Superseded (leadership moved or shutting down).
		default:
			d.b.log.Error("loading __consumer_offsets partition", "partition", p, "err", err)
		}
	}
	d.kick()
}

// load reads partition p from its log start to its log end into the
// coordinator, offsets.load.buffer.size bytes at a time.
func (d *groupDriver) load(p int32) (int, error) {
	d.mu.Lock()
	part := d.parts[p]
	d.mu.Unlock()
	if part == nil {
		return 0, errCoordinatorLoad
	}
	l := part.log
	bufSize := int(d.b.conf().Long("offsets.load.buffer.size"))
	off, end := l.LogStartOffset(), l.LogEndOffset()
	maxDecompressed := batch.DecompressLimit(int(d.b.conf().Long("message.max.bytes")))
	records := 0
	type kv struct{ k, v []byte }
	for range 1 << 30 {
		if off >= end {
			break
		}
		buf, err := l.ReadCopy(off, bufSize, end, true)
		if errors.Is(err, engine.ErrOffsetOutOfRange) && l.LogStartOffset() > off {
			off = l.LogStartOffset() // retention or the cleaner moved the start
			continue
		}
		if err != nil {
			return records, err
		}
		if len(buf) == 0 {
			break
		}
		var kvs []kv
		advanced := false
		for len(buf) > 0 {
			h, n, err := batch.Next(buf)
			if err != nil {
				break // a batch cut by the read size: read it again next round
			}
			if !h.IsControl() && h.LastOffset() >= off {
				recs, err := batch.Records(buf[:n], maxDecompressed)
				if err != nil {
					return records, fmt.Errorf("offset %d: %w", h.BaseOffset, err)
				}
				for _, r := range recs {
					if h.BaseOffset+int64(r.OffsetDelta) < off || r.Key == nil {
						continue
					}
					kvs = append(kvs, kv{r.Key, r.Value})
				}
			}
			off = h.LastOffset() + 1
			advanced = true
			buf = buf[n:]
		}
		if !advanced {
			return records, fmt.Errorf("no complete batch at offset %d", off)
		}
		d.mu.Lock()
		if d.closed || d.parts[p] != part {
			d.mu.Unlock()
			return records, errCoordinatorLoad
		}
		for _, r := range kvs {
			if err := d.coord.LoadRecord(p, r.k, r.v); err != nil {
				// Kafka fails the load on an unknown key version; a
				// foreign record must not make every group unavailable.
				d.b.log.Warn("skipping __consumer_offsets record", "partition", p, "err", err)
			}
		}
		d.mu.Unlock()
		records += len(kvs)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.parts[p] != part {
		return records, errCoordinatorLoad
	}
	return records, d.coord.FinishLoad(d.now(), p)
}

// shutdown answers parked requests (NOT_COORDINATOR, as Kafka's
// resignation does) and stops the tick loop and loaders.
func (d *groupDriver) shutdown() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	var ds []group.Delivery
	if d.coord != nil {
		for p := range d.parts {
			ds = append(ds, d.coord.Unload(p).Deliveries...)
			delete(d.parts, p)
		}
	}
	var left []*groupWaiter
	for w := range d.parked {
		left = append(left, w)
	}
	d.mu.Unlock()
	d.deliver(ds, 0)
	for _, w := range left {
		// Not parked in any loaded group: nothing else will answer.
		w.p.Close(ErrClosed)
	}
	close(d.stop)
	d.wg.Wait()
}

// coordinatorFor is the broker that coordinates group key (FindCoordinator):
// the leader of its __consumer_offsets partition, creating the topic first
// if needed. It returns Kafka's error code otherwise.
func (d *groupDriver) coordinatorFor(ctx context.Context, listener, key string) (node int32, host string, port int32, code int16) {
	t := d.b.meta.topic(offsetsTopic)
	if t == nil {
		if code := d.createOffsetsTopic(ctx); code != 0 {
			return -1, "", -1, code
		}
		if t = d.b.meta.topic(offsetsTopic); t == nil {
			return -1, "", -1, kerr.CoordinatorNotAvailable.Code
		}
	}
	if len(t.Partitions) == 0 {
		return -1, "", -1, kerr.CoordinatorNotAvailable.Code
	}
	p := group.PartitionFor(key, int32(len(t.Partitions)))
	leader := t.Partitions[p].Leader
	for _, bi := range d.b.meta.allBrokers() {
		if bi.ID != leader {
			continue
		}
		for _, ep := range bi.Endpoints {
			if ep.Name == listener {
				return bi.ID, ep.Host, int32(ep.Port), 0
			}
		}
	}
	return -1, "", -1, kerr.CoordinatorNotAvailable.Code
}

// createOffsetsTopic creates __consumer_offsets as Kafka does on the
// first FindCoordinator: offsets.topic.num.partitions partitions of
// offsets.topic.replication.factor replicas, compacted. With fewer live
// brokers than the replication factor creation fails (and the caller
// answers COORDINATOR_NOT_AVAILABLE) until enough brokers are alive.
func (d *groupDriver) createOffsetsTopic(ctx context.Context) int16 {
	d.createMu.Lock()
	defer d.createMu.Unlock()
	if d.b.meta.topic(offsetsTopic) != nil {
		return 0
	}
	c := d.b.conf()
	rf := c.Int("offsets.topic.replication.factor")
	if live := len(d.b.liveBrokerIDs()); int(rf) > live {
		d.b.log.Warn("cannot create __consumer_offsets: offsets.topic.replication.factor is larger than the number of live brokers; consumer groups are unavailable until enough brokers join (set offsets.topic.replication.factor=1 for a single broker)",
			"offsets.topic.replication.factor", rf, "live brokers", live)
		return kerr.CoordinatorNotAvailable.Code
	}
	f, err := d.b.configFence(ctx)
	if err != nil {
		return kerr.CoordinatorNotAvailable.Code
	}
	configs := map[string]string{
		"cleanup.policy":   "compact",
		"compression.type": "producer",
		"segment.bytes":    fmt.Sprint(c.Long("offsets.topic.segment.bytes")),
	}
	_, err = d.b.createTopicFenced(ctx, f, offsetsTopic, c.Int("offsets.topic.num.partitions"), int16(rf), nil, configs, false)
	if err != nil && !errors.Is(err, zkmeta.ErrTopicExists) {
		d.b.log.Warn("creating __consumer_offsets", "err", err)
		return kerr.CoordinatorNotAvailable.Code
	}
	return 0
}

// GroupLag is the consumer lag of group: every committed partition's
// offset against its log end offset (the high watermark, as
// kafka-consumer-groups.sh uses), for partitions led by this broker. It
// returns nil for a group this broker does not coordinate.
func (b *Broker) GroupLag(groupID string) []group.PartitionLag {
	d := b.groups
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.coord == nil {
		return nil
	}
	return d.coord.GroupLag(groupID, func(topic string, p int32) (int64, bool) {
		l, _, err := b.partitionLog(b.meta.topic(topic), p)
		if err != nil {
			return -1, false
		}
		return l.HighWatermark(), true
	})
}

// GroupIDs lists the groups this broker coordinates.
func (b *Broker) GroupIDs() []string {
	d := b.groups
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.coord == nil {
		return nil
	}
	return d.coord.Groups()
}
